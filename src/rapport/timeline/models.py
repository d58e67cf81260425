"""The timeline: an append-only log of everything that happened with a customer."""

import uuid

from django.db import models

from rapport.customers.models import Customer
from rapport.tenancy.models import Tenant


class EventType(models.TextChoices):
    ORDER = "order", "Order"
    CONTACT = "contact", "Contact"
    NOTE = "note", "Note"
    VISIT = "visit", "Visit"
    LOYALTY = "loyalty", "Loyalty"
    PROFILE = "profile", "Profile"
    SYSTEM = "system", "System"


class TimelineEvent(models.Model):
    """One thing that happened. Never edited: a correction is a new event."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="timeline_events")
    event_type = models.CharField(max_length=20, choices=EventType.choices)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    channel = models.CharField(max_length=30, blank=True)
    reference = models.CharField(
        max_length=200, blank=True, help_text="What it points at, e.g. order:123, ticket:456"
    )
    metadata = models.JSONField(default=dict, blank=True)
    actor = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "created_at", "id"], name="timeline_customer_idx"),
            models.Index(fields=["tenant", "created_at", "id"], name="timeline_tenant_idx"),
        ]

    def __str__(self) -> str:
        return self.title
