"""A customer's visit pattern: emergency-driven, regular, seasonal, or none recognised."""

import re
import unicodedata
from collections.abc import Sequence
from datetime import date, datetime

import numpy as np

# The strings equal rapport.insights.models.VisitPattern's values.
REGULAR = "regular"
SEASONAL = "seasonal"
EMERGENCY_DRIVEN = "emergency_driven"
NO_PATTERN = ""

# A visit is an emergency when a word of its service name starts with one of these, case and
# accents ignored: emergency, emergencia, emergência, emergenza, urgent, urgency, urgencia,
# urgência, urgence, accident, accidente, acidente, trauma, Notfall. The accented stems are
# there for matching that cannot ignore accents (a database's icontains).
EMERGENCY_WORDS = (
    "emergen",
    "emergên",
    "urgen",
    "urgên",
    "accident",
    "acident",
    "trauma",
    "notfall",
)

MIN_VISITS = 3
EMERGENCY_SHARE = 0.5  # at least this share of the visits are emergencies
REGULAR_MAX_GAP_VARIATION = 0.5  # coefficient of variation of the gaps between visit days
SEASON_TOLERANCE_DAYS = 45  # how far from a whole number of years a recurrence may fall
SEASONAL_MIN_SHARE = 0.75  # share of visit days that recur in another year
SEASONAL_MAX_MONTHS = 6  # calendar months with a visit, over all years
DAYS_PER_YEAR = 365.2425

EPOCH = date(1970, 1, 1)


def _plain(text: str) -> str:
    return "".join(
        c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c)
    )


_EMERGENCY = re.compile(
    r"\b(?:" + "|".join(sorted({re.escape(_plain(w)) for w in EMERGENCY_WORDS})) + ")"
)


def is_emergency_service(service_name: str) -> bool:
    """Whether a service's name marks an emergency visit ("Urgência 24h", "Emergency call")."""
    return bool(_EMERGENCY.search(_plain(service_name)))


def _epoch_days(visits: Sequence) -> np.ndarray:
    """Days since 1970-01-01 of dates, datetimes (their date) or day numbers already."""
    if len(visits) and isinstance(visits[0], date):
        return np.array(
            [((d.date() if isinstance(d, datetime) else d) - EPOCH).days for d in visits],
            dtype=np.int64,
        )
    return np.asarray(visits, dtype=np.int64)


def _gap_variation(days: np.ndarray) -> float:
    gaps = np.diff(days)
    return float(gaps.std() / gaps.mean())


def _is_seasonal(days: np.ndarray) -> bool:
    calendar_months = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12
    if np.unique(calendar_months).size > SEASONAL_MAX_MONTHS:
        return False
    apart = np.abs(days[:, None] - days[None, :]).astype(np.float64)
    years = np.rint(apart / DAYS_PER_YEAR)
    recurs = (years >= 1) & (np.abs(apart - years * DAYS_PER_YEAR) <= SEASON_TOLERANCE_DAYS)
    return bool(recurs.any(axis=1).mean() >= SEASONAL_MIN_SHARE)


def visit_pattern(visits: Sequence, emergencies: Sequence[bool]) -> str:
    """The pattern of one customer's completed visits, with one emergency flag per visit.

    `visits` are dates (or datetimes) or day numbers counted from 1970-01-01, in any order.
    Checked in this order: fewer than MIN_VISITS visits gives ""; emergency-driven when at
    least EMERGENCY_SHARE of them are emergencies; regular when there are at least three
    visit days and the gaps between them vary by a coefficient of variation of at most
    REGULAR_MAX_GAP_VARIATION; seasonal when the visit days fall in at most
    SEASONAL_MAX_MONTHS calendar months and at least SEASONAL_MIN_SHARE of them have another
    visit a whole number of years away, give or take SEASON_TOLERANCE_DAYS; else "".
    """
    if len(visits) != len(emergencies):
        raise ValueError("visit_pattern needs one emergency flag per visit")
    if len(visits) < MIN_VISITS:
        return NO_PATTERN
    if np.count_nonzero(np.asarray(emergencies, dtype=bool)) >= EMERGENCY_SHARE * len(visits):
        return EMERGENCY_DRIVEN
    days = np.unique(_epoch_days(visits))
    if days.size < 3:
        return NO_PATTERN
    if _gap_variation(days) <= REGULAR_MAX_GAP_VARIATION:
        return REGULAR
    if _is_seasonal(days):
        return SEASONAL
    return NO_PATTERN
