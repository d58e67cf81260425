"""Segments in a customer's export, erasure and merges (registered in SegmentsConfig.ready).

Export: the segments the customer is in, with when they joined each.

Erasure: the customer's memberships go. An erased customer is archived, so no dynamic segment
takes them back.

Merge: the duplicate's places in manual segments move to the survivor; where both were members,
the survivor's stays. Dynamic segments need nothing: the duplicate, merged away, leaves them at
the next refresh and the survivor is judged on its own. The journal keeps what moved and the
rows removed, so undo puts both back.
"""

import datetime as dt
from typing import Any

from rapport.customers.models import Customer
from rapport.customers.personal_data import Erasure, MergeStep
from rapport.segments.models import Segment, SegmentMembership, SegmentType
from rapport.tenancy.actors import Actor

NAME = "segments"


def _manual_links(customer: Customer):
    return SegmentMembership.objects.filter(customer=customer, segment__type=SegmentType.MANUAL)


class SegmentData:
    """Export, erasure and merge of a customer's segment memberships."""

    name = NAME

    def export(self, customer: Customer) -> list[dict[str, Any]]:
        """The customer's segments, by when they joined."""
        links = (
            SegmentMembership.objects.filter(customer=customer)
            .select_related("segment")
            .order_by("joined_at", "pk")
        )
        return [
            {
                "segment": str(link.segment.uuid),
                "name": link.segment.name,
                "type": link.segment.type,
                "joined_at": link.joined_at.isoformat(),
            }
            for link in links
        ]

    def erase(self, customer: Customer, erasure: Erasure) -> int:
        """Take the customer out of every segment."""
        deleted, _ = SegmentMembership.objects.filter(customer=customer).delete()
        return deleted

    def plan_merge(self, duplicate: Customer, survivor: Customer) -> list[MergeStep]:
        """How many manual segments the survivor joins; writes nothing."""
        theirs = set(_manual_links(duplicate).values_list("segment_id", flat=True))
        moving = len(theirs - set(_manual_links(survivor).values_list("segment_id", flat=True)))
        if not moving:
            return []
        noun = "manual segment" if moving == 1 else "manual segments"
        return [
            MergeStep(
                NAME,
                f"{moving} {noun}",
                "move",
                "The survivor takes the duplicate's place; dynamic segments follow at refresh",
                {"segments": moving},
            )
        ]

    def merge(self, duplicate: Customer, survivor: Customer, actor: Actor) -> dict[str, Any]:
        """Move the duplicate's manual memberships; where both were members keep the survivor's."""
        ours = set(_manual_links(survivor).values_list("segment_id", flat=True))
        moved: list[int] = []
        removed: list[dict[str, Any]] = []
        for link in _manual_links(duplicate).order_by("pk"):
            if link.segment_id in ours:
                removed.append(
                    {
                        "pk": link.pk,
                        "segment": link.segment_id,
                        "joined_at": link.joined_at.isoformat(),
                    }
                )
                link.delete()
            else:
                moved.append(link.pk)
        SegmentMembership.objects.filter(pk__in=moved).update(customer=survivor)
        return {"moved": moved, "removed": removed}

    def blockers_to_undo(
        self, duplicate: Customer, survivor: Customer, journal: dict[str, Any]
    ) -> list[str]:
        """Nothing blocks: a segment deleted since simply gets no one back."""
        return []

    def undo_merge(
        self, duplicate: Customer, survivor: Customer, journal: dict[str, Any], actor: Actor
    ) -> None:
        """Give the moved memberships back and recreate the removed ones still possible."""
        SegmentMembership.objects.filter(pk__in=journal.get("moved", []), customer=survivor).update(
            customer=duplicate
        )
        rows = journal.get("removed", [])
        alive = set(
            Segment.objects.filter(pk__in=[row["segment"] for row in rows]).values_list(
                "pk", flat=True
            )
        )
        present = set(
            SegmentMembership.objects.filter(customer=duplicate).values_list(
                "segment_id", flat=True
            )
        )
        SegmentMembership.objects.bulk_create(
            [
                SegmentMembership(
                    pk=row["pk"],
                    tenant_id=duplicate.tenant_id,
                    segment_id=row["segment"],
                    customer=duplicate,
                    joined_at=dt.datetime.fromisoformat(row["joined_at"]),
                )
                for row in rows
                if row["segment"] in alive and row["segment"] not in present
            ]
        )
