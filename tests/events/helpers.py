"""Records of events out for tests elsewhere (the cross-tenant test names them by id)."""

from django.db import transaction
from django.utils import timezone

from rapport.events.models import DeliveryStatus, OutboxEvent, WebhookDelivery
from rapport.events.services import emit
from rapport.events.webhooks import WebhookService
from rapport.tenancy.actors import Actor
from rapport.tenancy.models import Tenant


def webhook_records(tenant: Tenant, mark: str) -> dict[str, str]:
    """A webhook endpoint (at a public address: nothing is resolved), an outbox event and a
    dead delivery of it, so the owner may replay it: their ids, by path parameter name."""
    actor = Actor.for_system(tenant, "tests")
    endpoint = WebhookService.create_endpoint(
        actor=actor, url="https://93.184.216.34/hooks", description=f"{mark} hook"
    )
    with transaction.atomic():
        event = emit(tenant, "customer.tagged", {"code": f"{mark}-1", "tags": [f"{mark} VIP"]})
    delivery = WebhookDelivery.objects.create(
        tenant=tenant,
        endpoint=endpoint,
        event=OutboxEvent.objects.get(pk=event.pk),
        status=DeliveryStatus.DEAD,
        attempts=1,
        next_attempt_at=timezone.now(),
        last_error=f"{mark} HTTP 500",
    )
    return {
        "webhook_id": str(endpoint.uuid),
        "delivery_id": str(delivery.uuid),
        "event_id": str(event.uuid),
    }
