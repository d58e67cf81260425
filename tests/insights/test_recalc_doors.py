"""The recalculation's other doors: `rapport recalc`, the nightly task and the worker's queue."""

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from django_tasks_db.models import DBTaskResult

from rapport.commerce.services import LineInput, OrderInput, OrderService
from rapport.insights.models import CustomerInsight, InsightRun, RunStatus
from rapport.insights.tasks import recalculate_insights
from rapport.tenancy.actors import Actor
from tests.jobs.helpers import DATABASE


@pytest.fixture
def shoppers(tenant, make_customer):
    """Three customers, two of whom bought twice."""
    actor = Actor.for_system(tenant, "tests")
    customers = [make_customer(code=f"C{number}") for number in range(3)]
    for number, customer in enumerate(customers[:2]):
        for day in (1, 8):
            OrderService.record_order(
                actor=actor,
                order=OrderInput(
                    customer=customer,
                    external_id=f"O-{number}-{day}",
                    placed_at=dt.datetime(2025, 6, day, 10, tzinfo=dt.UTC),
                    lines=(LineInput(name="Coffee", unit_price_q=1500),),
                ),
            )
    return customers


def test_recalc_works_everyone_out_and_prints_the_model_card(shoppers):
    out = io.StringIO()

    call_command("recalc", "--as-of", "2025-07-01T00:00:00+00:00", stdout=out)

    run = InsightRun.objects.get()
    printed = out.getvalue()
    assert run.status == RunStatus.COMPLETED
    assert f"Run {run.uuid}: 3 customers in" in printed
    assert "Model: Heuristic (too little history to fit)" in printed
    assert "As of 2025-07-01T00:00:00+00:00, time unit week, horizon 52" in printed
    assert "2 customers with orders" in printed
    assert "Mean time between purchase days, in weeks: 1\n" in printed
    assert CustomerInsight.objects.filter(total_orders=2).count() == 2


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--as-of", "yesterday"], "--as-of 'yesterday' is not an ISO 8601 date or time"),
        (["--as-of", "2999-01-01"], "The history cannot end in the future"),
        (["--horizon", "0"], "Between 1 and 10,000 time units"),
        (["--tenant", "nowhere"], "nowhere"),
    ],
)
def test_recalc_refuses_bad_arguments_and_writes_nothing(shoppers, arguments, message):
    with pytest.raises(CommandError) as error:
        call_command("recalc", *arguments, stdout=io.StringIO())

    assert message in str(error.value)
    assert not InsightRun.objects.exists()
    assert not CustomerInsight.objects.exists()


def test_the_nightly_task_recalculates_every_tenant(shoppers, other_tenant):
    result = recalculate_insights.enqueue()

    assert result.return_value == {"tenants": 2}
    runs = InsightRun.objects.order_by("tenant_id")
    assert [(run.tenant, run.status) for run in runs] == [
        (shoppers[0].tenant, RunStatus.COMPLETED),
        (other_tenant, RunStatus.COMPLETED),
    ]
    assert CustomerInsight.objects.filter(tenant=other_tenant).count() == 0


def test_the_nightly_recalculation_is_on_the_schedule(settings):
    entry = settings.RAPPORT_SCHEDULE["recalculate-insights"]

    assert entry == {"task": "rapport.insights.tasks.recalculate_insights", "daily_at": "02:00"}


@pytest.mark.django_db(transaction=True)
def test_in_the_background_the_worker_works_the_chunks_out(shoppers, settings):
    # Given the database queue, and chunks of two customers
    settings.TASKS = {"default": {"BACKEND": DATABASE, "QUEUES": ["default"]}}
    settings.RAPPORT_INSIGHTS_CHUNK_SIZE = 2
    out = io.StringIO()

    # When the recalculation is sent to the background
    call_command("recalc", "--background", stdout=out)

    # Then its chunks wait for a worker, and the run says none is done
    run = InsightRun.objects.get()
    assert "2 chunks enqueued for 3 customers" in out.getvalue()
    assert (run.status, run.chunks_done, run.customers_done) == (RunStatus.RUNNING, 0, 0)
    assert DBTaskResult.objects.filter(status="READY").count() == 2
    assert not CustomerInsight.objects.exists()

    # When a worker runs what is queued
    call_command("worker", "--once", "--no-schedule", stdout=io.StringIO())

    # Then every chunk is written and the run completed
    run.refresh_from_db()
    assert (run.status, run.chunks_done, run.customers_done) == (RunStatus.COMPLETED, 2, 3)
    assert CustomerInsight.objects.count() == 3
