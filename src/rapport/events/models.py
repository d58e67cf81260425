"""The transactional outbox: events written with the change that caused them."""

import uuid

from django.db import models

from rapport.tenancy.models import Tenant


class OutboxEvent(models.Model):
    """An event waiting to be delivered (or delivered). Written in the change's transaction."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)
    type = models.CharField(max_length=100, help_text="<resource>.<past-tense verb>")
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        verbose_name = "outbox event"
        indexes = [
            models.Index(
                fields=["id"],
                condition=models.Q(dispatched_at__isnull=True),
                name="outbox_pending_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.uuid}"

    def envelope(self) -> dict:
        """The event as webhooks, the broker and the outbox all carry it."""
        return {
            "id": str(self.uuid),
            "type": self.type,
            "tenant": self.tenant.slug,
            "timestamp": self.created_at.isoformat(),
            "data": self.data,
        }


class WebhookEndpoint(models.Model):
    """A URL of the tenant's that receives its events, signed with the endpoint's secret."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)
    url = models.CharField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    secret = models.CharField(max_length=100, help_text='"whsec_" and the key, base64')
    event_types = models.JSONField(
        default=list,
        blank=True,
        help_text='Types ("customer.created") or prefixes ("customer.*"); empty: every type',
    )
    is_active = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "webhook endpoint"
        indexes = [models.Index(fields=["tenant", "is_active"], name="webhook_tenant_active_idx")]

    def __str__(self) -> str:
        return self.url

    @property
    def masked_secret(self) -> str:
        """Enough of the secret to tell two apart, never enough to sign with."""
        return f"whsec_…{self.secret[-4:]}" if self.secret else ""

    def wants(self, event_type: str) -> bool:
        """Whether the endpoint subscribes to events of this type."""
        if not self.event_types:
            return True
        return any(
            event_type.startswith(entry[:-1]) if entry.endswith(".*") else event_type == entry
            for entry in self.event_types
        )


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # due at next_attempt_at (retries included)
    DELIVERED = "delivered", "Delivered"
    DEAD = "dead", "Dead"  # gave up after the last attempt; replay sends it again


class WebhookDelivery(models.Model):
    """One event on its way to one endpoint: retried with backoff until delivered or dead."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(
        max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(
        default=0, help_text="Attempts since the delivery was created or last replayed"
    )
    next_attempt_at = models.DateTimeField()
    locked_until = models.DateTimeField(
        null=True, blank=True, help_text="Held by a dispatcher until then; due again after"
    )
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    last_response = models.TextField(blank=True, help_text="The first 1,000 characters")
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "webhook delivery"
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="webhook_delivery_once")
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="webhook_delivery_due_idx",
            ),
            models.Index(fields=["endpoint", "status"], name="webhook_delivery_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.endpoint_id} ({self.status})"


class WebhookAttempt(models.Model):
    """One request made for a delivery, and what came of it: the delivery's log."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    number = models.PositiveIntegerField(help_text="1 for the first request, counting replays")
    at = models.DateTimeField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["delivery", "number"]
        verbose_name = "webhook attempt"

    def __str__(self) -> str:
        return f"attempt {self.number}"
