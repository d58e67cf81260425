"""The timeline's part of a customer merge: the duplicate's history and interactions move to the
survivor."""

from typing import Any

from rapport.customers.models import Customer
from rapport.customers.personal_data import MergeStep
from rapport.tenancy.actors import Actor
from rapport.timeline.models import Interaction, TimelineEvent


class TimelineMerging:
    """Events are never edited; a merge only changes whose history they are, and undo reverts it.

    Interactions move the same way (their timeline entries are among the events).
    """

    name = "timeline"

    def plan_merge(self, duplicate: Customer, survivor: Customer) -> list[MergeStep]:
        """How many of the duplicate's events and interactions join the survivor's; writes nothing."""
        steps = []
        count = TimelineEvent.objects.filter(customer=duplicate).count()
        if count:
            steps.append(
                MergeStep(
                    self.name,
                    f"{count} timeline events",
                    "move",
                    "The survivor's timeline shows the duplicate's history too",
                    {"events": count},
                )
            )
        interactions = Interaction.objects.filter(customer=duplicate).count()
        if interactions:
            noun = "interaction" if interactions == 1 else "interactions"
            steps.append(
                MergeStep(
                    self.name,
                    f"{interactions} {noun}",
                    "move",
                    "Calls, messages and visits, with their follow-ups, go to the survivor",
                    {"interactions": interactions},
                )
            )
        return steps

    def merge(self, duplicate: Customer, survivor: Customer, actor: Actor) -> dict[str, Any]:
        """Move the duplicate's events and interactions to the survivor; the journal lists them."""
        events = TimelineEvent.objects.filter(customer=duplicate)
        moved = list(events.values_list("pk", flat=True))
        events.update(customer=survivor)
        interactions = Interaction.objects.filter(customer=duplicate)
        moved_interactions = list(interactions.values_list("pk", flat=True))
        # update() leaves updated_at alone: the interactions are not changed, only re-homed.
        interactions.update(customer=survivor)
        return {"moved": moved, "interactions": moved_interactions}

    def blockers_to_undo(
        self, duplicate: Customer, survivor: Customer, journal: dict[str, Any]
    ) -> list[str]:
        """Events are append-only, and an interaction changed since stays one customer's: none."""
        return []

    def undo_merge(
        self, duplicate: Customer, survivor: Customer, journal: dict[str, Any], actor: Actor
    ) -> None:
        """Give the moved events and interactions back to the duplicate."""
        TimelineEvent.objects.filter(pk__in=journal["moved"], customer=survivor).update(
            customer=duplicate
        )
        Interaction.objects.filter(
            pk__in=journal.get("interactions", []), customer=survivor
        ).update(customer=duplicate)
