"""LoyaltyService: enrolling, earning, redeeming, stamps, bonuses, reversals, adjustments, reads.

Every write locks the customer's row and then the account's, appends to the ledger with the
balance it leaves, and publishes its timeline entry and outbox event in the same transaction.
Earns, redeems, stamps and reversals take a reference: the same reference again for the same
kind of entry returns the first entry and changes nothing (a unique constraint backs this).
"""

import datetime as dt
import uuid
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from rapport.exceptions import InvalidInput, NotFound
from rapport.loyalty import conf, selectors
from rapport.loyalty.exceptions import AlreadyReversed, InsufficientPoints, NotEnrolled
from rapport.loyalty.models import (
    BonusEvent,
    LoyaltyAccount,
    LoyaltyProgram,
    LoyaltyTransaction,
    TransactionType,
)
from rapport.loyalty.rules import Evaluation, OrderLine, evaluate, redemption_terms, tier_for
from rapport.loyalty.services import inputs, ledger, postings
from rapport.loyalty.services.ledger import LedgerResult
from rapport.tenancy.actors import Actor
from rapport.tenancy.models import Tenant

EARN, REDEEM = TransactionType.EARN, TransactionType.REDEEM
REVERSE, ADJUST = TransactionType.REVERSE, TransactionType.ADJUST
STAMPS_PER_CALL_LIMIT = 100
RECENT_TRANSACTIONS = 10


@dataclass(frozen=True)
class LoyaltySummary:
    """A customer's standing in the program, as a person reads it (seed 004's summary)."""

    code: str
    account: LoyaltyAccount
    program: str
    mode: str
    currency: str
    points_balance: int
    balance_value_q: int  # what the balance is worth redeemed, in minor units
    lifetime_points: int
    qualifying_points: int
    tier: str
    tier_multiplier: Decimal
    next_tier: str | None
    points_to_next_tier: int | None
    stamps_current: int
    stamps_target: int
    stamps_completed: int
    stamp_reward: str
    points_earned_total: int
    points_redeemed_total: int
    points_expired_total: int
    points_expiring_soon: int  # expired by `expiring_soon_until` unless spent first
    expiring_soon_until: dt.datetime | None
    recent_transactions: list[LoyaltyTransaction]


# --- the service ------------------------------------------------------------------------------


class LoyaltyService:
    """The seed's loyalty service: accounts, points, stamps and their append-only ledger."""

    @staticmethod
    def enroll(*, actor: Actor, code: str) -> LoyaltyAccount:
        """Enroll the customer; enrolling an enrolled customer returns their account."""
        with transaction.atomic():
            customer = ledger.lock_customer(actor.tenant, code)
            account = ledger.locked_account(customer)
            if account is None:
                program = ledger.program_for(actor.tenant)
                account = postings.enroll_locked(customer, program, actor, timezone.now())
        return account

    @staticmethod
    def get_account(*, tenant: Tenant, code: str) -> LoyaltyAccount:
        """The customer's account; NotEnrolled (404) when they have none."""
        customer = ledger.customer_of(tenant, code)
        account = (
            LoyaltyAccount.objects.filter(customer=customer).select_related("customer").first()
        )
        if account is None:
            raise NotEnrolled(
                f"Customer {customer.code} is not enrolled in the loyalty program",
                fields={"code": "Not enrolled"},
            )
        return account

    @staticmethod
    def get_balance(*, tenant: Tenant, code: str) -> int:
        """The customer's points balance (0 when not enrolled)."""
        customer = ledger.customer_of(tenant, code)
        account = selectors.account_of(customer)
        return account.points_balance if account is not None else 0

    @staticmethod
    def earn_points(
        *,
        actor: Actor,
        code: str,
        reference: str,
        points: int | None = None,
        amount_q: int | None = None,
        lines: Sequence[OrderLine | dict] | None = None,
        currency: str | None = None,
        description: str = "",
        occurred_at: dt.datetime | None = None,
    ) -> LedgerResult:
        """Award points as given, or what the rules make of an order (`amount_q`, `lines`).

        Enrolls the customer if need be. An order earns by the tier in force before it; the
        tier is then recomputed. The entry's `detail` explains which rules gave what.
        """
        errors: dict[str, str] = {}
        reference = inputs.reference(errors, reference)
        description = inputs.text(
            errors, "description", description, limit=inputs.DESCRIPTION_LIMIT
        )
        amount_q, parsed = postings.check_amount_fields(points, amount_q, lines, errors)
        occurred_at = inputs.moment(errors, "occurred_at", occurred_at)
        if errors:
            raise InvalidInput("The earning is not valid", fields=errors)
        with transaction.atomic():
            customer = ledger.lock_customer(actor.tenant, code)
            program = ledger.program_for(actor.tenant)
            postings.require_points(program, "points" if points is not None else "amount_q")
            if amount_q is not None and currency and currency.upper() != program.currency:
                raise InvalidInput(
                    "The order is in another currency than the program's",
                    fields={"currency": f"The program counts in {program.currency}"},
                )
            now = timezone.now()
            account = postings.account_for_earning(customer, program, actor, now)
            return postings.earn_locked(
                account,
                program,
                customer=customer,
                actor=actor,
                at=now,
                reference=reference,
                points=points,
                amount_q=amount_q,
                lines=parsed,
                description=description,
                occurred_at=occurred_at,
            )

    @staticmethod
    def award_bonus(
        *,
        actor: Actor,
        code: str,
        event: str,
        reference: str | None = None,
        description: str = "",
    ) -> LedgerResult:
        """Award the bonus rules in force for an event: signup, birthday, referral, first order.

        The reference defaults to one per event (one per year for birthdays); a referral
        needs its own, e.g. the referred customer's code.
        """
        errors: dict[str, str] = {}
        if event not in BonusEvent.values:
            errors["event"] = f"Use one of {', '.join(BonusEvent.values)}"
        description = inputs.text(
            errors, "description", description, limit=inputs.DESCRIPTION_LIMIT
        )
        if reference is None and event == BonusEvent.REFERRAL:
            errors["reference"] = "Name the referral, e.g. the referred customer's code"
        elif reference is not None:
            reference = inputs.reference(errors, reference)
        if errors:
            raise InvalidInput("The bonus is not valid", fields=errors)
        with transaction.atomic():
            customer = ledger.lock_customer(actor.tenant, code)
            program = ledger.program_for(actor.tenant)
            postings.require_points(program, "event")
            now = timezone.now()
            if reference is None:
                year = timezone.localtime(now, zoneinfo.ZoneInfo(actor.tenant.timezone)).year
                reference = (
                    f"bonus:{event}:{year}" if event == BonusEvent.BIRTHDAY else f"bonus:{event}"
                )
            account = postings.account_for_earning(customer, program, actor, now)
            existing = ledger.replay(account, EARN, reference)
            if existing is not None:
                return postings.replayed(existing, account)
            tiers = selectors.tiers_of(program)
            evaluation = evaluate(
                program=program,
                rules=postings.active_rules(program),
                tier=postings.tier_named(tiers, account.tier),
                events=[event],
                at=now,
            )
            if not evaluation.contributions:
                raise InvalidInput(
                    f"No {event.replace('_', ' ')} bonus is in force",
                    fields={"event": "No bonus rule for this event is active and in its window"},
                )
            return postings.earn_locked(
                account,
                program,
                customer=customer,
                actor=actor,
                at=now,
                reference=reference,
                evaluation=evaluation,
                description=description,
            )

    @staticmethod
    def redeem_points(
        *,
        actor: Actor,
        code: str,
        points: int,
        reference: str,
        description: str = "",
    ) -> LedgerResult:
        """Spend points; never more than the balance, never less than the minimum in force."""
        errors: dict[str, str] = {}
        inputs.positive_whole(errors, "points", points)
        reference = inputs.reference(errors, reference)
        description = inputs.text(
            errors, "description", description, limit=inputs.DESCRIPTION_LIMIT
        )
        if errors:
            raise InvalidInput("The redemption is not valid", fields=errors)
        with transaction.atomic():
            customer = ledger.lock_customer(actor.tenant, code)
            program = ledger.program_for(actor.tenant)
            postings.require_points(program, "points")
            account = ledger.require_account(customer)
            return postings.redeem_locked(
                account,
                program,
                customer=customer,
                actor=actor,
                at=timezone.now(),
                points=points,
                reference=reference,
                description=description,
            )

    @staticmethod
    def add_stamp(
        *,
        actor: Actor,
        code: str,
        reference: str,
        count: int = 1,
        description: str = "",
    ) -> LedgerResult:
        """Stamp the customer's card (enrolling them if need be); a full card issues its reward."""
        errors: dict[str, str] = {}
        inputs.positive_whole(errors, "count", count, limit=STAMPS_PER_CALL_LIMIT)
        reference = inputs.reference(errors, reference)
        description = inputs.text(
            errors, "description", description, limit=inputs.DESCRIPTION_LIMIT
        )
        if errors:
            raise InvalidInput("The stamp is not valid", fields=errors)
        with transaction.atomic():
            customer = ledger.lock_customer(actor.tenant, code)
            program = ledger.program_for(actor.tenant)
            if not program.keeps_stamps:
                raise InvalidInput(
                    f"{program.name} keeps points only, not stamps",
                    fields={"count": "The loyalty program keeps no stamp cards"},
                )
            now = timezone.now()
            account = postings.account_for_earning(customer, program, actor, now)
            return postings.stamp_locked(
                account,
                program,
                customer=customer,
                actor=actor,
                at=now,
                count=count,
                reference=reference,
                description=description,
            )

    @staticmethod
    def adjust_points(
        *,
        actor: Actor,
        code: str,
        points: int,
        description: str,
        reference: str = "",
    ) -> LedgerResult:
        """Correct a balance by hand (up or down, with the reason); it does not count toward tiers."""
        actor.require_operator("adjust loyalty points by hand")
        errors: dict[str, str] = {}
        if not inputs.is_whole(points) or points == 0:
            errors["points"] = "Must be a whole number other than 0"
        elif abs(points) > inputs.AMOUNT_LIMIT:
            errors["points"] = f"At most {inputs.AMOUNT_LIMIT:,} either way"
        description = inputs.text(
            errors, "description", description, limit=inputs.DESCRIPTION_LIMIT, required=True
        )
        reference = inputs.text(errors, "reference", reference, limit=inputs.REFERENCE_LIMIT)
        if errors:
            raise InvalidInput("The adjustment is not valid", fields=errors)
        with transaction.atomic():
            customer = ledger.lock_customer(actor.tenant, code)
            program = ledger.program_for(actor.tenant)
            postings.require_points(program, "points")
            now = timezone.now()
            account = postings.account_for_earning(customer, program, actor, now)
            if reference:
                existing = ledger.replay(account, ADJUST, reference)
                if existing is not None:
                    return postings.replayed(existing, account)
            if account.points_balance + points < 0:
                raise InsufficientPoints(
                    f"Customer {customer.code} has {account.points_balance:,} points",
                    fields={"points": f"At most {account.points_balance:,} can be taken off"},
                )
            entry = ledger.append(
                account,
                actor=actor,
                transaction_type=ADJUST,
                at=now,
                points=points,
                reference=reference,
                description=description,
            )
            ledger.save_account(account, now)
            ledger.publish(
                customer,
                actor,
                kind="loyalty_points_adjusted",
                event="loyalty.points_adjusted",
                title=f"Points adjusted by {points:+,}",
                detail=ledger.entry_detail(entry, account),
            )
            return LedgerResult(transaction=entry, account=account)

    @staticmethod
    def reverse_transaction(
        *,
        actor: Actor,
        code: str,
        transaction_id: uuid.UUID | str,
        reference: str,
        points: int | None = None,
        description: str = "",
    ) -> LedgerResult:
        """Reverse an earn (a refund) or a redeem, wholly or in part, as a new entry.

        Reversing an earn takes back what is left of it from the balance, never below zero
        (points already spent stay spent; the entry's detail says how many), and takes it all
        off the qualifying points, so the tier may go down. Reversing a redeem gives the
        points back.
        """
        errors: dict[str, str] = {}
        reference = inputs.reference(errors, reference)
        if points is not None:
            inputs.positive_whole(errors, "points", points)
        description = inputs.text(
            errors, "description", description, limit=inputs.DESCRIPTION_LIMIT
        )
        if errors:
            raise InvalidInput("The reversal is not valid", fields=errors)
        with transaction.atomic():
            customer = ledger.lock_customer(actor.tenant, code)
            program = ledger.program_for(actor.tenant)
            account = ledger.require_account(customer)
            original = _entry_of(account, transaction_id)
            existing = ledger.replay(account, REVERSE, reference)
            if existing is not None:
                return postings.replayed(existing, account)
            if original.transaction_type not in (EARN, REDEEM):
                raise InvalidInput(
                    "Only earns and redeems can be reversed",
                    fields={"transaction_id": f"Its type is {original.transaction_type}"},
                )
            left = postings.reversible(original)
            if left <= 0:
                raise AlreadyReversed(
                    "The transaction was already reversed in full",
                    fields={"transaction_id": "Nothing is left to reverse"},
                )
            wanted = left if points is None else points
            if wanted > left:
                raise InvalidInput(
                    "That is more than is left to reverse",
                    fields={"points": f"At most {left:,} points are left to reverse"},
                )
            now = timezone.now()
            if original.transaction_type == EARN:
                taken = min(wanted, account.points_balance)
                change, qualifying = -taken, -wanted
                detail = {"reversed_points": wanted, "not_recovered": wanted - taken}
                title = f"Reversed {wanted:,} earned points"
                value_q = None
            else:
                change, qualifying = wanted, 0
                detail = {"reversed_points": wanted, "not_recovered": 0}
                title = f"Gave back {wanted:,} redeemed points"
                value_q = (original.value_q or 0) * wanted // -original.points
            entry = ledger.append(
                account,
                actor=actor,
                transaction_type=REVERSE,
                at=now,
                points=change,
                qualifying_points=qualifying,
                reverses=original,
                value_q=value_q,
                currency=original.currency,
                reference=reference,
                description=description,
                detail=detail,
            )
            ledger.publish(
                customer,
                actor,
                kind="loyalty_points_reversed",
                event="loyalty.points_reversed",
                title=title,
                detail={
                    **ledger.entry_detail(entry, account),
                    "reverses": str(original.uuid),
                    "reversed_type": original.transaction_type,
                    **detail,
                },
            )
            tier_change = None
            if qualifying:
                tier_change = ledger.update_tier(
                    account, program, actor=actor, at=now, customer=customer
                )
            ledger.save_account(account, now)
            return LedgerResult(transaction=entry, account=account, tier_change=tier_change)

    @staticmethod
    def get_transactions(
        *, tenant: Tenant, code: str, transaction_type: str | None = None
    ) -> QuerySet[LoyaltyTransaction]:
        """The customer's ledger, newest first; empty when they are not enrolled."""
        if transaction_type is not None and transaction_type not in TransactionType.values:
            raise InvalidInput(
                "Unknown transaction type",
                fields={"transaction_type": f"Use one of {', '.join(TransactionType.values)}"},
            )
        customer = ledger.customer_of(tenant, code)
        account = selectors.account_of(customer)
        if account is None:
            return LoyaltyTransaction.objects.none()
        return selectors.ledger(account=account, transaction_type=transaction_type)

    @staticmethod
    def get_transaction(
        *, tenant: Tenant, code: str, transaction_id: uuid.UUID | str
    ) -> LoyaltyTransaction:
        """One entry of the customer's ledger; NotFound for anyone else's."""
        customer = ledger.customer_of(tenant, code)
        account = selectors.account_of(customer)
        if account is None:
            raise NotFound("No such loyalty transaction", fields={"transaction_id": "Unknown"})
        return _entry_of(account, transaction_id)

    @staticmethod
    def preview_earning(
        *,
        tenant: Tenant,
        code: str | None = None,
        amount_q: int,
        lines: Sequence[OrderLine | dict] | None = None,
        at: dt.datetime | None = None,
    ) -> Evaluation:
        """What an order would earn (for the customer's tier, else the lowest), writing nothing."""
        errors: dict[str, str] = {}
        amount_q, parsed = postings.check_amount_fields(None, amount_q, lines, errors)
        if errors:
            raise InvalidInput("The order is not valid", fields=errors)
        program = ledger.program_for(tenant)
        tiers = selectors.tiers_of(program)
        tier, events = tier_for(tiers, 0), [BonusEvent.FIRST_ORDER]
        if code is not None:
            account = selectors.account_of(ledger.customer_of(tenant, code))
            if account is not None:
                tier = postings.tier_named(tiers, account.tier)
                events = [BonusEvent.FIRST_ORDER] if postings.is_first_order(account) else []
        return evaluate(
            program=program,
            rules=postings.active_rules(program),
            tier=tier,
            amount_q=amount_q,
            lines=parsed,
            events=events,
            at=at or timezone.now(),
        )

    @staticmethod
    def get_summary(*, tenant: Tenant, code: str, at: dt.datetime | None = None) -> LoyaltySummary:
        """The customer's balance, tier and next tier, stamps, totals and what expires soon."""
        account = LoyaltyService.get_account(tenant=tenant, code=code)
        program = LoyaltyProgram.objects.get(pk=account.program_id)
        at = at or timezone.now()
        tiers = selectors.tiers_of(program)
        current = postings.tier_named(tiers, account.tier)
        qualifying = selectors.qualifying_points(account, program, at)
        above = [t for t in tiers if current is None or t.threshold > current.threshold]
        next_tier = above[0] if above else None
        terms = redemption_terms(program=program, rules=postings.active_rules(program), at=at)
        horizon = at + dt.timedelta(days=conf.expiring_soon_days())
        expiring = selectors.points_due(account, program, horizon)
        return LoyaltySummary(
            code=account.customer.code,
            account=account,
            program=program.name,
            mode=program.mode,
            currency=program.currency,
            points_balance=account.points_balance,
            balance_value_q=terms.value_q(account.points_balance, program.currency),
            lifetime_points=account.lifetime_points,
            qualifying_points=qualifying,
            tier=account.tier,
            tier_multiplier=Decimal(current.multiplier) if current else Decimal(1),
            next_tier=next_tier.name if next_tier else None,
            points_to_next_tier=max(0, next_tier.threshold - qualifying) if next_tier else None,
            stamps_current=account.stamps_current,
            stamps_target=account.stamps_target,
            stamps_completed=account.stamps_completed,
            stamp_reward=program.stamp_reward,
            **selectors.totals(account),
            points_expiring_soon=expiring,
            expiring_soon_until=horizon if program.points_expire_after_days else None,
            recent_transactions=list(selectors.ledger(account=account)[:RECENT_TRANSACTIONS]),
        )


def _entry_of(account: LoyaltyAccount, transaction_id: uuid.UUID | str) -> LoyaltyTransaction:
    """An entry of the account by its uuid; NotFound for a malformed or someone else's id."""
    try:
        key = uuid.UUID(str(transaction_id))
    except ValueError:
        key = None
    entry = (
        LoyaltyTransaction.objects.filter(account=account, uuid=key).first()
        if key is not None
        else None
    )
    if entry is None:
        raise NotFound("No such loyalty transaction", fields={"transaction_id": "Unknown"})
    return entry
