"""What every loyalty write shares: finding and locking rows, appending entries, tiers, events.

Writers lock in one order, so they never deadlock with each other or with a merge: the
customer's row first (FOR NO KEY UPDATE; a merge holds it FOR UPDATE), then the account's.
Callers hold the transaction; nothing here commits.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from rapport.customers import hooks
from rapport.customers.hooks import CustomerChange
from rapport.customers.models import Customer
from rapport.customers.services import find_customer
from rapport.exceptions import NotFound
from rapport.loyalty import conf, selectors
from rapport.loyalty.exceptions import NotEnrolled
from rapport.loyalty.models import (
    DowngradePolicy,
    LoyaltyAccount,
    LoyaltyProgram,
    LoyaltyTier,
    LoyaltyTransaction,
)
from rapport.loyalty.presets import PRESETS
from rapport.loyalty.rules import tier_for
from rapport.tenancy.actors import Actor
from rapport.tenancy.models import Tenant

ACTOR_LIMIT = 200


@dataclass(frozen=True)
class TierChange:
    """An account moving from one tier to another."""

    old_tier: str
    new_tier: str
    qualifying_points: int


@dataclass(frozen=True)
class LedgerResult:
    """What a ledger write did: its entry, the account after it, and whether it was a replay.

    A replay (a reference already used for this kind of entry) returns the first entry and
    changes nothing. `rewards` are the entries a completed stamp card earned.
    """

    transaction: LoyaltyTransaction
    account: LoyaltyAccount
    is_replay: bool = False
    rewards: tuple[LoyaltyTransaction, ...] = ()
    tier_change: TierChange | None = None


# --- customers, programs, accounts ------------------------------------------------------------


def customer_of(tenant: Tenant, code: str) -> Customer:
    """The customer with this code (or the one it was merged into); NotFound naming `code`."""
    customer = find_customer(tenant, code) if isinstance(code, str) and code else None
    if customer is None:
        raise NotFound(f"No customer with code {code!r}", fields={"code": "Unknown customer"})
    return customer


def lock_customer(tenant: Tenant, code: str) -> Customer:
    """The customer, its row locked FOR NO KEY UPDATE (a merge in flight is waited for)."""
    customer = customer_of(tenant, code)
    rows = Customer.objects.select_for_update(no_key=True, of=("self",))
    locked = rows.get(pk=customer.pk)
    if locked.merged_into_id is not None:  # merged while we waited: its survivor is the one
        locked = rows.get(pk=locked.merged_into_id)
    return locked


def lock_customers(pks: list[int]) -> None:
    """Lock many customers' rows, in primary-key order so two batches never deadlock."""
    rows = Customer.objects.select_for_update(no_key=True, of=("self",))
    list(rows.filter(pk__in=pks).order_by("pk").values_list("pk", flat=True))


def create_program(tenant: Tenant, preset_key: str) -> LoyaltyProgram:
    """A new program for the tenant from a preset, in the tenant's currency."""
    preset = PRESETS[preset_key]
    program = LoyaltyProgram.objects.create(
        tenant=tenant, currency=tenant.currency, preset=preset.key, **preset.terms
    )
    LoyaltyTier.objects.bulk_create(
        LoyaltyTier(program=program, name=t.name, threshold=t.threshold, multiplier=t.multiplier)
        for t in preset.tiers
    )
    return program


def program_for(tenant: Tenant) -> LoyaltyProgram:
    """The tenant's program, made from the default preset the first time it is needed."""
    program = LoyaltyProgram.objects.filter(tenant=tenant).first()
    if program is not None:
        return program
    try:
        with transaction.atomic():
            return create_program(tenant, conf.default_preset())
    except IntegrityError:  # another writer made it first
        return LoyaltyProgram.objects.get(tenant=tenant)


def locked_account(customer: Customer) -> LoyaltyAccount | None:
    """The customer's account, locked; None when they are not enrolled."""
    return LoyaltyAccount.objects.select_for_update(of=("self",)).filter(customer=customer).first()


def require_account(customer: Customer) -> LoyaltyAccount:
    account = locked_account(customer)
    if account is None:
        raise NotEnrolled(
            f"Customer {customer.code} is not enrolled in the loyalty program",
            fields={"code": "Not enrolled"},
        )
    return account


def open_account(
    customer: Customer, program: LoyaltyProgram, actor: Actor, at: dt.datetime
) -> LoyaltyAccount:
    """Enroll a customer whose row the caller locked and who has no account yet."""
    tiers = selectors.tiers_of(program)
    lowest = tier_for(tiers, 0)
    account = LoyaltyAccount.objects.create(
        tenant=customer.tenant,
        program=program,
        customer=customer,
        stamps_target=program.stamps_target,
        tier=lowest.name if lowest else "",
        tier_changed_at=at if lowest else None,
        enrolled_at=at,
        updated_at=at,
    )
    publish(
        customer,
        actor,
        kind="loyalty_enrolled",
        event="loyalty.enrolled",
        title=f"Joined {program.name}",
        detail={"account": str(account.uuid), "tier": account.tier},
    )
    return account


def replay(account: LoyaltyAccount, transaction_type: str, reference: str):
    """The first entry of this kind with this reference on the account, if there is one."""
    return (
        LoyaltyTransaction.objects.filter(
            account=account, transaction_type=transaction_type, reference=reference
        )
        .order_by("id")
        .first()
    )


def append(
    account: LoyaltyAccount,
    *,
    actor: Actor,
    transaction_type: str,
    at: dt.datetime,
    points: int = 0,
    qualifying_points: int = 0,
    occurred_at: dt.datetime | None = None,
    **fields: Any,
) -> LoyaltyTransaction:
    """Add an entry and apply it to the account in memory; the caller saves the account.

    The account's row must be locked: `balance_after` is the balance this entry leaves.
    """
    account.points_balance += points
    account.lifetime_points += qualifying_points
    return LoyaltyTransaction.objects.create(
        tenant_id=account.tenant_id,
        account=account,
        origin_account_id=account.pk,
        transaction_type=transaction_type,
        points=points,
        qualifying_points=qualifying_points,
        balance_after=account.points_balance,
        stamps_after=account.stamps_current,
        tier=account.tier,
        actor=actor.label[:ACTOR_LIMIT],
        occurred_at=occurred_at or at,
        created_at=at,
        **fields,
    )


def save_account(account: LoyaltyAccount, at: dt.datetime) -> None:
    account.updated_at = at
    account.save(
        update_fields=[
            "points_balance",
            "lifetime_points",
            "stamps_current",
            "stamps_target",
            "stamps_completed",
            "tier",
            "tier_changed_at",
            "updated_at",
        ]
    )


def publish(
    customer: Customer,
    actor: Actor,
    *,
    kind: str,
    event: str,
    detail: dict[str, Any],
    title: str = "",
) -> None:
    """Tell the timeline (when `title` is set) and the outbox about a loyalty change."""
    hooks.publish(
        CustomerChange(
            kind=kind,
            customer=customer,
            actor=actor,
            title=title,
            timeline_type="loyalty",
            event=event,
            detail=detail,
        )
    )


def entry_detail(entry: LoyaltyTransaction, account: LoyaltyAccount) -> dict[str, Any]:
    """What events say about an entry: no free text, so erasure leaves nothing in them."""
    return {
        "account": str(account.uuid),
        "transaction": str(entry.uuid),
        "type": entry.transaction_type,
        "points": entry.points,
        "balance_after": entry.balance_after,
        "lifetime_points": account.lifetime_points,
        "reference": entry.reference,
        "tier": account.tier,
    }


# --- tiers ----------------------------------------------------------------------------------


def _rank(tiers: list[LoyaltyTier], name: str) -> int:
    return next((index for index, tier in enumerate(tiers) if tier.name == name), -1)


def tier_due(
    current: str,
    program: LoyaltyProgram,
    tiers: list[LoyaltyTier],
    qualifying_points: int,
) -> str:
    """The tier an account in tier `current` should be in with these qualifying points.

    Under the `never` policy an account keeps a higher tier it holds; a tier that no longer
    exists is replaced either way.
    """
    reached = tier_for(tiers, qualifying_points)
    name = reached.name if reached is not None else ""
    if program.downgrade_policy == DowngradePolicy.NEVER and _rank(tiers, current) > _rank(
        tiers, name
    ):
        return current
    return name


def publish_tier_change(
    customer: Customer,
    actor: Actor,
    account: LoyaltyAccount,
    change: TierChange,
    *,
    upward: bool,
) -> None:
    """`customer.tier_changed` with the old and new tier, and its timeline entry."""
    publish(
        customer,
        actor,
        kind="tier_changed",
        event="customer.tier_changed",
        title=(
            f"Loyalty tier changed from {change.old_tier} to {change.new_tier}"
            if change.old_tier
            else f"Loyalty tier set to {change.new_tier}"
        ),
        detail={
            "account": str(account.uuid),
            "old_tier": change.old_tier,
            "new_tier": change.new_tier,
            "direction": "up" if upward else "down",
            "qualifying_points": change.qualifying_points,
        },
    )


def is_higher(tiers: list[LoyaltyTier], name: str, than: str) -> bool:
    """Whether tier `name` ranks above tier `than` (an unknown tier ranks lowest)."""
    return _rank(tiers, name) > _rank(tiers, than)


def apply_tier(
    account: LoyaltyAccount,
    program: LoyaltyProgram,
    tiers: list[LoyaltyTier],
    *,
    qualifying_points: int,
    actor: Actor,
    at: dt.datetime,
    customer: Customer,
) -> TierChange | None:
    """Move the account to the tier it qualifies for and publish `customer.tier_changed`."""
    new = tier_due(account.tier, program, tiers, qualifying_points)
    if new == account.tier:
        return None
    change = TierChange(old_tier=account.tier, new_tier=new, qualifying_points=qualifying_points)
    account.tier, account.tier_changed_at = new, at
    publish_tier_change(
        customer, actor, account, change, upward=is_higher(tiers, new, change.old_tier)
    )
    return change


def update_tier(
    account: LoyaltyAccount,
    program: LoyaltyProgram,
    *,
    actor: Actor,
    at: dt.datetime,
    customer: Customer,
    tiers: list[LoyaltyTier] | None = None,
) -> TierChange | None:
    """Recompute one locked account's tier after its points changed."""
    tiers = selectors.tiers_of(program) if tiers is None else tiers
    return apply_tier(
        account,
        program,
        tiers,
        qualifying_points=selectors.qualifying_points(account, program, at),
        actor=actor,
        at=at,
        customer=customer,
    )
