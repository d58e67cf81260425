"""Reads of the outbox and of webhook deliveries worth a name."""

from uuid import UUID

from django.db.models import Prefetch, QuerySet

from rapport.events.models import OutboxEvent, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from rapport.exceptions import NotFound
from rapport.tenancy.models import Tenant


def endpoint_list(*, tenant: Tenant) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(tenant=tenant)


def endpoint_detail(*, tenant: Tenant, webhook_id: UUID) -> WebhookEndpoint:
    endpoint = endpoint_list(tenant=tenant).filter(uuid=webhook_id).first()
    if endpoint is None:
        raise NotFound("No webhook with that id")
    return endpoint


def delivery_list(
    *, tenant: Tenant, webhook_id: UUID, status: str | None = None
) -> QuerySet[WebhookDelivery]:
    """An endpoint's deliveries with their endpoint and event; NotFound for an unknown one."""
    endpoint = endpoint_detail(tenant=tenant, webhook_id=webhook_id)
    deliveries = WebhookDelivery.objects.filter(tenant=tenant, endpoint=endpoint).select_related(
        "endpoint", "event"
    )
    return deliveries.filter(status=status) if status else deliveries


def delivery_detail(*, tenant: Tenant, delivery_id: UUID) -> WebhookDelivery:
    """One delivery with its attempts, oldest first."""
    delivery = (
        WebhookDelivery.objects.filter(tenant=tenant, uuid=delivery_id)
        .select_related("endpoint", "event")
        .prefetch_related(
            Prefetch("attempt_log", queryset=WebhookAttempt.objects.order_by("number", "id"))
        )
        .first()
    )
    if delivery is None:
        raise NotFound("No webhook delivery with that id")
    return delivery


def event_list(
    *, tenant: Tenant, type: str | None = None, is_dispatched: bool | None = None
) -> QuerySet[OutboxEvent]:
    """The tenant's outbox; `type` may be exact or a "resource.*" prefix."""
    events = OutboxEvent.objects.filter(tenant=tenant).select_related("tenant")
    if type and type.endswith(".*"):
        events = events.filter(type__startswith=type[:-1])
    elif type:
        events = events.filter(type=type)
    if is_dispatched is not None:
        events = events.filter(dispatched_at__isnull=not is_dispatched)
    return events


def event_detail(*, tenant: Tenant, event_id: UUID) -> OutboxEvent:
    event = event_list(tenant=tenant).filter(uuid=event_id).first()
    if event is None:
        raise NotFound("No event with that id")
    return event
