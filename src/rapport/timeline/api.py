"""REST endpoints of the timeline: one customer's history, the activity feed, interactions."""

import datetime as dt
from typing import Literal
from uuid import UUID

from ninja import Query, Router, Schema, Status
from pydantic import Field

from rapport.customers.services import CustomerService
from rapport.pagination import DATETIME, paginate
from rapport.schemas import WRITE_ERRORS, InputSchema, PageQuery, Timestamp, responses
from rapport.tenancy.api import READ, WRITE, actor_of
from rapport.timeline.interactions import InteractionService
from rapport.timeline.models import Interaction, TimelineEvent
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


# --- interactions --------------------------------------------------------------------------

InteractionTypeValue = Literal["call", "email", "chat", "visit", "sms", "whatsapp"]
ChannelValue = Literal["phone", "email", "chat", "in_person", "sms", "whatsapp", "social"]
DirectionValue = Literal["inbound", "outbound"]
INTERACTION_ORDER = ["-occurred_at"]
INTERACTION_PARSERS = {"occurred_at": DATETIME}
FOLLOW_UP_ORDER = ["follow_up_date", "occurred_at"]


def _date(value) -> dt.date:
    if not isinstance(value, str):
        raise ValueError("not a date")
    return dt.date.fromisoformat(value)


FOLLOW_UP_PARSERS = {"follow_up_date": _date, "occurred_at": DATETIME}


class InteractionOut(Schema):
    id: UUID = Field(alias="uuid")
    customer: str = Field(description="The customer's code")
    interaction_type: str
    channel: str
    direction: str
    subject: str
    notes: str
    handled_by: str | None = Field(description="The staff user's username, when a user")
    handled_by_name: str = Field(description="The staff member's name, when not a user")
    duration_minutes: int | None
    outcome: str
    follow_up_required: bool
    follow_up_date: dt.date | None
    follow_up_done_at: dt.datetime | None
    occurred_at: dt.datetime
    timeline_event: UUID | None = Field(description="The interaction's entry on the timeline")
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_customer(interaction: Interaction) -> str:
        return interaction.customer.code

    @staticmethod
    def resolve_handled_by(interaction: Interaction) -> str | None:
        return interaction.handled_by.get_username() if interaction.handled_by_id else None

    @staticmethod
    def resolve_timeline_event(interaction: Interaction) -> UUID | None:
        return interaction.timeline_event.uuid if interaction.timeline_event_id else None


class InteractionPage(Schema):
    items: list[InteractionOut]
    next_cursor: str | None


class InteractionIn(InputSchema):
    """A touchpoint. A follow-up date needs follow_up_required; without one it is due at once."""

    interaction_type: InteractionTypeValue
    channel: ChannelValue
    direction: DirectionValue
    subject: str = Field("", max_length=200, examples=["Appointment inquiry"])
    notes: str = Field("", max_length=10_000)
    handled_by: str | None = Field(
        None,
        max_length=150,
        description="A staff user's username, or any staff name; left out: the key's user",
        examples=["amaka", "Dr. Pablo"],
    )
    duration_minutes: int | None = Field(None, ge=0, le=1440)
    outcome: str = Field("", max_length=100, examples=["Appointment booked"])
    follow_up_required: bool = False
    follow_up_date: dt.date | None = None
    occurred_at: Timestamp | None = Field(None, description="When it happened; default now")


class InteractionPatch(InputSchema):
    """Only the fields sent change. follow_up_required false clears the follow-up; a null
    follow_up_date makes it due at once."""

    interaction_type: InteractionTypeValue | None = None
    channel: ChannelValue | None = None
    direction: DirectionValue | None = None
    subject: str | None = Field(None, max_length=200)
    notes: str | None = Field(None, max_length=10_000)
    handled_by: str | None = Field(None, max_length=150, description='"" or null: nobody')
    duration_minutes: int | None = Field(None, ge=0, le=1440)
    outcome: str | None = Field(None, max_length=100)
    follow_up_required: bool | None = None
    follow_up_date: dt.date | None = None
    occurred_at: Timestamp | None = None


class InteractionQuery(PageQuery):
    channel: ChannelValue | None = None
    interaction_type: InteractionTypeValue | None = None
    handled_by: str | None = Field(None, max_length=150, description="Username or staff name")
    since: Timestamp | None = Field(None, description="Occurred at or after")
    until: Timestamp | None = Field(None, description="Occurred before")


class FollowUpQuery(PageQuery):
    when: Literal["today", "overdue", "due"] = Field(
        "due", description="Due today, before today, or either: the tenant's day"
    )


class StatsQuery(Schema):
    by: Literal["channel", "staff", "day"] = "channel"
    since: dt.date | None = Field(None, description="First day; default 29 days before until")
    until: dt.date | None = Field(None, description="Last day, included; default today")


class VolumeOut(Schema):
    key: str = Field(description="The channel, the staff member or the day (YYYY-MM-DD)")
    count: int


class StatsOut(Schema):
    by: str
    since: dt.date
    until: dt.date
    rows: list[VolumeOut]


def _changes(payload: InteractionPatch) -> dict:
    changes = payload.model_dump(exclude_unset=True)
    if changes.get("handled_by") is None and "handled_by" in changes:
        changes["handled_by"] = ""
    return changes


@router.get("/customers/{code}/interactions", response=responses({200: InteractionPage}, 404))
def list_customer_interactions(request, code: str, query: Query[PageQuery]):
    """A customer's interactions (calls, messages, visits), most recent first."""
    customer = CustomerService.get_customer(tenant=actor_of(request).tenant, code=code)
    interactions = InteractionService.get_interactions(customer=customer)
    return paginate(
        interactions,
        ordering=INTERACTION_ORDER,
        parsers=INTERACTION_PARSERS,
        cursor=query.cursor,
        limit=query.limit,
    )


@router.post(
    "/customers/{code}/interactions",
    response=responses({201: InteractionOut}, 404, *WRITE_ERRORS),
    auth=WRITE,
)
def log_interaction(request, code: str, payload: InteractionIn):
    """Log a call, message or visit; it also goes on the customer's timeline."""
    actor = actor_of(request)
    customer = CustomerService.get_customer(tenant=actor.tenant, code=code)
    interaction = InteractionService.log_interaction(
        actor=actor, customer=customer, **payload.model_dump()
    )
    return Status(201, interaction)


@router.get("/interactions", response=responses({200: InteractionPage}))
def list_interactions(request, query: Query[InteractionQuery]):
    """Every customer's interactions, most recent first, filtered."""
    filters = query.model_dump(exclude={"limit", "cursor"})
    interactions = InteractionService.list_interactions(tenant=actor_of(request).tenant, **filters)
    return paginate(
        interactions,
        ordering=INTERACTION_ORDER,
        parsers=INTERACTION_PARSERS,
        cursor=query.cursor,
        limit=query.limit,
    )


@router.get("/interactions/follow-ups", response=responses({200: InteractionPage}))
def list_follow_ups(request, query: Query[FollowUpQuery]):
    """Open follow-ups due today, overdue, or both (`due`), earliest first."""
    follow_ups = InteractionService.follow_ups(tenant=actor_of(request).tenant, when=query.when)
    return paginate(
        follow_ups,
        ordering=FOLLOW_UP_ORDER,
        parsers=FOLLOW_UP_PARSERS,
        cursor=query.cursor,
        limit=query.limit,
    )


@router.get("/interactions/stats", response=responses({200: StatsOut}))
def interaction_stats(request, query: Query[StatsQuery]):
    """How many interactions per channel, per staff member or per day (the tenant's days)."""
    tenant = actor_of(request).tenant
    since, until = InteractionService.stats_period(
        tenant=tenant, since=query.since, until=query.until
    )
    count = {
        "channel": InteractionService.volume_by_channel,
        "staff": InteractionService.volume_by_staff,
        "day": InteractionService.volume_per_day,
    }[query.by]
    rows = count(tenant=tenant, since=since, until=until)
    return {"by": query.by, "since": since, "until": until, "rows": rows}


@router.get("/interactions/{interaction_id}", response=responses({200: InteractionOut}, 404))
def get_interaction(request, interaction_id: UUID):
    """One interaction."""
    return InteractionService.get_interaction(
        tenant=actor_of(request).tenant, interaction_id=interaction_id
    )


@router.patch(
    "/interactions/{interaction_id}",
    response=responses({200: InteractionOut}, 400, 404),
    auth=WRITE,
)
def update_interaction(request, interaction_id: UUID, payload: InteractionPatch):
    """Correct what was logged; the timeline entry stays as first written."""
    actor = actor_of(request)
    interaction = InteractionService.get_interaction(
        tenant=actor.tenant, interaction_id=interaction_id
    )
    return InteractionService.update_interaction(
        actor=actor, interaction=interaction, **_changes(payload)
    )


@router.post(
    "/interactions/{interaction_id}/complete-follow-up",
    response=responses({200: InteractionOut}, 404, *WRITE_ERRORS),
    auth=WRITE,
)
def complete_follow_up(request, interaction_id: UUID):
    """Mark the interaction's follow-up done (409 if it needs none or is done already)."""
    actor = actor_of(request)
    interaction = InteractionService.get_interaction(
        tenant=actor.tenant, interaction_id=interaction_id
    )
    return InteractionService.complete_follow_up(actor=actor, interaction=interaction)
