"""The scheduler: each due run is enqueued once, however many workers tick at the same time."""

import datetime as dt
import threading

import pytest
from django.db import connection
from django_tasks_db.models import DBTaskResult

from rapport.jobs import schedule
from rapport.jobs.models import ScheduledRun
from rapport.jobs.services import ENQUEUED, TAKEN, UNAVAILABLE, Scheduler, prune_finished

NOW = dt.datetime(2025, 6, 1, 10, 0, 2, tzinfo=dt.UTC)
PRUNE = "rapport.jobs.tasks.prune_finished"


def every_minute(name="tidy") -> schedule.Entry:
    return schedule.parse(name, {"task": PRUNE, "every": 60})


@pytest.mark.django_db
def test_two_schedulers_ticking_at_once_enqueue_a_slot_once(database_tasks):
    # Given two workers' schedulers with the same entry
    first, second = (Scheduler(worker_id=w, entries=[every_minute()]) for w in ("a", "b"))

    # When both tick at the same moment
    claims = first.tick(NOW) + second.tick(NOW)

    # Then one enqueued the run and the other found it taken
    assert [claim.outcome for claim in claims] == [ENQUEUED, TAKEN]
    [run] = ScheduledRun.objects.all()
    assert (run.name, run.due_at, run.worker_id) == ("tidy", NOW.replace(second=0), "a")
    [task] = DBTaskResult.objects.all()
    assert (str(task.pk), task.task_path, task.status) == (run.task_result_id, PRUNE, "READY")


@pytest.mark.django_db
def test_a_scheduler_enqueues_each_slot_once_and_the_next_one_when_due(database_tasks):
    scheduler = Scheduler(entries=[every_minute()])

    scheduler.tick(NOW)
    again = scheduler.tick(NOW + dt.timedelta(seconds=30))
    later = scheduler.tick(NOW + dt.timedelta(seconds=60))

    assert again == []  # the same slot: not even a try
    assert [claim.outcome for claim in later] == [ENQUEUED]
    assert ScheduledRun.objects.count() == DBTaskResult.objects.count() == 2


@pytest.mark.django_db
def test_missed_slots_run_once_on_start_not_once_each(database_tasks):
    # Given a run an hour ago, then no worker for an hour
    Scheduler(entries=[every_minute()]).tick(NOW)

    # When a worker starts again
    claims = Scheduler(entries=[every_minute()]).tick(NOW + dt.timedelta(hours=1))

    # Then it enqueues the newest slot only
    assert [(claim.outcome, claim.due_at) for claim in claims] == [
        (ENQUEUED, dt.datetime(2025, 6, 1, 11, 0, tzinfo=dt.UTC))
    ]
    assert ScheduledRun.objects.count() == 2


@pytest.mark.django_db
def test_a_task_that_cannot_be_found_is_skipped_and_the_others_run(database_tasks, caplog):
    broken = schedule.parse("broken", {"task": "rapport.jobs.tasks.nothing_here", "every": 60})
    scheduler = Scheduler(entries=[broken, every_minute()])

    first = scheduler.tick(NOW)
    second = scheduler.tick(NOW + dt.timedelta(minutes=1))

    assert [claim.outcome for claim in first + second] == [
        UNAVAILABLE,
        ENQUEUED,
        UNAVAILABLE,
        ENQUEUED,
    ]
    assert "cannot be imported" in first[0].detail
    assert list(ScheduledRun.objects.values_list("name", flat=True)) == ["tidy", "tidy"]
    # Reported once, not at every tick
    skipped = [r for r in caplog.records if "entry broken is skipped" in r.getMessage()]
    assert len(skipped) == 1


@pytest.mark.django_db
def test_with_the_immediate_backend_the_run_happens_at_once(settings):
    # Given the immediate backend (the tests' default) and a finished task result 10 days old
    old = ScheduledRun.objects.create(
        name="old", task_path=PRUNE, due_at=NOW - dt.timedelta(days=10), enqueued_at=NOW
    )

    # When the prune entry is due
    [claim] = Scheduler(entries=[every_minute()]).tick(dt.datetime.now(dt.UTC))

    # Then it ran within the tick: the old run is gone, the new one recorded
    assert claim.outcome == ENQUEUED
    assert not ScheduledRun.objects.filter(pk=old.pk).exists()
    assert list(ScheduledRun.objects.values_list("name", flat=True)) == ["tidy"]


@pytest.mark.django_db
def test_pruning_keeps_what_is_recent_or_unfinished(database_tasks):
    from rapport.jobs.tasks import prune_finished as prune_task

    now = dt.datetime.now(dt.UTC)
    waiting = prune_task.enqueue()
    done = prune_task.enqueue()
    DBTaskResult.objects.filter(pk=done.id).update(
        status="SUCCESSFUL", finished_at=now - dt.timedelta(days=8)
    )
    DBTaskResult.objects.filter(pk=waiting.id).update(enqueued_at=now - dt.timedelta(days=30))
    for days in (1, 8):
        ScheduledRun.objects.create(
            name=f"run-{days}",
            task_path=PRUNE,
            due_at=now - dt.timedelta(days=days),
            enqueued_at=now,
        )

    pruned = prune_finished(keep_days=7)

    assert (pruned.task_results, pruned.scheduled_runs) == (1, 1)
    assert list(DBTaskResult.objects.values_list("pk", flat=True)) == [
        DBTaskResult.objects.get(pk=waiting.id).pk
    ]
    assert list(ScheduledRun.objects.values_list("name", flat=True)) == ["run-1"]


postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="threads share the in-memory SQLite test database"
)


@pytest.mark.postgres
@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_schedulers_in_threads_enqueue_a_slot_once(database_tasks):
    # Given four workers' schedulers, each on its own connection, with two entries
    entries = [every_minute("tidy"), every_minute("sweep")]
    schedulers = [Scheduler(worker_id=f"w{n}", entries=entries) for n in range(4)]
    start = threading.Barrier(len(schedulers))
    outcomes = []

    def tick(scheduler):
        try:
            start.wait()
            outcomes.extend(claim.outcome for claim in scheduler.tick(NOW))
        finally:
            connection.close()

    # When they all tick at the same moment
    threads = [threading.Thread(target=tick, args=(s,)) for s in schedulers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # Then each entry's slot was enqueued by exactly one of them
    assert sorted(outcomes) == [ENQUEUED] * 2 + [TAKEN] * 6
    assert sorted(ScheduledRun.objects.values_list("name", flat=True)) == ["sweep", "tidy"]
    assert DBTaskResult.objects.count() == 2
