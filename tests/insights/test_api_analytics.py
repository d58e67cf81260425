"""The analytics endpoints: RFM, cohorts, lifetime value, visits and seed 002's insight lists."""

import datetime as dt

import pytest

from rapport.insights.api import InsightCustomerOut
from rapport.insights.models import CustomerInsight
from tests.insights.conftest import AS_OF

pytestmark = pytest.mark.django_db

SEGMENT_NAMES = [
    "Champions",
    "Loyal Customers",
    "Potential Loyalists",
    "New Customers",
    "Promising",
    "Need Attention",
    "About to Sleep",
    "At Risk",
    "Can't Lose Them",
    "Hibernating",
    "Lost",
]


def codes(body) -> list[str]:
    return [item["code"] for item in body["items"]]


def test_rfm_answers_in_the_seeds_shape(calculated, read_api):
    response = read_api.get("/analytics/rfm")

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"segments", "distribution", "customers", "currency", "as_of"}
    assert [segment["name"] for segment in body["segments"]] == SEGMENT_NAMES
    assert body["segments"][0] == {
        "slug": "champions",
        "name": "Champions",
        "count": 1,
        "percentage": 20.0,
        "avgRevenue": 100_000,
        "totalRevenue": 100_000,
    }
    assert {s["slug"]: (s["count"], s["totalRevenue"]) for s in body["segments"] if s["count"]} == {
        "champions": (1, 100_000),
        "loyal_customers": (1, 40_000),
        "new_customers": (1, 5_000),
        "about_to_sleep": (1, 15_000),
        "hibernating": (1, 30_000),
    }
    assert body["distribution"] == {
        "recency": {"1": 1, "2": 1, "3": 0, "4": 1, "5": 2},
        "frequency": {"1": 1, "2": 1, "3": 1, "4": 1, "5": 1},
        "monetary": {"1": 1, "2": 1, "3": 1, "4": 1, "5": 1},
    }
    assert (body["customers"], body["currency"]) == (5, "NGN")
    assert dt.datetime.fromisoformat(body["as_of"]) == AS_OF


def test_rfm_of_a_tenant_never_calculated_lists_eleven_empty_segments(read_api):
    body = read_api.get("/analytics/rfm").json()

    assert [s["count"] for s in body["segments"]] == [0] * 11
    assert body["as_of"] is None


def test_cohorts_answer_the_retention_triangle(shop, read_api):
    response = read_api.get("/analytics/cohorts", {"since": "2025-01-15", "until": "2025-03-01"})

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["since"], body["until"], body["timezone"], body["currency"]) == (
        "2025-01-01",
        "2025-03-01",
        "Africa/Lagos",
        "NGN",
    )
    assert body["cohorts"] == [
        {
            "month": "2025-01-01",
            "size": 2,
            "revenue_q": 74_000,
            "periods": [
                {
                    "offset": 0,
                    "month": "2025-01-01",
                    "customers": 2,
                    "retention": 1.0,
                    "revenue_q": 28_000,
                },
                {
                    "offset": 1,
                    "month": "2025-02-01",
                    "customers": 2,
                    "retention": 1.0,
                    "revenue_q": 28_000,
                },
                {
                    "offset": 2,
                    "month": "2025-03-01",
                    "customers": 2,
                    "retention": 1.0,
                    "revenue_q": 18_000,
                },
            ],
        },
        {
            "month": "2025-02-01",
            "size": 1,
            "revenue_q": 15_000,
            "periods": [
                {
                    "offset": 0,
                    "month": "2025-02-01",
                    "customers": 1,
                    "retention": 1.0,
                    "revenue_q": 5_000,
                },
                {
                    "offset": 1,
                    "month": "2025-03-01",
                    "customers": 1,
                    "retention": 1.0,
                    "revenue_q": 10_000,
                },
            ],
        },
        {
            "month": "2025-03-01",
            "size": 0,
            "revenue_q": 0,
            "periods": [
                {
                    "offset": 0,
                    "month": "2025-03-01",
                    "customers": 0,
                    "retention": 0.0,
                    "revenue_q": 0,
                },
            ],
        },
    ]


def test_cohorts_default_to_twelve_months_up_to_this_one(read_api):
    body = read_api.get("/analytics/cohorts").json()

    assert len(body["cohorts"]) == 12
    assert body["cohorts"][-1]["month"] == body["until"]
    assert [len(cohort["periods"]) for cohort in body["cohorts"]] == list(range(12, 0, -1))


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"months": 0}, "months"),
        ({"months": 61}, "months"),
        ({"months": "many"}, "months"),
        ({"since": "last year"}, "since"),
        ({"until": "2025-02-30"}, "until"),
        ({"since": "0001-01-01"}, "since"),
        ({"since": "2025-06-01", "until": "2025-05-31"}, "since"),
        ({"since": "2019-01-01", "until": "2025-01-01"}, "since"),
    ],
)
def test_bad_cohort_parameters_are_422_naming_them(read_api, params, field):
    response = read_api.get("/analytics/cohorts", params)

    assert response.status_code == 422, response.content
    assert list(response.json()["error"]["fields"]) == [field]


def test_ltv_sums_and_ranks_lifetime_value(calculated, read_api):
    values = sorted(
        CustomerInsight.objects.exclude(predicted_ltv_q=None).values_list(
            "predicted_ltv_q", flat=True
        )
    )

    response = read_api.get("/analytics/ltv")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["historical"] == {
        "customers": 5,
        "total_q": 190_000,
        "average_q": 38_000,
        "median_q": 30_000,
        "p90_q": 100_000,
        "p99_q": 100_000,
    }
    assert body["predicted"] == {
        "customers": 5,
        "total_q": sum(values),
        "average_q": sum(values) // 5,
        "median_q": values[2],
        "p90_q": values[4],
        "p99_q": values[4],
    }
    assert (body["customer_count"], body["currency"], body["time_unit"], body["horizon"]) == (
        6,
        "NGN",
        "week",
        52,
    )
    assert dt.datetime.fromisoformat(body["as_of"]) == AS_OF


def test_visits_counts_customers_by_visits_and_orders(calculated, read_api):
    response = read_api.get("/analytics/visits")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["customer_count"] == 6
    assert body["visits"] == [
        {"total_visits": 0, "customer_count": 4},
        {"total_visits": 1, "customer_count": 1},
        {"total_visits": 2, "customer_count": 1},
    ]
    assert [(row["total_orders"], row["customer_count"]) for row in body["orders"]] == [
        (0, 1),
        (1, 1),
        (2, 1),
        (3, 1),
        (5, 1),
        (10, 1),
    ]


def test_top_customers_with_a_limit(calculated, read_api):
    response = read_api.get("/analytics/insights/top_customers", {"limit": 2})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["insight_type"] == "top_customers"
    assert codes(body) == ["CHAMP", "LOYAL"]
    first = body["items"][0]
    assert set(first) == set(InsightCustomerOut.model_fields)
    assert (first["first_name"], first["last_name"], first["total_spent_q"]) == (
        "Champ",
        "Shopper",
        100_000,
    )
    assert (first["rfm_segment"], first["currency"]) == ("champions", "NGN")


def test_every_insight_type_answers(calculated, read_api):
    answers = {
        insight_type: codes(read_api.get(f"/analytics/insights/{insight_type}").json())
        for insight_type in ("top_customers", "at_risk", "new_customers", "lapsed", "high_value")
    }

    # Long after AS_OF nobody is new, and every customer with two or more orders has lapsed
    assert answers["top_customers"] == ["CHAMP", "LOYAL", "GONE", "SLEEPY", "NEWBIE"]
    assert answers["new_customers"] == []
    assert answers["lapsed"] == ["CHAMP", "LOYAL", "GONE", "SLEEPY"]
    assert sorted(answers["high_value"]) == sorted(answers["top_customers"])
    risky = CustomerInsight.objects.filter(churn_risk__gte=0.7).values_list(
        "customer__code", flat=True
    )
    assert sorted(answers["at_risk"]) == sorted(risky)


def test_new_customers_are_those_who_first_bought_in_the_last_30_days(
    read_api, actor, make_customer, buy
):
    from django.utils import timezone

    from rapport.insights.services import InsightService

    today = timezone.now()
    fresh = make_customer(code="FRESH")
    buy(fresh, (today - dt.timedelta(days=3)).date().isoformat(), 1_000)
    old = make_customer(code="OLDER")
    buy(old, (today - dt.timedelta(days=45)).date().isoformat(), 1_000)
    buy(old, (today - dt.timedelta(days=2)).date().isoformat(), 1_000)
    InsightService.recalculate_all(actor=actor)

    body = read_api.get("/analytics/insights/new_customers").json()

    assert codes(body) == ["FRESH"]


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/analytics/insights/best_customers", {}, "insight_type"),
        ("/analytics/insights/top_customers", {"limit": 0}, "limit"),
        ("/analytics/insights/top_customers", {"limit": 101}, "limit"),
        ("/analytics/insights/top_customers", {"limit": "ten"}, "limit"),
    ],
)
def test_bad_insight_requests_are_422_naming_them(read_api, path, params, field):
    response = read_api.get(path, params)

    assert response.status_code == 422, response.content
    assert list(response.json()["error"]["fields"]) == [field]


@pytest.mark.parametrize(
    "path",
    [
        "/analytics/rfm",
        "/analytics/cohorts",
        "/analytics/ltv",
        "/analytics/visits",
        "/analytics/insights/top_customers",
    ],
)
def test_analytics_need_a_key_and_show_only_the_keys_tenant(
    calculated, other_api, anonymous_api, path
):
    assert anonymous_api.get(path).status_code == 401

    response = other_api.get(path, {"since": "2024-12-01", "until": "2025-06-30"})

    assert response.status_code == 200, response.content
    text = response.content.decode()
    assert "CHAMP" not in text and "Shopper" not in text
    body = response.json()
    assert body.get("customers", 0) == 0
    assert body.get("customer_count", 0) == 0
    assert body.get("items", []) == []
    assert {cohort["size"] for cohort in body.get("cohorts", [])} <= {0}
