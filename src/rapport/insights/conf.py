"""The insights app's tunables, read from settings when used so tests can override them."""

from django.conf import settings

# The probability models' time unit and how many days each holds.
TIME_UNITS = {"day": 1.0, "week": 7.0, "month": 365.25 / 12}
DEFAULT_TIME_UNIT = "week"
# Lifetime value is predicted over this many time units by default (52 weeks = a year).
DEFAULT_HORIZONS = {"day": 365, "week": 52, "month": 12}
DEFAULT_CHUNK_SIZE = 50_000
DEFAULT_AT_RISK = 0.7
# An outbound message counts as answered when the customer's next interaction is inbound and
# comes within this many days.
DEFAULT_RESPONSE_WINDOW_DAYS = 7


def time_unit() -> str:
    """The time unit of the BG/NBD and Gamma-Gamma fits: day, week or month."""
    return str(getattr(settings, "RAPPORT_INSIGHTS_TIME_UNIT", DEFAULT_TIME_UNIT))


def horizon(unit: str) -> int:
    """How many time units ahead lifetime value is predicted by default."""
    return int(getattr(settings, "RAPPORT_INSIGHTS_HORIZON", DEFAULT_HORIZONS[unit]))


def chunk_size() -> int:
    """Customers a recalculation chunk (one background task) works out at once."""
    return int(getattr(settings, "RAPPORT_INSIGHTS_CHUNK_SIZE", DEFAULT_CHUNK_SIZE))


def at_risk_threshold() -> float:
    """The churn risk from which a customer is at risk."""
    return float(getattr(settings, "RAPPORT_INSIGHTS_AT_RISK", DEFAULT_AT_RISK))


def response_window_days() -> int:
    return int(
        getattr(settings, "RAPPORT_INSIGHTS_RESPONSE_WINDOW_DAYS", DEFAULT_RESPONSE_WINDOW_DAYS)
    )
