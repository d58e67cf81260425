"""Loyalty in a customer's export, erasure and merges (registered in LoyaltyConfig.ready).

Export: the account and the whole ledger. Erasure: the ledger stays (amounts, dates and
tiers are not personal); the free-text descriptions callers wrote are blanked, and a
reference that names the person is scrubbed.

Merge: when only the duplicate is enrolled, its account becomes the survivor's. When both
are, the duplicate's entries move to the survivor's account and its balance, lifetime points
and completed cards add up there; its open stamps are stamped onto the survivor's card (a
card they fill completes and issues its reward). The duplicate's account stays, emptied.
References both records used stay unique: the constraint counts the account an entry was
written on, so both entries are kept and a replay finds the older. Each merge appends a
zero-point `adjust` entry saying what happened, and so does its undo. Undo is refused once
the survivor's account has newer entries: points spent since cannot be split back.
"""

import datetime as dt
from typing import Any

from django.db.models import Count
from django.utils import timezone

from rapport.customers.models import Customer
from rapport.customers.personal_data import Erasure, MergeStep
from rapport.loyalty import selectors
from rapport.loyalty.models import (
    LoyaltyAccount,
    LoyaltyProgram,
    LoyaltyTransaction,
    TransactionType,
)
from rapport.loyalty.services import ledger, postings
from rapport.tenancy.actors import Actor

NAME = "loyalty"
REFERENCE_KEEP = 150  # a scrubbed reference keeps this much, then the entry's id
STATE_FIELDS = (
    "points_balance",
    "lifetime_points",
    "stamps_current",
    "stamps_target",
    "stamps_completed",
    "tier",
    "tier_changed_at",
    "updated_at",
)
TIMES = ("tier_changed_at", "updated_at")
SHARED_REFERENCES_SHOWN = 5


def _time(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _account_data(account: LoyaltyAccount) -> dict[str, Any]:
    return {
        "id": str(account.uuid),
        "program": account.program.name,
        "points_balance": account.points_balance,
        "lifetime_points": account.lifetime_points,
        "stamps_current": account.stamps_current,
        "stamps_target": account.stamps_target,
        "stamps_completed": account.stamps_completed,
        "tier": account.tier,
        "tier_changed_at": _time(account.tier_changed_at),
        "enrolled_at": _time(account.enrolled_at),
        "updated_at": _time(account.updated_at),
    }


def _entry_data(entry: LoyaltyTransaction) -> dict[str, Any]:
    return {
        "id": str(entry.uuid),
        "transaction_type": entry.transaction_type,
        "points": entry.points,
        "balance_after": entry.balance_after,
        "qualifying_points": entry.qualifying_points,
        "stamps": entry.stamps,
        "stamps_after": entry.stamps_after,
        "cards_completed": entry.cards_completed,
        "order_amount_q": entry.order_amount_q,
        "value_q": entry.value_q,
        "currency": entry.currency,
        "tier": entry.tier,
        "description": entry.description,
        "reference": entry.reference,
        "reverses": str(entry.reverses.uuid) if entry.reverses_id else None,
        "detail": entry.detail,
        "actor": entry.actor,
        "occurred_at": _time(entry.occurred_at),
        "created_at": _time(entry.created_at),
    }


def _state(account: LoyaltyAccount) -> dict[str, Any]:
    return {
        name: _time(getattr(account, name)) if name in TIMES else getattr(account, name)
        for name in STATE_FIELDS
    }


def _restore(account: LoyaltyAccount, state: dict[str, Any]) -> None:
    for name in STATE_FIELDS:
        value = state[name]
        if name in TIMES and value is not None:
            value = dt.datetime.fromisoformat(value)
        setattr(account, name, value)
    account.save(update_fields=list(STATE_FIELDS))


def _locked(pk: int) -> LoyaltyAccount | None:
    return LoyaltyAccount.objects.select_for_update(of=("self",)).filter(pk=pk).first()


def _marker(
    account: LoyaltyAccount, actor: Actor, at: dt.datetime, detail: dict[str, Any]
) -> LoyaltyTransaction:
    """A zero-point entry that records a merge or its undo in the ledger."""
    return ledger.append(
        account, actor=actor, transaction_type=TransactionType.ADJUST, at=at, detail=detail
    )


class LoyaltyData:
    """Loyalty accounts and their ledgers: exported, erased of free text, merged, unmerged."""

    name = NAME

    def export(self, customer: Customer) -> dict[str, Any]:
        """The customer's account (or None) and every entry of its ledger, oldest first."""
        account = LoyaltyAccount.objects.filter(customer=customer).select_related("program").first()
        if account is None:
            return {"account": None, "transactions": []}
        entries = (
            LoyaltyTransaction.objects.filter(account=account)
            .select_related("reverses")
            .order_by("created_at", "id")
        )
        return {
            "account": _account_data(account),
            "transactions": [_entry_data(entry) for entry in entries],
        }

    def erase(self, customer: Customer, erasure: Erasure) -> int:
        """Blank the descriptions callers wrote; scrub references that name the person."""
        entries = LoyaltyTransaction.objects.filter(account__customer=customer)
        blanked = entries.exclude(description="").update(description="")
        scrubbed = []
        for entry in entries.exclude(reference="").only("pk", "uuid", "reference"):
            cleaned = erasure.scrub(entry.reference)
            if cleaned != entry.reference:
                # Kept unique (it is an idempotency key) by the entry's own id.
                entry.reference = f"{cleaned[:REFERENCE_KEEP]} {entry.uuid}"
                scrubbed.append(entry)
        LoyaltyTransaction.objects.bulk_update(scrubbed, ["reference"])
        return blanked + len(scrubbed)

    def plan_merge(self, duplicate: Customer, survivor: Customer) -> list[MergeStep]:
        """What happens to the duplicate's account and ledger; writes nothing."""
        theirs = selectors.account_of(duplicate)
        if theirs is None:
            return []
        count = LoyaltyTransaction.objects.filter(account=theirs).count()
        ours = selectors.account_of(survivor)
        what = (
            f"loyalty account ({theirs.points_balance:,} points, "
            f"{count} transaction{'s' if count != 1 else ''})"
        )
        detail = {"duplicate": _summary(theirs, count)}
        if ours is None:
            return [
                MergeStep(
                    NAME,
                    what,
                    "move",
                    "The survivor is not enrolled: the duplicate's account becomes theirs",
                    detail,
                )
            ]
        shared = _shared_references(theirs, ours)
        reason = "Balances, lifetime points and stamps add up; the ledger joins the survivor's"
        if shared:
            reason += (
                f". {len(shared)} reference{'s are' if len(shared) != 1 else ' is'} on both "
                "ledgers: both entries stay, and a replay finds the older"
            )
        detail.update(
            survivor=_summary(ours, LoyaltyTransaction.objects.filter(account=ours).count()),
            points_balance=theirs.points_balance + ours.points_balance,
            lifetime_points=theirs.lifetime_points + ours.lifetime_points,
            shared_references=shared[:SHARED_REFERENCES_SHOWN],
        )
        return [MergeStep(NAME, what, "combine", reason, detail)]

    def merge(self, duplicate: Customer, survivor: Customer, actor: Actor) -> dict[str, Any]:
        """Give the survivor the duplicate's account, or combine the two; returns the journal."""
        theirs = LoyaltyAccount.objects.filter(customer=duplicate).first()
        if theirs is None:
            return {}
        ours = LoyaltyAccount.objects.filter(customer=survivor).first()
        theirs = _locked(theirs.pk)
        now = timezone.now()
        about = {"survivor": survivor.code, "duplicate": duplicate.code}
        if ours is None:
            LoyaltyAccount.objects.filter(pk=theirs.pk).update(customer=survivor)
            marker = _marker(theirs, actor, now, {"merge": {**about, "action": "moved"}})
            return {"action": "moved", "account": theirs.pk, "written": [marker.pk]}
        ours = _locked(ours.pk)
        program = LoyaltyProgram.objects.get(pk=ours.program_id)
        journal: dict[str, Any] = {
            "action": "combined",
            "survivor_account": ours.pk,
            "duplicate_account": theirs.pk,
            "survivor": _state(ours),
            "duplicate": _state(theirs),
        }
        moved = list(
            LoyaltyTransaction.objects.filter(account=theirs)
            .order_by("id")
            .values_list("id", flat=True)
        )
        LoyaltyTransaction.objects.filter(pk__in=moved).update(account=ours)
        ours.points_balance += theirs.points_balance
        ours.lifetime_points += theirs.lifetime_points
        ours.stamps_completed += theirs.stamps_completed
        open_stamps = theirs.stamps_current
        theirs.points_balance = theirs.lifetime_points = 0
        theirs.stamps_current = theirs.stamps_completed = 0
        theirs.updated_at = now
        theirs.save(update_fields=list(STATE_FIELDS))
        marker = _marker(
            ours,
            actor,
            now,
            {
                "merge": {
                    **about,
                    "action": "combined",
                    "points": journal["duplicate"]["points_balance"],
                    "transactions": len(moved),
                }
            },
        )
        written = [marker.pk]
        if open_stamps:
            stamped = postings.stamp_locked(
                ours,
                program,
                customer=survivor,
                actor=actor,
                at=now,
                count=open_stamps,
                reference="",
                detail_for_cards={"merge": about},
            )
            written += [stamped.transaction.pk, *(reward.pk for reward in stamped.rewards)]
        ledger.update_tier(ours, program, actor=actor, at=now, customer=survivor)
        ledger.save_account(ours, now)
        return {**journal, "moved": moved, "written": written}

    def blockers_to_undo(
        self, duplicate: Customer, survivor: Customer, journal: dict[str, Any]
    ) -> list[str]:
        """Newer entries on the survivor's account block: they may spend the merged points."""
        if not journal:
            return []
        pk = journal["account"] if journal["action"] == "moved" else journal["survivor_account"]
        if not LoyaltyAccount.objects.filter(pk=pk).exists():
            return ["The loyalty account the merge changed no longer exists"]
        newer = LoyaltyTransaction.objects.filter(account_id=pk, pk__gt=max(journal["written"]))
        count = newer.count()
        if count:
            return [
                f"The survivor's loyalty account has {count} transaction"
                f"{'s' if count != 1 else ''} since the merge"
            ]
        return []

    def undo_merge(
        self, duplicate: Customer, survivor: Customer, journal: dict[str, Any], actor: Actor
    ) -> None:
        """Give the duplicate its account, entries and balances back; the survivor its own."""
        if not journal:
            return
        now = timezone.now()
        about = {"merge_undone": {"survivor": survivor.code, "duplicate": duplicate.code}}
        if journal["action"] == "moved":
            account = _locked(journal["account"])
            LoyaltyAccount.objects.filter(pk=account.pk).update(customer=duplicate)
            _marker(account, actor, now, about)
            return
        ours = _locked(journal["survivor_account"])
        theirs = _locked(journal["duplicate_account"])
        before = journal["survivor"]
        LoyaltyTransaction.objects.filter(pk__in=journal["moved"], account=ours).update(
            account=theirs
        )
        # What is left on the survivor's account beyond its own: the rewards of cards the
        # merge completed. They are reversed, entry by entry, so the ledger adds up.
        ours.points_balance -= journal["duplicate"]["points_balance"]
        ours.lifetime_points -= journal["duplicate"]["lifetime_points"]
        rewards = LoyaltyTransaction.objects.filter(
            pk__in=journal["written"], account=ours, transaction_type=TransactionType.EARN
        ).order_by("id")
        for reward in rewards:
            ledger.append(
                ours,
                actor=actor,
                transaction_type=TransactionType.REVERSE,
                at=now,
                points=-reward.points,
                qualifying_points=-reward.qualifying_points,
                reverses=reward,
                detail={"reversed_points": reward.points, "not_recovered": 0, **about},
            )
        tier_now = ours.tier
        _restore(ours, before)
        _marker(ours, actor, now, about)
        _restore(theirs, journal["duplicate"])
        if ours.tier != tier_now:
            program = LoyaltyProgram.objects.get(pk=ours.program_id)
            change = ledger.TierChange(
                old_tier=tier_now,
                new_tier=ours.tier,
                qualifying_points=selectors.qualifying_points(ours, program, now),
            )
            upward = ledger.is_higher(selectors.tiers_of(program), ours.tier, tier_now)
            ledger.publish_tier_change(survivor, actor, ours, change, upward=upward)


def _summary(account: LoyaltyAccount, count: int) -> dict[str, Any]:
    return {
        "points_balance": account.points_balance,
        "lifetime_points": account.lifetime_points,
        "stamps_current": account.stamps_current,
        "stamps_completed": account.stamps_completed,
        "tier": account.tier,
        "transactions": count,
    }


def _shared_references(theirs: LoyaltyAccount, ours: LoyaltyAccount) -> list[str]:
    """`type:reference` pairs used on both ledgers, sorted."""
    pairs = (
        LoyaltyTransaction.objects.filter(account__in=[theirs, ours])
        .exclude(reference="")
        .order_by()
        .values("transaction_type", "reference")
        .annotate(accounts=Count("account", distinct=True))
        .filter(accounts=2)
        .values_list("transaction_type", "reference")
    )
    return sorted(f"{kind}:{reference}" for kind, reference in pairs)
