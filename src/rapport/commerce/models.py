"""Orders and visits other systems report for customers: tills, online shops, booking tools."""

import uuid

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from rapport.customers.models import Customer
from rapport.tenancy.models import Tenant


class Channel(models.TextChoices):
    POS = "pos", "Point of sale"
    ONLINE = "online", "Online store"
    MARKETPLACE = "marketplace", "Marketplace"
    PHONE = "phone", "Phone"


class Status(models.TextChoices):
    PENDING = "pending", "Pending"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    REFUNDED = "refunded", "Refunded"
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"


# The statuses of an order that was paid for: what spend, history and analytics count.
SOLD = (Status.COMPLETED, Status.PARTIALLY_REFUNDED, Status.REFUNDED)


class Order(models.Model):
    """One order from a sending system, unique by its `source` and `external_id` in a tenant."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="orders")
    source = models.CharField(
        max_length=50, default="api", help_text="The sending system: pos, shopify, import…"
    )
    external_id = models.CharField(max_length=100, help_text="The order's id in its source")
    channel = models.CharField(max_length=20, choices=Channel.choices, default=Channel.POS)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.COMPLETED)
    placed_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    total_q = models.PositiveBigIntegerField(help_text="What the customer paid, in minor units")
    refunded_q = models.PositiveBigIntegerField(default=0, help_text="Refunded so far")
    currency = models.CharField(max_length=3, help_text="ISO 4217")
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-placed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "source", "external_id"], name="commerce_order_once_per_source"
            ),
            models.CheckConstraint(
                condition=Q(refunded_q__lte=F("total_q")), name="commerce_order_refund_within"
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "placed_at"], name="commerce_order_customer_idx"),
            models.Index(fields=["tenant", "placed_at", "id"], name="commerce_order_placed_idx"),
            models.Index(
                fields=["tenant", "status", "placed_at"], name="commerce_order_status_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"Order {self.external_id}"

    @property
    def net_q(self) -> int:
        """What the order is worth after refunds."""
        return self.total_q - self.refunded_q


class OrderLine(models.Model):
    """One line of an order: what was bought, how many, at what price."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField()
    sku = models.CharField(max_length=100, blank=True)
    name = models.CharField(max_length=200)
    category = models.CharField(max_length=100, blank=True)
    quantity = models.PositiveIntegerField(default=1)
    unit_price_q = models.PositiveBigIntegerField()
    total_q = models.PositiveBigIntegerField(help_text="unit_price_q times quantity")

    class Meta:
        ordering = ["order", "position"]
        constraints = [
            models.UniqueConstraint(fields=["order", "position"], name="commerce_line_position"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="commerce_line_quantity"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.name}"


class OrderRefund(models.Model):
    """Money given back on an order. Append-only; `reference` makes a retry harmless."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="refunds")
    amount_q = models.PositiveBigIntegerField()
    reason = models.CharField(max_length=200, blank=True)
    reference = models.CharField(max_length=200)
    actor = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "reference"], name="commerce_refund_once"),
            models.CheckConstraint(condition=Q(amount_q__gt=0), name="commerce_refund_positive"),
        ]

    def __str__(self) -> str:
        return f"Refund {self.amount_q} on {self.order_id}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise TypeError("Refunds are never edited: a correction is a new refund")
        super().save(*args, **kwargs)


class VisitStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    NO_SHOW = "no_show", "No-show"


class Visit(models.Model):
    """A visit or appointment: a service given (or booked) in person, maybe for a pet."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="visits")
    source = models.CharField(max_length=50, default="api")
    external_id = models.CharField(max_length=100)
    service = models.CharField(max_length=200, help_text="What was done: grooming, check-up…")
    status = models.CharField(
        max_length=20, choices=VisitStatus.choices, default=VisitStatus.COMPLETED
    )
    scheduled_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(
        null=True, blank=True, help_text="When it was cancelled or marked a no-show"
    )
    occurred_at = models.DateTimeField(
        default=timezone.now,
        help_text="When it happened or is due: completed_at, else scheduled_at, else recorded",
    )
    staff = models.CharField(max_length=150, blank=True)
    pet_uuid = models.UUIDField(null=True, blank=True, help_text="The pet seen, if any")
    pet_name = models.CharField(max_length=100, blank=True)
    price_q = models.PositiveBigIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    notes = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "source", "external_id"], name="commerce_visit_once_per_source"
            )
        ]
        indexes = [
            models.Index(fields=["customer", "occurred_at"], name="commerce_visit_customer_idx"),
            models.Index(fields=["tenant", "occurred_at", "id"], name="commerce_visit_tenant_idx"),
            models.Index(fields=["tenant", "pet_uuid"], name="commerce_visit_pet_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.service} ({self.status})"
