"""Preferences in export, erasure and merge (registered in PreferencesConfig.ready).

Preferences are personal data with no ledger to keep, so erasure deletes them. A merge moves
the duplicate's preferences to the survivor; where both hold the same (category, key), one
value wins by MERGE_RULE, and the journal keeps whatever the merge moved or removed, whole, so
undo puts both customers back exactly as they were.
"""

import datetime as dt
from decimal import Decimal
from typing import Any

from rapport.customers.models import Customer
from rapport.customers.personal_data import Erasure, MergeStep
from rapport.preferences.models import CustomerPreference, PreferenceType
from rapport.tenancy.actors import Actor

MERGE_RULE = (
    "a restriction beats a non-restriction, then explicit beats inferred, "
    "then the higher confidence, then the survivor's"
)
ROW_FIELDS = (
    "uuid",
    "category",
    "key",
    "value",
    "preference_type",
    "confidence",
    "source",
    "created_at",
    "updated_at",
)


def _rank(preference: CustomerPreference) -> tuple[bool, bool, Decimal]:
    return (
        preference.preference_type == PreferenceType.RESTRICTION,
        preference.preference_type == PreferenceType.EXPLICIT,
        preference.confidence,
    )


def _why(winner: CustomerPreference, loser: CustomerPreference) -> str:
    if _rank(winner)[0] != _rank(loser)[0]:
        return "a restriction beats a non-restriction"
    if _rank(winner)[1] != _rank(loser)[1]:
        return "explicit beats inferred"
    if winner.confidence != loser.confidence:
        return "higher confidence"
    return "equal standing: the survivor's is kept"


def _row(preference: CustomerPreference) -> dict[str, Any]:
    """A preference as JSON, whole: what export shows and what undo recreates."""
    return {
        "id": str(preference.uuid),
        "category": preference.category,
        "key": preference.key,
        "value": preference.value,
        "preference_type": preference.preference_type,
        "confidence": str(preference.confidence),
        "source": preference.source,
        "created_at": preference.created_at.isoformat(),
        "updated_at": preference.updated_at.isoformat(),
    }


def _pairs(duplicate: Customer, survivor: Customer) -> list[tuple[CustomerPreference, Any]]:
    """Each of the duplicate's preferences with the survivor's of the same key (or None)."""
    kept = {(p.category, p.key): p for p in CustomerPreference.objects.filter(customer=survivor)}
    return [
        (preference, kept.get((preference.category, preference.key)))
        for preference in CustomerPreference.objects.filter(customer=duplicate).order_by(
            "category", "key"
        )
    ]


class PreferenceData:
    """Export, erasure and merge of a customer's preferences."""

    name = "preferences"

    def export(self, customer: Customer) -> list[dict[str, Any]]:
        """Every preference of the customer, values included."""
        return [_row(p) for p in CustomerPreference.objects.filter(customer=customer)]

    def erase(self, customer: Customer, erasure: Erasure) -> int:
        """Delete every preference: they describe the person and no ledger depends on them."""
        count, _ = CustomerPreference.objects.filter(customer=customer).delete()
        return count

    def plan_merge(self, duplicate: Customer, survivor: Customer) -> list[MergeStep]:
        """One step for the preferences that move, one for each key both customers hold."""
        steps, moving = [], 0
        for theirs, ours in _pairs(duplicate, survivor):
            if ours is None:
                moving += 1
                continue
            duplicate_wins = _rank(theirs) > _rank(ours)
            winner, loser = (theirs, ours) if duplicate_wins else (ours, theirs)
            # Values stay out of the plan, which is kept on the merge: they may be health data.
            steps.append(
                MergeStep(
                    app=self.name,
                    what=f"preference {ours.category}/{ours.key}",
                    action="take duplicate's" if duplicate_wins else "keep survivor's",
                    reason=_why(winner, loser),
                    detail={
                        "category": ours.category,
                        "key": ours.key,
                        "survivor": {
                            "preference_type": ours.preference_type,
                            "confidence": str(ours.confidence),
                        },
                        "duplicate": {
                            "preference_type": theirs.preference_type,
                            "confidence": str(theirs.confidence),
                        },
                    },
                )
            )
        if moving:
            noun = "preference" if moving == 1 else "preferences"
            steps.insert(0, MergeStep(app=self.name, what=f"{moving} {noun}", action="move"))
        return steps

    def merge(self, duplicate: Customer, survivor: Customer, actor: Actor) -> dict[str, Any]:
        """Move the duplicate's preferences; on a shared key the rule picks the one to keep."""
        moved: list[dict[str, Any]] = []  # rows now on the survivor, as they were moved
        removed: list[dict[str, Any]] = []  # rows the merge deleted, whole, with their owner
        for theirs, ours in _pairs(duplicate, survivor):
            if ours is not None and _rank(theirs) <= _rank(ours):
                removed.append({"owner": "duplicate", **_row(theirs)})
                theirs.delete()
                continue
            if ours is not None:
                removed.append({"owner": "survivor", **_row(ours)})
                ours.delete()
            # update() leaves updated_at alone, so undo can tell whether anyone changed it since.
            CustomerPreference.objects.filter(pk=theirs.pk).update(customer=survivor)
            moved.append(_row(theirs))
        return {"moved": moved, "removed": removed}

    def blockers_to_undo(
        self, duplicate: Customer, survivor: Customer, journal: dict[str, Any]
    ) -> list[str]:
        """Every moved preference must be on the survivor, unchanged since the merge."""
        moved = journal.get("moved", [])
        now = {
            str(p.uuid): p
            for p in CustomerPreference.objects.filter(uuid__in=[row["id"] for row in moved])
        }
        blockers = []
        for row in moved:
            where = f"{row['category']}/{row['key']}"
            current = now.get(row["id"])
            if current is None or current.customer_id != survivor.pk:
                blockers.append(f"The preference {where} was deleted after the merge")
            elif current.updated_at.isoformat() != row["updated_at"]:
                blockers.append(f"The preference {where} was changed after the merge")
        return blockers

    def undo_merge(
        self, duplicate: Customer, survivor: Customer, journal: dict[str, Any], actor: Actor
    ) -> None:
        """Move the moved preferences back and recreate the ones the merge removed."""
        CustomerPreference.objects.filter(
            customer=survivor, uuid__in=[row["id"] for row in journal.get("moved", [])]
        ).update(customer=duplicate)
        for row in journal.get("removed", []):
            owner = duplicate if row["owner"] == "duplicate" else survivor
            preference = CustomerPreference.objects.create(
                uuid=row["id"],
                tenant_id=owner.tenant_id,
                customer=owner,
                category=row["category"],
                key=row["key"],
                value=row["value"],
                preference_type=row["preference_type"],
                confidence=Decimal(row["confidence"]),
                source=row["source"],
            )
            # auto_now fields ignore what is given on create; put the original times back.
            CustomerPreference.objects.filter(pk=preference.pk).update(
                created_at=dt.datetime.fromisoformat(row["created_at"]),
                updated_at=dt.datetime.fromisoformat(row["updated_at"]),
            )
