"""Pets and who owns them: a pet has one or more owners, a customer any number of pets."""

import datetime as dt
import uuid
import zoneinfo

from django.db import models
from django.db.models import Q
from django.utils import timezone

from rapport.customers.models import Customer
from rapport.tenancy.models import Tenant


class Sex(models.TextChoices):
    MALE = "male", "Male"
    FEMALE = "female", "Female"
    UNKNOWN = "unknown", "Unknown"


class Pet(models.Model):
    """An animal a customer brings in. Its species is one of pets.conf.SPECIES."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)
    name = models.CharField(max_length=100)
    # The name folded for search: lower-case, words split on anything not a letter or digit.
    name_key = models.CharField(max_length=100, editable=False, db_index=False)
    species = models.CharField(max_length=20, help_text="dog, cat, bird, rabbit, … or other")
    breed = models.CharField(max_length=100, blank=True)
    sex = models.CharField(max_length=10, choices=Sex.choices, default=Sex.UNKNOWN)
    date_of_birth = models.DateField(null=True, blank=True)
    neutered = models.BooleanField(null=True, blank=True, help_text="Unknown when empty")
    colour = models.CharField(max_length=50, blank=True)
    microchip = models.CharField(
        max_length=15, blank=True, help_text="Unique within the tenant when given"
    )
    notes = models.TextField(blank=True)
    deceased_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    owners = models.ManyToManyField(Customer, through="PetOwner", related_name="pets")

    class Meta:
        ordering = ["name_key", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "microchip"],
                condition=~Q(microchip=""),
                name="pet_microchip_per_tenant",
            )
        ]
        indexes = [
            # Finding by name: an equality on the tenant and a prefix on the folded name. The
            # pattern operator class lets PostgreSQL serve LIKE 'max%' under any collation;
            # other databases ignore it.
            models.Index(
                fields=["tenant", "name_key"],
                opclasses=["int8_ops", "varchar_pattern_ops"],
                name="pet_name_idx",
            ),
            models.Index(fields=["tenant", "name_key", "id"], name="pet_name_order_idx"),
            models.Index(fields=["tenant", "species"], name="pet_species_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.species})"

    @property
    def is_deceased(self) -> bool:
        return self.deceased_on is not None

    def age_on(self, today: dt.date) -> tuple[int, int] | None:
        """(years, months) old on `today`, or at death; None without a date of birth."""
        if self.date_of_birth is None:
            return None
        end = min(today, self.deceased_on) if self.deceased_on else today
        months = (end.year - self.date_of_birth.year) * 12 + end.month - self.date_of_birth.month
        if end.day < self.date_of_birth.day:
            months -= 1
        months = max(months, 0)
        return months // 12, months % 12

    @property
    def age(self) -> tuple[int, int] | None:
        """(years, months) old today, the tenant's today; None without a date of birth."""
        today = timezone.localdate(timezone=zoneinfo.ZoneInfo(self.tenant.timezone))
        return self.age_on(today)


class PetOwner(models.Model):
    """One owner of one pet. Exactly one owner of each pet is its primary owner."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)
    pet = models.ForeignKey(Pet, on_delete=models.CASCADE, related_name="ownerships")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="pet_ownerships")
    is_primary = models.BooleanField(default=False)
    since = models.DateField(help_text="The tenant's date the customer became an owner")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_primary", "since", "id"]
        verbose_name = "pet owner"
        constraints = [
            models.UniqueConstraint(fields=["pet", "customer"], name="pet_owner_once"),
            models.UniqueConstraint(
                fields=["pet"], condition=Q(is_primary=True), name="pet_one_primary_owner"
            ),
        ]
        indexes = [models.Index(fields=["customer", "pet"], name="pet_owner_customer_idx")]

    def __str__(self) -> str:
        return f"{self.customer} owns {self.pet}"
