"""When a business is open, in its own timezone, and who works there."""

import datetime as dt
import random
import zoneinfo
from collections.abc import Callable

from rapport.demo.catalogue import Activity, Habits
from rapport.demo.locales import Locale

DAY = 86_400
EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
EPOCH_WEEKDAY = 3  # 1 January 1970 was a Thursday


class OpeningHours:
    """Moments inside the opening hours, drawn with the business's busy days and hours."""

    def __init__(self, habits: Habits, timezone: str) -> None:
        self.zone = zoneinfo.ZoneInfo(timezone)
        self.hours = habits.hours
        self.weekday_weights = habits.weekday_weights
        self.bags: list[tuple[int, ...]] = []
        for opening in habits.hours:
            if opening is None:
                self.bags.append(())
                continue
            opens, closes = opening
            bag = tuple(h for h in range(opens, closes) for _ in range(habits.hour_weights[h]))
            self.bags.append(bag or tuple(range(opens, closes)))
        self.midnights: dict[int, float] = {}
        offset = self.zone.utcoffset(dt.datetime(2025, 1, 1))
        self.offset = offset.total_seconds() if offset is not None else 0.0

    def midnight(self, day: int) -> float:
        """The POSIX time of the local midnight that starts `day` (days since 1970-01-01)."""
        seconds = self.midnights.get(day)
        if seconds is None:
            # Noon is never inside a DST switch; midnight is twelve hours before it.
            date = dt.date.fromordinal(EPOCH_ORDINAL + day)
            noon = dt.datetime.combine(date, dt.time(12), tzinfo=self.zone).timestamp()
            seconds = self.midnights[day] = noon - DAY / 2
        return seconds

    def day_of(self, seconds: float) -> int:
        """The local day a moment falls on."""
        day = int((seconds + self.offset) // DAY)
        if seconds < self.midnight(day):
            return day - 1
        if seconds >= self.midnight(day + 1):
            return day + 1
        return day

    def date_of(self, seconds: float) -> dt.date:
        return dt.date.fromordinal(EPOCH_ORDINAL + self.day_of(seconds))

    def is_open(self, seconds: float) -> bool:
        day = self.day_of(seconds)
        opening = self.hours[(day + EPOCH_WEEKDAY) % 7]
        if opening is None:
            return False
        hour = (seconds - self.midnight(day)) / 3600
        return opening[0] <= hour < opening[1]

    def slot(
        self,
        rnd: Callable[[], float],
        after: float,
        hour: int | None = None,
        step: int = 1,
    ) -> float:
        """A moment in the opening hours after `after`: on its day if the business is open
        then (and the day is not skipped as a quiet one), else on one of the days after. `hour` is a
        preferred hour; `step` rounds the minutes (30: appointments on the half hour)."""
        day = self.day_of(after)
        for _ in range(21):
            weekday = (day + EPOCH_WEEKDAY) % 7
            opening = self.hours[weekday]
            if opening is not None and rnd() < self.weekday_weights[weekday]:
                bag = self.bags[weekday]
                chosen = hour
                if chosen is None or not opening[0] <= chosen < opening[1]:
                    chosen = bag[int(rnd() * len(bag))]
                minute = int(rnd() * 60) // step * step
                moment = self.midnight(day) + chosen * 3600 + minute * 60
                if step == 1:
                    moment += int(rnd() * 60)
                if moment > after:
                    return moment
                day += 1
            else:
                # Closed, or a quiet day for this customer: one of the next few days instead,
                # so the day after a closed one does not take all of its custom.
                day += 1 + int(rnd() * 3)
        return after + DAY  # only for a business open on no day at all


def staff_roster(locale: Locale, activity: Activity, seed: int) -> dict[str, tuple[str, ...]]:
    """The people who work there, by role: vets are "Dr. First Last", others "First L."."""
    rng = random.Random(f"staff:{seed}")
    groups = [group for group in locale.name_groups for _ in range(group.weight)]
    roster: dict[str, tuple[str, ...]] = {}
    taken: set[str] = set()
    for role, count in activity.roster:
        names: list[str] = []
        while len(names) < count:
            group = rng.choice(groups)
            first = rng.choice(group.female + group.male)
            last = rng.choice(group.last)
            name = f"Dr. {first} {last}" if role == "vet" else f"{first} {last[0]}."
            if name not in taken:
                taken.add(name)
                names.append(name)
        roster[role] = tuple(names)
    return roster
