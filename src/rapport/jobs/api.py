"""REST endpoints of background jobs: a task's result, and the periodic schedule's runs."""

import datetime as dt
from typing import Any
from uuid import UUID

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from rapport.jobs import selectors
from rapport.schemas import responses
from rapport.tenancy.api import ADMIN, actor_of

router = Router(tags=["jobs"], auth=ADMIN)


class JobErrorOut(Schema):
    exception: str = Field(examples=["smtplib.SMTPServerDisconnected"])
    traceback: str = Field(description="Empty for runs of the schedule")


class JobOut(Schema):
    id: str
    task: str = Field(examples=["rapport.consent.tasks.send_confirmation_email"])
    status: str = Field(examples=["successful"], description="ready, running, successful, failed")
    queue: str
    enqueued_at: dt.datetime
    run_after: dt.datetime | None = Field(description="Not before this time, when deferred")
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    attempts: int
    errors: list[JobErrorOut]
    return_value: Any = Field(description="What the task returned; null for schedule runs")
    schedule_entry: str = Field(description="The schedule entry it ran for, if any")


class LastRunOut(Schema):
    due_at: dt.datetime
    enqueued_at: dt.datetime
    result_id: str = Field(description="GET /api/v1/jobs/{result_id} for its status")
    status: str | None = Field(description="Null when the task backend keeps no results")


class ScheduleEntryOut(Schema):
    name: str = Field(examples=["expire-points"])
    task: str = Field(examples=["rapport.loyalty.tasks.expire_points"])
    every: int | None = Field(description="Seconds between runs", examples=[None])
    daily_at: str | None = Field(description="UTC time of day", examples=["03:00"])
    problem: str = Field(description="Why the entry cannot run; empty when it can")
    next_run_at: dt.datetime
    last_run: LastRunOut | None

    @staticmethod
    def resolve_last_run(status: selectors.EntryStatus) -> dict | None:
        run = status.last_run
        if run is None:
            return None
        return {
            "due_at": run.due_at,
            "enqueued_at": run.enqueued_at,
            "result_id": run.task_result_id,
            "status": status.last_status,
        }


@router.get("/jobs/schedule", response=responses({200: list[ScheduleEntryOut]}))
def job_schedule(request: HttpRequest):
    """The periodic tasks: when each runs, its newest run and when it is next due."""
    return selectors.schedule_status()


@router.get("/jobs/{result_id}", response=responses({200: JobOut}, 404))
def job_result(request: HttpRequest, result_id: UUID):
    """A background task's status, times and errors (the tenant's own tasks and schedule runs)."""
    return selectors.job_result(tenant=actor_of(request).tenant, result_id=str(result_id))
