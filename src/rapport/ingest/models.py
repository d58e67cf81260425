"""What the ingest door keeps: inbound events received, and CSV import jobs with their progress."""

import uuid

from django.db import models

from rapport.tenancy.models import ApiKey, Tenant


class InboundEvent(models.Model):
    """An event received from another system, kept so a repeat of its id changes nothing."""

    class Source(models.TextChoices):
        API = "api", "HTTP API"
        BROKER = "broker", "RabbitMQ"

    class Status(models.TextChoices):
        APPLIED = "applied", "Applied"
        REJECTED = "rejected", "Rejected"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)
    event_id = models.CharField(max_length=200, help_text="The sender's id of the event")
    type = models.CharField(max_length=100)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.API)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.APPLIED)
    result = models.JSONField(default=dict, blank=True, help_text="What applying it did")
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "event_id"], name="inbound_event_once")
        ]
        indexes = [models.Index(fields=["tenant", "received_at", "id"], name="inbound_recent_idx")]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class ImportJob(models.Model):
    """One CSV import: its file, its column mapping, its progress and its errors by row."""

    class Kind(models.TextChoices):
        CUSTOMERS = "customers", "Customers"
        ORDERS = "orders", "Orders"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a worker"
        RUNNING = "running", "Running"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    dry_run = models.BooleanField(default=False)
    file = models.FileField(upload_to="imports/")
    filename = models.CharField(max_length=255, blank=True, help_text="As it was uploaded")
    mapping = models.JSONField(default=dict, blank=True, help_text="rapport field -> CSV column")
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(
        default=list, blank=True, help_text="[{row, field, message}], the first ones"
    )
    message = models.TextField(blank=True, help_text="Why a failed import failed")
    created_by = models.CharField(max_length=150, blank=True)
    api_key = models.ForeignKey(
        ApiKey,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The key that uploaded the file; the import acts as it",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "created_at", "id"], name="import_job_recent_idx")
        ]

    def __str__(self) -> str:
        return f"{self.kind} import {self.uuid}"
