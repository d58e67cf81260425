"""The transactional outbox: events written with the change that caused them."""

import uuid

from django.db import models

from rapport.tenancy.models import Tenant


class OutboxEvent(models.Model):
    """An event waiting to be delivered (or delivered). Written in the change's transaction."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)
    type = models.CharField(max_length=100, help_text="<resource>.<past-tense verb>")
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        verbose_name = "outbox event"
        indexes = [
            models.Index(
                fields=["id"],
                condition=models.Q(dispatched_at__isnull=True),
                name="outbox_pending_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.uuid}"

    def envelope(self) -> dict:
        """The event as webhooks, the broker and the outbox all carry it."""
        return {
            "id": str(self.uuid),
            "type": self.type,
            "tenant": self.tenant.slug,
            "timestamp": self.created_at.isoformat(),
            "data": self.data,
        }
