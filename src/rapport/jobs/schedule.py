"""The periodic schedule: RAPPORT_SCHEDULE read into entries, and when each is due.

An entry runs `every` N seconds or `daily_at` "HH:MM" in UTC. Its due times are fixed slots
(multiples of N seconds since the Unix epoch; that minute of every UTC day), so every worker
on every machine computes the same slot and the database can tell them apart.
"""

import datetime as dt
import importlib.util
import re
from dataclasses import dataclass

from django.apps import apps
from django.utils.module_loading import import_string
from django_tasks.base import Task

from rapport.jobs import conf

DAY = dt.timedelta(days=1)
NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,99}")
TIME_OF_DAY = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


class ScheduleError(ValueError):
    """An entry of RAPPORT_SCHEDULE that cannot be read."""


class TaskUnavailable(LookupError):
    """An entry's task path that does not lead to a task."""


@dataclass(frozen=True)
class Entry:
    name: str
    task_path: str
    every: int | None = None  # seconds
    daily_at: dt.time | None = None  # UTC

    @property
    def period(self) -> dt.timedelta:
        return dt.timedelta(seconds=self.every) if self.every else DAY

    @property
    def cadence(self) -> str:
        if self.every:
            return f"every {self.every} s"
        return f"daily at {self.daily_at:%H:%M} UTC"

    def latest_slot(self, now: dt.datetime) -> dt.datetime:
        """The newest due time at or before `now`: the one run owed after any downtime."""
        now = now.astimezone(dt.UTC)
        if self.every:
            seconds = int(now.timestamp()) // self.every * self.every
            return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
        today = dt.datetime.combine(now.date(), self.daily_at, tzinfo=dt.UTC)
        return today if today <= now else today - DAY

    def next_slot(self, now: dt.datetime) -> dt.datetime:
        """The first due time after `now`."""
        return self.latest_slot(now) + self.period

    def is_skipped(self) -> bool:
        """True for a task of an optional rapport app that is not installed: left out quietly."""
        parts = self.task_path.split(".")
        if parts[0] != "rapport" or len(parts) < 3:
            return False
        package = ".".join(parts[:2])
        return not apps.is_installed(package) and importlib.util.find_spec(package) is not None

    def task(self) -> Task:
        """The task the entry names, imported now; TaskUnavailable says why it cannot be."""
        try:
            found = import_string(self.task_path)
        except ImportError as error:
            raise TaskUnavailable(f"{self.task_path} cannot be imported ({error})") from None
        if not isinstance(found, Task):
            raise TaskUnavailable(f"{self.task_path} is not a task (decorate it with @task())")
        return found


def parse(name: object, spec: object) -> Entry:
    """One entry of RAPPORT_SCHEDULE, or ScheduleError naming what is wrong with it."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise ScheduleError(
            f"schedule entry name {name!r} is not valid: use lower-case letters, digits, - and _"
        )
    if not isinstance(spec, dict):
        raise ScheduleError(f"schedule entry {name!r} is not a dict")
    unknown = set(spec) - {"task", "every", "daily_at"}
    if unknown:
        raise ScheduleError(
            f"schedule entry {name!r} has unknown keys: {', '.join(sorted(unknown))}"
        )
    task_path = spec.get("task")
    if not isinstance(task_path, str) or "." not in task_path or len(task_path) > 200:
        raise ScheduleError(f"schedule entry {name!r} needs 'task': the task's dotted path")
    if ("every" in spec) == ("daily_at" in spec):
        raise ScheduleError(f"schedule entry {name!r} needs one of 'every' or 'daily_at'")
    if "every" in spec:
        every = spec["every"]
        if isinstance(every, bool) or not isinstance(every, int) or not 1 <= every <= 86400:
            raise ScheduleError(
                f"schedule entry {name!r}: 'every' is whole seconds from 1 to 86400"
            )
        return Entry(name=name, task_path=task_path, every=every)
    match = TIME_OF_DAY.fullmatch(str(spec["daily_at"]))
    if not isinstance(spec["daily_at"], str) or match is None:
        raise ScheduleError(f"schedule entry {name!r}: 'daily_at' is a UTC time such as '03:00'")
    return Entry(
        name=name,
        task_path=task_path,
        daily_at=dt.time(int(match.group(1)), int(match.group(2))),
    )


def read() -> tuple[list[Entry], list[str]]:
    """The entries of RAPPORT_SCHEDULE that can be read, and what is wrong with the others."""
    entries, problems = [], []
    for name, spec in conf.schedule().items():
        try:
            entries.append(parse(name, spec))
        except ScheduleError as error:
            problems.append(str(error))
    return entries, problems


def active() -> list[Entry]:
    """The readable entries, less those of optional apps that are not installed."""
    return [entry for entry in read()[0] if not entry.is_skipped()]
