"""Personal-data rights: the data-subject request log and the record of each erasure."""

import uuid

from django.db import models

from rapport.customers.models import Customer
from rapport.tenancy.models import Tenant


class DataSubjectRequest(models.Model):
    """A person's request about their data (GDPR arts. 15-21, LGPD art. 18), and its answer."""

    class Kind(models.TextChoices):
        ACCESS = "access", "Access"
        RECTIFICATION = "rectification", "Rectification"
        ERASURE = "erasure", "Erasure"
        PORTABILITY = "portability", "Portability"
        RESTRICTION = "restriction", "Restriction of processing"
        OBJECTION = "objection", "Objection"

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"
        REJECTED = "rejected", "Rejected"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RECEIVED)
    customer = models.ForeignKey(
        Customer,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="data_subject_requests",
    )
    customer_code = models.CharField(
        max_length=40, blank=True, help_text="As the request gave it, kept if no customer has it"
    )
    channel = models.CharField(
        max_length=30, blank=True, help_text="How it came in: email, phone, in_person, web, letter…"
    )
    received_at = models.DateTimeField()
    due_at = models.DateTimeField(help_text="The legal deadline, from the tenant's country")
    completed_at = models.DateTimeField(null=True, blank=True, help_text="Completed or rejected")
    handled_by = models.CharField(max_length=150, blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = "data-subject request"
        indexes = [
            models.Index(fields=["tenant", "received_at", "id"], name="dsr_received_idx"),
            models.Index(fields=["tenant", "status", "due_at"], name="dsr_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} request {self.customer_code or '(no customer)'}"

    @property
    def is_open(self) -> bool:
        return self.status in (self.Status.RECEIVED, self.Status.IN_PROGRESS)


class ErasureRecord(models.Model):
    """Proof that a person's data was erased: who, whom, when, why. It holds no personal data."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="erasures"
    )
    customer_code = models.CharField(max_length=40)
    request = models.ForeignKey(
        DataSubjectRequest,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="erasures",
    )
    erased_by = models.CharField(max_length=150)
    counts = models.JSONField(default=dict, help_text="Rows changed, per app")
    erased_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-erased_at", "-id"]
        indexes = [models.Index(fields=["tenant", "erased_at", "id"], name="erasure_tenant_idx")]

    def __str__(self) -> str:
        return f"Erasure of {self.customer_code}"
