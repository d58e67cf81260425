"""What the API and the admin show of jobs: one task's result, and the schedule's runs.

Task results live in the database backend's table. A tenant sees the results of its own tasks
(those enqueued with its `tenant_id`) in full, and the runs of the schedule, which belong to no
tenant, without their tracebacks and return values: those may speak of other tenants.
"""

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from rapport.exceptions import NotFound
from rapport.jobs import schedule
from rapport.jobs.models import ScheduledRun
from rapport.tenancy.models import Tenant


@dataclass(frozen=True)
class JobError:
    exception: str
    traceback: str = ""


@dataclass(frozen=True)
class JobResult:
    id: str
    task: str
    status: str  # ready, running, successful, failed
    queue: str
    enqueued_at: dt.datetime
    run_after: dt.datetime | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    attempts: int
    errors: list[JobError] = field(default_factory=list)
    return_value: Any = None
    schedule_entry: str = ""


def job_result(*, tenant: Tenant, result_id: str) -> JobResult:
    """A task result the tenant may see; NotFound for any other, or an unknown id."""
    missing = NotFound("No job with this id")
    try:
        row = DBTaskResult.objects.get(pk=result_id)
    except (DBTaskResult.DoesNotExist, ValidationError):
        raise missing from None
    kwargs = row.args_kwargs.get("kwargs") if isinstance(row.args_kwargs, dict) else None
    own = isinstance(kwargs, dict) and kwargs.get("tenant_id") == tenant.pk
    run = None if own else ScheduledRun.objects.filter(task_result_id=str(row.pk)).first()
    if not own and run is None:
        raise missing
    errors = []
    if row.exception_class_path:
        errors.append(JobError(row.exception_class_path, row.traceback if own else ""))
    return JobResult(
        id=str(row.pk),
        task=row.task_path,
        status=row.status.lower(),
        queue=row.queue_name,
        enqueued_at=row.enqueued_at,
        run_after=None if row.run_after.year == 9999 else row.run_after,
        started_at=row.started_at,
        finished_at=row.finished_at,
        attempts=len(row.worker_ids or []),
        errors=errors,
        return_value=row.return_value if own else None,
        schedule_entry=run.name if run else "",
    )


@dataclass(frozen=True)
class EntryStatus:
    """A schedule entry: when it runs, its newest run, when it is next due."""

    name: str
    task: str
    every: int | None
    daily_at: str | None
    problem: str
    next_run_at: dt.datetime
    last_run: ScheduledRun | None
    last_status: str | None  # the last run's task status, when the backend keeps results


def schedule_status(now: dt.datetime | None = None) -> list[EntryStatus]:
    """Every entry of the schedule whose app is installed, in the order of the setting."""
    now = now or timezone.now()
    entries = schedule.active()
    last_runs = {}
    for entry in entries:
        last_runs[entry.name] = ScheduledRun.objects.filter(name=entry.name).first()
    result_ids = [run.task_result_id for run in last_runs.values() if run and run.task_result_id]
    statuses = dict(
        DBTaskResult.objects.filter(pk__in=_valid_ids(result_ids)).values_list("pk", "status")
    )
    rows = []
    for entry in entries:
        try:
            entry.task()
            problem = ""
        except schedule.TaskUnavailable as error:
            problem = str(error)
        run = last_runs[entry.name]
        status = statuses.get(_uuid_or_none(run.task_result_id)) if run else None
        rows.append(
            EntryStatus(
                name=entry.name,
                task=entry.task_path,
                every=entry.every,
                daily_at=f"{entry.daily_at:%H:%M}" if entry.daily_at else None,
                problem=problem,
                next_run_at=entry.next_slot(now),
                last_run=run,
                last_status=status.lower() if status else None,
            )
        )
    return rows


def _uuid_or_none(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _valid_ids(values: list[str]) -> list[uuid.UUID]:
    return [found for found in map(_uuid_or_none, values) if found is not None]
