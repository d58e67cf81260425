"""Emitting events into the outbox; delivery reads them from there."""

import json
import re
from collections.abc import Sequence
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from rapport.customers.hooks import CustomerChange
from rapport.customers.selectors import customer_payload
from rapport.events.models import OutboxEvent
from rapport.exceptions import InvalidInput
from rapport.tenancy.models import Tenant

EVENT_TYPE = re.compile(r"^[a-z][a-z_]*\.[a-z][a-z_]*$")
BULK_BATCH_SIZE = 1000


def emit(tenant: Tenant, type: str, payload: dict[str, Any]) -> OutboxEvent:
    """Write an event to the outbox in the caller's transaction; it is sent only if that commits."""
    if not EVENT_TYPE.match(type):
        raise InvalidInput(
            "Event types read <resource>.<past-tense verb>", fields={"type": f"{type!r}"}
        )
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("events.emit must run inside the transaction of the change it reports")
    # Round-trip through Django's encoder so dates, UUIDs and Decimals become JSON text.
    data = DjangoJSONEncoder().encode(payload)
    return OutboxEvent.objects.create(tenant=tenant, type=type, data=json.loads(data))


def _event_of(change: CustomerChange) -> tuple[str, dict[str, Any]] | None:
    """The event type and payload a change emits, or None when it emits none."""
    # Notes, contact points and external identities reach the timeline only: customer.updated
    # reports profile fields, which they are not.
    customer = change.customer
    if change.event:
        return change.event, {"code": customer.code, **change.detail}
    if change.kind == "created":
        return "customer.created", customer_payload(customer)
    if change.kind == "updated":
        return "customer.updated", {"code": customer.code, "changes": change.changes}
    if change.kind in {"archived", "restored", "deleted"}:
        return f"customer.{change.kind}", {"code": customer.code}
    if change.kind in {"tagged", "untagged"}:
        return f"customer.{change.kind}", {"code": customer.code, "tags": change.detail["tags"]}
    return None


def emit_customer_change(change: CustomerChange) -> None:
    """customer.created / updated / archived / restored / deleted (registered in ready())."""
    event = _event_of(change)
    if event is not None:
        emit(change.actor.tenant, *event)


def emit_customer_changes(changes: Sequence[CustomerChange]) -> None:
    """The bulk variant of emit_customer_change: the same outbox rows, in one INSERT per batch."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("events.emit must run inside the transaction of the change it reports")
    rows = []
    encoder = DjangoJSONEncoder()
    for change in changes:
        event = _event_of(change)
        if event is None:
            continue
        type, payload = event
        if not EVENT_TYPE.match(type):
            raise InvalidInput(
                "Event types read <resource>.<past-tense verb>", fields={"type": f"{type!r}"}
            )
        data = json.loads(encoder.encode(payload))
        rows.append(OutboxEvent(tenant=change.actor.tenant, type=type, data=data))
    OutboxEvent.objects.bulk_create(rows, batch_size=BULK_BATCH_SIZE)
