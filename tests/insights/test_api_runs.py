"""Recalculating a tenant through the API, its runs and their progress, and the model card."""

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from rapport.insights.models import CustomerInsight, InsightRun
from tests.insights.conftest import AS_OF

pytestmark = pytest.mark.django_db


def test_recalculating_answers_202_with_the_run_and_works_every_customer_out(shop, admin_api):
    response = admin_api.post("/insights/recalculate", {"as_of": "2025-06-30T12:00:00Z"})

    # Tasks run at once in tests, so the run is complete by the time it is read back
    assert response.status_code == 202, response.content
    body = response.json()
    run = InsightRun.objects.get()
    assert body["id"] == str(run.uuid)
    assert body["status"] == "completed"
    assert (body["customers_done"], body["customers_total"], body["progress"]) == (6, 6, 100.0)
    assert (body["chunks_done"], body["chunks_total"]) == (1, 1)
    assert (body["time_unit"], body["horizon"], body["error"]) == ("week", 52, "")
    assert dt.datetime.fromisoformat(body["as_of"]) == AS_OF
    assert body["finished_at"] is not None
    assert CustomerInsight.objects.filter(run=run).count() == 6
    assert admin_api.get("/customers/CHAMP/insight").json()["rfm_segment"] == "champions"


def test_recalculating_with_another_time_unit_and_horizon(shop, admin_api):
    response = admin_api.post("/insights/recalculate", {"time_unit": "month", "horizon": 6})

    assert response.status_code == 202, response.content
    assert (response.json()["time_unit"], response.json()["horizon"]) == ("month", 6)
    clv = admin_api.get("/customers/LOYAL/clv").json()
    assert (clv["time_unit"], clv["horizon"]) == ("month", 6)


def test_recalculating_needs_an_admin_key(shop, api, read_api):
    assert api.post("/insights/recalculate", {}).status_code == 403
    assert read_api.post("/insights/recalculate", {}).status_code == 403
    assert InsightRun.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"as_of": "2999-01-01T00:00:00Z"}, "as_of"),
        ({"as_of": "yesterday"}, "as_of"),
        ({"time_unit": "year"}, "time_unit"),
        ({"horizon": 0}, "horizon"),
        ({"horizon": 10_001}, "horizon"),
        ({"chunk_size": 10}, "chunk_size"),
    ],
)
def test_bad_recalculation_settings_are_422_and_start_nothing(shop, admin_api, body, field):
    response = admin_api.post("/insights/recalculate", body)

    assert response.status_code == 422, response.content
    assert list(response.json()["error"]["fields"]) == [field]
    assert InsightRun.objects.count() == 0
    assert CustomerInsight.objects.count() == 0


def test_runs_list_newest_first_with_pages(shop, admin_api, read_api):
    for day in ("2025-04-30", "2025-05-31", "2025-06-30"):
        assert (
            admin_api.post("/insights/recalculate", {"as_of": f"{day}T12:00:00Z"}).status_code
            == 202
        )

    first = read_api.get("/insights/runs", {"limit": 2})
    assert first.status_code == 200, first.content
    rest = read_api.get("/insights/runs", {"limit": 2, "cursor": first.json()["next_cursor"]})

    as_of = [item["as_of"][:10] for item in first.json()["items"] + rest.json()["items"]]
    assert as_of == ["2025-06-30", "2025-05-31", "2025-04-30"]
    assert rest.json()["next_cursor"] is None


def test_a_run_shows_its_status_and_progress(shop, admin_api, read_api):
    run_id = admin_api.post("/insights/recalculate", {}).json()["id"]

    response = read_api.get(f"/insights/runs/{run_id}")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["id"], body["status"]) == (run_id, "completed")
    assert (body["customers_done"], body["customers_total"]) == (6, 6)


def test_a_running_run_shows_how_far_it_got(tenant, read_api):
    # A run mid-way (as a worker leaves it between chunks), written by hand: only the view of
    # its counters is under test
    run = InsightRun.objects.create(
        tenant=tenant,
        as_of=AS_OF,
        started_at=timezone.now(),
        customers_total=300,
        customers_done=100,
        chunks_total=3,
        chunks_done=1,
    )

    body = read_api.get(f"/insights/runs/{run.uuid}").json()

    assert (body["status"], body["progress"], body["finished_at"]) == ("running", 33.3, None)


def test_an_unknown_or_another_tenants_run_is_404(shop, admin_api, other_api):
    run_id = admin_api.post("/insights/recalculate", {}).json()["id"]

    for response in (
        other_api.get(f"/insights/runs/{run_id}"),
        admin_api.get(f"/insights/runs/{uuid.uuid4()}"),
    ):
        assert response.status_code == 404, response.content
        assert response.json()["error"]["code"] == "not_found"
    assert other_api.get("/insights/runs").json() == {"items": [], "next_cursor": None}
    assert other_api.get("/insights/model").json() is None


def test_a_run_id_that_is_no_uuid_is_422(read_api):
    response = read_api.get("/insights/runs/42")

    assert response.status_code == 422
    assert list(response.json()["error"]["fields"]) == ["run_id"]


def test_the_model_card_is_null_before_the_first_completed_run(read_api):
    response = read_api.get("/insights/model")

    assert response.status_code == 200
    assert response.json() is None


def test_the_model_card_of_the_last_completed_run(shop, admin_api, read_api):
    admin_api.post("/insights/recalculate", {"as_of": "2025-05-31T12:00:00Z"})
    admin_api.post("/insights/recalculate", {"as_of": "2025-06-30T12:00:00Z"})
    latest = InsightRun.objects.get(as_of=AS_OF)

    response = read_api.get("/insights/model")

    assert response.status_code == 200, response.content
    card = response.json()
    assert set(card) == {
        "run_id",
        "as_of",
        "fitted_at",
        "method",
        "method_reason",
        "time_unit",
        "horizon",
        "parameters",
        "log_likelihood",
        "customers_fitted",
    }
    assert card["run_id"] == str(latest.uuid)
    assert dt.datetime.fromisoformat(card["as_of"]) == AS_OF
    assert (card["method"], card["method_reason"]) == (latest.method, latest.method_reason)
    assert card["method"] in ("bgnbd_gamma_gamma", "heuristic")
    assert card["method_reason"]
    assert (card["parameters"], card["log_likelihood"]) == (
        latest.parameters,
        latest.log_likelihood,
    )
    assert card["customers_fitted"] == latest.customers_fitted == 5
    assert (card["time_unit"], card["horizon"]) == ("week", 52)
