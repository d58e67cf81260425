"""The one evaluation of a program's rules, which explains what it awards and why.

`evaluate` reads no database: the caller hands it the program, its rules, the tier in force and
what happened (an order's amount and lines, bonus events). Points are computed exactly and
rounded down once; each contribution is then given its whole share (largest remainder), so the
contributions always add up to the points awarded.

- The rate: the highest-priority earn rule in force whose minimum the order meets, else the
  program's `points_per_unit`; orders below the program's `min_order_q` earn no rate points.
- Multipliers: per order line, the highest multiplier rule in force that matches the line's
  category or product (a rule naming neither matches every line). They do not stack.
- The tier's multiplier scales rate and multiplier points; fixed bonuses are not scaled.
- Bonuses: every bonus rule in force for an event that happened.
"""

import datetime as dt
import math
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from rapport.loyalty.models import LoyaltyProgram, LoyaltyRule, LoyaltyTier, RuleKind
from rapport.loyalty.money import format_amount, from_units, to_units


@dataclass(frozen=True)
class OrderLine:
    """A line of an order, for multipliers by category or product."""

    amount_q: int
    category: str = ""
    product: str = ""


@dataclass(frozen=True)
class Contribution:
    """Points one term of the program or one rule added (or took away, a 0x multiplier)."""

    source: str  # "program", "rule" or "tier"
    kind: str  # "earn_rate", "multiplier", "tier_multiplier" or "bonus"
    name: str
    points: int
    explanation: str
    rule: str | None = None  # the rule's uuid


@dataclass(frozen=True)
class Skipped:
    """A rule that was considered and did not apply, and why."""

    name: str
    reason: str
    rule: str | None = None


@dataclass(frozen=True)
class Evaluation:
    """What an order or event earns: the points, what each rule added, and what was skipped."""

    points: int
    tier: str
    tier_multiplier: Decimal
    contributions: tuple[Contribution, ...] = ()
    skipped: tuple[Skipped, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, as a transaction's `detail` keeps it."""
        return {
            "points": self.points,
            "tier": self.tier,
            "tier_multiplier": str(self.tier_multiplier),
            "contributions": [asdict(c) for c in self.contributions],
            "skipped": [asdict(s) for s in self.skipped],
        }


@dataclass(frozen=True)
class RedemptionTerms:
    """What a point is worth when redeemed, and the least that may be redeemed at once."""

    points_per_unit: Decimal
    min_points: int
    rule: str | None = None
    name: str = "program"

    def value_q(self, points: int, currency: str) -> int:
        """What `points` are worth in minor units of `currency`, rounded down."""
        return from_units(Decimal(points) / self.points_per_unit, currency)


@dataclass
class _Part:
    source: str
    kind: str
    name: str
    exact: Decimal
    explanation: str
    rule: str | None = None
    lines: list[int] = field(default_factory=list)


def _rule_id(rule: LoyaltyRule) -> str:
    return str(rule.uuid)


def _number(value: Decimal) -> str:
    """A rate or multiplier as written by a person: 1.25, 2, 0.01."""
    return f"{value.normalize():f}"


def window_problem(rule: LoyaltyRule, at: dt.datetime) -> str:
    """Why the rule is not in force at `at`, or '' when it is."""
    if rule.valid_from is not None and at < rule.valid_from:
        return f"Not in force until {rule.valid_from.isoformat()}"
    if rule.valid_until is not None and at >= rule.valid_until:
        return f"Ended at {rule.valid_until.isoformat()}"
    return ""


def _in_force(rules: Sequence[LoyaltyRule], at: dt.datetime, skipped: list[Skipped]):
    current = []
    for rule in rules:
        if not rule.is_active:
            continue
        problem = window_problem(rule, at)
        if problem:
            skipped.append(Skipped(rule.name, problem, _rule_id(rule)))
        else:
            current.append(rule)
    return current


def _matches(rule: LoyaltyRule, line: OrderLine) -> bool:
    if not rule.categories and not rule.products:
        return True
    return (bool(line.category) and line.category in rule.categories) or (
        bool(line.product) and line.product in rule.products
    )


def _whole_shares(parts: list[_Part]) -> list[int]:
    """Integer points per part adding up to the floor of their exact sum (largest remainder)."""
    total = math.floor(sum((p.exact for p in parts), Decimal(0)))
    floors = [math.floor(p.exact) for p in parts]
    left = total - sum(floors)
    by_remainder = sorted(
        range(len(parts)), key=lambda i: (parts[i].exact - floors[i], -i), reverse=True
    )
    for index in by_remainder[:left]:
        floors[index] += 1
    return floors


def _rate(
    program: LoyaltyProgram, earn_rules: list[LoyaltyRule], amount_q: int, skipped: list[Skipped]
) -> tuple[Decimal, str, str | None]:
    """The points-per-unit rate of an order: (rate, name, rule uuid)."""
    eligible = []
    for rule in earn_rules:
        if amount_q < rule.min_order_q:
            minimum = format_amount(rule.min_order_q, program.currency)
            skipped.append(
                Skipped(rule.name, f"The order is below its minimum of {minimum}", _rule_id(rule))
            )
        else:
            eligible.append(rule)
    if not eligible:
        return Decimal(program.points_per_unit), "program", None
    eligible.sort(key=lambda r: (r.priority, r.points_per_unit, r.created_at), reverse=True)
    chosen, *others = eligible
    for rule in others:
        skipped.append(Skipped(rule.name, f"{chosen.name} sets the rate", _rule_id(rule)))
    return Decimal(chosen.points_per_unit), chosen.name, _rule_id(chosen)


def evaluate(
    *,
    program: LoyaltyProgram,
    rules: Sequence[LoyaltyRule],
    tier: LoyaltyTier | None,
    amount_q: int = 0,
    lines: Sequence[OrderLine] = (),
    events: Collection[str] = (),
    at: dt.datetime,
) -> Evaluation:
    """The points an order of `amount_q` (with `lines`) and bonus `events` earn at `at`."""
    skipped: list[Skipped] = []
    current = _in_force(rules, at, skipped)
    by_kind: dict[str, list[LoyaltyRule]] = {kind: [] for kind in RuleKind.values}
    for rule in current:
        by_kind[rule.kind].append(rule)
    tier_name = tier.name if tier is not None else ""
    tier_multiplier = Decimal(tier.multiplier) if tier is not None else Decimal(1)
    parts: list[_Part] = []
    currency = program.currency
    if amount_q > 0 and amount_q < program.min_order_q:
        minimum = format_amount(program.min_order_q, currency)
        skipped.append(Skipped("program", f"The order is below the minimum of {minimum}"))
        skipped += [
            Skipped(r.name, "The order earns no points", _rule_id(r))
            for r in by_kind[RuleKind.EARN] + by_kind[RuleKind.MULTIPLIER]
        ]
    elif amount_q > 0:
        order_lines = list(lines) or [OrderLine(amount_q=amount_q)]
        rate, rate_name, rate_rule = _rate(program, by_kind[RuleKind.EARN], amount_q, skipped)
        bases = [to_units(line.amount_q, currency) * rate for line in order_lines]
        base = sum(bases, Decimal(0))
        parts.append(
            _Part(
                "rule" if rate_rule else "program",
                "earn_rate",
                rate_name,
                base,
                f"{_number(rate)} point{'' if rate == 1 else 's'} per {currency} on "
                f"{format_amount(amount_q, currency)}",
                rate_rule,
            )
        )
        parts += _multipliers(
            by_kind[RuleKind.MULTIPLIER], order_lines, bases, amount_q, program, skipped
        )
        if tier is not None and tier_multiplier != 1:
            earned = sum((p.exact for p in parts), Decimal(0))
            parts.append(
                _Part(
                    "tier",
                    "tier_multiplier",
                    tier_name,
                    earned * (tier_multiplier - 1),
                    f"{tier_name} tier earns {_number(tier_multiplier)}x",
                )
            )
    else:
        skipped += [
            Skipped(r.name, "No order to earn on", _rule_id(r))
            for r in by_kind[RuleKind.EARN] + by_kind[RuleKind.MULTIPLIER]
        ]
    contributions = [
        Contribution(p.source, p.kind, p.name, points, p.explanation, p.rule)
        for p, points in zip(parts, _whole_shares(parts), strict=True)
    ]
    contributions += _bonuses(by_kind[RuleKind.BONUS], events, amount_q, currency, skipped)
    return Evaluation(
        points=sum(c.points for c in contributions),
        tier=tier_name,
        tier_multiplier=tier_multiplier,
        contributions=tuple(contributions),
        skipped=tuple(skipped),
    )


def _multipliers(
    rules: list[LoyaltyRule],
    lines: list[OrderLine],
    bases: list[Decimal],
    amount_q: int,
    program: LoyaltyProgram,
    skipped: list[Skipped],
) -> list[_Part]:
    eligible = []
    for rule in rules:
        if amount_q < rule.min_order_q:
            minimum = format_amount(rule.min_order_q, program.currency)
            skipped.append(
                Skipped(rule.name, f"The order is below its minimum of {minimum}", _rule_id(rule))
            )
        else:
            eligible.append(rule)
    parts = {
        rule.pk: _Part(
            "rule",
            "multiplier",
            rule.name,
            Decimal(0),
            f"{_number(Decimal(rule.multiplier))}x on ",
            _rule_id(rule),
        )
        for rule in eligible
    }
    matched: set[int] = set()
    for index, line in enumerate(lines):
        candidates = [rule for rule in eligible if _matches(rule, line)]
        if not candidates:
            continue
        matched.update(rule.pk for rule in candidates)
        best = max(candidates, key=lambda r: (Decimal(r.multiplier), r.priority))
        part = parts[best.pk]
        part.exact += bases[index] * (Decimal(best.multiplier) - 1)
        part.lines.append(index)
    result = []
    for rule in eligible:
        part = parts[rule.pk]
        if rule.pk not in matched:
            skipped.append(
                Skipped(rule.name, "No line in its categories or products", _rule_id(rule))
            )
        elif not part.lines:
            skipped.append(Skipped(rule.name, "A higher multiplier applied", _rule_id(rule)))
        else:
            amount = sum(lines[i].amount_q for i in part.lines)
            what = (
                "the order"
                if len(part.lines) == len(lines)
                else f"lines {', '.join(str(i + 1) for i in part.lines)}"
            )
            part.explanation += f"{what} ({format_amount(amount, program.currency)})"
            result.append(part)
    return result


def _bonuses(
    rules: list[LoyaltyRule],
    events: Collection[str],
    amount_q: int,
    currency: str,
    skipped: list[Skipped],
) -> list[Contribution]:
    found = []
    for rule in rules:
        if rule.event not in events:
            continue
        if amount_q < rule.min_order_q:
            minimum = format_amount(rule.min_order_q, currency)
            skipped.append(
                Skipped(rule.name, f"The order is below its minimum of {minimum}", _rule_id(rule))
            )
            continue
        label = rule.get_event_display().lower()
        found.append(
            Contribution(
                "rule", "bonus", rule.name, int(rule.points or 0), f"{label} bonus", _rule_id(rule)
            )
        )
    return found


def redemption_terms(
    *, program: LoyaltyProgram, rules: Sequence[LoyaltyRule], at: dt.datetime
) -> RedemptionTerms:
    """The redeem rate and minimum in force: the highest-priority redeem rule's, else the program's."""
    current = [
        r for r in rules if r.kind == RuleKind.REDEEM and r.is_active and not window_problem(r, at)
    ]
    if not current:
        return RedemptionTerms(
            points_per_unit=Decimal(program.redeem_points_per_unit),
            min_points=program.min_redeem_points,
        )
    rule = max(current, key=lambda r: (r.priority, r.created_at))
    return RedemptionTerms(
        points_per_unit=Decimal(rule.points_per_unit),
        min_points=rule.min_points,
        rule=_rule_id(rule),
        name=rule.name,
    )


def tier_for(tiers: Sequence[LoyaltyTier], qualifying_points: int) -> LoyaltyTier | None:
    """The highest tier whose threshold the points reach (tiers sorted by threshold)."""
    reached = None
    for tier in tiers:
        if qualifying_points >= tier.threshold:
            reached = tier
    return reached
