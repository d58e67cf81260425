"""The events app's tunables, read from settings when used so tests can override them."""

from django.conf import settings

DEFAULT_EXCHANGE = "rapport.events"
DEFAULT_TIMEOUT = 10.0  # seconds to connect, and again to read the answer
DEFAULT_MAX_ATTEMPTS = 12
DEFAULT_RETRY_BASE = 60.0  # seconds: the first retry waits up to this long
DEFAULT_RETRY_CAP = 6 * 3600.0  # seconds: no retry waits longer than this
DEFAULT_LEASE = 300.0  # seconds a dispatcher holds the deliveries it claimed
DEFAULT_DNS_TIMEOUT = 2.0
DEFAULT_BROKER_TIMEOUT = 5.0


def _number(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


def rabbitmq_url() -> str | None:
    """Where events are published; None publishes nowhere (webhooks only)."""
    return getattr(settings, "RABBITMQ_URL", None) or None


def exchange_name() -> str:
    """The durable topic exchange events are published to."""
    return str(getattr(settings, "RAPPORT_EVENTS_EXCHANGE", DEFAULT_EXCHANGE))


def broker_timeout() -> float:
    """Seconds to reach the broker, and to wait for it to confirm a message."""
    return _number("RAPPORT_EVENTS_BROKER_TIMEOUT", DEFAULT_BROKER_TIMEOUT)


def webhook_timeout() -> float:
    """Seconds a webhook request may take to connect, and again to answer."""
    return _number("RAPPORT_WEBHOOK_TIMEOUT", DEFAULT_TIMEOUT)


def max_attempts() -> int:
    """Attempts at one delivery before it is dead-lettered."""
    return max(1, int(_number("RAPPORT_WEBHOOK_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS)))


def retry_base() -> float:
    """The longest wait before the first retry; each later retry may wait twice as long."""
    return _number("RAPPORT_WEBHOOK_RETRY_BASE", DEFAULT_RETRY_BASE)


def retry_cap() -> float:
    """The longest wait before any retry."""
    return _number("RAPPORT_WEBHOOK_RETRY_CAP", DEFAULT_RETRY_CAP)


def lease_seconds() -> float:
    """How long claimed deliveries stay with their dispatcher; after that they are due again."""
    return _number("RAPPORT_WEBHOOK_LEASE", DEFAULT_LEASE)


def dns_timeout() -> float:
    """Seconds to resolve a webhook's host name."""
    return _number("RAPPORT_WEBHOOK_DNS_TIMEOUT", DEFAULT_DNS_TIMEOUT)


def allow_private() -> bool:
    """Whether webhooks may reach private, loopback and link-local addresses (development)."""
    return bool(getattr(settings, "RAPPORT_WEBHOOK_ALLOW_PRIVATE", False))


def allowed_hosts() -> set[str]:
    """Host names (or addresses) webhooks may reach whatever they resolve to."""
    hosts = getattr(settings, "RAPPORT_WEBHOOK_ALLOWED_HOSTS", ()) or ()
    return {host.strip().lower().strip("[]") for host in hosts if host.strip()}
