"""LoyaltyProgramService: a tenant's program, its tiers and its rules.

A tenant has one program. It is made from the default preset the first time anything needs it,
and `configure_program` changes it: a preset, then terms and tiers on top. When what places an
account in a tier changes (tiers, the qualification window, the downgrade policy), every
account's tier is recalculated, with `customer.tier_changed` for each that moves.
"""

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import pycountry
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from rapport.exceptions import InvalidInput, NotFound
from rapport.loyalty import selectors
from rapport.loyalty.models import (
    BonusEvent,
    DowngradePolicy,
    LoyaltyProgram,
    LoyaltyRule,
    LoyaltyTier,
    Mode,
    QualificationWindow,
    RuleKind,
)
from rapport.loyalty.presets import PRESETS, Preset, TierSpec
from rapport.loyalty.services import inputs, ledger
from rapport.loyalty.services.tiers import TierRecalculation, recalculate_tiers
from rapport.tenancy.actors import Actor
from rapport.tenancy.models import Tenant

PROGRAM_TERMS = (
    "name",
    "mode",
    "currency",
    "points_per_unit",
    "min_order_q",
    "redeem_points_per_unit",
    "min_redeem_points",
    "qualification_window",
    "qualification_months",
    "downgrade_policy",
    "points_expire_after_days",
    "stamps_target",
    "stamp_reward",
    "stamp_reward_points",
)
# Changing these can move accounts between tiers.
TIER_TERMS = {"qualification_window", "qualification_months", "downgrade_policy"}
TIERS_LIMIT = 20
TIER_NAME_LIMIT = 50
MULTIPLIER_LIMIT = Decimal(100)
QUALIFICATION_MONTHS_LIMIT = 120
EXPIRY_DAYS_LIMIT = 36500
STAMPS_TARGET_LIMIT = 1000
PRIORITY_LIMIT = 10**6

RULE_FIELDS = (
    "name",
    "kind",
    "event",
    "points_per_unit",
    "multiplier",
    "points",
    "min_order_q",
    "min_points",
    "categories",
    "products",
    "valid_from",
    "valid_until",
    "priority",
    "is_active",
)
# What each kind of rule must have, and the fields no other kind may set.
RULE_REQUIRES = {
    RuleKind.EARN: {"points_per_unit"},
    RuleKind.MULTIPLIER: {"multiplier"},
    RuleKind.BONUS: {"event", "points"},
    RuleKind.REDEEM: {"points_per_unit"},
}
KIND_ONLY = {
    "event": {RuleKind.BONUS},
    "points": {RuleKind.BONUS},
    "multiplier": {RuleKind.MULTIPLIER},
    "points_per_unit": {RuleKind.EARN, RuleKind.REDEEM},
    "min_points": {RuleKind.REDEEM},
    "categories": {RuleKind.MULTIPLIER},
    "products": {RuleKind.MULTIPLIER},
    "min_order_q": {RuleKind.EARN, RuleKind.MULTIPLIER, RuleKind.BONUS},
}
EMPTY = (None, "", 0, [], ())


def _choice(errors: dict[str, str], name: str, value: Any, choices: list[str]) -> Any:
    if value not in choices:
        errors[name] = f"Use one of {', '.join(choices)}"
    return value


def clean_terms(terms: Mapping[str, Any]) -> dict[str, Any]:
    """The program terms checked and normalized; InvalidInput naming every field that is wrong."""
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    for name, value in terms.items():
        if name not in PROGRAM_TERMS:
            errors[name] = "Not a program setting"
        elif name == "name":
            cleaned[name] = inputs.text(errors, name, value, limit=100, required=True)
        elif name == "mode":
            cleaned[name] = _choice(errors, name, value, Mode.values)
        elif name == "currency":
            code = value.strip().upper() if isinstance(value, str) else ""
            if len(code) != 3 or pycountry.currencies.get(alpha_3=code) is None:
                errors[name] = f"{value!r} is not an ISO 4217 currency code"
            cleaned[name] = code
        elif name == "points_per_unit":
            cleaned[name] = inputs.decimal(errors, name, value)
        elif name == "redeem_points_per_unit":
            cleaned[name] = inputs.decimal(errors, name, value, inclusive=False)
        elif name == "qualification_window":
            cleaned[name] = _choice(errors, name, value, QualificationWindow.values)
        elif name == "downgrade_policy":
            cleaned[name] = _choice(errors, name, value, DowngradePolicy.values)
        elif name == "qualification_months":
            cleaned[name] = inputs.positive_whole(
                errors, name, value, limit=QUALIFICATION_MONTHS_LIMIT
            )
        elif name == "points_expire_after_days":
            cleaned[name] = (
                None
                if value is None
                else inputs.positive_whole(errors, name, value, limit=EXPIRY_DAYS_LIMIT)
            )
        elif name == "stamps_target":
            cleaned[name] = inputs.positive_whole(errors, name, value, limit=STAMPS_TARGET_LIMIT)
        elif name == "stamp_reward":
            cleaned[name] = inputs.text(errors, name, value, limit=200)
        else:  # min_order_q, min_redeem_points, stamp_reward_points
            cleaned[name] = inputs.whole_at_least(errors, name, value)
    if errors:
        raise InvalidInput("Some loyalty program settings are not valid", fields=errors)
    return cleaned


def clean_tiers(tiers: Any) -> list[TierSpec]:
    """Tiers as TierSpec, lowest first: unique names and thresholds, the lowest at 0."""
    errors: dict[str, str] = {}
    if isinstance(tiers, str | bytes | Mapping) or not isinstance(tiers, Sequence):
        raise InvalidInput("The tiers are not valid", fields={"tiers": "Must be a list of tiers"})
    if len(tiers) > TIERS_LIMIT:
        raise InvalidInput("The tiers are not valid", fields={"tiers": f"At most {TIERS_LIMIT}"})
    specs = []
    for index, tier in enumerate(tiers):
        where = f"tiers[{index}]"
        if isinstance(tier, Mapping):
            unknown = set(tier) - {"name", "threshold", "multiplier"}
            if unknown:
                errors[where] = f"Unknown fields: {', '.join(sorted(unknown))}"
                continue
            tier = TierSpec(
                name=tier.get("name"),
                threshold=tier.get("threshold"),
                multiplier=tier.get("multiplier", Decimal(1)),
            )
        if not isinstance(tier, TierSpec):
            errors[where] = "Must be a tier with a name, a threshold and a multiplier"
            continue
        name = inputs.text(errors, f"{where}.name", tier.name, limit=TIER_NAME_LIMIT, required=True)
        inputs.whole_at_least(errors, f"{where}.threshold", tier.threshold)
        multiplier = inputs.decimal(
            errors,
            f"{where}.multiplier",
            tier.multiplier,
            inclusive=False,
            maximum=MULTIPLIER_LIMIT,
            places=3,
        )
        specs.append(TierSpec(name=name, threshold=tier.threshold, multiplier=multiplier))
    if not errors and specs:
        names = [spec.name.casefold() for spec in specs]
        thresholds = [spec.threshold for spec in specs]
        if len(set(names)) != len(names):
            errors["tiers"] = "Tier names must differ"
        elif len(set(thresholds)) != len(thresholds):
            errors["tiers"] = "Tier thresholds must differ"
        elif min(thresholds) != 0:
            errors["tiers"] = "The lowest tier's threshold must be 0, so every member has a tier"
    if errors:
        raise InvalidInput("The tiers are not valid", fields=errors)
    return sorted(specs, key=lambda spec: spec.threshold)


def _replace_tiers(program: LoyaltyProgram, specs: Sequence[TierSpec]) -> None:
    LoyaltyTier.objects.filter(program=program).delete()
    LoyaltyTier.objects.bulk_create(
        LoyaltyTier(program=program, name=s.name, threshold=s.threshold, multiplier=s.multiplier)
        for s in specs
    )


def _tier_rows(program: LoyaltyProgram) -> list[tuple[str, int, Decimal]]:
    return [(t.name, t.threshold, Decimal(t.multiplier)) for t in selectors.tiers_of(program)]


# --- rules --------------------------------------------------------------------------------------


def _clean_rule(values: dict[str, Any]) -> dict[str, Any]:
    """A rule's fields checked together, as its kind needs them."""
    errors: dict[str, str] = {}
    kind = _choice(errors, "kind", values["kind"], RuleKind.values)
    cleaned: dict[str, Any] = {
        "name": inputs.text(errors, "name", values["name"], limit=100, required=True),
        "kind": kind,
    }
    if kind in RULE_REQUIRES:
        for name in sorted(RULE_REQUIRES[kind]):
            if values.get(name) in (None, ""):
                errors[name] = f"A {kind} rule needs one"
        for name, kinds in KIND_ONLY.items():
            if kind not in kinds and values.get(name) not in EMPTY:
                errors[name] = f"Only {' and '.join(sorted(kinds))} rules have one"
    if values.get("event") not in (None, ""):
        cleaned["event"] = _choice(errors, "event", values["event"], BonusEvent.values)
    if values.get("points") is not None:
        cleaned["points"] = inputs.positive_whole(errors, "points", values["points"])
    if values.get("points_per_unit") is not None:
        cleaned["points_per_unit"] = inputs.decimal(
            errors, "points_per_unit", values["points_per_unit"], inclusive=kind != RuleKind.REDEEM
        )
    if values.get("multiplier") is not None:
        cleaned["multiplier"] = inputs.decimal(
            errors, "multiplier", values["multiplier"], maximum=MULTIPLIER_LIMIT, places=3
        )
    for name in ("min_order_q", "min_points"):
        cleaned[name] = inputs.whole_at_least(errors, name, values.get(name) or 0)
    for name in ("categories", "products"):
        cleaned[name] = inputs.labels(errors, name, values.get(name))
    for name in ("valid_from", "valid_until"):
        value = values.get(name)
        if value is not None and (not isinstance(value, dt.datetime) or timezone.is_naive(value)):
            errors[name] = "Must be a date and time with its UTC offset"
        cleaned[name] = value
    if (
        "valid_from" not in errors
        and "valid_until" not in errors
        and cleaned["valid_from"] is not None
        and cleaned["valid_until"] is not None
        and cleaned["valid_until"] <= cleaned["valid_from"]
    ):
        errors["valid_until"] = "Must be after valid_from"
    priority = values.get("priority", 0)
    if not inputs.is_whole(priority) or abs(priority) > PRIORITY_LIMIT:
        errors["priority"] = (
            f"Must be a whole number between -{PRIORITY_LIMIT} and {PRIORITY_LIMIT}"
        )
    cleaned["priority"] = priority
    if not isinstance(values.get("is_active", True), bool):
        errors["is_active"] = "Must be true or false"
    cleaned["is_active"] = values.get("is_active", True)
    if errors:
        raise InvalidInput("The loyalty rule is not valid", fields=errors)
    cleaned.setdefault("event", "")
    cleaned.setdefault("points", None)
    cleaned.setdefault("points_per_unit", None)
    cleaned.setdefault("multiplier", None)
    return cleaned


def _rule_of(tenant: Tenant, rule_id: uuid.UUID | str) -> LoyaltyRule:
    try:
        key = uuid.UUID(str(rule_id))
    except ValueError:
        key = None
    rule = LoyaltyRule.objects.filter(tenant=tenant, uuid=key).first() if key else None
    if rule is None:
        raise NotFound("No loyalty rule with that id", fields={"rule_id": "Unknown"})
    return rule


class LoyaltyProgramService:
    """A tenant's loyalty program: its terms, presets, tiers and rules."""

    @staticmethod
    def get_program(*, tenant: Tenant) -> LoyaltyProgram:
        """The tenant's program, made from the default preset the first time it is asked for."""
        return ledger.program_for(tenant)

    @staticmethod
    def get_tiers(*, tenant: Tenant) -> list[LoyaltyTier]:
        """The program's tiers, lowest threshold first."""
        return selectors.tiers_of(ledger.program_for(tenant))

    @staticmethod
    def list_presets() -> list[Preset]:
        """The ready-made programs, one per seed scheme."""
        return list(PRESETS.values())

    @staticmethod
    def configure_program(
        *,
        actor: Actor,
        preset: str | None = None,
        tiers: Sequence[TierSpec | Mapping[str, Any]] | None = None,
        **terms: Any,
    ) -> LoyaltyProgram:
        """Change the program: a preset's terms and tiers first, then `terms` and `tiers` on top.

        Accounts are moved to the tiers the new settings give them, with their events.
        """
        actor.require_operator("change the loyalty program")
        if preset is not None and preset not in PRESETS:
            raise InvalidInput(
                "Unknown preset", fields={"preset": f"Use one of {', '.join(PRESETS)}"}
            )
        cleaned = clean_terms(terms)
        specs = clean_tiers(tiers) if tiers is not None else None
        with transaction.atomic():
            program = ledger.program_for(actor.tenant)
            program = LoyaltyProgram.objects.select_for_update().get(pk=program.pk)
            before = {name: getattr(program, name) for name in TIER_TERMS}
            tiers_before = _tier_rows(program)
            changes: dict[str, Any] = {}
            if preset is not None:
                changes.update(PRESETS[preset].terms)
                program.preset = preset
                specs = specs if specs is not None else list(PRESETS[preset].tiers)
            changes.update(cleaned)
            for name, value in changes.items():
                setattr(program, name, value)
            program.updated_at = timezone.now()
            program.save()
            if specs is not None:
                _replace_tiers(program, specs)
            moved = _tier_rows(program) != tiers_before or any(
                getattr(program, name) != value for name, value in before.items()
            )
        if moved:
            recalculate_tiers(tenant=actor.tenant, actor=actor)
        program.refresh_from_db()
        return program

    @staticmethod
    def set_tiers(
        *, actor: Actor, tiers: Sequence[TierSpec | Mapping[str, Any]]
    ) -> list[LoyaltyTier]:
        """Replace the program's tiers and move every account to the tier it now qualifies for."""
        actor.require_operator("change the loyalty tiers")
        LoyaltyProgramService.configure_program(actor=actor, tiers=tiers)
        return LoyaltyProgramService.get_tiers(tenant=actor.tenant)

    @staticmethod
    def recalculate_tiers(*, actor: Actor, at: dt.datetime | None = None) -> TierRecalculation:
        """Put every account in the tier it qualifies for now (rolling windows move with time)."""
        actor.require_operator("recalculate loyalty tiers")
        return recalculate_tiers(tenant=actor.tenant, actor=actor, at=at)

    # --- rules ------------------------------------------------------------------------------

    @staticmethod
    def create_rule(
        *,
        actor: Actor,
        name: str,
        kind: str,
        event: str = "",
        points_per_unit: Decimal | int | str | None = None,
        multiplier: Decimal | int | str | None = None,
        points: int | None = None,
        min_order_q: int = 0,
        min_points: int = 0,
        categories: Sequence[str] = (),
        products: Sequence[str] = (),
        valid_from: dt.datetime | None = None,
        valid_until: dt.datetime | None = None,
        priority: int = 0,
        is_active: bool = True,
    ) -> LoyaltyRule:
        """Add a rule: an earn rate, a multiplier, a bonus on an event, or a redeem rate."""
        actor.require_operator("change loyalty rules")
        values = {name: value for name, value in locals().items() if name in RULE_FIELDS}
        cleaned = _clean_rule(values)
        program = ledger.program_for(actor.tenant)
        now = timezone.now()
        return LoyaltyRule.objects.create(
            tenant=actor.tenant, program=program, created_at=now, updated_at=now, **cleaned
        )

    @staticmethod
    def update_rule(*, actor: Actor, rule_id: uuid.UUID | str, **changes: Any) -> LoyaltyRule:
        """Change some of a rule's fields; the rule is checked whole afterwards."""
        actor.require_operator("change loyalty rules")
        unknown = set(changes) - set(RULE_FIELDS)
        if unknown:
            raise InvalidInput(
                "Some rule fields are unknown",
                fields=dict.fromkeys(sorted(unknown), "Not a rule field"),
            )
        with transaction.atomic():
            rule = _rule_of(actor.tenant, rule_id)
            rule = LoyaltyRule.objects.select_for_update().get(pk=rule.pk)
            values = {name: getattr(rule, name) for name in RULE_FIELDS}
            if "kind" in changes and changes["kind"] != rule.kind:
                # A new kind starts from that kind's fields only.
                values.update({name: None for name in KIND_ONLY} | {"event": ""})
            values.update(changes)
            for name, value in _clean_rule(values).items():
                setattr(rule, name, value)
            rule.updated_at = timezone.now()
            rule.save()
        return rule

    @staticmethod
    def delete_rule(*, actor: Actor, rule_id: uuid.UUID | str) -> None:
        """Remove a rule; entries it contributed to keep its name and id in their detail."""
        actor.require_operator("change loyalty rules")
        _rule_of(actor.tenant, rule_id).delete()

    @staticmethod
    def get_rule(*, tenant: Tenant, rule_id: uuid.UUID | str) -> LoyaltyRule:
        """One of the tenant's rules; NotFound otherwise (also for other tenants)."""
        return _rule_of(tenant, rule_id)

    @staticmethod
    def list_rules(*, tenant: Tenant, kind: str | None = None) -> QuerySet[LoyaltyRule]:
        """The program's rules by kind, highest priority first."""
        if kind is not None and kind not in RuleKind.values:
            raise InvalidInput(
                "Unknown rule kind", fields={"kind": f"Use one of {', '.join(RuleKind.values)}"}
            )
        return selectors.rules_of(ledger.program_for(tenant), kind=kind)
