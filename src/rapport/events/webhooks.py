"""Webhook endpoints: where a tenant's events go, which ones, and the secret that signs them."""

import base64
import re
import secrets
from collections.abc import Iterable
from typing import Any
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from rapport.events.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from rapport.events.net import UnsafeURL, check_url
from rapport.events.services import EVENT_TYPE
from rapport.exceptions import Conflict, InvalidInput, NotFound
from rapport.tenancy.actors import Actor
from rapport.tenancy.models import Tenant

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
EVENT_PREFIX = re.compile(r"^[a-z][a-z_]*\.\*$")
MAX_EVENT_TYPES = 100
MAX_ENDPOINTS = 50  # per tenant: every event fans out to each, so the count stays small
URL_LIMIT = 2000
DESCRIPTION_LIMIT = 200


def new_secret() -> str:
    """A Standard Webhooks secret: "whsec_" and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def validate_url(url: Any) -> str:
    """The URL if webhooks may be sent to it, else InvalidInput naming `url`."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidInput("The webhook needs a URL", fields={"url": "Required"})
    url = url.strip()
    if len(url) > URL_LIMIT:
        raise InvalidInput("The URL is too long", fields={"url": f"At most {URL_LIMIT} characters"})
    try:
        # Trusted hosts are not looked up: a development host may not resolve yet.
        check_url(url, resolve=False)
    except UnsafeURL as error:
        raise InvalidInput(
            "Webhooks cannot be sent to that URL", fields={"url": str(error)}
        ) from None
    return url


def validate_event_types(event_types: Any) -> list[str]:
    """Types and "resource.*" prefixes, without repeats, in the order given."""
    if not isinstance(event_types, list | tuple):
        raise InvalidInput("Send a list of event types", fields={"event_types": "Not a list"})
    if len(event_types) > MAX_EVENT_TYPES:
        raise InvalidInput(
            "Too many event types", fields={"event_types": f"At most {MAX_EVENT_TYPES}"}
        )
    cleaned: list[str] = []
    for entry in event_types:
        if not isinstance(entry, str) or not (EVENT_TYPE.match(entry) or EVENT_PREFIX.match(entry)):
            raise InvalidInput(
                "Event types read <resource>.<past-tense verb>, or <resource>.* for all of one",
                fields={"event_types": f"{entry!r} is neither, e.g. customer.created, customer.*"},
            )
        if entry not in cleaned:
            cleaned.append(entry)
    return cleaned


def _validate_description(description: Any) -> str:
    if not isinstance(description, str) or len(description) > DESCRIPTION_LIMIT:
        raise InvalidInput(
            "The description is not valid",
            fields={"description": f"Text of at most {DESCRIPTION_LIMIT} characters"},
        )
    return description.strip()


def _locked_endpoint(tenant: Tenant, webhook_id: UUID) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.select_for_update().filter(tenant=tenant, uuid=webhook_id)
    found = endpoint.first()
    if found is None:
        raise NotFound("No webhook with that id")
    return found


def _resume_deliveries(endpoint: WebhookEndpoint) -> None:
    """A re-enabled endpoint's waiting deliveries are due at once, not at their old retry time."""
    WebhookDelivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.PENDING).update(
        next_attempt_at=timezone.now(), locked_until=None
    )


class WebhookService:
    """Manage a tenant's webhook endpoints and replay their deliveries."""

    @staticmethod
    def create_endpoint(
        *,
        actor: Actor,
        url: str,
        description: str = "",
        event_types: Iterable[str] = (),
        is_active: bool = True,
    ) -> WebhookEndpoint:
        """A new endpoint with a fresh secret; the caller shows the secret to its owner now."""
        actor.require_operator("manage webhooks")
        url = validate_url(url)
        fields = {
            "description": _validate_description(description),
            "event_types": validate_event_types(list(event_types)),
        }
        with transaction.atomic():
            if WebhookEndpoint.objects.filter(tenant=actor.tenant).count() >= MAX_ENDPOINTS:
                raise Conflict(
                    f"A tenant may have at most {MAX_ENDPOINTS} webhooks; delete one first"
                )
            return WebhookEndpoint.objects.create(
                tenant=actor.tenant,
                url=url,
                secret=new_secret(),
                is_active=bool(is_active),
                disabled_reason="" if is_active else f"Disabled by {actor.label}",
                disabled_at=None if is_active else timezone.now(),
                **fields,
            )

    @staticmethod
    def update_endpoint(*, actor: Actor, webhook_id: UUID, **changes: Any) -> WebhookEndpoint:
        """Change the URL, description, event types or whether it is active; only those sent."""
        actor.require_operator("manage webhooks")
        unknown = set(changes) - {"url", "description", "event_types", "is_active"}
        if unknown:
            raise InvalidInput(
                "Those fields cannot be changed", fields={name: "Unknown" for name in unknown}
            )
        nulls = {name: "Cannot be null" for name, value in changes.items() if value is None}
        if nulls:
            raise InvalidInput("Webhook fields cannot be cleared", fields=nulls)
        cleaned: dict[str, Any] = {}
        if "url" in changes:
            cleaned["url"] = validate_url(changes["url"])
        if "description" in changes:
            cleaned["description"] = _validate_description(changes["description"])
        if "event_types" in changes:
            cleaned["event_types"] = validate_event_types(changes["event_types"])
        with transaction.atomic():
            endpoint = _locked_endpoint(actor.tenant, webhook_id)
            for name, value in cleaned.items():
                setattr(endpoint, name, value)
            if "is_active" in changes:
                is_active = bool(changes["is_active"])
                if is_active and not endpoint.is_active:
                    endpoint.disabled_reason, endpoint.disabled_at = "", None
                    _resume_deliveries(endpoint)
                elif not is_active and endpoint.is_active:
                    endpoint.disabled_reason = f"Disabled by {actor.label}"
                    endpoint.disabled_at = timezone.now()
                endpoint.is_active = is_active
            endpoint.save()
            return endpoint

    @staticmethod
    @transaction.atomic
    def enable_endpoint(*, actor: Actor, webhook_id: UUID) -> WebhookEndpoint:
        """Turn a disabled endpoint back on; its waiting deliveries are due at once."""
        return WebhookService.update_endpoint(actor=actor, webhook_id=webhook_id, is_active=True)

    @staticmethod
    @transaction.atomic
    def rotate_secret(*, actor: Actor, webhook_id: UUID) -> WebhookEndpoint:
        """A new secret, in force for the next request; the old one stops signing at once."""
        actor.require_operator("manage webhooks")
        endpoint = _locked_endpoint(actor.tenant, webhook_id)
        endpoint.secret = new_secret()
        endpoint.save(update_fields=["secret", "updated_at"])
        return endpoint

    @staticmethod
    @transaction.atomic
    def delete_endpoint(*, actor: Actor, webhook_id: UUID) -> None:
        """Remove the endpoint with its deliveries; events still in the outbox are not touched."""
        actor.require_operator("manage webhooks")
        _locked_endpoint(actor.tenant, webhook_id).delete()

    @staticmethod
    @transaction.atomic
    def replay_delivery(*, actor: Actor, delivery_id: UUID) -> WebhookDelivery:
        """Send a dead (or delivered) delivery again, as a new round of attempts due now."""
        actor.require_operator("replay webhook deliveries")
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("endpoint", "event__tenant")
            .filter(tenant=actor.tenant, uuid=delivery_id)
            .first()
        )
        if delivery is None:
            raise NotFound("No webhook delivery with that id")
        if delivery.status == DeliveryStatus.PENDING:
            raise Conflict(
                "The delivery is still pending: it is sent at its next_attempt_at",
                code="delivery_pending",
            )
        if not delivery.endpoint.is_active:
            raise Conflict(
                "The webhook is disabled: enable it before replaying its deliveries",
                code="webhook_disabled",
            )
        delivery.status = DeliveryStatus.PENDING
        delivery.attempts = 0
        delivery.next_attempt_at = timezone.now()
        delivery.locked_until = None
        delivery.save(update_fields=["status", "attempts", "next_attempt_at", "locked_until"])
        return delivery
