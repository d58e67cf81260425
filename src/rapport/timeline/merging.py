"""The timeline's part of a customer merge: the duplicate's history moves to the survivor."""

from typing import Any

from rapport.customers.models import Customer
from rapport.customers.personal_data import MergeStep
from rapport.tenancy.actors import Actor
from rapport.timeline.models import TimelineEvent


class TimelineMerging:
    """Events are never edited; a merge only changes whose history they are, and undo reverts it."""

    name = "timeline"

    def plan_merge(self, duplicate: Customer, survivor: Customer) -> list[MergeStep]:
        """How many of the duplicate's events join the survivor's timeline; writes nothing."""
        count = TimelineEvent.objects.filter(customer=duplicate).count()
        if not count:
            return []
        return [
            MergeStep(
                self.name,
                f"{count} timeline events",
                "move",
                "The survivor's timeline shows the duplicate's history too",
                {"events": count},
            )
        ]

    def merge(self, duplicate: Customer, survivor: Customer, actor: Actor) -> dict[str, Any]:
        """Move the duplicate's events to the survivor; the journal lists them."""
        events = TimelineEvent.objects.filter(customer=duplicate)
        moved = list(events.values_list("pk", flat=True))
        events.update(customer=survivor)
        return {"moved": moved}

    def blockers_to_undo(
        self, duplicate: Customer, survivor: Customer, journal: dict[str, Any]
    ) -> list[str]:
        """Events are append-only, so nothing newer can depend on where the moved ones are."""
        return []

    def undo_merge(
        self, duplicate: Customer, survivor: Customer, journal: dict[str, Any], actor: Actor
    ) -> None:
        """Give the moved events back to the duplicate."""
        TimelineEvent.objects.filter(pk__in=journal["moved"], customer=survivor).update(
            customer=duplicate
        )
