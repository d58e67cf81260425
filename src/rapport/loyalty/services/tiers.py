"""Recalculating every account's tier: after the tiers change, and as rolling windows move.

One aggregate query finds the accounts whose tier is due to change; only those are written,
in batches, each under its customers' and accounts' locks with the qualifying points read
again inside the lock.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from rapport.loyalty import conf, selectors
from rapport.loyalty.models import LoyaltyAccount, LoyaltyProgram
from rapport.loyalty.services import ledger
from rapport.tenancy.actors import Actor
from rapport.tenancy.models import Tenant

SYSTEM_NAME = "loyalty"


@dataclass(frozen=True)
class TierRecalculation:
    """What a recalculation did: accounts looked at, and those that changed tier."""

    at: dt.datetime
    accounts: int
    changed: int


def chunks(items: list, size: int) -> list[list]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def recalculate_tiers(
    *,
    tenant: Tenant,
    actor: Actor | None = None,
    at: dt.datetime | None = None,
    batch_size: int | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> TierRecalculation:
    """Move every account of the tenant to the tier its qualifying points give it at `at`."""
    at = at or timezone.now()
    actor = actor or Actor.for_system(tenant, SYSTEM_NAME)
    program = LoyaltyProgram.objects.filter(tenant=tenant).first()
    if program is None:
        return TierRecalculation(at=at, accounts=0, changed=0)
    tiers = selectors.tiers_of(program)
    rows = list(LoyaltyAccount.objects.filter(program=program).values_list("pk", "tier"))
    qualifying = selectors.qualifying_points_by_account(program, None, at)
    due = [
        pk
        for pk, tier in rows
        if ledger.tier_due(tier, program, tiers, qualifying.get(pk, 0)) != tier
    ]
    changed = 0
    for chunk in chunks(due, batch_size or conf.expiry_batch_size()):
        with transaction.atomic():
            customers = LoyaltyAccount.objects.filter(pk__in=chunk).values_list(
                "customer_id", flat=True
            )
            ledger.lock_customers(list(customers))
            accounts = (
                LoyaltyAccount.objects.select_for_update(of=("self",))
                .filter(pk__in=chunk)
                .select_related("customer")
                .order_by("pk")
            )
            fresh = selectors.qualifying_points_by_account(program, chunk, at)
            for account in accounts:
                change = ledger.apply_tier(
                    account,
                    program,
                    tiers,
                    qualifying_points=fresh.get(account.pk, 0),
                    actor=actor,
                    at=at,
                    customer=account.customer,
                )
                if change is not None:
                    account.updated_at = timezone.now()
                    account.save(update_fields=["tier", "tier_changed_at", "updated_at"])
                    changed += 1
        if on_batch is not None:
            on_batch(len(chunk))
    return TierRecalculation(at=at, accounts=len(rows), changed=changed)
