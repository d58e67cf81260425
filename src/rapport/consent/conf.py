"""The consent app's tunables, read from settings when used so tests can override them."""

from django.conf import settings

DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"
DEFAULT_CONFIRMATION_MAX_AGE = 7 * 24 * 3600  # a week, in seconds


def public_url() -> str:
    """The address customers reach rapport at, for the links sent to them (no trailing slash)."""
    return str(getattr(settings, "RAPPORT_PUBLIC_URL", DEFAULT_PUBLIC_URL)).rstrip("/")


def confirmation_max_age() -> int:
    """How long, in seconds, a double opt-in link stays valid."""
    return int(
        getattr(settings, "RAPPORT_CONSENT_CONFIRMATION_MAX_AGE", DEFAULT_CONFIRMATION_MAX_AGE)
    )
