"""Identity's part of export, erasure and merging: a customer's identifiers."""

from typing import Any

from rapport.customers.models import Customer
from rapport.customers.personal_data import Erasure, MergeStep
from rapport.identity.models import CustomerIdentifier
from rapport.tenancy.actors import Actor


def _label(identifier: CustomerIdentifier) -> str:
    return f"{identifier.type} {identifier.value}"


class IdentityData:
    """A customer's identifiers: exported, deleted on erasure, moved to a merge's survivor."""

    name = "identity"

    def export(self, customer: Customer) -> Any:
        """The customer's identifiers as JSON-ready data."""
        return {
            "identifiers": [
                {
                    "id": str(identifier.uuid),
                    "type": identifier.type,
                    "value": identifier.value,
                    "is_primary": identifier.is_primary,
                    "source": identifier.source,
                    "created_at": identifier.created_at.isoformat(),
                }
                for identifier in CustomerIdentifier.objects.filter(customer=customer)
            ]
        }

    def originals(self, customer: Customer) -> list[str]:
        """The identifiers' values: a Manychat id or a handle may be written nowhere else."""
        return list(
            CustomerIdentifier.objects.filter(customer=customer).values_list("value", flat=True)
        )

    def erase(self, customer: Customer, erasure: Erasure) -> int:
        """Delete the identifiers: after erasure, none of the old values finds anyone."""
        deleted, _ = CustomerIdentifier.objects.filter(customer=customer).delete()
        return deleted

    def plan_merge(self, duplicate: Customer, survivor: Customer) -> list[MergeStep]:
        """Each of the duplicate's identifiers moves; the survivor keeps its primary per type."""
        primary_types = set(
            CustomerIdentifier.objects.filter(customer=survivor, is_primary=True).values_list(
                "type", flat=True
            )
        )
        steps = []
        for identifier in CustomerIdentifier.objects.filter(customer=duplicate):
            keeps_primary = identifier.is_primary and identifier.type not in primary_types
            reason = "becomes the survivor's primary" if keeps_primary else ""
            if identifier.is_primary and not keeps_primary:
                reason = f"the survivor keeps its primary {identifier.type}"
            steps.append(
                MergeStep(
                    app=self.name,
                    what=_label(identifier),
                    action="move",
                    reason=reason,
                    detail={"identifier": str(identifier.uuid), "is_primary": keeps_primary},
                )
            )
        return steps

    def merge(self, duplicate: Customer, survivor: Customer, actor: Actor) -> dict[str, Any]:
        """Move the duplicate's identifiers to the survivor; the journal lists what moved."""
        primary_types = set(
            CustomerIdentifier.objects.filter(customer=survivor, is_primary=True).values_list(
                "type", flat=True
            )
        )
        moved = []
        for identifier in CustomerIdentifier.objects.filter(customer=duplicate).order_by(
            "-is_primary", "created_at", "pk"
        ):
            was_primary = identifier.is_primary
            identifier.is_primary = was_primary and identifier.type not in primary_types
            if identifier.is_primary:
                primary_types.add(identifier.type)
            identifier.customer = survivor
            identifier.save(update_fields=["customer", "is_primary"])
            moved.append(
                {
                    "identifier": str(identifier.uuid),
                    "type": identifier.type,
                    "value": identifier.value,
                    "was_primary": was_primary,
                }
            )
        return {"moved": moved}

    def blockers_to_undo(
        self, duplicate: Customer, survivor: Customer, journal: dict[str, Any]
    ) -> list[str]:
        """The moved identifiers no longer on the survivor (removed or moved on since)."""
        moved = journal.get("moved", [])
        present = set(
            str(uuid)
            for uuid in CustomerIdentifier.objects.filter(
                customer=survivor, uuid__in=[entry["identifier"] for entry in moved]
            ).values_list("uuid", flat=True)
        )
        return [
            f"The {entry['type']} identifier {entry['value']} moved in the merge was removed since"
            for entry in moved
            if entry["identifier"] not in present
        ]

    def undo_merge(
        self, duplicate: Customer, survivor: Customer, journal: dict[str, Any], actor: Actor
    ) -> None:
        """Move the identifiers back to the duplicate, each with its primary flag as it was."""
        moved = journal.get("moved", [])
        identifiers = {
            str(identifier.uuid): identifier
            for identifier in CustomerIdentifier.objects.filter(
                customer=survivor, uuid__in=[entry["identifier"] for entry in moved]
            )
        }
        # Unset first, so no moment has two primaries of a type on one customer.
        for entry in moved:
            identifier = identifiers.get(entry["identifier"])
            if identifier is not None:
                identifier.customer = duplicate
                identifier.is_primary = False
                identifier.save(update_fields=["customer", "is_primary"])
        for entry in moved:
            identifier = identifiers.get(entry["identifier"])
            if identifier is not None and entry["was_primary"]:
                identifier.is_primary = True
                identifier.save(update_fields=["is_primary"])
        # A survivor left with identifiers of a type but no primary gets its oldest back.
        for type in {entry["type"] for entry in moved}:
            same_type = CustomerIdentifier.objects.filter(customer=survivor, type=type)
            if not same_type.filter(is_primary=True).exists():
                oldest = same_type.order_by("created_at", "pk").first()
                if oldest is not None:
                    oldest.is_primary = True
                    oldest.save(update_fields=["is_primary"])
