"""The customer core: who each customer is, how to reach them, and what staff know of them."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

from rapport.tenancy.models import ApiKey, Tenant


class Gender(models.TextChoices):
    UNSPECIFIED = "", "Unspecified"
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    NON_BINARY = "non_binary", "Non-binary"
    OTHER = "other", "Other"


class ContactMethod(models.TextChoices):
    UNSPECIFIED = "", "Unspecified"
    WHATSAPP = "whatsapp", "WhatsApp"
    SMS = "sms", "SMS"
    EMAIL = "email", "Email"
    PHONE = "phone", "Phone call"
    PUSH = "push", "Push notification"


class Customer(models.Model):
    """A person or business the tenant serves. A phone number alone is enough to exist."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="customers")
    code = models.CharField(max_length=40, help_text="Public id, unique within the tenant")
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    email = models.CharField(max_length=254, blank=True)
    phone = models.CharField(max_length=20, blank=True, help_text="E.164, e.g. +2348031234567")
    phone_secondary = models.CharField(max_length=20, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    gender = models.CharField(max_length=20, choices=Gender.choices, blank=True)
    preferred_language = models.CharField(max_length=10, blank=True)
    preferred_contact_method = models.CharField(
        max_length=20, choices=ContactMethod.choices, blank=True
    )
    customer_type = models.CharField(
        max_length=50, blank=True, help_text="Free label: regular, vip, business, breeder…"
    )
    source = models.CharField(
        max_length=50, blank=True, help_text="Channel they joined through: pos, online, …"
    )
    acquisition_source = models.CharField(
        max_length=100, blank=True, help_text="Marketing source: Google, Instagram, a flyer…"
    )
    referred_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="referrals"
    )
    referral_source = models.CharField(max_length=100, blank=True)
    instagram_handle = models.CharField(max_length=100, blank=True)
    facebook_url = models.URLField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    is_archived = models.BooleanField(default=False)
    archived_at = models.DateTimeField(null=True, blank=True)
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="merged_customers",
        help_text="Set when this record was merged into another; its code then finds that one",
    )
    merged_at = models.DateTimeField(null=True, blank=True)
    erased_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when the person's data was erased; the row stays"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    tags = models.ManyToManyField("Tag", through="CustomerTag", related_name="customers")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="customer_code_per_tenant")
        ]
        indexes = [
            models.Index(fields=["tenant", "created_at", "id"], name="customer_created_idx"),
            models.Index(fields=["tenant", "updated_at", "id"], name="customer_updated_idx"),
            models.Index(fields=["tenant", "last_name", "id"], name="customer_last_name_idx"),
            models.Index(fields=["tenant", "phone"], name="customer_phone_idx"),
            models.Index(fields=["tenant", "email"], name="customer_email_idx"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def display_name(self) -> str:
        """The best name to show: the full name, else the email or phone, else the code."""
        return self.full_name or self.email or self.phone or self.code


class ContactPoint(models.Model):
    """One way of reaching a customer (a phone, an email, a WhatsApp or Instagram account)."""

    class Type(models.TextChoices):
        PHONE = "phone", "Phone"
        EMAIL = "email", "Email"
        WHATSAPP = "whatsapp", "WhatsApp"
        INSTAGRAM = "instagram", "Instagram"
        FACEBOOK = "facebook", "Facebook"
        TELEGRAM = "telegram", "Telegram"
        OTHER = "other", "Other"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contact_points")
    type = models.CharField(max_length=20, choices=Type.choices)
    value = models.CharField(max_length=254)
    is_primary = models.BooleanField(default=False)
    is_verified = models.BooleanField(default=False)
    verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["type", "-is_primary", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "type", "value"], name="contact_point_once_per_customer"
            )
        ]

    def __str__(self) -> str:
        return f"{self.type}: {self.value}"


class CustomerAddress(models.Model):
    """A postal address; one per customer may be the default."""

    class Label(models.TextChoices):
        HOME = "home", "Home"
        WORK = "work", "Work"
        BILLING = "billing", "Billing"
        DELIVERY = "delivery", "Delivery"
        OTHER = "other", "Other"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="addresses")
    label = models.CharField(max_length=20, choices=Label.choices, default=Label.HOME)
    line1 = models.CharField(max_length=200)
    line2 = models.CharField(max_length=200, blank=True)
    neighborhood = models.CharField(max_length=100, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2")
    delivery_instructions = models.CharField(max_length=300, blank=True)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_default", "created_at"]
        verbose_name_plural = "customer addresses"

    def __str__(self) -> str:
        return ", ".join(part for part in [self.line1, self.city, self.country] if part)


class ExternalIdentity(models.Model):
    """The customer's id in another system (a shop, a POS, a booking tool, a chat platform)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="external_identities"
    )
    provider = models.CharField(max_length=50, help_text="shopify, square, manychat…")
    external_id = models.CharField(max_length=200)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "external identities"
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "provider", "external_id"], name="external_identity_per_tenant"
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.external_id}"


class Tag(models.Model):
    """A label staff put on customers (VIP, Breeder, Wholesale); names are unique per tenant."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=50)
    color = models.CharField(max_length=7, default="#6c757d", help_text="Hex, e.g. #ffc107")
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(Lower("name"), "tenant", name="tag_name_per_tenant")]

    def __str__(self) -> str:
        return self.name


class CustomerTag(models.Model):
    """A tag on a customer, with who put it there and when."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="customer_tags")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="customer_tags")
    added_by = models.CharField(max_length=150, blank=True)
    added_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "tag"], name="tag_once_per_customer")
        ]
        indexes = [models.Index(fields=["tag", "customer"])]

    def __str__(self) -> str:
        return f"{self.customer_id} #{self.tag_id}"


class Note(models.Model):
    """A staff note. Pinned notes come first; private notes show only to their author and admins."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="notes")
    content = models.TextField()
    author = models.CharField(max_length=150, blank=True)
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_api_key = models.ForeignKey(
        ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_pinned = models.BooleanField(default=False)
    is_private = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_pinned", "-created_at", "-id"]
        indexes = [models.Index(fields=["customer", "is_pinned", "created_at"])]

    def __str__(self) -> str:
        return self.content[:60]
