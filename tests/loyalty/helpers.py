"""Checks the loyalty tests share: an account's ledger adds up to its balances."""

from django.db.models import Sum

from rapport.loyalty.models import LoyaltyAccount, LoyaltyTransaction


def account_of(customer) -> LoyaltyAccount:
    return LoyaltyAccount.objects.get(customer=customer)


def ledger_sum(account: LoyaltyAccount) -> int:
    return (
        LoyaltyTransaction.objects.filter(account=account).aggregate(total=Sum("points"))["total"]
        or 0
    )


def assert_ledger_adds_up(account: LoyaltyAccount) -> None:
    """The balance is the sum of the ledger, lifetime points the sum of qualifying points,
    and the newest entry's balance_after is the balance."""
    account.refresh_from_db()
    entries = LoyaltyTransaction.objects.filter(account=account)
    assert account.points_balance == ledger_sum(account)
    assert account.lifetime_points == (
        entries.aggregate(total=Sum("qualifying_points"))["total"] or 0
    )
    newest = entries.order_by("-id").first()
    if newest is not None:
        assert newest.balance_after == account.points_balance
