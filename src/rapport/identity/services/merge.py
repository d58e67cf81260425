"""Merging a duplicate customer into a survivor: the preview, the merge, its undo, the records.

The service computes the evidence itself (`score_pair`) and asks every app, through the
personal-data registry, what it would move and then to move it. Each app returns a journal of
what it did; the merge keeps them, so undo can hand each app its own journal back.
"""

import uuid
from dataclasses import asdict, dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from rapport.customers import hooks, personal_data
from rapport.customers.hooks import CustomerChange
from rapport.customers.models import Customer
from rapport.customers.personal_data import MergeStep
from rapport.exceptions import Conflict, InvalidInput, NotFound, PermissionDenied
from rapport.identity import conf
from rapport.identity.models import CustomerMerge
from rapport.identity.services.duplicates import score_pair
from rapport.tenancy.actors import Actor
from rapport.tenancy.models import Tenant

# The journal's key for what the service itself changed (the duplicate's state, earlier merges).
SERVICE_JOURNAL = "merge"
OVERRIDE_REASON_LIMIT = 2000


@dataclass(frozen=True)
class MergePreview:
    """What a merge would do: the evidence the service found and every app's plan."""

    survivor: Customer
    duplicate: Customer
    score: float
    reasons: list[str]
    threshold: float
    plan: list[MergeStep]

    @property
    def has_enough_evidence(self) -> bool:
        return self.score >= self.threshold


def _plain_time(value) -> str | None:
    return value.isoformat() if value is not None else None


def _pair(
    tenant: Tenant, survivor: str, duplicate: str, *, lock: bool
) -> tuple[Customer, Customer]:
    """The two customers by their own codes (a merged code does not stand for its survivor here).

    With `lock`, both rows are locked in primary-key order, so two merges never deadlock.
    """
    found = {}
    for field, code in (("survivor", survivor), ("duplicate", duplicate)):
        customer = Customer.objects.filter(tenant=tenant, code=code).first()
        if customer is None:
            raise NotFound(f"No customer with code {code!r}", fields={field: "Unknown code"})
        found[field] = customer
    if found["survivor"].pk == found["duplicate"].pk:
        raise InvalidInput(
            "A customer cannot be merged into itself",
            fields={"duplicate": "Give another customer than the survivor"},
        )
    if lock:
        for pk in sorted(customer.pk for customer in found.values()):
            locked = Customer.objects.select_for_update(of=("self",)).get(pk=pk)
            for field, customer in found.items():
                if customer.pk == pk:
                    found[field] = locked
    for field, customer in found.items():
        if customer.merged_into_id is not None:
            into = Customer.objects.get(pk=customer.merged_into_id)
            raise Conflict(
                f"{customer.code} was already merged into {into.code}",
                fields={field: f"Already merged into {into.code}"},
            )
    return found["survivor"], found["duplicate"]


def _plan(duplicate: Customer, survivor: Customer) -> list[MergeStep]:
    steps: list[MergeStep] = []
    for handler in personal_data.handlers("plan_merge"):
        steps += handler.plan_merge(duplicate, survivor)
    return steps


def _merge_handlers() -> list[Any]:
    return personal_data.handlers("merge")


class MergeService:
    """Merge duplicate customers after showing what would happen, and undo a merge."""

    @staticmethod
    def preview(*, actor: Actor, survivor: str, duplicate: str) -> MergePreview:
        """The evidence that two customers are one person, and what merging them would move."""
        kept, absorbed = _pair(actor.tenant, survivor, duplicate, lock=False)
        match = score_pair(kept, absorbed)
        return MergePreview(
            survivor=kept,
            duplicate=absorbed,
            score=match.score,
            reasons=list(match.reasons),
            threshold=conf.MERGE_THRESHOLD,
            plan=_plan(absorbed, kept),
        )

    @staticmethod
    def merge(
        *, actor: Actor, survivor: str, duplicate: str, override_reason: str = ""
    ) -> CustomerMerge:
        """Merge `duplicate` into `survivor`; below the evidence threshold an admin must say why."""
        override_reason = override_reason.strip()
        if override_reason and not actor.is_operator:
            raise PermissionDenied(
                "Only an admin can merge without enough evidence",
                fields={"override_reason": "Needs the admin scope"},
            )
        if len(override_reason) > OVERRIDE_REASON_LIMIT:
            raise InvalidInput(
                "The override reason is too long",
                fields={"override_reason": f"At most {OVERRIDE_REASON_LIMIT} characters"},
            )
        with transaction.atomic():
            kept, absorbed = _pair(actor.tenant, survivor, duplicate, lock=True)
            match = score_pair(kept, absorbed)
            threshold = conf.MERGE_THRESHOLD
            if match.score < threshold and not override_reason:
                found = "; ".join(match.reasons) or "nothing in common"
                raise InvalidInput(
                    "Not enough evidence that these customers are one person",
                    fields={
                        "override_reason": (
                            f"The evidence ({found}) scores {match.score:.2f}, below the "
                            f"{threshold:.2f} a merge needs: a shared phone, email or identifier "
                            "is missing. An admin can merge anyway by giving a reason"
                        )
                    },
                )
            plan = [asdict(step) for step in _plan(absorbed, kept)]
            journal: dict[str, Any] = {}
            for handler in _merge_handlers():
                journal[handler.name] = handler.merge(absorbed, kept, actor)
            journal[SERVICE_JOURNAL] = _absorb(absorbed, kept)
            kept.refresh_from_db()
            absorbed.refresh_from_db()
            record = CustomerMerge.objects.create(
                tenant=actor.tenant,
                survivor=kept,
                duplicate=absorbed,
                score=match.score,
                reasons=list(match.reasons),
                override_reason=override_reason,
                plan=plan,
                journal=journal,
                merged_by=actor.label,
            )
            detail = {"survivor": kept.code, "duplicate": absorbed.code, "merge": str(record.uuid)}
            hooks.publish(
                CustomerChange(
                    kind="merged",
                    customer=kept,
                    actor=actor,
                    detail=detail,
                    title=f"Merged with duplicate {absorbed.code}",
                    timeline_type="system",
                    event="customer.merged",
                )
            )
            hooks.publish(
                CustomerChange(
                    kind="merged_away",
                    customer=absorbed,
                    actor=actor,
                    detail=detail,
                    title=f"Merged into {kept.code} as a duplicate",
                    timeline_type="system",
                )
            )
        return record

    @staticmethod
    def undo(*, actor: Actor, merge_id: uuid.UUID | str) -> CustomerMerge:
        """Separate the two customers again, while nothing newer depends on the merge."""
        with transaction.atomic():
            record = _merge_of(actor.tenant, merge_id)
            for pk in sorted([record.survivor_id, record.duplicate_id]):
                Customer.objects.select_for_update(of=("self",)).get(pk=pk)
            record = CustomerMerge.objects.select_for_update(of=("self",)).get(pk=record.pk)
            if record.undone_at is not None:
                raise Conflict(
                    "This merge was already undone",
                    fields={"merge": f"Undone at {record.undone_at.isoformat()}"},
                )
            kept = Customer.objects.get(pk=record.survivor_id)
            absorbed = Customer.objects.get(pk=record.duplicate_id)
            handlers = _handlers_of(record.journal)
            blockers = _blockers(record, kept, absorbed, handlers)
            if blockers:
                raise Conflict(
                    "The merge cannot be undone: "
                    + "; ".join(reason for reasons in blockers.values() for reason in reasons),
                    fields={name: "; ".join(reasons) for name, reasons in blockers.items()},
                )
            _release(absorbed, kept, record.journal[SERVICE_JOURNAL])
            for handler in reversed(handlers):
                handler.undo_merge(absorbed, kept, record.journal[handler.name], actor)
            kept.refresh_from_db()
            absorbed.refresh_from_db()
            record.undone_by = actor.label
            record.undone_at = timezone.now()
            record.save(update_fields=["undone_by", "undone_at"])
            detail = {"survivor": kept.code, "duplicate": absorbed.code, "merge": str(record.uuid)}
            hooks.publish(
                CustomerChange(
                    kind="unmerged",
                    customer=kept,
                    actor=actor,
                    detail=detail,
                    title=f"Merge with {absorbed.code} undone",
                    timeline_type="system",
                    event="customer.unmerged",
                )
            )
            hooks.publish(
                CustomerChange(
                    kind="unmerged_away",
                    customer=absorbed,
                    actor=actor,
                    detail=detail,
                    title=f"Separated again from {kept.code}: the merge was undone",
                    timeline_type="system",
                )
            )
        return record

    @staticmethod
    def list_merges(*, tenant: Tenant, customer: str | None = None) -> QuerySet:
        """The tenant's merges, newest first; with `customer`, those it took part in."""
        merges = CustomerMerge.objects.filter(tenant=tenant).select_related("survivor", "duplicate")
        if customer:
            merges = merges.filter(Q(survivor__code=customer) | Q(duplicate__code=customer))
        return merges

    @staticmethod
    def get_merge(*, tenant: Tenant, merge_id: uuid.UUID | str) -> CustomerMerge:
        """One merge of the tenant; NotFound otherwise (also for other tenants)."""
        return _merge_of(tenant, merge_id)


def _merge_of(tenant: Tenant, merge_id: uuid.UUID | str) -> CustomerMerge:
    try:
        merge_uuid = uuid.UUID(str(merge_id))
    except ValueError:
        raise NotFound("No merge with that id") from None
    record = (
        CustomerMerge.objects.filter(tenant=tenant, uuid=merge_uuid)
        .select_related("survivor", "duplicate")
        .first()
    )
    if record is None:
        raise NotFound("No merge with that id")
    return record


def _absorb(duplicate: Customer, survivor: Customer) -> dict[str, Any]:
    """Mark the duplicate merged and archived; earlier duplicates of it now name the survivor."""
    now = timezone.now()
    earlier = list(Customer.objects.filter(merged_into=duplicate).values_list("pk", flat=True))
    journal = {
        "repointed_merges": earlier,
        "duplicate": {
            "is_archived": duplicate.is_archived,
            "archived_at": _plain_time(duplicate.archived_at),
            "updated_at": _plain_time(duplicate.updated_at),
        },
        "survivor": {"updated_at": _plain_time(survivor.updated_at)},
        "merged_at": now.isoformat(),
    }
    Customer.objects.filter(pk__in=earlier).update(merged_into=survivor)
    Customer.objects.filter(pk=duplicate.pk).update(
        merged_into=survivor,
        merged_at=now,
        is_archived=True,
        archived_at=duplicate.archived_at or now,
        updated_at=now,
    )
    Customer.objects.filter(pk=survivor.pk).update(updated_at=now)
    return journal


def _release(duplicate: Customer, survivor: Customer, journal: dict[str, Any]) -> None:
    """The reverse of `_absorb`; a row changed since the merge keeps its newer `updated_at`."""
    field = Customer._meta.get_field("updated_at")
    merged_at = field.to_python(journal["merged_at"])
    state = journal["duplicate"]
    Customer.objects.filter(pk__in=journal["repointed_merges"], merged_into=survivor).update(
        merged_into=duplicate
    )
    Customer.objects.filter(pk=duplicate.pk).update(
        merged_into=None,
        merged_at=None,
        is_archived=state["is_archived"],
        archived_at=field.to_python(state["archived_at"]),
    )
    for customer, before in ((duplicate, state), (survivor, journal["survivor"])):
        Customer.objects.filter(pk=customer.pk, updated_at=merged_at).update(
            updated_at=field.to_python(before["updated_at"])
        )


def _handlers_of(journal: dict[str, Any]) -> list[Any]:
    """The registered handlers that took part in a merge, in the order they ran."""
    by_name = {handler.name: handler for handler in _merge_handlers()}
    return [by_name[name] for name in journal if name in by_name]


def _blockers(
    record: CustomerMerge, survivor: Customer, duplicate: Customer, handlers: list[Any]
) -> dict[str, list[str]]:
    """Why the merge cannot be undone, by app; empty when it can."""
    blockers: dict[str, list[str]] = {}
    later = (
        CustomerMerge.objects.filter(tenant_id=record.tenant_id, pk__gt=record.pk, undone_at=None)
        .filter(Q(survivor__in=[survivor, duplicate]) | Q(duplicate__in=[survivor, duplicate]))
        .select_related("survivor", "duplicate")
        .order_by("pk")
    )
    newer = [f"The later merge of {m.duplicate.code} into {m.survivor.code}" for m in later]
    if newer:
        blockers[SERVICE_JOURNAL] = [f"{text} must be undone first" for text in newer]
    known = {handler.name for handler in handlers}
    for name in record.journal:
        if name != SERVICE_JOURNAL and name not in known:
            blockers[name] = [f"The {name} app that moved data in this merge is not installed"]
    for handler in handlers:
        reasons = handler.blockers_to_undo(duplicate, survivor, record.journal[handler.name])
        if reasons:
            blockers[handler.name] = list(reasons)
    return blockers
