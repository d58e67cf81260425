"""Who a customer is across channels: identifiers, duplicates and merges."""

import uuid

from django.db import models
from django.db.models import Q

from rapport.customers.models import Customer
from rapport.tenancy.models import Tenant


class Normalization(models.TextChoices):
    """How the values of an identifier type are brought to one form before they are compared."""

    PHONE = "phone", "Phone number (E.164)"
    EMAIL = "email", "Email address"
    HANDLE = "handle", "Social handle"
    TEXT = "text", "Text, trimmed"


class IdentifierType(models.Model):
    """An identifier type a tenant adds to the built-in ones (a loyalty card, a patient number)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="identifier_types")
    name = models.SlugField(max_length=30, help_text="Lower-case slug, e.g. loyalty_card")
    label = models.CharField(max_length=100, blank=True)
    normalization = models.CharField(
        max_length=10, choices=Normalization.choices, default=Normalization.TEXT
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="identifier_type_per_tenant")
        ]

    def __str__(self) -> str:
        return self.label or self.name


class CustomerIdentifier(models.Model):
    """One (type, value) that finds exactly one customer of the tenant."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="identifiers")
    type = models.CharField(max_length=30)
    value = models.CharField(max_length=254, help_text="In its normal form for the type")
    is_primary = models.BooleanField(default=False)
    source = models.CharField(max_length=50, blank=True, help_text="pos, whatsapp, import, …")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["type", "-is_primary", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "type", "value"], name="identifier_once_per_tenant"
            ),
            models.UniqueConstraint(
                fields=["customer", "type"],
                condition=Q(is_primary=True),
                name="one_primary_identifier_per_type",
            ),
        ]
        indexes = [models.Index(fields=["customer", "type"], name="identifier_customer_idx")]

    def __str__(self) -> str:
        return f"{self.type}: {self.value}"


class CustomerMerge(models.Model):
    """One merge of a duplicate into a survivor: the evidence, what moved, and its undo."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)
    survivor = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="merges_kept")
    duplicate = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="merges_absorbed"
    )
    score = models.FloatField(help_text="The duplicate score the service found, 0 to 1")
    reasons = models.JSONField(default=list, help_text="The evidence the service found")
    override_reason = models.TextField(
        blank=True, help_text="Why an admin merged without enough evidence"
    )
    plan = models.JSONField(default=list, help_text="The preview shown before merging")
    journal = models.JSONField(default=dict, help_text="Per app, what moved: what undo needs")
    merged_by = models.CharField(max_length=200)
    merged_at = models.DateTimeField(auto_now_add=True)
    undone_by = models.CharField(max_length=200, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-merged_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "merged_at", "id"], name="merge_tenant_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.duplicate.code} → {self.survivor.code}"
