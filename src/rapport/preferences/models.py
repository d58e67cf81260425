"""What each customer likes, avoids and must not be given."""

import uuid
from decimal import Decimal

from django.db import models

from rapport.customers.models import Customer
from rapport.tenancy.models import Tenant


class PreferenceType(models.TextChoices):
    EXPLICIT = "explicit", "Explicit: the customer said so"
    INFERRED = "inferred", "Inferred from behaviour"
    RESTRICTION = "restriction", "Restriction: must be respected (an allergy, a diet)"


class CustomerPreference(models.Model):
    """One preference of one customer, keyed by (category, key); the value is plain JSON."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="preferences")
    category = models.CharField(max_length=50, help_text="Lower-case slug, e.g. diet")
    key = models.CharField(max_length=50, help_text="Lower-case slug, e.g. milk")
    value = models.JSONField(help_text="Plain JSON: true, a word, a number, a list or an object")
    preference_type = models.CharField(
        max_length=20, choices=PreferenceType.choices, default=PreferenceType.EXPLICIT
    )
    confidence = models.DecimalField(
        max_digits=3,
        decimal_places=2,
        default=Decimal("1.00"),
        help_text="0.00 to 1.00; below 1.00 only for inferred preferences",
    )
    source = models.CharField(
        max_length=100, blank=True, help_text="Where it came from: form, chat, order_history, …"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["category", "key"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "category", "key"], name="preference_once_per_customer"
            )
        ]
        indexes = [
            models.Index(fields=["customer", "preference_type"], name="preference_type_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.category}/{self.key}"
