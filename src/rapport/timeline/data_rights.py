"""The timeline's part in a person's data rights: their events and interactions exported, and
scrubbed on erasure."""

from typing import Any

from rapport.customers.data_rights import scrub_changes, scrub_json
from rapport.customers.models import Customer
from rapport.customers.personal_data import Erasure
from rapport.timeline.models import Interaction, TimelineEvent

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


class InteractionData:
    """Export and erase handler for a customer's interactions (their own section).

    Erasure keeps each interaction (when, which channel, who handled it: the tenant's own
    records of its staff's work) and scrubs the person out of its subject, notes and outcome.
    Its timeline entry is scrubbed with the timeline.
    """

    name = "interactions"

    def export(self, customer: Customer) -> list[dict[str, Any]]:
        """The customer's interactions, oldest first."""
        interactions = (
            Interaction.objects.filter(customer=customer)
            .select_related("handled_by", "timeline_event")
            .order_by("occurred_at", "pk")
        )
        return [
            {
                "id": str(interaction.uuid),
                "interaction_type": interaction.interaction_type,
                "channel": interaction.channel,
                "direction": interaction.direction,
                "subject": interaction.subject,
                "notes": interaction.notes,
                "handled_by": interaction.staff,
                "duration_minutes": interaction.duration_minutes,
                "outcome": interaction.outcome,
                "follow_up_required": interaction.follow_up_required,
                "follow_up_date": _iso(interaction.follow_up_date),
                "follow_up_done_at": _iso(interaction.follow_up_done_at),
                "occurred_at": interaction.occurred_at.isoformat(),
                "timeline_event": str(interaction.timeline_event.uuid)
                if interaction.timeline_event_id
                else None,
                "created_at": interaction.created_at.isoformat(),
                "updated_at": interaction.updated_at.isoformat(),
            }
            for interaction in interactions
        ]

    def erase(self, customer: Customer, erasure: Erasure) -> int:
        """Scrub subjects, notes and outcomes; the interactions themselves stay."""
        changed = []
        for interaction in (
            Interaction.objects.filter(customer=customer)
            .only("pk", "subject", "notes", "outcome")
            .order_by("pk")
            .iterator(chunk_size=FETCH_SIZE)
        ):
            scrubbed = (
                erasure.scrub(interaction.subject),
                erasure.scrub(interaction.notes),
                erasure.scrub(interaction.outcome),
            )
            if scrubbed != (interaction.subject, interaction.notes, interaction.outcome):
                interaction.subject, interaction.notes, interaction.outcome = scrubbed
                changed.append(interaction)
        Interaction.objects.bulk_update(
            changed, ["subject", "notes", "outcome"], batch_size=FETCH_SIZE
        )
        return len(changed)


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None
