"""Segments: named groups of a tenant's customers, and who is in each."""

import uuid

from django.db import models
from django.db.models.functions import Lower

from rapport.customers.models import Customer
from rapport.tenancy.models import Tenant


class SegmentType(models.TextChoices):
    MANUAL = "manual", "Manual: customers added by hand"
    DYNAMIC = "dynamic", "Dynamic: the customers who meet its conditions"


class Segment(models.Model):
    """A group of customers: listed by hand (manual) or described by conditions (dynamic).

    `conditions` holds a dynamic segment's condition tree in its canonical form
    (docs/segments.md); `customer_count` is the number of members as of `counted_at`.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)
    name = models.CharField(max_length=100, help_text="Unique within the tenant, in any case")
    key = models.SlugField(
        max_length=60, help_text="A stable, URL-safe name (vip-customers); unique in the tenant"
    )
    description = models.TextField(blank=True)
    type = models.CharField(max_length=10, choices=SegmentType.choices)
    conditions = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(
        default=True, help_text="Inactive segments are not refreshed on the schedule"
    )
    is_default = models.BooleanField(
        default=False, help_text="One of the segments every new tenant starts with"
    )
    customer_count = models.PositiveIntegerField(default=0)
    counted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(Lower("name"), "tenant", name="segment_name_per_tenant"),
            models.UniqueConstraint(fields=["tenant", "key"], name="segment_key_per_tenant"),
        ]
        indexes = [models.Index(fields=["tenant", "name", "id"], name="segment_name_idx")]

    def __str__(self) -> str:
        return self.name


class SegmentMembership(models.Model):
    """A customer in a segment: a manual segment's member, or in a dynamic one's latest snapshot."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="memberships")
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="segment_memberships"
    )
    joined_at = models.DateTimeField()

    class Meta:
        ordering = ["segment", "joined_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["segment", "customer"], name="segment_member_once")
        ]
        indexes = [models.Index(fields=["customer", "segment"], name="segment_member_customer_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id} in {self.segment_id}"
