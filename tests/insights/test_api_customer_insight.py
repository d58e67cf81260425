"""A customer's insight and CLV through the API, and recalculating one customer."""

import datetime as dt

import pytest
from django.utils import timezone

from rapport.identity.services import MergeService
from rapport.insights.api import CustomerInsightOut, CustomerLifetimeValueOut
from rapport.insights.models import CustomerInsight, InsightRun
from tests.insights.conftest import AS_OF, at

pytestmark = pytest.mark.django_db


def moment(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def test_before_the_first_calculation_the_insight_and_clv_are_null(read_api, make_customer):
    make_customer(code="ADA")

    for path in ("/customers/ADA/insight", "/customers/ADA/clv"):
        response = read_api.get(path)

        assert response.status_code == 200, response.content
        assert response.json() is None


def test_the_insight_holds_every_metric_of_the_last_calculation(calculated, read_api):
    run = InsightRun.objects.get()

    response = read_api.get("/customers/CHAMP/insight")

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == set(CustomerInsightOut.model_fields)
    assert body["code"] == "CHAMP"
    assert (body["total_orders"], body["total_spent_q"], body["average_ticket_q"]) == (
        10,
        100_000,
        10_000,
    )
    assert body["currency"] == "NGN"
    assert moment(body["first_order_at"]) == at("2025-01-10")
    assert moment(body["last_order_at"]) == at("2025-06-20")
    assert body["days_since_last_order"] == 10
    assert (body["recency_score"], body["frequency_score"], body["monetary_score"]) == (5, 5, 5)
    assert (body["rfm_code"], body["rfm_segment"], body["rfm_group"]) == (
        "555",
        "champions",
        "champion",
    )
    assert body["total_visits"] == 2
    assert body["preferred_products"] == ["Coffee"]
    assert body["channels"] == ["pos"]
    assert moment(body["as_of"]) == AS_OF
    assert body["run_id"] == str(run.uuid)
    stored = CustomerInsight.objects.get(customer__code="CHAMP")
    assert (body["p_alive"], body["churn_risk"], body["predicted_ltv_q"], body["method"]) == (
        stored.p_alive,
        stored.churn_risk,
        stored.predicted_ltv_q,
        stored.method,
    )


def test_a_customer_without_orders_has_an_insight_with_no_scores(calculated, read_api):
    body = read_api.get("/customers/BROWSER/insight").json()

    assert (body["total_orders"], body["total_spent_q"], body["rfm_code"]) == (0, 0, "")
    assert (body["recency_score"], body["rfm_segment"], body["predicted_ltv_q"]) == (0, "", None)
    assert body["last_order_at"] is None


def test_clv_shows_historical_and_predicted_value_over_the_horizon(calculated, read_api):
    stored = CustomerInsight.objects.get(customer__code="LOYAL")

    response = read_api.get("/customers/LOYAL/clv")

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == set(CustomerLifetimeValueOut.model_fields)
    assert body["code"] == "LOYAL"
    assert (body["historical_value_q"], body["total_orders"], body["average_ticket_q"]) == (
        40_000,
        5,
        8_000,
    )
    assert body["predicted_value_q"] == stored.predicted_ltv_q is not None
    assert body["predicted_purchases"] == stored.predicted_purchases
    assert body["p_alive"] == stored.p_alive
    assert body["churn_risk"] == pytest.approx(1 - stored.p_alive)
    assert (body["horizon"], body["time_unit"], body["method"]) == (52, "week", stored.method)
    assert body["currency"] == "NGN"
    assert moment(body["as_of"]) == AS_OF


def test_a_merged_customers_code_reaches_the_survivor(calculated, actor, api, make_customer):
    make_customer(code="CHAMP-OLD", first_name="Champ")
    MergeService.merge(
        actor=actor, survivor="CHAMP", duplicate="CHAMP-OLD", override_reason="Same person"
    )

    # The merge dropped the survivor's insight until the next calculation
    assert api.get("/customers/CHAMP-OLD/clv").json() is None
    recalculated = api.post("/customers/CHAMP-OLD/insight/recalculate")

    assert recalculated.status_code == 200, recalculated.content
    assert (recalculated.json()["code"], recalculated.json()["total_orders"]) == ("CHAMP", 10)
    assert api.get("/customers/CHAMP-OLD/clv").json()["code"] == "CHAMP"


@pytest.mark.parametrize("path", ["/customers/NOPE/insight", "/customers/NOPE/clv"])
def test_an_unknown_customer_is_404(read_api, path):
    response = read_api.get(path)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_another_tenants_customer_is_404_and_is_not_recalculated(calculated, other_api):
    before = list(CustomerInsight.objects.order_by("pk").values())

    for response in (
        other_api.get("/customers/CHAMP/insight"),
        other_api.get("/customers/CHAMP/clv"),
        other_api.post("/customers/CHAMP/insight/recalculate"),
    ):
        assert response.status_code == 404, response.content
        assert response.json()["error"]["code"] == "not_found"
    assert list(CustomerInsight.objects.order_by("pk").values()) == before


def test_recalculating_one_customer_uses_the_latest_runs_models(calculated, api, buy):
    # Given an order placed after the run's history ended
    buy(calculated["NEWBIE"], "2025-07-05", 7_000)
    run = InsightRun.objects.get()
    before = timezone.now()

    # When the customer is recalculated: their history up to now, the run's models
    response = api.post("/customers/NEWBIE/insight/recalculate")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["code"] == "NEWBIE"
    assert (body["total_orders"], body["total_spent_q"]) == (2, 12_000)
    assert body["run_id"] == str(run.uuid)
    assert moment(body["as_of"]) >= before > AS_OF
    assert InsightRun.objects.count() == 1


def test_recalculating_before_any_run_fits_the_models_first(api, make_customer, buy):
    ada = make_customer(code="ADA")
    buy(ada, "2025-06-01", 2_500)

    response = api.post("/customers/ADA/insight/recalculate")

    assert response.status_code == 200, response.content
    assert (response.json()["total_orders"], response.json()["total_spent_q"]) == (1, 2_500)
    assert InsightRun.objects.count() == 1
    assert api.get("/customers/ADA/insight").json()["total_spent_q"] == 2_500


def test_recalculating_needs_a_write_key(calculated, read_api, anonymous_api):
    assert read_api.post("/customers/CHAMP/insight/recalculate").status_code == 403
    assert anonymous_api.post("/customers/CHAMP/insight/recalculate").status_code == 401
    assert anonymous_api.get("/customers/CHAMP/insight").status_code == 401


def test_recalculating_an_unknown_customer_is_404_and_writes_nothing(api):
    response = api.post("/customers/NOPE/insight/recalculate")

    assert response.status_code == 404
    assert InsightRun.objects.count() == 0
