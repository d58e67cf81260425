"""The timeline: an append-only log of everything that happened with a customer, and the
interactions (calls, messages, visits) staff log with their follow-ups."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

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


class InteractionType(models.TextChoices):
    CALL = "call", "Phone call"
    EMAIL = "email", "Email"
    CHAT = "chat", "Chat"
    VISIT = "visit", "In-person visit"
    SMS = "sms", "SMS"
    WHATSAPP = "whatsapp", "WhatsApp"


class InteractionChannel(models.TextChoices):
    PHONE = "phone", "Phone"
    EMAIL = "email", "Email"
    CHAT = "chat", "Chat"
    IN_PERSON = "in_person", "In person"
    SMS = "sms", "SMS"
    WHATSAPP = "whatsapp", "WhatsApp"
    SOCIAL = "social", "Social media"


class Direction(models.TextChoices):
    INBOUND = "inbound", "Inbound"
    OUTBOUND = "outbound", "Outbound"


class Interaction(models.Model):
    """One touchpoint with a customer (a call, a message, a visit), with its follow-up.

    Each is also an entry on the customer's timeline (`timeline_event`), written with it.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="interactions")
    interaction_type = models.CharField(max_length=20, choices=InteractionType.choices)
    channel = models.CharField(max_length=20, choices=InteractionChannel.choices)
    direction = models.CharField(max_length=20, choices=Direction.choices)
    subject = models.CharField(max_length=200, blank=True)
    notes = models.TextField(blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="handled_interactions",
    )
    handled_by_name = models.CharField(
        max_length=150, blank=True, help_text="The staff member's name when they are not a user"
    )
    duration_minutes = models.PositiveIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=100, blank=True)
    follow_up_required = models.BooleanField(default=False)
    follow_up_date = models.DateField(null=True, blank=True)
    follow_up_done_at = models.DateTimeField(null=True, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)
    timeline_event = models.OneToOneField(
        TimelineEvent,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="interaction",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "occurred_at", "id"], name="interaction_customer_idx"),
            # The tenant's list and its per-day volume read a range of occurred_at.
            models.Index(fields=["tenant", "occurred_at", "id"], name="interaction_tenant_idx"),
            models.Index(
                fields=["tenant", "follow_up_required", "follow_up_done_at", "follow_up_date"],
                name="interaction_follow_up_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.subject or f"{self.get_interaction_type_display()} ({self.direction})"

    @property
    def staff(self) -> str:
        """Who handled it: the user's username, else the name given as text ("" if neither)."""
        if self.handled_by_id is not None:
            return self.handled_by.get_username()
        return self.handled_by_name
