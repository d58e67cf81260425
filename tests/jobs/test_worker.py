"""The task backends and `rapport worker`: tasks wait in the database until a worker runs them."""

import datetime as dt
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from rapport.jobs.models import ScheduledRun
from rapport.jobs.tasks import prune_finished
from rapport.loyalty.models import LoyaltyAccount
from rapport.loyalty.services import LoyaltyProgramService, LoyaltyService
from rapport.loyalty.tasks import expire_tenant_points
from rapport.tenancy.actors import Actor

ROOT = Path(__file__).resolve().parents[2]
PRUNE = "rapport.jobs.tasks.prune_finished"


def points_due_to_expire(tenant, make_customer) -> LoyaltyAccount:
    """A customer with 100 points earned 400 days ago, in a program where points last a year."""
    actor = Actor.for_system(tenant, "tests")
    LoyaltyProgramService.configure_program(actor=actor, points_expire_after_days=365)
    customer = make_customer(code="ADA-1", first_name="Ada")
    LoyaltyService.earn_points(
        actor=actor,
        code=customer.code,
        points=100,
        reference="old",
        occurred_at=timezone.now() - dt.timedelta(days=400),
    )
    return LoyaltyAccount.objects.get(customer=customer)


@pytest.mark.django_db
def test_in_tests_a_task_runs_as_it_is_enqueued():
    result = prune_finished.enqueue()

    assert result.status == "SUCCESSFUL"
    assert result.return_value == {"task_results": 0, "scheduled_runs": 0}
    assert DBTaskResult.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_queued_task_waits_until_a_worker_runs_it(database_tasks, tenant, make_customer):
    # Given points due to expire, and their expiry enqueued on the database backend
    account = points_due_to_expire(tenant, make_customer)
    result = expire_tenant_points.enqueue(tenant_id=tenant.pk)

    # Then it waits in the queue, and nothing has expired yet
    assert DBTaskResult.objects.get(pk=result.id).status == "READY"
    account.refresh_from_db()
    assert account.points_balance == 100

    # When a worker runs what is queued
    out = io.StringIO()
    call_command("worker", "--once", "--no-schedule", stdout=out)

    # Then the task ran, once, and says what it did
    result.refresh()
    assert result.status == "SUCCESSFUL"
    assert result.return_value["points"] == 100
    account.refresh_from_db()
    assert account.points_balance == 0
    assert "state=SUCCESSFUL" in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_worker_once_enqueues_the_due_schedule_and_runs_it(database_tasks, settings):
    settings.RAPPORT_SCHEDULE = {"tidy": {"task": PRUNE, "every": 60}}

    out = io.StringIO()
    call_command("worker", "--once", stdout=out)

    [run] = ScheduledRun.objects.all()
    assert DBTaskResult.objects.get(pk=run.task_result_id).status == "SUCCESSFUL"
    assert "Schedule: tidy every 60 s" in out.getvalue()
    assert "Enqueued tidy" in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_worker_says_which_entries_it_skips_and_goes_on(database_tasks, settings):
    settings.RAPPORT_SCHEDULE = {
        "gone": {"task": "rapport.jobs.tasks.vanished", "every": 60},
        "tidy": {"task": PRUNE, "every": 60},
    }

    out = io.StringIO()
    call_command("worker", "--once", stdout=out)

    assert "Schedule entry gone is skipped until it is fixed" in out.getvalue()
    assert list(ScheduledRun.objects.values_list("name", flat=True)) == ["tidy"]


@pytest.mark.django_db
@pytest.mark.parametrize("queue", ["nightly", "", ","])
def test_an_unknown_queue_is_refused(queue):
    with pytest.raises(CommandError, match="the queues are default"):
        call_command("worker", "--once", "--queue", queue)


postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="another process cannot see the in-memory database"
)


def worker_process(*options: str) -> subprocess.Popen:
    """`rapport worker` in a process of its own, on the test database."""
    db = connection.settings_dict
    url = (
        f"postgres://{quote(db['USER'] or '')}:{quote(db['PASSWORD'] or '')}"
        f"@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    env = {**os.environ, "DATABASE_URL": url, "RAPPORT_TASKS_BACKEND": "database"}
    return subprocess.Popen(
        [sys.executable, "-m", "rapport.cli", "worker", "--skip-checks", *options],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.postgres
@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_worker_process_runs_what_another_process_queued(database_tasks, tenant, make_customer):
    account = points_due_to_expire(tenant, make_customer)
    result = expire_tenant_points.enqueue(tenant_id=tenant.pk)

    worker = worker_process("--once", "--no-schedule")
    output, _ = worker.communicate(timeout=60)

    assert worker.returncode == 0, output
    result.refresh()
    assert result.status == "SUCCESSFUL", output
    account.refresh_from_db()
    assert account.points_balance == 0


@pytest.mark.postgres
@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_worker_stops_gracefully_on_sigterm(database_tasks):
    # Given a worker running with the default schedule
    worker = worker_process("--interval", "0.2")
    try:
        deadline = time.monotonic() + 30
        while not ScheduledRun.objects.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert ScheduledRun.objects.exists(), "the worker enqueued nothing"

        # When it is told to stop
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()

    # Then it stops cleanly, saying so
    assert worker.returncode == 0, output
    assert "shutting down gracefully" in output
    assert "stopped" in output
