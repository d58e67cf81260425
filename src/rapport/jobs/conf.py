"""The jobs app's tunables, read from settings when used so tests can override them."""

from django.conf import settings

DEFAULT_KEEP_DAYS = 7


def schedule() -> dict:
    """The periodic tasks by name: RAPPORT_SCHEDULE, none when the setting is absent."""
    return dict(getattr(settings, "RAPPORT_SCHEDULE", {}))


def keep_days() -> int:
    """How many days finished task results and scheduled runs are kept."""
    return int(getattr(settings, "RAPPORT_JOBS_KEEP_DAYS", DEFAULT_KEEP_DAYS))
