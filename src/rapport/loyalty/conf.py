"""The loyalty app's tunables, read from settings when used so tests can override them."""

from django.conf import settings

DEFAULT_PRESET = "guestman"
DEFAULT_OFFLINE_MAX_AGE_DAYS = 30
DEFAULT_OFFLINE_CLOCK_SKEW_SECONDS = 300
DEFAULT_OFFLINE_BATCH_LIMIT = 500
DEFAULT_EXPIRY_BATCH_SIZE = 500
DEFAULT_EXPIRING_SOON_DAYS = 30


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def default_preset() -> str:
    """The preset a tenant's program starts from when it is first used without being set up."""
    return str(getattr(settings, "RAPPORT_LOYALTY_DEFAULT_PRESET", DEFAULT_PRESET))


def offline_max_age_days() -> int:
    """How old, in days, an offline item may be when it is synced; older ones are rejected."""
    return _setting("RAPPORT_LOYALTY_OFFLINE_MAX_AGE_DAYS", DEFAULT_OFFLINE_MAX_AGE_DAYS)


def offline_clock_skew_seconds() -> int:
    """How far in the future an offline item's time may be (a till's clock runs fast)."""
    return _setting(
        "RAPPORT_LOYALTY_OFFLINE_CLOCK_SKEW_SECONDS", DEFAULT_OFFLINE_CLOCK_SKEW_SECONDS
    )


def offline_batch_limit() -> int:
    """The most items one offline batch may carry."""
    return _setting("RAPPORT_LOYALTY_OFFLINE_BATCH_LIMIT", DEFAULT_OFFLINE_BATCH_LIMIT)


def expiry_batch_size() -> int:
    """Accounts expired per transaction by `expire_points`."""
    return _setting("RAPPORT_LOYALTY_EXPIRY_BATCH_SIZE", DEFAULT_EXPIRY_BATCH_SIZE)


def expiring_soon_days() -> int:
    """The horizon of a summary's `points_expiring_soon`."""
    return _setting("RAPPORT_LOYALTY_EXPIRING_SOON_DAYS", DEFAULT_EXPIRING_SOON_DAYS)
