"""Emitting events into the outbox; delivery reads them from there."""

import json
import re
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from rapport.customers.hooks import CustomerChange
from rapport.customers.selectors import customer_payload
from rapport.events.models import OutboxEvent
from rapport.exceptions import InvalidInput
from rapport.tenancy.models import Tenant

EVENT_TYPE = re.compile(r"^[a-z][a-z_]*\.[a-z][a-z_]*$")


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


def emit_customer_change(change: CustomerChange) -> None:
    """customer.created / updated / archived / restored / deleted (registered in ready())."""
    # Notes, contact points and external identities reach the timeline only: customer.updated
    # reports profile fields, which they are not.
    customer = change.customer
    if change.event:
        emit(change.actor.tenant, change.event, {"code": customer.code, **change.detail})
    elif change.kind == "created":
        emit(change.actor.tenant, "customer.created", customer_payload(customer))
    elif change.kind == "updated":
        emit(
            change.actor.tenant,
            "customer.updated",
            {"code": customer.code, "changes": change.changes},
        )
    elif change.kind in {"archived", "restored", "deleted"}:
        emit(change.actor.tenant, f"customer.{change.kind}", {"code": customer.code})
    elif change.kind in {"tagged", "untagged"}:
        emit(
            change.actor.tenant,
            f"customer.{change.kind}",
            {"code": customer.code, "tags": change.detail["tags"]},
        )
