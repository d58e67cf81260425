"""The outbox's part in a person's data rights: events about them exported, and scrubbed."""

from typing import Any

from django.db.models import QuerySet

from rapport.customers.data_rights import PERSONAL_FIELDS, scrub_changes, scrub_json
from rapport.customers.models import Customer
from rapport.customers.personal_data import Erasure
from rapport.events.models import OutboxEvent

FETCH_SIZE = 500


def events_about(customer: Customer) -> QuerySet:
    """The tenant's outbox events whose payload names the customer (or a record merged into it)."""
    codes = [customer.code, *customer.merged_customers.values_list("code", flat=True)]
    return OutboxEvent.objects.filter(tenant_id=customer.tenant_id, data__code__in=codes)


class OutboxData:
    """Export and erase handler for the outbox events about a customer."""

    name = "events"

    def export(self, customer: Customer) -> list[dict[str, Any]]:
        """The events about the customer, as they were (or will be) delivered, oldest first."""
        return [
            {
                "id": str(event.uuid),
                "type": event.type,
                "data": event.data,
                "created_at": event.created_at.isoformat(),
                "dispatched_at": event.dispatched_at.isoformat() if event.dispatched_at else None,
            }
            for event in events_about(customer).order_by("pk")
        ]

    def erase(self, customer: Customer, erasure: Erasure) -> int:
        """Scrub the payloads; events already delivered stay delivered (receivers erase theirs)."""
        changed = []
        for event in events_about(customer).order_by("pk").iterator(chunk_size=FETCH_SIZE):
            data = {
                key: scrub_changes(value, erasure)
                if key == "changes"
                else scrub_json(value, erasure)
                for key, value in event.data.items()
            }
            if event.type == "customer.created":  # the profile as it was at creation
                data = {
                    key: _blank(key) if key in PERSONAL_FIELDS else value
                    for key, value in data.items()
                }
            if data != event.data:
                event.data = data
                changed.append(event)
        OutboxEvent.objects.bulk_update(changed, ["data"], batch_size=FETCH_SIZE)
        return len(changed)


def _blank(key: str) -> Any:
    """The value a personal field has after erasure, as the customer row holds it."""
    if key == "date_of_birth":
        return None
    return {} if key == "metadata" else ""
