"""The races the concurrency tests run with real threads, on PostgreSQL and on an SQLite file.

Each returns plain data (JSON-ready, so the SQLite run can print it from its own process) and
`assert_sound` checks it the same way for both databases.
"""

import threading
from collections.abc import Callable

from django.db import connections
from django.db.models import Sum

from rapport.loyalty.exceptions import InsufficientPoints
from rapport.loyalty.models import LoyaltyAccount, LoyaltyTransaction
from rapport.loyalty.services import LoyaltyService
from rapport.tenancy.actors import Actor

THREADS = 50
OPENING, EARN, REDEEM = 500, 10, 40


def run_threads(count: int, work: Callable[[int], object]) -> tuple[list, list, list]:
    """work(n) in `count` threads released together: (results, refusals, other errors)."""
    barrier = threading.Barrier(count)
    results, refused, errors = [], [], []

    def run(number: int) -> None:
        try:
            barrier.wait(timeout=30)
            results.append((number, work(number)))
        except InsufficientPoints:
            refused.append(number)
        except Exception as error:  # any other failure is reported, with its thread
            errors.append(f"thread {number}: {error!r}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results, refused, errors


def _ledger(account: LoyaltyAccount) -> list[tuple[str, int, int, str]]:
    return list(
        LoyaltyTransaction.objects.filter(account=account)
        .order_by("id")
        .values_list("transaction_type", "points", "balance_after", "reference")
    )


def earns_and_redeems(actor: Actor, code: str) -> dict:
    """50 threads on one account: even ones earn 10 points, odd ones try to redeem 40."""
    LoyaltyService.earn_points(actor=actor, code=code, points=OPENING, reference="opening")

    def work(number: int) -> int:
        if number % 2:
            result = LoyaltyService.redeem_points(
                actor=actor, code=code, points=REDEEM, reference=f"redeem:{number}"
            )
        else:
            result = LoyaltyService.earn_points(
                actor=actor, code=code, points=EARN, reference=f"earn:{number}"
            )
        return result.transaction.pk

    results, refused, errors = run_threads(THREADS, work)
    account = LoyaltyAccount.objects.get(customer__code=code)
    entries = _ledger(account)
    return {
        "errors": errors,
        "earned": sorted(n for n, _ in results if n % 2 == 0),
        "redeemed": sorted(n for n, _ in results if n % 2),
        "refused": sorted(refused),
        "balance": account.points_balance,
        "ledger_sum": sum(points for _, points, _, _ in entries),
        "ledger": entries,
        "entries_returned": sorted(pk for _, pk in results),
    }


def one_reference(actor: Actor, code: str) -> dict:
    """20 threads redeem with one reference: one entry, and every thread is answered with it."""
    LoyaltyService.earn_points(actor=actor, code=code, points=1000, reference="opening")
    results, refused, errors = run_threads(
        20,
        lambda n: (
            LoyaltyService.redeem_points(
                actor=actor, code=code, points=100, reference="pos:42"
            ).transaction.pk
        ),
    )
    account = LoyaltyAccount.objects.get(customer__code=code)
    return {
        "errors": errors + [f"refused {n}" for n in refused],
        "answers": sorted({pk for _, pk in results}),
        "answered": len(results),
        "redeems": list(
            LoyaltyTransaction.objects.filter(
                account=account, transaction_type="redeem"
            ).values_list("pk", flat=True)
        ),
        "balance": account.points_balance,
    }


def first_earnings(actor: Actor, code: str) -> dict:
    """20 threads earn for a customer not enrolled yet: one account, every earning on it."""
    results, refused, errors = run_threads(
        20,
        lambda n: (
            LoyaltyService.earn_points(
                actor=actor, code=code, points=5, reference=f"first:{n}"
            ).account.pk
        ),
    )
    accounts = list(LoyaltyAccount.objects.filter(customer__code=code).values_list("pk", flat=True))
    total = LoyaltyTransaction.objects.filter(account__customer__code=code).aggregate(
        total=Sum("points")
    )["total"]
    return {
        "errors": errors + [f"refused {n}" for n in refused],
        "accounts": accounts,
        "answered_accounts": sorted({pk for _, pk in results}),
        "ledger_sum": total,
        "balance": LoyaltyAccount.objects.get(customer__code=code).points_balance,
    }


def assert_sound(outcome: dict) -> None:
    """What `earns_and_redeems` must leave, on any database."""
    assert outcome["errors"] == []
    assert len(outcome["earned"]) == THREADS // 2  # earning never fails
    assert len(outcome["redeemed"]) + len(outcome["refused"]) == THREADS // 2
    assert outcome["redeemed"], "some redemptions must succeed"
    assert outcome["refused"], "the demand exceeds the points, so some must be refused"
    # The balance is the ledger's sum and what the successes add up to; never negative
    expected = OPENING + EARN * len(outcome["earned"]) - REDEEM * len(outcome["redeemed"])
    assert outcome["balance"] == outcome["ledger_sum"] == expected
    ledger = outcome["ledger"]
    assert all(balance_after >= 0 for _, _, balance_after, _ in ledger)
    # Entries were written one after another: each starts from the balance the last one left
    running = 0
    for _, points, balance_after, _ in ledger:
        running += points
        assert balance_after == running
    # Each successful redeem is recorded once, under its own reference; refused ones not at all
    redeem_references = sorted(ref for kind, _, _, ref in ledger if kind == "redeem")
    assert redeem_references == sorted(f"redeem:{n}" for n in outcome["redeemed"])
    assert len(set(outcome["entries_returned"])) == THREADS - len(outcome["refused"])


def assert_one_reference(outcome: dict) -> None:
    assert outcome["errors"] == []
    assert outcome["answered"] == 20
    assert outcome["answers"] == outcome["redeems"]
    assert len(outcome["redeems"]) == 1
    assert outcome["balance"] == 900


def assert_first_earnings(outcome: dict) -> None:
    assert outcome["errors"] == []
    assert len(outcome["accounts"]) == 1
    assert outcome["answered_accounts"] == outcome["accounts"]
    assert outcome["balance"] == outcome["ledger_sum"] == 100
