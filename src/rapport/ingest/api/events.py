"""Inbound events over HTTP: receive one, list what was received, read one.

Other systems POST to /events (GET /events is the outbox: what rapport sends); what was
received is listed at /inbound-events.
"""

import datetime as dt
from typing import Any, Literal
from uuid import UUID

from django.http import HttpResponse
from ninja import Query, Router, Schema, Status
from pydantic import Field

from rapport.ingest import inbound
from rapport.ingest.inbound import Received
from rapport.ingest.models import InboundEvent
from rapport.ingest.payloads import InboundEventIn
from rapport.pagination import DATETIME, paginate
from rapport.schemas import WRITE_ERRORS, PageQuery, responses
from rapport.tenancy.api import READ, WRITE, actor_of

router = Router(tags=["inbound events"], auth=READ)

NEWEST_FIRST = ["-received_at"]
PARSERS = {"received_at": DATETIME}
EventType = Literal[
    "user.registered",
    "order.created",
    "order.completed",
    "order.refunded",
    "appointment.completed",
    "invoice.paid",
]


class InboundEventOut(Schema):
    id: UUID = Field(alias="uuid")
    event_id: str = Field(description="The sender's id of the event")
    type: str
    source: str = Field(description="api or broker: the door it came in by")
    status: str = Field(description="applied, or rejected (broker deliveries that could not apply)")
    result: dict[str, Any] = Field(description="What applying it did, or why it was rejected")
    payload: dict[str, Any] = Field(description="The envelope as received, validated")
    received_at: dt.datetime


class InboundEventReceivedOut(InboundEventOut):
    replayed: bool = Field(
        description="true: this id was applied before; the first result is returned unchanged"
    )


class InboundEventPage(Schema):
    items: list[InboundEventOut]
    next_cursor: str | None


class InboundEventQuery(PageQuery):
    type: EventType | None = None
    status: Literal["applied", "rejected"] | None = None
    source: Literal["api", "broker"] | None = None
    event_id: str | None = Field(None, max_length=200, description="The sender's id")


def _received(received: Received) -> dict[str, Any]:
    event = received.event
    return {
        "uuid": event.uuid,
        "event_id": event.event_id,
        "type": event.type,
        "source": event.source,
        "status": event.status,
        "result": event.result,
        "payload": event.payload,
        "received_at": event.received_at,
        "replayed": received.replayed,
    }


@router.post(
    "/events",
    response=responses(
        {201: InboundEventReceivedOut, 200: InboundEventReceivedOut}, 404, *WRITE_ERRORS
    ),
    auth=WRITE,
)
def receive_event(request, payload: InboundEventIn, response: HttpResponse):
    """Apply an event from another system once: 201 when applied, 200 (`replayed`, header
    `Idempotent-Replayed: true`) for an id applied before. `data` depends on `type`."""
    received = inbound.receive(actor=actor_of(request), event=payload)
    if received.replayed:
        response["Idempotent-Replayed"] = "true"
        return Status(200, _received(received))
    return Status(201, _received(received))


@router.get("/inbound-events", response=responses({200: InboundEventPage}))
def list_inbound_events(request, query: Query[InboundEventQuery]):
    """Events received from other systems, newest first; filter by type, status, source, id."""
    events = inbound.inbound_events(
        tenant=actor_of(request).tenant,
        **query.model_dump(exclude={"limit", "cursor"}),
    )
    return paginate(
        events, ordering=NEWEST_FIRST, parsers=PARSERS, cursor=query.cursor, limit=query.limit
    )


@router.get("/inbound-events/{inbound_event_id}", response=responses({200: InboundEventOut}, 404))
def get_inbound_event(request, inbound_event_id: UUID) -> InboundEvent:
    """One received event: its envelope and what applying it did."""
    return inbound.get_inbound_event(
        tenant=actor_of(request).tenant, inbound_event_id=inbound_event_id
    )
