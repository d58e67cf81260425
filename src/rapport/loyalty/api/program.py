"""The tenant's loyalty program: its terms and tiers, presets, rules, previews and expiry."""

from uuid import UUID

from ninja import Query, Router, Status

from rapport.exceptions import InvalidInput
from rapport.loyalty.api.schemas import (
    EvaluationOut,
    ExpireIn,
    ExpiryRunOut,
    LoyaltyProgramIn,
    LoyaltyProgramOut,
    LoyaltyProgramPatch,
    LoyaltyRuleIn,
    LoyaltyRuleOut,
    LoyaltyRulePatch,
    PresetOut,
    PreviewIn,
    RuleQuery,
)
from rapport.loyalty.services import LoyaltyProgramService, LoyaltyService, expire_points
from rapport.schemas import WRITE_ERRORS, responses
from rapport.tenancy.api import ADMIN, READ, actor_of

router = Router(tags=["loyalty"], auth=READ)

# Settings that a program always has: null cannot clear them.
NULLABLE_TERMS = {"points_expire_after_days"}


def _changes(payload) -> dict:
    """The settings sent, refusing a null for one that cannot be empty."""
    changes = payload.model_dump(exclude_unset=True)
    cleared = sorted(
        name for name, value in changes.items() if value is None and name not in NULLABLE_TERMS
    )
    if cleared:
        raise InvalidInput(
            "Loyalty program settings cannot be cleared", fields=dict.fromkeys(cleared, "Required")
        )
    return changes


@router.get("/loyalty/program", response=responses({200: LoyaltyProgramOut}))
def get_program(request):
    """The tenant's loyalty program with its tiers (made from the default preset if new)."""
    return LoyaltyProgramService.get_program(tenant=actor_of(request).tenant)


@router.post(
    "/loyalty/program/initialize",
    response=responses({200: LoyaltyProgramOut}, *WRITE_ERRORS),
    auth=ADMIN,
)
def initialize_program(request, payload: LoyaltyProgramIn):
    """Set the program up from a preset, with any settings and tiers sent on top of it."""
    return LoyaltyProgramService.configure_program(actor=actor_of(request), **_changes(payload))


@router.patch("/loyalty/program", response=responses({200: LoyaltyProgramOut}, 400), auth=ADMIN)
def update_program(request, payload: LoyaltyProgramPatch):
    """Change the settings sent; accounts move to the tiers the new settings give them."""
    return LoyaltyProgramService.configure_program(actor=actor_of(request), **_changes(payload))


@router.get("/loyalty/presets", response=responses({200: list[PresetOut]}))
def list_presets(request):
    """The ready-made programs, one per scheme the seeds describe, with their tiers."""
    return LoyaltyProgramService.list_presets()


@router.get("/loyalty/rules", response=responses({200: list[LoyaltyRuleOut]}))
def list_rules(request, query: Query[RuleQuery]):
    """The program's rules by kind, highest priority first; filter with `?kind=`."""
    return list(LoyaltyProgramService.list_rules(tenant=actor_of(request).tenant, kind=query.kind))


@router.post("/loyalty/rules", response=responses({201: LoyaltyRuleOut}, *WRITE_ERRORS), auth=ADMIN)
def create_rule(request, payload: LoyaltyRuleIn):
    """Add a rule: an earn rate, a multiplier, a bonus on an event, or a redeem rate."""
    actor = actor_of(request)
    rule = LoyaltyProgramService.create_rule(actor=actor, **payload.model_dump())
    return Status(201, LoyaltyProgramService.get_rule(tenant=actor.tenant, rule_id=rule.uuid))


@router.get("/loyalty/rules/{rule_id}", response=responses({200: LoyaltyRuleOut}, 404))
def get_rule(request, rule_id: UUID):
    """One rule of the program."""
    return LoyaltyProgramService.get_rule(tenant=actor_of(request).tenant, rule_id=rule_id)


@router.patch(
    "/loyalty/rules/{rule_id}", response=responses({200: LoyaltyRuleOut}, 400, 404), auth=ADMIN
)
def update_rule(request, rule_id: UUID, payload: LoyaltyRulePatch):
    """Change the fields sent; the rule is checked whole afterwards."""
    actor = actor_of(request)
    LoyaltyProgramService.update_rule(
        actor=actor, rule_id=rule_id, **payload.model_dump(exclude_unset=True)
    )
    # Read back, so decimals come out as stored (2.000), as every other read shows them.
    return LoyaltyProgramService.get_rule(tenant=actor.tenant, rule_id=rule_id)


@router.delete("/loyalty/rules/{rule_id}", response=responses({204: None}, 404), auth=ADMIN)
def delete_rule(request, rule_id: UUID):
    """Remove a rule; entries it gave points to keep its name and id in their detail."""
    LoyaltyProgramService.delete_rule(actor=actor_of(request), rule_id=rule_id)
    return Status(204, None)


@router.post("/loyalty/preview", response=responses({200: EvaluationOut}, 404, *WRITE_ERRORS))
def preview_earning(request, payload: PreviewIn):
    """What an order would earn and why, rule by rule; nothing is written."""
    lines = None if payload.lines is None else [line.model_dump() for line in payload.lines]
    return LoyaltyService.preview_earning(
        tenant=actor_of(request).tenant,
        code=payload.code,
        amount_q=payload.amount_q,
        lines=lines,
        at=payload.at,
    )


@router.post("/loyalty/expire", response=responses({200: ExpiryRunOut}, *WRITE_ERRORS), auth=ADMIN)
def expire_points_now(request, payload: ExpireIn):
    """Write off the points that expired by `at` (default now), oldest first; safe to repeat."""
    actor = actor_of(request)
    return expire_points(tenant=actor.tenant, at=payload.at, actor=actor)
