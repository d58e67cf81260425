"""Reads of loyalty worth a name: accounts, ledgers, qualifying points and points due to expire."""

import calendar
import datetime as dt
from collections.abc import Iterable

from django.db.models import Count, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from rapport.customers.models import Customer
from rapport.loyalty.models import (
    LoyaltyAccount,
    LoyaltyProgram,
    LoyaltyRule,
    LoyaltyTier,
    LoyaltyTransaction,
    QualificationWindow,
    TransactionType,
)
from rapport.tenancy.models import Tenant

EARN, REDEEM, REVERSE = TransactionType.EARN, TransactionType.REDEEM, TransactionType.REVERSE


def months_before(moment: dt.datetime, months: int) -> dt.datetime:
    """The same time `months` calendar months earlier (the 31st becomes the month's last day)."""
    month_index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(month_index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def tiers_of(program: LoyaltyProgram) -> list[LoyaltyTier]:
    """The program's tiers, lowest threshold first."""
    return list(LoyaltyTier.objects.filter(program=program).order_by("threshold"))


def rules_of(program: LoyaltyProgram, *, kind: str | None = None) -> QuerySet[LoyaltyRule]:
    """The program's rules, by kind, highest priority first."""
    rules = LoyaltyRule.objects.filter(program=program)
    if kind:
        rules = rules.filter(kind=kind)
    return rules.order_by("kind", "-priority", "created_at", "id")


def account_of(customer: Customer) -> LoyaltyAccount | None:
    """The customer's account, or None when they are not enrolled."""
    return LoyaltyAccount.objects.filter(customer=customer).first()


def accounts(*, tenant: Tenant, tier: str | None = None) -> QuerySet[LoyaltyAccount]:
    """The tenant's accounts with their customers, newest first; `tier` filters by tier name."""
    found = LoyaltyAccount.objects.filter(tenant=tenant).select_related("customer")
    if tier:
        found = found.filter(tier=tier)
    return found.order_by("-enrolled_at", "-id")


def ledger(
    *, account: LoyaltyAccount, transaction_type: str | None = None
) -> QuerySet[LoyaltyTransaction]:
    """An account's transactions, newest first, each with the entry it reverses."""
    entries = LoyaltyTransaction.objects.filter(
        tenant_id=account.tenant_id, account=account
    ).select_related("reverses")
    if transaction_type:
        entries = entries.filter(transaction_type=transaction_type)
    return entries.order_by("-created_at", "-id")


# --- qualifying points ----------------------------------------------------------------------


def _window_filter(since: dt.datetime) -> Q:
    """Entries in the window; a reversal of an earn counts in the window of the earn it undoes."""
    return Q(reverses__isnull=True, occurred_at__gte=since) | Q(reverses__occurred_at__gte=since)


def qualifying_since(program: LoyaltyProgram, at: dt.datetime) -> dt.datetime | None:
    """Where the qualification window starts at `at`; None for a lifetime window."""
    if program.qualification_window == QualificationWindow.LIFETIME:
        return None
    return months_before(at, program.qualification_months)


def qualifying_points(account: LoyaltyAccount, program: LoyaltyProgram, at: dt.datetime) -> int:
    """The points that place the account in a tier at `at`: lifetime, or the rolling window's."""
    since = qualifying_since(program, at)
    if since is None:
        return account.lifetime_points
    total = (
        LoyaltyTransaction.objects.filter(account=account)
        .filter(_window_filter(since))
        .aggregate(total=Coalesce(Sum("qualifying_points"), Value(0)))["total"]
    )
    return max(0, total)


def qualifying_points_by_account(
    program: LoyaltyProgram, account_ids: Iterable[int] | None, at: dt.datetime
) -> dict[int, int]:
    """Qualifying points of many accounts (all the program's when None) in one query.

    Accounts with nothing in a rolling window are left out: they have 0.
    """
    since = qualifying_since(program, at)
    accounts = LoyaltyAccount.objects.filter(program=program)
    entries = LoyaltyTransaction.objects.filter(account__program=program)
    if account_ids is not None:
        ids = list(account_ids)
        accounts, entries = accounts.filter(pk__in=ids), entries.filter(account_id__in=ids)
    if since is None:
        return dict(accounts.values_list("pk", "lifetime_points"))
    rows = (
        entries.filter(_window_filter(since))
        .order_by()
        .values("account_id")
        .annotate(total=Sum("qualifying_points"))
        .values_list("account_id", "total")
    )
    return {pk: max(0, total or 0) for pk, total in rows}


# --- expiry -----------------------------------------------------------------------------------
#
# Points expire oldest first. Credits (earns and positive adjustments) form lots dated by when
# they happened; a reversal of an earn shrinks that earn's lot. Every other debit (redeems,
# negative adjustments, earlier expiries, less redeems given back) consumes the oldest lots
# first. So what is due at a cutoff is what the lots older than it hold beyond everything
# consumed so far, never more than the balance.


def _old_credits(cutoff: dt.datetime) -> Coalesce:
    lots = Coalesce(
        Sum(
            "points", filter=Q(points__gt=0, occurred_at__lt=cutoff) & ~Q(transaction_type=REVERSE)
        ),
        Value(0),
    )
    taken_back = Coalesce(
        Sum(
            "points",
            filter=Q(
                transaction_type=REVERSE,
                reverses__transaction_type=EARN,
                reverses__occurred_at__lt=cutoff,
            ),
        ),
        Value(0),
    )
    return lots + taken_back


def _consumed() -> Coalesce:
    debits = Coalesce(
        Sum("points", filter=Q(points__lt=0) & ~Q(transaction_type=REVERSE)), Value(0)
    )
    given_back = Coalesce(
        Sum("points", filter=Q(transaction_type=REVERSE, reverses__transaction_type=REDEEM)),
        Value(0),
    )
    return -debits - given_back


def expiry_cutoff(program: LoyaltyProgram, at: dt.datetime) -> dt.datetime | None:
    """Points that happened before this have expired at `at`; None when points never expire."""
    if not program.points_expire_after_days:
        return None
    return at - dt.timedelta(days=program.points_expire_after_days)


def points_due_by_account(
    *, program: LoyaltyProgram, at: dt.datetime, account_ids: Iterable[int] | None = None
) -> dict[int, int]:
    """Points due to expire at `at`, per account with any due, in one aggregate query."""
    cutoff = expiry_cutoff(program, at)
    if cutoff is None:
        return {}
    entries = LoyaltyTransaction.objects.filter(
        account__program=program, account__points_balance__gt=0
    )
    if account_ids is not None:
        entries = entries.filter(account_id__in=list(account_ids))
    rows = (
        entries.order_by()
        .values("account_id")
        .annotate(old=_old_credits(cutoff), consumed=_consumed())
        .filter(old__gt=F("consumed"))
        .values_list("account_id", "old", "consumed", "account__points_balance")
    )
    return {pk: min(old - consumed, balance) for pk, old, consumed, balance in rows}


def points_due(account: LoyaltyAccount, program: LoyaltyProgram, at: dt.datetime) -> int:
    """Points of one account that have expired by `at` and are not yet written off."""
    return points_due_by_account(program=program, at=at, account_ids=[account.pk]).get(
        account.pk, 0
    )


def totals(account: LoyaltyAccount) -> dict[str, int]:
    """Points earned, redeemed and expired over the account's life, net of reversals."""
    by_type = dict(
        LoyaltyTransaction.objects.filter(account=account)
        .order_by()
        .values("transaction_type")
        .annotate(total=Sum("points"), count=Count("id"))
        .values_list("transaction_type", "total")
    )
    earn_reversed = LoyaltyTransaction.objects.filter(
        account=account, transaction_type=REVERSE, reverses__transaction_type=EARN
    ).aggregate(total=Coalesce(Sum("points"), Value(0)))["total"]
    redeem_reversed = (by_type.get(REVERSE) or 0) - earn_reversed
    return {
        "points_earned_total": (by_type.get(EARN) or 0) + earn_reversed,
        "points_redeemed_total": -(by_type.get(REDEEM) or 0) - redeem_reversed,
        "points_expired_total": -(by_type.get(TransactionType.EXPIRE) or 0),
    }
