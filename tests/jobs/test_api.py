"""The jobs API: a task's status for its tenant's admins, and the schedule's runs."""

import datetime as dt
import uuid

import pytest
from django.core import mail
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from rapport.consent.services import ConsentService
from rapport.jobs import schedule
from rapport.jobs.models import ScheduledRun
from rapport.jobs.services import Scheduler
from rapport.tenancy.actors import Actor
from tests.jobs.helpers import stored_result

pytestmark = pytest.mark.django_db

PRUNE = "rapport.jobs.tasks.prune_finished"


def test_a_waiting_task_of_the_tenant(admin_api, tenant):
    result_id = stored_result(tenant)

    response = admin_api.get(f"/jobs/{result_id}")

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == result_id
    assert body["task"] == "rapport.loyalty.tasks.expire_tenant_points"
    assert (body["status"], body["queue"], body["attempts"]) == ("ready", "default", 0)
    assert body["started_at"] is None and body["finished_at"] is None
    assert body["errors"] == [] and body["schedule_entry"] == ""


@pytest.mark.django_db(transaction=True)
def test_a_failed_mail_is_a_failed_task_with_its_error(
    admin_api, tenant, make_customer, database_tasks, settings
):
    # Given a mail server that cannot be reached, and a double opt-in requested on email
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    customer = make_customer(first_name="Ada", email="ada@example.com")
    link = ConsentService.request_confirmation(
        actor=Actor.for_system(tenant, "tests"), code=customer.code, channel="email"
    )
    [queued] = DBTaskResult.objects.all()
    assert link.sent_to == "ada@example.com"

    # When a worker tries to send it
    call_command("worker", "--once", "--no-schedule", verbosity=0)

    # Then the task failed, and the API says why, with the traceback for the tenant's admin
    body = admin_api.get(f"/jobs/{queued.pk}").json()
    assert body["status"] == "failed"
    assert body["task"] == "rapport.consent.tasks.send_confirmation_email"
    [error] = body["errors"]
    assert error["exception"] == "rapport.consent.services.DeliveryFailed"
    assert "could not be sent" in error["traceback"]
    assert mail.outbox == []


def test_another_tenants_task_is_not_found(admin_api, other_tenant):
    result_id = stored_result(other_tenant)

    response = admin_api.get(f"/jobs/{result_id}")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("result_id", [str(uuid.uuid4()), "not-a-uuid"])
def test_an_unknown_id(admin_api, result_id):
    response = admin_api.get(f"/jobs/{result_id}")

    assert response.status_code in (404, 422)
    assert "error" in response.json()


def test_jobs_need_the_admin_scope(api, tenant):
    assert api.get(f"/jobs/{stored_result(tenant)}").status_code == 403
    assert api.get("/jobs/schedule").status_code == 403


def test_a_schedule_run_is_seen_by_every_tenant_without_its_details(
    admin_api, other_api, database_tasks
):
    # Given the prune entry enqueued by the scheduler
    entry = schedule.parse("prune-jobs", {"task": PRUNE, "daily_at": "04:00"})
    [claim] = Scheduler(entries=[entry]).tick()

    # When each tenant's admin asks for it
    ours = admin_api.get(f"/jobs/{claim.task_result_id}").json()
    theirs = other_api.get(f"/jobs/{claim.task_result_id}").json()

    # Then both see the same run of the schedule, and no return value
    assert ours == theirs
    assert (ours["schedule_entry"], ours["status"], ours["return_value"]) == (
        "prune-jobs",
        "ready",
        None,
    )


def test_the_schedule_with_last_and_next_runs(admin_api, settings, database_tasks):
    settings.RAPPORT_SCHEDULE = {
        "tidy": {"task": PRUNE, "every": 60},
        "nightly": {"task": PRUNE, "daily_at": "04:00"},
        "broken": {"task": "rapport.jobs.tasks.gone", "every": 60},
        "demo": {"task": "rapport.demo.tasks.refresh", "every": 60},  # app not installed
    }
    now = dt.datetime.now(dt.UTC)
    Scheduler().tick(now)

    response = admin_api.get("/jobs/schedule")

    assert response.status_code == 200
    rows = {row["name"]: row for row in response.json()}
    assert list(rows) == ["tidy", "nightly", "broken"]
    tidy = rows["tidy"]
    assert (tidy["every"], tidy["daily_at"], tidy["problem"]) == (60, None, "")
    run = ScheduledRun.objects.get(name="tidy")
    assert tidy["last_run"]["result_id"] == run.task_result_id
    assert tidy["last_run"]["status"] == "ready"
    assert dt.datetime.fromisoformat(tidy["next_run_at"]) == run.due_at + dt.timedelta(minutes=1)
    assert rows["nightly"]["daily_at"] == "04:00"
    assert dt.datetime.fromisoformat(rows["nightly"]["next_run_at"]).time() == dt.time(4, 0)
    assert "cannot be imported" in rows["broken"]["problem"]
    assert rows["broken"]["last_run"] is None


def test_the_admin_shows_the_schedule_runs_read_only(admin_client, database_tasks):
    entry = schedule.parse("prune-jobs", {"task": PRUNE, "daily_at": "04:00"})
    Scheduler(entries=[entry]).tick()
    run = ScheduledRun.objects.get()

    listing = admin_client.get("/admin/rapport_jobs/scheduledrun/")
    page = admin_client.get(f"/admin/rapport_jobs/scheduledrun/{run.pk}/change/")

    assert listing.status_code == page.status_code == 200
    assert run.task_result_id in page.content.decode()
    assert (
        f"/admin/django_tasks_database/dbtaskresult/{run.task_result_id}/"
        in listing.content.decode()
    )
    assert admin_client.get("/admin/rapport_jobs/scheduledrun/add/").status_code == 403
