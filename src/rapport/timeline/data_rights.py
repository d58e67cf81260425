"""The timeline's part in a person's data rights: their events exported, and scrubbed on erasure."""

from typing import Any

from rapport.customers.data_rights import scrub_changes, scrub_json
from rapport.customers.models import Customer
from rapport.customers.personal_data import Erasure
from rapport.timeline.models import TimelineEvent

FETCH_SIZE = 500


class TimelineData:
    """Export and erase handler for a customer's timeline events."""

    name = "timeline"

    def export(self, customer: Customer) -> list[dict[str, Any]]:
        """The customer's events, oldest first."""
        return [
            {
                "id": str(event.uuid),
                "event_type": event.event_type,
                "title": event.title,
                "description": event.description,
                "channel": event.channel,
                "reference": event.reference,
                "metadata": event.metadata,
                "actor": event.actor,
                "created_at": event.created_at.isoformat(),
            }
            for event in TimelineEvent.objects.filter(customer=customer).order_by(
                "created_at", "pk"
            )
        ]

    def erase(self, customer: Customer, erasure: Erasure) -> int:
        """Scrub titles, descriptions and references; scrub metadata values at every depth.

        The events stay, so the history keeps its shape (how many visits, when); only the
        words that name the person go.
        """
        changed = []
        for event in (
            TimelineEvent.objects.filter(customer=customer)
            .order_by("pk")
            .iterator(chunk_size=FETCH_SIZE)
        ):
            metadata = {
                key: scrub_changes(value, erasure)
                if key == "changes"
                else scrub_json(value, erasure)
                for key, value in event.metadata.items()
            }
            scrubbed = (
                erasure.scrub(event.title),
                erasure.scrub(event.description),
                erasure.scrub(event.reference),
                metadata,
            )
            if scrubbed != (event.title, event.description, event.reference, event.metadata):
                event.title, event.description, event.reference, event.metadata = scrubbed
                changed.append(event)
        TimelineEvent.objects.bulk_update(
            changed, ["title", "description", "reference", "metadata"], batch_size=FETCH_SIZE
        )
        return len(changed)
