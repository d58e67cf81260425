"""What each customer agreed to be sent, per channel, with proof."""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone

from rapport.customers.models import Customer
from rapport.tenancy.models import Tenant


class Channel(models.TextChoices):
    WHATSAPP = "whatsapp", "WhatsApp"
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    PUSH = "push", "Push notification"


class Status(models.TextChoices):
    PENDING = "pending", "Pending"
    OPTED_IN = "opted_in", "Opted in"
    OPTED_OUT = "opted_out", "Opted out"


class LegalBasis(models.TextChoices):
    CONSENT = "consent", "Consent"
    LEGITIMATE_INTEREST = "legitimate_interest", "Legitimate interest"
    CONTRACT = "contract", "Contract"
    LEGAL_OBLIGATION = "legal_obligation", "Legal obligation"


class CommunicationConsent(models.Model):
    """Whether a customer may be sent marketing on one channel, and the proof of it.

    A channel with no row is pending: nothing is sent until an explicit opt-in.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="consents")
    channel = models.CharField(max_length=20, choices=Channel.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    legal_basis = models.CharField(max_length=30, choices=LegalBasis.choices, blank=True)
    source = models.CharField(
        max_length=100, blank=True, help_text="Where it was given: signup_form, pos, …"
    )
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    consented_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    notice_version = models.CharField(
        max_length=50, blank=True, help_text="The version of the text the customer saw"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["channel"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "channel"], name="consent_per_channel")
        ]
        indexes = [
            # get_marketable_customers: the opted-in rows of one channel, and nothing else.
            models.Index(
                fields=["tenant", "channel", "customer"],
                condition=Q(status="opted_in"),
                name="consent_marketable_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel}: {self.status}"


class ConsentChange(models.Model):
    """One change of a customer's consent on a channel, with its proof. Never edited."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="consent_changes")
    channel = models.CharField(max_length=20, choices=Channel.choices)
    previous_status = models.CharField(max_length=20, choices=Status.choices)
    new_status = models.CharField(max_length=20, choices=Status.choices)
    legal_basis = models.CharField(max_length=30, choices=LegalBasis.choices, blank=True)
    source = models.CharField(max_length=100, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    notice_version = models.CharField(max_length=50, blank=True)
    actor = models.CharField(max_length=200, help_text="Who recorded the change")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["customer", "created_at", "id"], name="consent_change_customer_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel}: {self.previous_status} → {self.new_status}"
