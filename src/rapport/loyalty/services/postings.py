"""The steps of a ledger write on an account the caller has locked: earn, redeem, stamp.

LoyaltyService, the offline sync and merges call them inside their own transactions, after
locking the customer's row and then the account's.
"""

import datetime as dt
from collections.abc import Collection, Sequence

from rapport.customers.models import Customer
from rapport.exceptions import InvalidInput
from rapport.loyalty import selectors
from rapport.loyalty.exceptions import InsufficientPoints
from rapport.loyalty.models import (
    BonusEvent,
    LoyaltyAccount,
    LoyaltyProgram,
    LoyaltyRule,
    LoyaltyTier,
    LoyaltyTransaction,
    TransactionType,
)
from rapport.loyalty.money import format_amount
from rapport.loyalty.rules import Evaluation, OrderLine, evaluate, redemption_terms
from rapport.loyalty.services import inputs, ledger
from rapport.loyalty.services.ledger import LedgerResult
from rapport.tenancy.actors import Actor

EARN, REDEEM, STAMP = TransactionType.EARN, TransactionType.REDEEM, TransactionType.STAMP


def active_rules(program: LoyaltyProgram) -> list[LoyaltyRule]:
    """The program's switched-on rules (their windows are checked by the evaluation)."""
    return list(LoyaltyRule.objects.filter(program=program, is_active=True))


def tier_named(tiers: list[LoyaltyTier], name: str) -> LoyaltyTier | None:
    """The tier of that name, or None (a tier renamed since)."""
    return next((tier for tier in tiers if tier.name == name), None)


def is_first_order(account: LoyaltyAccount) -> bool:
    """Whether no order has earned on the account yet (for first-order bonuses)."""
    return not LoyaltyTransaction.objects.filter(
        account=account, transaction_type=EARN, order_amount_q__isnull=False
    ).exists()


def require_points(program: LoyaltyProgram, field: str) -> None:
    """Refuse a points operation on a stamps-only program, naming the caller's `field`."""
    if not program.keeps_points:
        raise InvalidInput(
            f"{program.name} collects stamps only, not points",
            fields={field: "The loyalty program keeps no points"},
        )


def _rewards_of(entry: LoyaltyTransaction) -> tuple[LoyaltyTransaction, ...]:
    return tuple(
        LoyaltyTransaction.objects.filter(
            account_id=entry.account_id, transaction_type=EARN, detail__reward_for=str(entry.uuid)
        ).order_by("id")
    )


def replayed(entry: LoyaltyTransaction, account: LoyaltyAccount) -> LedgerResult:
    rewards = _rewards_of(entry) if entry.transaction_type == STAMP else ()
    return LedgerResult(transaction=entry, account=account, is_replay=True, rewards=rewards)


def enroll_locked(
    customer: Customer, program: LoyaltyProgram, actor: Actor, at: dt.datetime
) -> LoyaltyAccount:
    """Open an account for a locked customer, with the signup bonus if one is in force."""
    account = ledger.open_account(customer, program, actor, at)
    if program.keeps_points:
        rules = active_rules(program)
        tiers = selectors.tiers_of(program)
        evaluation = evaluate(
            program=program,
            rules=rules,
            tier=tier_named(tiers, account.tier),
            events=[BonusEvent.SIGNUP],
            at=at,
        )
        if evaluation.contributions:
            earn_locked(
                account,
                program,
                customer=customer,
                actor=actor,
                at=at,
                reference="bonus:signup",
                evaluation=evaluation,
            )
    return account


def account_for_earning(
    customer: Customer, program: LoyaltyProgram, actor: Actor, at: dt.datetime
) -> LoyaltyAccount:
    """The locked customer's locked account, enrolling them first if need be."""
    account = ledger.locked_account(customer)
    return account if account is not None else enroll_locked(customer, program, actor, at)


def earn_locked(
    account: LoyaltyAccount,
    program: LoyaltyProgram,
    *,
    customer: Customer,
    actor: Actor,
    at: dt.datetime,
    reference: str,
    points: int | None = None,
    amount_q: int | None = None,
    lines: Sequence[OrderLine] = (),
    events: Collection[str] = (),
    evaluation: Evaluation | None = None,
    description: str = "",
    occurred_at: dt.datetime | None = None,
    extra_detail: dict | None = None,
) -> LedgerResult:
    """Earn on a locked account: `points` as given, or what the rules make of an order/events."""
    existing = ledger.replay(account, EARN, reference)
    if existing is not None:
        return replayed(existing, account)
    tiers = selectors.tiers_of(program)
    if evaluation is None and (amount_q is not None or events):
        first = [BonusEvent.FIRST_ORDER] if amount_q and is_first_order(account) else []
        evaluation = evaluate(
            program=program,
            rules=active_rules(program),
            tier=tier_named(tiers, account.tier),
            amount_q=amount_q or 0,
            lines=lines,
            events=[*events, *first],
            at=occurred_at or at,
        )
    detail = evaluation.as_dict() if evaluation is not None else {}
    points = evaluation.points if evaluation is not None else int(points or 0)
    entry = ledger.append(
        account,
        actor=actor,
        transaction_type=EARN,
        at=at,
        occurred_at=occurred_at,
        points=points,
        qualifying_points=points,
        order_amount_q=amount_q,
        currency=program.currency if amount_q is not None else "",
        reference=reference,
        description=description,
        detail={**detail, **(extra_detail or {})},
    )
    if points:
        ledger.publish(
            customer,
            actor,
            kind="loyalty_points_earned",
            event="loyalty.points_earned",
            title=f"Earned {points:,} point{'s' if points != 1 else ''}",
            detail={**ledger.entry_detail(entry, account), "order_amount_q": amount_q},
        )
    change = ledger.update_tier(
        account, program, actor=actor, at=at, customer=customer, tiers=tiers
    )
    ledger.save_account(account, at)
    return LedgerResult(transaction=entry, account=account, tier_change=change)


def redeem_locked(
    account: LoyaltyAccount,
    program: LoyaltyProgram,
    *,
    customer: Customer,
    actor: Actor,
    at: dt.datetime,
    points: int,
    reference: str,
    description: str = "",
    occurred_at: dt.datetime | None = None,
    extra_detail: dict | None = None,
) -> LedgerResult:
    """Redeem on a locked account, never below zero and never under the minimum in force."""
    existing = ledger.replay(account, REDEEM, reference)
    if existing is not None:
        return replayed(existing, account)
    terms = redemption_terms(program=program, rules=active_rules(program), at=occurred_at or at)
    if points < terms.min_points:
        raise InvalidInput(
            "The redemption is below the minimum",
            fields={"points": f"At least {terms.min_points:,} points at a time"},
        )
    if points > account.points_balance:
        raise InsufficientPoints(
            f"Customer {customer.code} has {account.points_balance:,} points, not {points:,}",
            fields={"points": f"At most {account.points_balance:,} points are available"},
        )
    value_q = terms.value_q(points, program.currency)
    entry = ledger.append(
        account,
        actor=actor,
        transaction_type=REDEEM,
        at=at,
        occurred_at=occurred_at,
        points=-points,
        value_q=value_q,
        currency=program.currency,
        reference=reference,
        description=description,
        detail={
            "redemption": {
                "points_per_unit": str(terms.points_per_unit),
                "min_points": terms.min_points,
                "rule": terms.rule,
                "name": terms.name,
            },
            **(extra_detail or {}),
        },
    )
    ledger.save_account(account, at)
    ledger.publish(
        customer,
        actor,
        kind="loyalty_points_redeemed",
        event="loyalty.points_redeemed",
        title=f"Redeemed {points:,} points worth {format_amount(value_q, program.currency)}",
        detail={
            **ledger.entry_detail(entry, account),
            "value_q": value_q,
            "currency": program.currency,
        },
    )
    return LedgerResult(transaction=entry, account=account)


def stamp_locked(
    account: LoyaltyAccount,
    program: LoyaltyProgram,
    *,
    customer: Customer,
    actor: Actor,
    at: dt.datetime,
    count: int,
    reference: str,
    description: str = "",
    detail_for_cards: dict | None = None,
) -> LedgerResult:
    """Add stamps to a locked account; a full card completes, resets and issues its reward.

    Stamps beyond a card's target carry into the next card (whose target is the program's).
    """
    existing = ledger.replay(account, STAMP, reference) if reference else None
    if existing is not None:
        return replayed(existing, account)
    total, target, cards = account.stamps_current + count, account.stamps_target, []
    while total >= target:
        total -= target
        account.stamps_completed += 1
        cards.append(account.stamps_completed)
        target = program.stamps_target
    account.stamps_current, account.stamps_target = total, target
    detail = {"cards": cards, "reward": program.stamp_reward} if cards else {}
    entry = ledger.append(
        account,
        actor=actor,
        transaction_type=STAMP,
        at=at,
        stamps=count,
        cards_completed=len(cards),
        reference=reference,
        description=description,
        detail={**detail, **(detail_for_cards or {})},
    )
    rewards = []
    reward_points = program.stamp_reward_points if program.keeps_points else 0
    for card in cards:
        if reward_points:
            rewards.append(
                ledger.append(
                    account,
                    actor=actor,
                    transaction_type=EARN,
                    at=at,
                    points=reward_points,
                    qualifying_points=reward_points,
                    detail={"reward_for": str(entry.uuid), "card": card},
                )
            )
    ledger.publish(
        customer,
        actor,
        kind="loyalty_stamps_added",
        event="loyalty.stamps_added",
        detail={
            "account": str(account.uuid),
            "transaction": str(entry.uuid),
            "stamps": count,
            "stamps_current": account.stamps_current,
            "stamps_target": account.stamps_target,
            "stamps_completed": account.stamps_completed,
            "reference": reference,
        },
    )
    for index, card in enumerate(cards):
        reward = rewards[index] if rewards else None
        what = ": " + program.stamp_reward if program.stamp_reward else ""
        extra = f" (+{reward.points:,} points)" if reward is not None else ""
        ledger.publish(
            customer,
            actor,
            kind="loyalty_stamp_card_completed",
            event="loyalty.stamp_card_completed",
            title=f"Completed stamp card {card}{what}{extra}"[:200],
            detail={
                "account": str(account.uuid),
                "transaction": str(entry.uuid),
                "card": card,
                "reward": program.stamp_reward,
                "reward_points": reward.points if reward is not None else 0,
                "reward_transaction": str(reward.uuid) if reward is not None else None,
            },
        )
        if reward is not None:
            ledger.publish(
                customer,
                actor,
                kind="loyalty_points_earned",
                event="loyalty.points_earned",
                detail={**ledger.entry_detail(reward, account), "order_amount_q": None},
            )
    change = None
    if rewards:
        change = ledger.update_tier(account, program, actor=actor, at=at, customer=customer)
    ledger.save_account(account, at)
    return LedgerResult(
        transaction=entry, account=account, rewards=tuple(rewards), tier_change=change
    )


def reversible(entry: LoyaltyTransaction) -> int:
    """Points of an earn or redeem not yet reversed."""
    done = sum(int(r.detail.get("reversed_points", 0)) for r in entry.reversals.all())
    return abs(entry.points) - done


def check_amount_fields(points, amount_q, lines, errors) -> tuple[int | None, list[OrderLine]]:
    parsed = inputs.order_lines(errors, lines)
    if lines is not None and amount_q is None and "lines" not in errors:
        amount_q = sum(line.amount_q for line in parsed if inputs.is_whole(line.amount_q))
    if (points is None) == (amount_q is None):
        errors["points"] = "Give either points or an order amount_q"
        return amount_q, parsed
    if points is not None:
        inputs.positive_whole(errors, "points", points)
    else:
        inputs.positive_whole(errors, "amount_q", amount_q)
        if parsed and not any(k.startswith("lines") for k in errors):
            total = sum(line.amount_q for line in parsed)
            if total != amount_q:
                errors["lines"] = f"The lines add up to {total:,}, not amount_q {amount_q:,}"
    return amount_q, parsed
