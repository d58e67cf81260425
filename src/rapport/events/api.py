"""REST endpoints of events out: the tenant's outbox, webhook endpoints and their deliveries."""

import datetime as dt
from typing import Any, Literal
from uuid import UUID

from ninja import Query, Router, Schema, Status
from pydantic import Field

from rapport.events import selectors
from rapport.events.models import OutboxEvent, WebhookDelivery
from rapport.events.webhooks import DESCRIPTION_LIMIT, MAX_EVENT_TYPES, URL_LIMIT, WebhookService
from rapport.exceptions import InvalidInput
from rapport.pagination import DATETIME, paginate
from rapport.schemas import WRITE_ERRORS, InputSchema, PageQuery, responses
from rapport.tenancy.api import ADMIN, READ, actor_of

router = Router(tags=["events"], auth=ADMIN)

NEWEST_FIRST = ["-created_at"]
CREATED_AT = {"created_at": DATETIME}
DeliveryStatusValue = Literal["pending", "delivered", "dead"]
EventTypeText = Field(max_length=100, examples=["customer.created", "customer.*"])


class WebhookOut(Schema):
    id: UUID = Field(alias="uuid")
    url: str
    description: str
    event_types: list[str] = Field(description="Types and prefixes sent; empty: every type")
    is_active: bool
    disabled_reason: str = Field(description="Why it was turned off (a 410, or by whom)")
    disabled_at: dt.datetime | None
    secret: str = Field(alias="masked_secret", description="Masked; shown in full only once")
    created_at: dt.datetime
    updated_at: dt.datetime


class WebhookSecretOut(WebhookOut):
    """The endpoint with its secret in full: the answer to a create or a rotation only."""

    secret: str = Field(
        description="The signing secret (whsec_…). Shown now only: store it with the receiver"
    )


class WebhookPage(Schema):
    items: list[WebhookOut]
    next_cursor: str | None


class WebhookIn(InputSchema):
    url: str = Field(
        min_length=1, max_length=URL_LIMIT, examples=["https://shop.example.com/hooks/rapport"]
    )
    description: str = Field("", max_length=DESCRIPTION_LIMIT)
    event_types: list[str] = Field(
        default_factory=list,
        max_length=MAX_EVENT_TYPES,
        description='Types ("customer.created") or prefixes ("customer.*"); empty: every type',
        examples=[["customer.*", "consent.changed"]],
    )
    is_active: bool = True


class WebhookPatch(InputSchema):
    """Only the fields sent change. Setting is_active to true re-enables it."""

    url: str | None = Field(None, min_length=1, max_length=URL_LIMIT)
    description: str | None = Field(None, max_length=DESCRIPTION_LIMIT)
    event_types: list[str] | None = Field(None, max_length=MAX_EVENT_TYPES)
    is_active: bool | None = None


class EventRefOut(Schema):
    id: UUID = Field(alias="uuid")
    type: str


class DeliveryOut(Schema):
    id: UUID = Field(alias="uuid")
    webhook: UUID
    event: EventRefOut
    status: str = Field(examples=["pending", "delivered", "dead"])
    attempts: int = Field(description="Attempts since it was created or last replayed")
    next_attempt_at: dt.datetime = Field(description="When a pending delivery is sent next")
    last_status_code: int | None
    last_error: str
    last_response: str = Field(description="The first 1,000 characters of the last answer")
    delivered_at: dt.datetime | None
    created_at: dt.datetime

    @staticmethod
    def resolve_webhook(delivery: WebhookDelivery) -> UUID:
        return delivery.endpoint.uuid


class AttemptOut(Schema):
    number: int
    at: dt.datetime
    status_code: int | None
    error: str
    duration_ms: int


class DeliveryDetailOut(DeliveryOut):
    attempt_log: list[AttemptOut] = Field(description="Every request made, oldest first")

    @staticmethod
    def resolve_attempt_log(delivery: WebhookDelivery) -> list:
        return list(delivery.attempt_log.all())


class DeliveryPage(Schema):
    items: list[DeliveryOut]
    next_cursor: str | None


class DeliveryQuery(PageQuery):
    status: DeliveryStatusValue | None = None


class EventOut(Schema):
    """The envelope, as webhooks and the broker carry it, with when it was dispatched."""

    id: UUID = Field(alias="uuid")
    type: str
    tenant: str
    timestamp: dt.datetime = Field(alias="created_at")
    data: dict[str, Any]
    dispatched_at: dt.datetime | None = Field(description="Null while it waits in the outbox")

    @staticmethod
    def resolve_tenant(event: OutboxEvent) -> str:
        return event.tenant.slug


class EventPage(Schema):
    items: list[EventOut]
    next_cursor: str | None


class EventQuery(PageQuery):
    type: str | None = Field(
        None, max_length=100, description='A type, or a prefix such as "customer.*"'
    )
    dispatched: bool | None = Field(None, description="true: sent on; false: still waiting")


@router.get("/webhooks", response=responses({200: WebhookPage}))
def list_webhooks(request, query: Query[PageQuery]):
    """The tenant's webhook endpoints, newest first; secrets masked."""
    endpoints = selectors.endpoint_list(tenant=actor_of(request).tenant)
    return paginate(
        endpoints,
        ordering=NEWEST_FIRST,
        parsers=CREATED_AT,
        cursor=query.cursor,
        limit=query.limit,
    )


@router.post("/webhooks", response=responses({201: WebhookSecretOut}, *WRITE_ERRORS))
def create_webhook(request, payload: WebhookIn):
    """Add an endpoint; the response holds its signing secret, which is not shown again."""
    endpoint = WebhookService.create_endpoint(actor=actor_of(request), **payload.model_dump())
    return Status(201, endpoint)


@router.get("/webhooks/{webhook_id}", response=responses({200: WebhookOut}, 404))
def get_webhook(request, webhook_id: UUID):
    """One endpoint; its secret masked."""
    return selectors.endpoint_detail(tenant=actor_of(request).tenant, webhook_id=webhook_id)


@router.patch("/webhooks/{webhook_id}", response=responses({200: WebhookOut}, 400, 404))
def update_webhook(request, webhook_id: UUID, payload: WebhookPatch):
    """Change the URL, description, event types or is_active; only the fields sent."""
    changes = payload.model_dump(exclude_unset=True)
    nulls = {name: "Cannot be null" for name, value in changes.items() if value is None}
    if nulls:
        raise InvalidInput("Webhook fields cannot be cleared", fields=nulls)
    return WebhookService.update_endpoint(actor=actor_of(request), webhook_id=webhook_id, **changes)


@router.delete("/webhooks/{webhook_id}", response=responses({204: None}, 404))
def delete_webhook(request, webhook_id: UUID):
    """Remove the endpoint and its delivery log; nothing more is sent to it."""
    WebhookService.delete_endpoint(actor=actor_of(request), webhook_id=webhook_id)
    return Status(204, None)


@router.post(
    "/webhooks/{webhook_id}/rotate-secret",
    response=responses({200: WebhookSecretOut}, 404, *WRITE_ERRORS),
)
def rotate_webhook_secret(request, webhook_id: UUID):
    """A new signing secret, in force at once; the response is the only time it is shown."""
    return WebhookService.rotate_secret(actor=actor_of(request), webhook_id=webhook_id)


@router.post(
    "/webhooks/{webhook_id}/enable", response=responses({200: WebhookOut}, 404, *WRITE_ERRORS)
)
def enable_webhook(request, webhook_id: UUID):
    """Turn the endpoint back on (after a 410 Gone); its waiting deliveries are due at once."""
    return WebhookService.enable_endpoint(actor=actor_of(request), webhook_id=webhook_id)


@router.get("/webhooks/{webhook_id}/deliveries", response=responses({200: DeliveryPage}, 404))
def list_webhook_deliveries(request, webhook_id: UUID, query: Query[DeliveryQuery]):
    """The endpoint's deliveries, newest first; filter `status` (pending, delivered, dead)."""
    deliveries = selectors.delivery_list(
        tenant=actor_of(request).tenant, webhook_id=webhook_id, status=query.status
    )
    return paginate(
        deliveries,
        ordering=NEWEST_FIRST,
        parsers=CREATED_AT,
        cursor=query.cursor,
        limit=query.limit,
    )


@router.get("/webhook-deliveries/{delivery_id}", response=responses({200: DeliveryDetailOut}, 404))
def get_webhook_delivery(request, delivery_id: UUID):
    """One delivery with every attempt made: status code, error and duration."""
    return selectors.delivery_detail(tenant=actor_of(request).tenant, delivery_id=delivery_id)


@router.post(
    "/webhook-deliveries/{delivery_id}/replay",
    response=responses({200: DeliveryOut}, 404, *WRITE_ERRORS),
)
def replay_webhook_delivery(request, delivery_id: UUID):
    """Send a dead or delivered delivery again, as a fresh round of attempts due now."""
    return WebhookService.replay_delivery(actor=actor_of(request), delivery_id=delivery_id)


@router.get("/events", response=responses({200: EventPage}), auth=READ)
def list_events(request, query: Query[EventQuery]):
    """The tenant's outbox, newest first; filters `type` (or "customer.*") and `dispatched`."""
    events = selectors.event_list(
        tenant=actor_of(request).tenant, type=query.type, is_dispatched=query.dispatched
    )
    return paginate(
        events, ordering=NEWEST_FIRST, parsers=CREATED_AT, cursor=query.cursor, limit=query.limit
    )


@router.get("/events/{event_id}", response=responses({200: EventOut}, 404), auth=READ)
def get_event(request, event_id: UUID):
    """One event of the outbox, as it was (or will be) delivered."""
    return selectors.event_detail(tenant=actor_of(request).tenant, event_id=event_id)
