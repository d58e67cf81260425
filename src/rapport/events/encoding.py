"""The bytes an event travels as: the same JSON on webhooks and on the broker."""

import json

from rapport.events.models import OutboxEvent


def envelope_body(event: OutboxEvent) -> bytes:
    """The event's envelope as compact UTF-8 JSON (the webhook signature covers these bytes)."""
    return json.dumps(event.envelope(), ensure_ascii=False, separators=(",", ":")).encode()
