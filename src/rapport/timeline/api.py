"""REST endpoints of the timeline: one customer's history and the activity feed."""

import datetime as dt
from typing import Literal
from uuid import UUID

from ninja import Query, Router, Schema, Status
from pydantic import Field

from rapport.customers.services import CustomerService
from rapport.pagination import DATETIME, paginate
from rapport.schemas import WRITE_ERRORS, InputSchema, PageQuery, responses
from rapport.tenancy.api import READ, WRITE, actor_of
from rapport.timeline.models import TimelineEvent
from rapport.timeline.services import TimelineService

router = Router(tags=["timeline"], auth=READ)

EventTypeValue = Literal["order", "contact", "note", "visit", "loyalty", "profile", "system"]
ORDER = ["-created_at"]
PARSERS = {"created_at": DATETIME}


class TimelineEventOut(Schema):
    id: UUID = Field(alias="uuid")
    customer: str = Field(description="The customer's code")
    event_type: str
    title: str
    description: str
    channel: str
    reference: str
    metadata: dict
    actor: str
    created_at: dt.datetime

    @staticmethod
    def resolve_customer(event: TimelineEvent) -> str:
        return event.customer.code


class TimelinePage(Schema):
    items: list[TimelineEventOut]
    next_cursor: str | None


class TimelineQuery(PageQuery):
    event_type: EventTypeValue | None = None


class TimelineEventIn(InputSchema):
    event_type: EventTypeValue
    title: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=10_000)
    channel: str = Field("", max_length=30, examples=["whatsapp", "in_person"])
    reference: str = Field("", max_length=200, examples=["order:123", "ticket:456"])
    metadata: dict = Field(default_factory=dict)


@router.get("/customers/{code}/timeline", response=responses({200: TimelinePage}, 404))
def get_timeline(request, code: str, query: Query[TimelineQuery]):
    """Everything that happened with a customer, most recent first."""
    customer = CustomerService.get_customer(tenant=actor_of(request).tenant, code=code)
    events = TimelineService.get_timeline(customer=customer, event_type=query.event_type)
    page = paginate(events, ordering=ORDER, parsers=PARSERS, cursor=query.cursor, limit=query.limit)
    for event in page.items:
        event.customer = customer
    return page


@router.post(
    "/customers/{code}/timeline",
    response=responses({201: TimelineEventOut}, 404, *WRITE_ERRORS),
    auth=WRITE,
)
def log_event(request, code: str, payload: TimelineEventIn):
    """Record something that happened (a call, a visit, an order in another system)."""
    actor = actor_of(request)
    customer = CustomerService.get_customer(tenant=actor.tenant, code=code)
    event = TimelineService.log_event(customer=customer, actor=actor, **payload.model_dump())
    return Status(201, event)


@router.get("/activity", response=responses({200: TimelinePage}))
def activity_feed(request, query: Query[TimelineQuery]):
    """The activity feed: every customer's events, most recent first."""
    events = TimelineService.get_recent_across_customers(
        tenant=actor_of(request).tenant, event_type=query.event_type
    )
    return paginate(events, ordering=ORDER, parsers=PARSERS, cursor=query.cursor, limit=query.limit)
