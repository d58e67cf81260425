"""Points expiry: the oldest points go first, never more than the balance.

`expire_points` finds every due account of a tenant with one aggregate query over the ledger,
then writes off the points in batches: per batch it locks the customers and accounts, reads
what is due again inside the lock, inserts the `expire` entries in bulk and updates the
balances in bulk, then publishes `loyalty.points_expired` per account. Running it again at the
same time finds nothing due: it is safe to run twice.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from rapport.exceptions import InvalidInput
from rapport.loyalty import conf, selectors
from rapport.loyalty.models import (
    LoyaltyAccount,
    LoyaltyProgram,
    LoyaltyTransaction,
    TransactionType,
)
from rapport.loyalty.services import inputs, ledger
from rapport.loyalty.services.tiers import chunks
from rapport.tenancy.actors import Actor
from rapport.tenancy.models import Tenant

SYSTEM_NAME = "loyalty_expiry"


@dataclass(frozen=True)
class ExpiryRun:
    """What an expiry run wrote off: how many accounts, how many points, as of when."""

    at: dt.datetime
    accounts: int
    points: int


def _moment(at: dt.datetime | None) -> dt.datetime:
    errors: dict[str, str] = {}
    inputs.moment(errors, "at", at)
    if errors:
        raise InvalidInput("The expiry time is not valid", fields=errors)
    return at or timezone.now()


def accounts_due(*, tenant: Tenant, at: dt.datetime | None = None) -> dict[int, int]:
    """Points due to expire at `at` per account of the tenant (one aggregate query)."""
    at = _moment(at)
    program = LoyaltyProgram.objects.filter(tenant=tenant).first()
    if program is None:
        return {}
    return selectors.points_due_by_account(program=program, at=at)


def expire_points(
    *,
    tenant: Tenant,
    at: dt.datetime | None = None,
    actor: Actor | None = None,
    batch_size: int | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> ExpiryRun:
    """Write off the points of every account of the tenant that expired by `at` (default now)."""
    at = _moment(at)
    actor = actor or Actor.for_system(tenant, SYSTEM_NAME)
    size = batch_size or conf.expiry_batch_size()
    if size < 1:
        raise InvalidInput("The batch size is not valid", fields={"batch_size": "At least 1"})
    program = LoyaltyProgram.objects.filter(tenant=tenant).first()
    if program is None or not program.points_expire_after_days:
        return ExpiryRun(at=at, accounts=0, points=0)
    due = sorted(selectors.points_due_by_account(program=program, at=at))
    accounts = points = 0
    for chunk in chunks(due, size):
        with transaction.atomic():
            expired = _expire_batch(program, chunk, at=at, actor=actor)
        accounts += len(expired)
        points += sum(expired.values())
        if on_batch is not None:
            on_batch(len(chunk))
    return ExpiryRun(at=at, accounts=accounts, points=points)


def _expire_batch(
    program: LoyaltyProgram, account_ids: list[int], *, at: dt.datetime, actor: Actor
) -> dict[int, int]:
    """Expire what is due on these accounts, inside the caller's transaction."""
    customers = LoyaltyAccount.objects.filter(pk__in=account_ids).values_list(
        "customer_id", flat=True
    )
    ledger.lock_customers(list(customers))
    accounts = list(
        LoyaltyAccount.objects.select_for_update(of=("self",))
        .filter(pk__in=account_ids)
        .select_related("customer")
        .order_by("pk")
    )
    due = selectors.points_due_by_account(program=program, at=at, account_ids=account_ids)
    cutoff = selectors.expiry_cutoff(program, at)
    now = timezone.now()
    entries, changed = [], []
    for account in accounts:
        points = min(due.get(account.pk, 0), account.points_balance)
        if points <= 0:
            continue
        account.points_balance -= points
        account.updated_at = now
        changed.append(account)
        entries.append(
            LoyaltyTransaction(
                tenant_id=account.tenant_id,
                account=account,
                origin_account_id=account.pk,
                transaction_type=TransactionType.EXPIRE,
                points=-points,
                balance_after=account.points_balance,
                stamps_after=account.stamps_current,
                tier=account.tier,
                actor=actor.label[: ledger.ACTOR_LIMIT],
                detail={
                    "earned_before": cutoff.isoformat(),
                    "expire_after_days": program.points_expire_after_days,
                },
                occurred_at=at,
                created_at=now,
            )
        )
    LoyaltyTransaction.objects.bulk_create(entries)
    LoyaltyAccount.objects.bulk_update(changed, ["points_balance", "updated_at"])
    for account, entry in zip(changed, entries, strict=True):
        ledger.publish(
            account.customer,
            actor,
            kind="loyalty_points_expired",
            event="loyalty.points_expired",
            title=f"{-entry.points:,} point{'s' if entry.points != -1 else ''} expired",
            detail={**ledger.entry_detail(entry, account), "earned_before": cutoff.isoformat()},
        )
    return {account.pk: -entry.points for account, entry in zip(changed, entries, strict=True)}
