"""The schedule setting: entries, their due slots, and what `rapport check` says about them."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from rapport.jobs import schedule
from rapport.jobs.checks import schedule_entries

UTC = dt.UTC


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_the_default_schedule_runs_delivery_often_and_expiry_daily(settings):
    entries = {entry.name: entry for entry in schedule.active()}

    assert entries["dispatch-outbox"].task_path == "rapport.events.tasks.dispatch_outbox"
    assert entries["dispatch-outbox"].every == 5
    assert entries["deliver-webhooks"].every == 5
    assert entries["expire-points"].daily_at == dt.time(3, 0)
    assert entries["expire-points"].cadence == "daily at 03:00 UTC"


@pytest.mark.parametrize(
    ("now", "latest", "following"),
    [
        ("2025-06-01T02:59:59", "2025-05-31T03:00:00", "2025-06-01T03:00:00"),
        ("2025-06-01T03:00:00", "2025-06-01T03:00:00", "2025-06-02T03:00:00"),
        ("2025-06-01T23:30:00", "2025-06-01T03:00:00", "2025-06-02T03:00:00"),
        ("2024-12-31T04:00:00", "2024-12-31T03:00:00", "2025-01-01T03:00:00"),
    ],
)
def test_a_daily_entry_is_due_at_its_utc_time(now, latest, following):
    entry = schedule.parse("expire-points", {"task": "a.b", "daily_at": "03:00"})

    assert entry.latest_slot(at(now)) == at(latest)
    assert entry.next_slot(at(now)) == at(following)


def test_a_daily_time_is_read_in_utc_whatever_the_zone_of_now():
    entry = schedule.parse("nightly", {"task": "a.b", "daily_at": "03:00"})
    lagos = dt.timezone(dt.timedelta(hours=1))

    # 03:30 in Lagos is 02:30 UTC: today's 03:00 UTC has not come yet
    now = dt.datetime(2025, 6, 1, 3, 30, tzinfo=lagos)

    assert entry.latest_slot(now) == at("2025-05-31T03:00:00")


def test_an_interval_entry_is_due_on_fixed_slots_every_machine_agrees_on():
    entry = schedule.parse("often", {"task": "a.b", "every": 5})

    assert entry.latest_slot(at("2025-06-01T10:00:04.900")) == at("2025-06-01T10:00:00")
    assert entry.latest_slot(at("2025-06-01T10:00:05")) == at("2025-06-01T10:00:05")
    assert entry.next_slot(at("2025-06-01T10:00:07")) == at("2025-06-01T10:00:10")


@pytest.mark.parametrize(
    ("name", "spec", "problem"),
    [
        ("ok", "rapport.jobs.tasks.prune_finished", "is not a dict"),
        ("Bad Name", {"task": "a.b", "every": 5}, "is not valid"),
        ("no-task", {"every": 5}, "needs 'task'"),
        ("both", {"task": "a.b", "every": 5, "daily_at": "03:00"}, "one of 'every' or 'daily_at'"),
        ("neither", {"task": "a.b"}, "one of 'every' or 'daily_at'"),
        ("zero", {"task": "a.b", "every": 0}, "whole seconds"),
        ("text", {"task": "a.b", "every": "5"}, "whole seconds"),
        ("flag", {"task": "a.b", "every": True}, "whole seconds"),
        ("late", {"task": "a.b", "daily_at": "24:00"}, "UTC time"),
        ("loose", {"task": "a.b", "daily_at": "3:00"}, "UTC time"),
        ("extra", {"task": "a.b", "every": 5, "queue": "x"}, "unknown keys: queue"),
    ],
)
def test_a_malformed_entry_is_refused_with_the_reason(name, spec, problem):
    with pytest.raises(schedule.ScheduleError) as raised:
        schedule.parse(name, spec)

    assert problem in str(raised.value)


def test_an_unknown_task_path_is_reported_by_the_check(settings):
    # Given a schedule with a task that does not exist, one that is not a task, and a good one
    settings.RAPPORT_SCHEDULE = {
        "typo": {"task": "rapport.loyalty.tasks.expire_pointz", "every": 60},
        "not-a-task": {"task": "rapport.jobs.services.prune_finished", "every": 60},
        "fine": {"task": "rapport.jobs.tasks.prune_finished", "daily_at": "04:00"},
    }

    # When the checks run
    messages = schedule_entries(None)

    # Then the two bad entries are warnings naming the entry and why, and the good one passes
    assert [message.id for message in messages] == ["rapport.jobs.W001", "rapport.jobs.W001"]
    assert "'typo'" in messages[0].msg and "cannot be imported" in messages[0].msg
    assert "'not-a-task'" in messages[1].msg and "is not a task" in messages[1].msg
    # And `rapport check` shows them without failing: workers skip such entries
    call_command("check")


def test_a_malformed_entry_stops_rapport_check(settings):
    settings.RAPPORT_SCHEDULE = {"broken": {"task": "rapport.jobs.tasks.prune_finished"}}

    with pytest.raises(SystemCheckError, match=r"rapport\.jobs\.E001"):
        call_command("check")


def test_an_entry_of_an_app_that_is_not_installed_is_left_out_quietly(settings):
    # rapport.demo is a package of rapport, but not an installed app
    settings.RAPPORT_SCHEDULE = {
        "demo": {"task": "rapport.demo.tasks.refresh", "every": 60},
        "misspelt-app": {"task": "rapport.loyalti.tasks.expire_points", "every": 60},
    }

    assert [entry.name for entry in schedule.active()] == ["misspelt-app"]
    assert [message.msg.split(":")[0] for message in schedule_entries(None)] == [
        "Schedule entry 'misspelt-app' will not run"
    ]
