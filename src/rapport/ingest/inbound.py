"""Inbound events: what other systems tell rapport happened, applied once per event id.

The HTTP API and the broker consumer both hand a validated envelope to `receive`. The
InboundEvent row is written in the same transaction as the change it causes, and claimed
before the change is made: a second delivery of the same id waits for the first, then
returns its stored result and changes nothing.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from rapport.commerce.models import SOLD
from rapport.commerce.services import LineInput, OrderService
from rapport.customers.services import CustomerService
from rapport.exceptions import Conflict, InvalidInput, NotFound, RapportError
from rapport.ingest import orders
from rapport.ingest.models import InboundEvent
from rapport.ingest.orders import CustomerRef, OrderOutcome, OrderRequest, PetRef, VisitRequest
from rapport.ingest.payloads import (
    AppointmentCompletedEventIn,
    CustomerRefIn,
    Envelope,
    InvoicePaidEventIn,
    LineItemIn,
    OrderCompletedEventIn,
    OrderCreatedEventIn,
    OrderRefundedEventIn,
    UserRegisteredEventIn,
)
from rapport.tenancy.actors import Actor

APPLIED, REJECTED = InboundEvent.Status.APPLIED, InboundEvent.Status.REJECTED
CLAIM_ATTEMPTS = 3


class OrderNotFound(NotFound):
    code = "order_not_found"


class EventIdReused(Conflict):
    """The id was applied before for another event: ids name one event each."""

    code = "event_id_reused"


class StillApplying(Conflict):
    """Another delivery of the id holds it and has not finished: retry later."""

    code = "event_in_progress"


@dataclass(frozen=True)
class Received:
    """The stored inbound event, and whether this delivery was a repeat of an applied one."""

    event: InboundEvent
    replayed: bool


# --- from payload to the orchestration's inputs -----------------------------------------------


def customer_ref(schema: CustomerRefIn | None) -> CustomerRef | None:
    if schema is None:
        return None
    return CustomerRef(
        code=schema.code,
        email=schema.email,
        phone=schema.phone,
        external_ids=dict(schema.external_ids or {}),
        first_name=schema.first_name,
        last_name=schema.last_name,
    )


def line_inputs(lines: list[LineItemIn]) -> tuple[LineInput, ...]:
    return tuple(LineInput(**line.model_dump()) for line in lines)


def _prefix(event: Envelope) -> str:
    """Where the event's own fields sit, as errors name them: data.total_q."""
    return "data."


def _renamed(error: RapportError, names: dict[str, str]) -> RapportError:
    return type(error)(
        error.message,
        code=error.code,
        fields={names.get(name, name): text for name, text in error.fields.items()},
    )


def _order_result(outcome: OrderOutcome) -> dict[str, Any]:
    order = outcome.order
    return {
        "order": str(order.uuid),
        "source": order.source,
        "external_id": order.external_id,
        "status": order.status,
        "customer": order.customer.code,
        "order_created": outcome.created,
        "customer_created": outcome.customer_created,
        "changed": outcome.changed,
        "points_earned": outcome.points_earned,
    }


def _unknown_order(event: Envelope, hint: str) -> OrderNotFound:
    data = event.data
    return OrderNotFound(
        f"No order {data.external_id!r} from source {data.source!r}",
        fields={f"{_prefix(event)}external_id": hint},
    )


# --- each type --------------------------------------------------------------------------------


PROFILE_GAPS = ("first_name", "last_name", "email", "phone")
PROFILE_EXTRAS = ("date_of_birth", "gender", "preferred_language")


def _user_registered(actor: Actor, event: UserRegisteredEventIn) -> dict[str, Any]:
    data, prefix = event.data, _prefix(event)
    ref = CustomerRef(
        email=data.email,
        phone=data.phone,
        external_ids={data.provider: data.user_id},
        first_name=data.first_name,
        last_name=data.last_name,
    )
    extras = {name: getattr(data, name) for name in PROFILE_EXTRAS if getattr(data, name)}
    external = f"{prefix}external_ids.{data.provider}"
    try:
        customer, created = orders.resolve_customer(
            actor, ref, prefix=prefix.rstrip("."), source=data.provider, profile=extras
        )
    except RapportError as error:
        raise _renamed(error, {external: f"{prefix}user_id"}) from None
    filled: list[str] = []
    if not created:
        # What the customer told another system fills gaps; it never overwrites what is here.
        gaps = {
            name: getattr(data, name)
            for name in (*PROFILE_GAPS, *PROFILE_EXTRAS)
            if getattr(data, name) and getattr(customer, name) in ("", None)
        }
        if gaps:
            try:
                customer = CustomerService.update_customer(actor=actor, code=customer.code, **gaps)
            except RapportError as error:
                raise _renamed(error, {name: f"{prefix}{name}" for name in gaps}) from None
            filled = sorted(gaps)
    return {"customer": customer.code, "customer_created": created, "fields_filled": filled}


def _order_created(actor: Actor, event: OrderCreatedEventIn) -> dict[str, Any]:
    data = event.data
    request = OrderRequest(
        customer=customer_ref(data.customer),
        external_id=data.external_id,
        placed_at=data.placed_at or event.timestamp or timezone.now(),
        lines=line_inputs(data.lines),
        total_q=data.total_q,
        currency=data.currency or "",
        channel=data.channel,
        status=data.status,
        source=data.source,
        completed_at=data.completed_at,
        metadata=data.metadata,
    )
    return _order_result(orders.record_order(actor=actor, request=request, prefix=_prefix(event)))


def _order_completed(actor: Actor, event: OrderCompletedEventIn) -> dict[str, Any]:
    data, prefix = event.data, _prefix(event)
    completed_at = data.completed_at or event.timestamp
    stored = OrderService.find_order(
        tenant=actor.tenant, source=data.source, external_id=data.external_id
    )
    if stored is not None:
        if stored.status in SOLD:  # completed before (and maybe refunded since): nothing new
            return _order_result(OrderOutcome(order=stored))
        try:
            outcome = orders.set_order_status(
                actor=actor, order_id=stored.uuid, status="completed", at=completed_at
            )
        except RapportError as error:
            raise _renamed(error, {"at": f"{prefix}completed_at"}) from None
        return _order_result(outcome)
    if data.customer is None or (not data.lines and data.total_q is None):
        raise _unknown_order(
            event, "Not recorded yet: send customer and lines or total_q to record it completed"
        )
    request = OrderRequest(
        customer=customer_ref(data.customer),
        external_id=data.external_id,
        placed_at=data.placed_at or completed_at or timezone.now(),
        lines=line_inputs(data.lines),
        total_q=data.total_q,
        currency=data.currency or "",
        channel=data.channel,
        status="completed",
        source=data.source,
        completed_at=completed_at,
        metadata=data.metadata,
    )
    return _order_result(orders.record_order(actor=actor, request=request, prefix=prefix))


def _order_refunded(actor: Actor, event: OrderRefundedEventIn) -> dict[str, Any]:
    data, prefix = event.data, _prefix(event)
    stored = OrderService.find_order(
        tenant=actor.tenant, source=data.source, external_id=data.external_id
    )
    if stored is None:
        raise _unknown_order(event, "No such order from this source")
    try:
        outcome = orders.refund_order(
            actor=actor,
            order=stored,
            amount_q=data.amount_q,
            reason=data.reason,
            reference=data.reference or event.id,
        )
    except RapportError as error:
        names = {name: f"{prefix}{name}" for name in ("amount_q", "reason", "reference")}
        raise _renamed(error, {**names, "status": f"{prefix}external_id"}) from None
    return {
        **_order_result(outcome),
        "refund": str(outcome.refund.uuid),
        "amount_q": outcome.refund.amount_q,
        "refunded_q": outcome.order.refunded_q,
        "points_reversed": outcome.points_reversed,
    }


def _appointment_completed(actor: Actor, event: AppointmentCompletedEventIn) -> dict[str, Any]:
    data = event.data
    pet = PetRef(id=data.pet.id, name=data.pet.name or "") if data.pet else None
    request = VisitRequest(
        customer=customer_ref(data.customer),
        external_id=data.external_id,
        service=data.service,
        status="completed",
        scheduled_at=data.scheduled_at,
        completed_at=data.completed_at or event.timestamp,
        staff=data.staff,
        pet=pet,
        price_q=data.price_q,
        currency=data.currency or "",
        source=data.source,
        notes=data.notes,
        metadata=data.metadata,
    )
    outcome = orders.record_visit(actor=actor, request=request, prefix=_prefix(event))
    visit = outcome.visit
    return {
        "visit": str(visit.uuid),
        "source": visit.source,
        "external_id": visit.external_id,
        "status": visit.status,
        "customer": visit.customer.code,
        "pet": str(visit.pet_uuid) if visit.pet_uuid else None,
        "visit_created": outcome.created,
        "customer_created": outcome.customer_created,
        "changed": outcome.changed,
    }


BILLING_SOURCE = "billing"


def _invoice_paid(actor: Actor, event: InvoicePaidEventIn) -> dict[str, Any]:
    data, prefix = event.data, _prefix(event)
    paid_at = data.paid_at or event.timestamp or timezone.now()
    request = OrderRequest(
        customer=customer_ref(data.customer),
        external_id=data.external_id,
        placed_at=data.issued_at or paid_at,
        lines=line_inputs(data.lines),
        total_q=data.total_q,
        currency=data.currency or "",
        channel=data.channel,
        status="completed",
        source=BILLING_SOURCE,
        completed_at=paid_at,
        metadata=data.metadata,
    )
    try:
        outcome = orders.record_order(actor=actor, request=request, prefix=prefix)
    except RapportError as error:
        names = {
            f"{prefix}completed_at": f"{prefix}paid_at",
            f"{prefix}placed_at": f"{prefix}issued_at",
        }
        raise _renamed(error, names) from None
    return _order_result(outcome)


APPLY: dict[str, Callable[[Actor, Any], dict[str, Any]]] = {
    "user.registered": _user_registered,
    "order.created": _order_created,
    "order.completed": _order_completed,
    "order.refunded": _order_refunded,
    "appointment.completed": _appointment_completed,
    "invoice.paid": _invoice_paid,
}


# --- receiving --------------------------------------------------------------------------------


def stored_payload(event: Envelope) -> dict[str, Any]:
    """The envelope as kept: validated, in JSON form."""
    return event.model_dump(mode="json")


def _check_tenant(actor: Actor, event: Envelope) -> None:
    if event.tenant is not None and event.tenant != actor.tenant.slug:
        raise InvalidInput(
            "The event names another tenant", fields={"tenant": "Not this API key's tenant"}
        )


def _replay(row: InboundEvent, event: Envelope) -> Received:
    if row.type != event.type or row.payload.get("data") != stored_payload(event)["data"]:
        raise EventIdReused(
            f"Event {event.id!r} was applied before as another {row.type} event",
            fields={"id": "Already used for another event: give each event its own id"},
        )
    return Received(event=row, replayed=True)


def receive(*, actor: Actor, event: Envelope, source: str = InboundEvent.Source.API) -> Received:
    """Apply an event once: the first delivery of its id applies it, repeats get that result.

    Raises the service's error when the event cannot apply (an unknown order, a conflicting
    repeat of an order); nothing is stored then.
    """
    _check_tenant(actor, event)
    payload = stored_payload(event)
    tenant = actor.tenant
    for _attempt in range(CLAIM_ATTEMPTS):
        with transaction.atomic():
            row = (
                InboundEvent.objects.select_for_update()
                .filter(tenant=tenant, event_id=event.id)
                .first()
            )
            if row is not None and row.status == APPLIED:
                return _replay(row, event)
            if row is None:
                try:
                    # Claims the id: a concurrent delivery of it waits here until this commits.
                    with transaction.atomic():
                        row = InboundEvent.objects.create(
                            tenant=tenant,
                            event_id=event.id,
                            type=event.type,
                            source=source,
                            payload=payload,
                        )
                except IntegrityError:
                    continue  # the other delivery committed first: read what it stored
            result = APPLY[event.type](actor, event)
            row.type, row.source, row.payload = event.type, source, payload
            row.status, row.result = APPLIED, result
            row.save(update_fields=["type", "source", "payload", "status", "result"])
            return Received(event=row, replayed=False)
    raise StillApplying(
        "Another delivery of this event is being applied; retry", fields={"id": "In use"}
    )


def reject(*, actor: Actor, event: Envelope, source: str, error: RapportError) -> InboundEvent:
    """Keep a valid event that could not apply, with why; a later delivery of its id retries it.

    The broker has nobody to answer, so what could not apply is kept for people to read.
    """
    reason = {"error": {"code": error.code, "message": error.message, "fields": error.fields}}
    with transaction.atomic():
        row, created = InboundEvent.objects.select_for_update().get_or_create(
            tenant=actor.tenant,
            event_id=event.id,
            defaults={
                "type": event.type,
                "source": source,
                "payload": stored_payload(event),
                "status": REJECTED,
                "result": reason,
            },
        )
        if not created and row.status == REJECTED:
            row.type, row.source, row.payload = event.type, source, stored_payload(event)
            row.result = reason
            row.save(update_fields=["type", "source", "payload", "result"])
    return row


# --- reads ------------------------------------------------------------------------------------


def inbound_events(
    *,
    tenant,
    type: str | None = None,
    status: str | None = None,
    source: str | None = None,
    event_id: str | None = None,
) -> QuerySet[InboundEvent]:
    """The tenant's inbound events, filtered; newest first once paginated."""
    events = InboundEvent.objects.filter(tenant=tenant)
    if type:
        events = events.filter(type=type)
    if status:
        events = events.filter(status=status)
    if source:
        events = events.filter(source=source)
    if event_id:
        events = events.filter(event_id=event_id)
    return events


def get_inbound_event(*, tenant, inbound_event_id) -> InboundEvent:
    """One of the tenant's inbound events by its id; NotFound otherwise."""
    try:
        key = uuid.UUID(str(inbound_event_id))
    except ValueError:
        key = None
    row = InboundEvent.objects.filter(tenant=tenant, uuid=key).first() if key else None
    if row is None:
        raise NotFound("No such inbound event", fields={"inbound_event_id": "Unknown"})
    return row
