"""The scheduler, which enqueues each due run of the schedule once, and the pruning of old jobs.

A worker ticks its Scheduler about once a second. Each tick computes every entry's newest due
slot; a slot the scheduler has not handled yet is claimed by inserting its ScheduledRun row,
and the task is enqueued in the same transaction. The unique (name, due_at) constraint lets
exactly one insert succeed however many workers, on however many machines, tick at once: the
others get an IntegrityError and leave the slot to the winner.
"""

import datetime as dt
import logging
from dataclasses import dataclass

from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from rapport.jobs import conf, schedule
from rapport.jobs.models import ScheduledRun

logger = logging.getLogger("rapport.jobs")

ENQUEUED = "enqueued"
TAKEN = "taken"  # another scheduler enqueued the slot
UNAVAILABLE = "unavailable"  # the entry's task cannot be imported
FAILED = "failed"


@dataclass(frozen=True)
class Claim:
    """What one tick did about one entry's due slot."""

    name: str
    due_at: dt.datetime
    outcome: str
    task_result_id: str = ""
    detail: str = ""


class Scheduler:
    """Enqueues the schedule's due runs; one per worker process, ticked by the worker."""

    def __init__(self, *, worker_id: str = "", entries: list[schedule.Entry] | None = None) -> None:
        self.worker_id = worker_id[:64]
        self.entries = schedule.active() if entries is None else entries
        self.handled: dict[str, dt.datetime] = {}  # entry name -> the newest slot handled
        self.reported: set[tuple[str, str]] = set()

    def tick(self, now: dt.datetime | None = None) -> list[Claim]:
        """Claim and enqueue every due slot not handled yet. After downtime only the newest
        slot is due, so an entry runs once on start, not once per slot missed."""
        now = now or timezone.now()
        claims = []
        for entry in self.entries:
            slot = entry.latest_slot(now)
            if self.handled.get(entry.name) == slot:
                continue
            claim = self._claim(entry, slot)
            claims.append(claim)
            if claim.outcome != FAILED:
                self.handled[entry.name] = slot
        return claims

    def _claim(self, entry: schedule.Entry, slot: dt.datetime) -> Claim:
        try:
            task = entry.task()
        except schedule.TaskUnavailable as error:
            self._report_once(entry.name, str(error))
            return Claim(entry.name, slot, UNAVAILABLE, detail=str(error))
        try:
            with transaction.atomic():
                run = ScheduledRun.objects.create(
                    name=entry.name,
                    task_path=entry.task_path,
                    due_at=slot,
                    enqueued_at=timezone.now(),
                    worker_id=self.worker_id,
                )
                result = task.enqueue()
                run.task_result_id = str(result.id)
                run.save(update_fields=["task_result_id"])
        except IntegrityError:
            logger.debug("%s due %s: enqueued by another worker", entry.name, _at(slot))
            return Claim(entry.name, slot, TAKEN)
        except DatabaseError as error:  # the database is away or locked: try again next tick
            logger.warning("%s due %s not enqueued, retrying: %s", entry.name, _at(slot), error)
            return Claim(entry.name, slot, FAILED, detail=str(error))
        except Exception as error:
            logger.exception("%s due %s could not be enqueued", entry.name, _at(slot))
            return Claim(entry.name, slot, FAILED, detail=str(error))
        logger.info("Enqueued %s (due %s) as task %s", entry.name, _at(slot), result.id)
        return Claim(entry.name, slot, ENQUEUED, task_result_id=str(result.id))

    def _report_once(self, name: str, problem: str) -> None:
        if (name, problem) in self.reported:
            return
        self.reported.add((name, problem))
        logger.error("Schedule entry %s is skipped until it is fixed: %s", name, problem)


def _at(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


@dataclass(frozen=True)
class Pruned:
    task_results: int
    scheduled_runs: int


def prune_finished(*, keep_days: int | None = None, now: dt.datetime | None = None) -> Pruned:
    """Delete finished task results and scheduled runs older than `keep_days` (default
    RAPPORT_JOBS_KEEP_DAYS). Tasks waiting or running are never touched."""
    days = conf.keep_days() if keep_days is None else keep_days
    before = (now or timezone.now()) - dt.timedelta(days=max(days, 1))
    results, _ = DBTaskResult.objects.finished().filter(finished_at__lt=before).delete()
    runs, _ = ScheduledRun.objects.filter(due_at__lt=before).delete()
    return Pruned(task_results=results, scheduled_runs=runs)
