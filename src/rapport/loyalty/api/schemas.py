"""Request and response shapes of the loyalty endpoints."""

import datetime as dt
from decimal import Decimal
from enum import Enum
from typing import Any, Literal
from uuid import UUID

from ninja import Schema
from pydantic import Field

from rapport.loyalty import selectors
from rapport.loyalty.models import LoyaltyAccount, LoyaltyProgram, LoyaltyTransaction
from rapport.loyalty.presets import Preset
from rapport.loyalty.services import LedgerResult, LoyaltySummary, OfflineOutcome
from rapport.schemas import InputSchema, PageQuery, Timestamp

ModeValue = Literal["points", "stamps", "both"]
WindowValue = Literal["lifetime", "rolling"]
DowngradeValue = Literal["never", "immediate"]
RuleKindValue = Literal["earn", "multiplier", "bonus", "redeem"]
BonusEventValue = Literal["signup", "birthday", "referral", "first_order"]
TransactionTypeValue = Literal["earn", "redeem", "adjust", "expire", "stamp", "reverse"]
PresetValue = Literal["guestman", "nigerian_retail", "crm_service"]

REFERENCE = Field(
    min_length=1,
    max_length=200,
    description="The caller's id for this operation: the same reference again changes nothing",
    examples=["order-10045"],
)
DESCRIPTION = Field("", max_length=200, examples=["Order 10045 at the Lekki shop"])


# --- programs, tiers, presets -----------------------------------------------------------------


class TierOut(Schema):
    name: str = Field(examples=["Silver"])
    threshold: int = Field(description="Qualifying points that reach the tier", examples=[1000])
    multiplier: Decimal = Field(description="What orders earn in this tier", examples=["1.25"])


class TierIn(InputSchema):
    name: str = Field(min_length=1, max_length=50, examples=["Silver"])
    threshold: int = Field(ge=0, examples=[1000])
    multiplier: Decimal = Field(Decimal(1), gt=0, le=100, examples=["1.25"])


class LoyaltyProgramOut(Schema):
    id: UUID = Field(alias="uuid")
    name: str
    preset: str = Field(description="The preset it started from")
    mode: str = Field(examples=["both"])
    currency: str = Field(examples=["NGN"])
    points_per_unit: Decimal = Field(description="Points per currency unit spent")
    min_order_q: int = Field(description="Orders below this (minor units) earn no rate points")
    redeem_points_per_unit: Decimal = Field(description="Points one currency unit costs")
    min_redeem_points: int
    qualification_window: str = Field(examples=["lifetime"])
    qualification_months: int
    downgrade_policy: str = Field(examples=["never"])
    points_expire_after_days: int | None = Field(description="Null: points never expire")
    stamps_target: int
    stamp_reward: str
    stamp_reward_points: int
    tiers: list[TierOut] = Field(description="Lowest threshold first")
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_tiers(program: LoyaltyProgram) -> list:
        return selectors.tiers_of(program)


class _ProgramTerms(InputSchema):
    name: str | None = Field(None, min_length=1, max_length=100, examples=["Lekki Rewards"])
    mode: ModeValue | None = None
    currency: str | None = Field(None, min_length=3, max_length=3, examples=["NGN"])
    points_per_unit: Decimal | None = Field(None, ge=0, examples=["1"])
    min_order_q: int | None = Field(None, ge=0)
    redeem_points_per_unit: Decimal | None = Field(None, gt=0, examples=["100"])
    min_redeem_points: int | None = Field(None, ge=0)
    qualification_window: WindowValue | None = None
    qualification_months: int | None = Field(None, ge=1, le=120)
    downgrade_policy: DowngradeValue | None = None
    points_expire_after_days: int | None = Field(
        None, ge=1, description="Send null to make points never expire"
    )
    stamps_target: int | None = Field(None, ge=1, le=1000)
    stamp_reward: str | None = Field(None, max_length=200, examples=["A free coffee"])
    stamp_reward_points: int | None = Field(None, ge=0)
    tiers: list[TierIn] | None = Field(
        None, max_length=20, description="The whole list of tiers; the lowest threshold is 0"
    )


class LoyaltyProgramIn(_ProgramTerms):
    """Start the program over from a preset; the other fields change it on top."""

    preset: PresetValue


class LoyaltyProgramPatch(_ProgramTerms):
    """Only the settings sent change; `tiers` replaces every tier."""


class PresetOut(Schema):
    key: str = Field(examples=["nigerian_retail"])
    description: str
    tiers: list[TierOut]
    terms: dict[str, Any] = Field(description="The program settings the preset sets")

    @staticmethod
    def resolve_terms(preset: Preset) -> dict[str, Any]:
        return {
            name: value.value if isinstance(value, Enum) else value
            for name, value in preset.terms.items()
        }


# --- rules ----------------------------------------------------------------------------------


class LoyaltyRuleOut(Schema):
    id: UUID = Field(alias="uuid")
    name: str
    kind: str = Field(examples=["multiplier"])
    event: str = Field(description="A bonus's event", examples=["birthday"])
    points_per_unit: Decimal | None = Field(description="An earn or redeem rule's rate")
    multiplier: Decimal | None
    points: int | None = Field(description="A bonus's fixed points")
    min_order_q: int
    min_points: int = Field(description="A redeem rule's minimum")
    categories: list[str]
    products: list[str]
    valid_from: dt.datetime | None
    valid_until: dt.datetime | None
    priority: int
    is_active: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class LoyaltyRuleIn(InputSchema):
    """A rule; which fields it needs depends on its `kind`."""

    name: str = Field(min_length=1, max_length=100, examples=["Double points on coffee"])
    kind: RuleKindValue
    event: BonusEventValue | Literal[""] = ""
    points_per_unit: Decimal | None = Field(None, ge=0)
    multiplier: Decimal | None = Field(None, ge=0, le=100, examples=["2"])
    points: int | None = Field(None, ge=1)
    min_order_q: int = Field(0, ge=0)
    min_points: int = Field(0, ge=0)
    categories: list[str] = Field(default_factory=list, examples=[["coffee"]])
    products: list[str] = Field(default_factory=list)
    valid_from: Timestamp | None = None
    valid_until: Timestamp | None = None
    priority: int = 0
    is_active: bool = True


class LoyaltyRulePatch(InputSchema):
    """Only the fields sent change; the rule is checked whole afterwards."""

    name: str | None = Field(None, min_length=1, max_length=100)
    kind: RuleKindValue | None = None
    event: BonusEventValue | Literal[""] | None = None
    points_per_unit: Decimal | None = Field(None, ge=0)
    multiplier: Decimal | None = Field(None, ge=0, le=100)
    points: int | None = Field(None, ge=1)
    min_order_q: int | None = Field(None, ge=0)
    min_points: int | None = Field(None, ge=0)
    categories: list[str] | None = None
    products: list[str] | None = None
    valid_from: Timestamp | None = None
    valid_until: Timestamp | None = None
    priority: int | None = None
    is_active: bool | None = None


class RuleQuery(Schema):
    kind: RuleKindValue | None = None


# --- the rule engine's explanation --------------------------------------------------------------


class OrderLineIn(InputSchema):
    amount_q: int = Field(ge=0, examples=[250000])
    category: str = Field("", max_length=100, examples=["coffee"])
    product: str = Field("", max_length=100, examples=["flat-white"])


class ContributionOut(Schema):
    source: str = Field(description="program, rule or tier", examples=["rule"])
    kind: str = Field(examples=["multiplier"])
    name: str
    points: int
    explanation: str = Field(examples=["2x on lines 1 (2,500.00 NGN)"])
    rule: str | None = Field(description="The rule's id, when a rule gave it")


class SkippedOut(Schema):
    name: str
    reason: str = Field(examples=["The order is below its minimum of 5,000.00 NGN"])
    rule: str | None


class EvaluationOut(Schema):
    """What an order earns, and why: each contribution adds up to `points`."""

    points: int
    tier: str
    tier_multiplier: Decimal
    contributions: list[ContributionOut]
    skipped: list[SkippedOut] = Field(description="Rules considered that did not apply, and why")


class PreviewIn(InputSchema):
    """An order to price. With `code`, the customer's tier (and first order) count."""

    amount_q: int = Field(ge=1, description="The order's total in minor units", examples=[500000])
    lines: list[OrderLineIn] | None = Field(None, description="They must add up to amount_q")
    code: str | None = Field(None, min_length=1, max_length=100, examples=["ADA-1"])
    at: Timestamp | None = Field(None, description="Price it by the rules in force then")


# --- accounts and the ledger ------------------------------------------------------------------


class LoyaltyAccountOut(Schema):
    id: UUID = Field(alias="uuid")
    code: str = Field(description="The customer's code")
    points_balance: int
    lifetime_points: int = Field(description="Points earned, less reversals")
    stamps_current: int
    stamps_target: int
    stamps_completed: int
    tier: str = Field(examples=["Silver"])
    tier_changed_at: dt.datetime | None
    enrolled_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_code(account: LoyaltyAccount) -> str:
        return account.customer.code


class LoyaltyAccountPage(Schema):
    items: list[LoyaltyAccountOut]
    next_cursor: str | None


class AccountQuery(PageQuery):
    tier: str | None = Field(None, max_length=50, description="Only accounts in this tier")


class LoyaltyTransactionOut(Schema):
    id: UUID = Field(alias="uuid")
    transaction_type: str = Field(examples=["earn"])
    points: int = Field(description="The signed change to the balance")
    balance_after: int
    qualifying_points: int = Field(description="What it adds to the points that place a tier")
    stamps: int
    stamps_after: int
    cards_completed: int
    order_amount_q: int | None
    value_q: int | None = Field(description="What a redemption is worth, in minor units")
    currency: str
    tier: str = Field(description="The tier in force when it was written")
    description: str
    reference: str
    reverses: UUID | None = Field(description="The transaction it reverses")
    detail: dict[str, Any] = Field(description="How it was computed: the rules' explanation")
    actor: str
    occurred_at: dt.datetime
    created_at: dt.datetime

    @staticmethod
    def resolve_reverses(entry: LoyaltyTransaction) -> UUID | None:
        return entry.reverses.uuid if entry.reverses_id else None


class LoyaltyTransactionPage(Schema):
    items: list[LoyaltyTransactionOut]
    next_cursor: str | None


class TransactionQuery(PageQuery):
    transaction_type: TransactionTypeValue | None = None


class TierChangeOut(Schema):
    old_tier: str
    new_tier: str
    qualifying_points: int


class LedgerResultOut(Schema):
    """A ledger write: its entry, the account after it, and whether it was a replay."""

    transaction: LoyaltyTransactionOut
    account: LoyaltyAccountOut
    is_replay: bool = Field(description="The reference was used before: nothing changed")
    rewards: list[LoyaltyTransactionOut] = Field(description="Points a completed card earned")
    tier_change: TierChangeOut | None

    @staticmethod
    def resolve_rewards(result: LedgerResult) -> list:
        return list(result.rewards)


class BalanceOut(Schema):
    code: str
    points_balance: int = Field(description="0 when the customer is not enrolled")


class LoyaltySummaryOut(Schema):
    code: str
    account_id: UUID
    program: str
    mode: str
    currency: str
    points_balance: int
    balance_value_q: int = Field(description="What the balance is worth redeemed, minor units")
    lifetime_points: int
    qualifying_points: int = Field(description="The points that place the tier now")
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
    points_expiring_soon: int
    expiring_soon_until: dt.datetime | None
    recent_transactions: list[LoyaltyTransactionOut] = Field(description="The newest ten")

    @staticmethod
    def resolve_account_id(summary: LoyaltySummary) -> UUID:
        return summary.account.uuid


class EarnIn(InputSchema):
    """Points as given, or an order the rules price (`amount_q`, optionally its `lines`)."""

    reference: str = REFERENCE
    points: int | None = Field(None, ge=1, description="Give points or an order, not both")
    amount_q: int | None = Field(None, ge=1, description="The order's total in minor units")
    lines: list[OrderLineIn] | None = Field(None, max_length=500)
    currency: str | None = Field(None, min_length=3, max_length=3, examples=["NGN"])
    description: str = DESCRIPTION
    occurred_at: Timestamp | None = Field(None, description="When the order happened")


class RedeemIn(InputSchema):
    reference: str = REFERENCE
    points: int = Field(ge=1, examples=[500])
    description: str = DESCRIPTION


class StampIn(InputSchema):
    reference: str = REFERENCE
    count: int = Field(1, ge=1, le=100)
    description: str = DESCRIPTION


class BonusIn(InputSchema):
    """A bonus rule's event; the reference defaults to one per event (per year for birthdays)."""

    event: BonusEventValue
    reference: str | None = Field(None, min_length=1, max_length=200)
    description: str = DESCRIPTION


class AdjustIn(InputSchema):
    points: int = Field(description="Up or down; not 0", examples=[-50])
    description: str = Field(min_length=1, max_length=200, examples=["Goodwill for a late order"])
    reference: str = Field("", max_length=200)


class ReverseIn(InputSchema):
    reference: str = REFERENCE
    points: int | None = Field(None, ge=1, description="Part of it; default: all that is left")
    description: str = DESCRIPTION


# --- offline sync and expiry ------------------------------------------------------------------


class OfflineItemIn(InputSchema):
    id: str = Field(
        min_length=1, max_length=200, description="The till's own id for it: its reference"
    )
    kind: Literal["earn", "redeem"]
    code: str = Field(min_length=1, max_length=100, description="The customer's code")
    occurred_at: Timestamp = Field(description="When it happened on the till")
    points: int | None = Field(None, ge=1)
    amount_q: int | None = Field(None, ge=1)
    lines: list[OrderLineIn] | None = Field(None, max_length=500)
    description: str = DESCRIPTION


class OfflineSyncIn(InputSchema):
    device: str = Field("", max_length=100, examples=["till-2"])
    items: list[OfflineItemIn] = Field(description="Applied oldest first; answered in this order")


class OfflineOutcomeOut(Schema):
    id: str
    status: Literal["applied", "duplicate", "rejected"]
    reason: str = Field(examples=["Customer ADA-1 has 20 points, not 500"])
    error_code: str = Field(examples=["insufficient_points"])
    fields: dict[str, str]
    transaction: LoyaltyTransactionOut | None
    points: int
    balance_after: int | None

    @staticmethod
    def resolve_id(outcome: OfflineOutcome) -> str:
        return str(outcome.id)


class OfflineSyncOut(Schema):
    applied: int
    duplicate: int
    rejected: int
    items: list[OfflineOutcomeOut]


class ExpireIn(InputSchema):
    at: Timestamp | None = Field(None, description="Expire as of this time; default now")


class ExpiryRunOut(Schema):
    at: dt.datetime
    accounts: int
    points: int
