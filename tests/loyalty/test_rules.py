"""The one rule evaluation: what each rule gives, why others were skipped, and rule checks."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from rapport.exceptions import InvalidInput, NotFound
from rapport.loyalty.models import LoyaltyAccount, LoyaltyRule
from rapport.loyalty.rules import OrderLine, evaluate
from rapport.loyalty.services import LoyaltyProgramService, LoyaltyService
from rapport.tenancy.actors import Actor

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 6, 1, 12, tzinfo=dt.UTC)


@pytest.fixture
def program(configure):
    # 1 point per naira, tiers of seed 004 with their multipliers.
    return configure(preset="nigerian_retail")


def rule(actor, **fields) -> LoyaltyRule:
    return LoyaltyProgramService.create_rule(actor=actor, **fields)


def explained(evaluation) -> list[tuple[str, str, int]]:
    return [(c.kind, c.name, c.points) for c in evaluation.contributions]


def test_the_programs_rate_alone(program):
    evaluation = evaluate(program=program, rules=[], tier=None, amount_q=1_234_56, at=NOW)

    assert evaluation.points == 1234  # ₦1,234.56 at 1 point per naira, rounded down
    assert explained(evaluation) == [("earn_rate", "program", 1234)]
    assert evaluation.contributions[0].explanation == "1 point per NGN on 1,234.56 NGN"


def test_the_highest_priority_earn_rule_sets_the_rate_and_says_so(actor, program):
    rule(actor, name="Base+", kind="earn", points_per_unit=2, priority=1)
    rule(
        actor, name="Big baskets", kind="earn", points_per_unit=3, priority=5, min_order_q=50_000_00
    )
    rules = list(LoyaltyRule.objects.all())

    small = evaluate(program=program, rules=rules, tier=None, amount_q=10_000_00, at=NOW)
    large = evaluate(program=program, rules=rules, tier=None, amount_q=60_000_00, at=NOW)

    assert explained(small) == [("earn_rate", "Base+", 20_000)]
    assert [(s.name, s.reason) for s in small.skipped] == [
        ("Big baskets", "The order is below its minimum of 50,000.00 NGN")
    ]
    assert explained(large) == [("earn_rate", "Big baskets", 180_000)]
    assert [(s.name, s.reason) for s in large.skipped] == [("Base+", "Big baskets sets the rate")]


def test_category_and_product_multipliers_apply_per_line_and_do_not_stack(actor, program):
    rule(actor, name="Pastry 2x", kind="multiplier", multiplier=2, categories=["pastry"])
    rule(actor, name="Croissant 3x", kind="multiplier", multiplier=3, products=["croissant"])
    rule(actor, name="Drinks 5x", kind="multiplier", multiplier=5, categories=["drinks"])
    lines = [
        OrderLine(amount_q=100_00, category="pastry", product="croissant"),  # 3x wins
        OrderLine(amount_q=50_00, category="pastry", product="bun"),  # 2x
        OrderLine(amount_q=30_00, category="bread"),  # no multiplier
    ]

    evaluation = evaluate(
        program=program,
        rules=list(LoyaltyRule.objects.all()),
        tier=None,
        amount_q=180_00,
        lines=lines,
        at=NOW,
    )

    assert explained(evaluation) == [
        ("earn_rate", "program", 180),
        ("multiplier", "Pastry 2x", 50),  # line 2: 50 more
        ("multiplier", "Croissant 3x", 200),  # line 1: 200 more
    ]
    assert evaluation.points == 430
    assert evaluation.contributions[2].explanation == "3x on lines 1 (100.00 NGN)"
    assert [(s.name, s.reason) for s in evaluation.skipped] == [
        ("Drinks 5x", "No line in its categories or products")
    ]


def test_the_tier_multiplier_scales_earned_points_but_not_fixed_bonuses(actor, program):
    rule(actor, name="Welcome order", kind="bonus", event="first_order", points=100)
    gold = program.tiers.get(name="Gold")

    evaluation = evaluate(
        program=program,
        rules=list(LoyaltyRule.objects.all()),
        tier=gold,
        amount_q=1_001_00,
        events=["first_order"],
        at=NOW,
    )

    assert explained(evaluation) == [
        ("earn_rate", "program", 1001),
        ("tier_multiplier", "Gold", 500),  # 1.5x of 1,001 is 1,501.5: 500 more, rounded down
        ("bonus", "Welcome order", 100),
    ]
    assert evaluation.points == 1601
    assert (evaluation.tier, evaluation.tier_multiplier) == ("Gold", Decimal("1.5"))


def test_whole_points_add_up_to_the_rounded_down_total(actor, program):
    rule(actor, name="Odd", kind="multiplier", multiplier="1.333")
    silver = program.tiers.get(name="Silver")

    evaluation = evaluate(
        program=program,
        rules=list(LoyaltyRule.objects.all()),
        tier=silver,
        amount_q=77_77,
        at=NOW,
    )

    exact = Decimal("77.77") * Decimal("1.333") * Decimal("1.25")
    assert evaluation.points == int(exact)  # 129
    assert sum(c.points for c in evaluation.contributions) == evaluation.points


def test_rules_outside_their_window_or_switched_off_do_not_apply(actor, program):
    rule(
        actor,
        name="Last month",
        kind="multiplier",
        multiplier=2,
        valid_from=NOW - dt.timedelta(days=40),
        valid_until=NOW - dt.timedelta(days=10),
    )
    rule(
        actor,
        name="Next month",
        kind="multiplier",
        multiplier=2,
        valid_from=NOW + dt.timedelta(days=10),
    )
    rule(actor, name="Paused", kind="multiplier", multiplier=2, is_active=False)
    rule(
        actor,
        name="This week",
        kind="multiplier",
        multiplier=2,
        valid_from=NOW - dt.timedelta(days=1),
        valid_until=NOW + dt.timedelta(days=6),
    )

    evaluation = evaluate(
        program=program,
        rules=list(LoyaltyRule.objects.all()),
        tier=None,
        amount_q=100_00,
        at=NOW,
    )

    assert explained(evaluation) == [
        ("earn_rate", "program", 100),
        ("multiplier", "This week", 100),
    ]
    reasons = {s.name: s.reason for s in evaluation.skipped}
    assert reasons["Last month"].startswith("Ended at 2025-05-22")
    assert reasons["Next month"].startswith("Not in force until 2025-06-11")
    assert "Paused" not in reasons


def test_the_programs_minimum_order_earns_nothing_below_it(program, configure):
    program = configure(min_order_q=5_000_00)

    below = evaluate(program=program, rules=[], tier=None, amount_q=4_999_99, at=NOW)
    at_it = evaluate(program=program, rules=[], tier=None, amount_q=5_000_00, at=NOW)

    assert below.points == 0
    assert [s.reason for s in below.skipped] == ["The order is below the minimum of 5,000.00 NGN"]
    assert at_it.points == 5000


def test_bonuses_follow_their_events(actor, ada, program):
    rule(actor, name="Welcome", kind="bonus", event="signup", points=50)
    rule(actor, name="Happy birthday", kind="bonus", event="birthday", points=200)
    rule(
        actor,
        name="First basket",
        kind="bonus",
        event="first_order",
        points=100,
        min_order_q=1_000_00,
    )

    enrolled = LoyaltyService.enroll(actor=actor, code="ADA-1")
    small = LoyaltyService.earn_points(actor=actor, code="ADA-1", amount_q=500_00, reference="o1")
    second = LoyaltyService.earn_points(
        actor=actor, code="ADA-1", amount_q=2_000_00, reference="o2"
    )
    birthday = LoyaltyService.award_bonus(actor=actor, code="ADA-1", event="birthday")
    birthday_again = LoyaltyService.award_bonus(actor=actor, code="ADA-1", event="birthday")

    enrolled.refresh_from_db()
    # The signup bonus came with enrolling; the first order was too small for its bonus, and
    # the second is no longer the first.
    assert enrolled.points_balance == 50 + 500 + 2000 + 200
    assert [s["reason"] for s in small.transaction.detail["skipped"]] == [
        "The order is below its minimum of 1,000.00 NGN"
    ]
    assert second.transaction.points == 2000
    year = timezone.localtime(timezone.now()).year
    assert birthday.transaction.reference == f"bonus:birthday:{year}"
    assert birthday_again.is_replay is True
    with pytest.raises(InvalidInput) as raised:
        LoyaltyService.award_bonus(actor=actor, code="ADA-1", event="referral", reference="BEN-2")
    assert raised.value.fields == {
        "event": "No bonus rule for this event is active and in its window"
    }


def test_preview_explains_an_order_without_writing(actor, ada, tenant, program):
    rule(actor, name="Pastry 2x", kind="multiplier", multiplier=2, categories=["pastry"])

    evaluation = LoyaltyService.preview_earning(
        tenant=tenant,
        code="ADA-1",
        amount_q=300_00,
        lines=[{"amount_q": 100_00, "category": "pastry"}, {"amount_q": 200_00}],
    )

    assert explained(evaluation) == [
        ("earn_rate", "program", 300),
        ("multiplier", "Pastry 2x", 100),
    ]
    assert not LoyaltyAccount.objects.exists()


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"name": "x", "kind": "gift"}, {"kind": "Use one of earn, multiplier, bonus, redeem"}),
        ({"name": " ", "kind": "earn", "points_per_unit": 1}, {"name": "Required"}),
        ({"name": "x", "kind": "earn"}, {"points_per_unit": "A earn rule needs one"}),
        (
            {"name": "x", "kind": "earn", "points_per_unit": -1},
            {"points_per_unit": "Must be at least 0"},
        ),
        (
            {"name": "x", "kind": "earn", "points_per_unit": 1, "categories": ["pastry"]},
            {"categories": "Only multiplier rules have one"},
        ),
        (
            {"name": "x", "kind": "bonus", "event": "wedding", "points": 5},
            {"event": "Use one of signup, birthday, referral, first_order"},
        ),
        (
            {"name": "x", "kind": "bonus", "event": "signup", "points": -5},
            {"points": "Must be a positive whole number"},
        ),
        (
            {"name": "x", "kind": "multiplier", "multiplier": "lots"},
            {"multiplier": "Must be a number"},
        ),
        (
            {"name": "x", "kind": "redeem", "points_per_unit": 0},
            {"points_per_unit": "Must be more than 0"},
        ),
        (
            {
                "name": "x",
                "kind": "multiplier",
                "multiplier": 2,
                "valid_from": NOW,
                "valid_until": NOW,
            },
            {"valid_until": "Must be after valid_from"},
        ),
        (
            {
                "name": "x",
                "kind": "multiplier",
                "multiplier": 2,
                "valid_from": dt.datetime(2025, 1, 1),
            },
            {"valid_from": "Must be a date and time with its UTC offset"},
        ),
    ],
)
def test_bad_rules_are_refused_with_the_fields_at_fault(actor, fields, errors):
    with pytest.raises(InvalidInput) as raised:
        LoyaltyProgramService.create_rule(actor=actor, **fields)

    assert raised.value.status == 422
    assert raised.value.fields == errors
    assert not LoyaltyRule.objects.exists()


def test_rules_are_updated_checked_whole_and_deleted(actor, tenant, other_tenant):
    created = rule(actor, name="Pastry", kind="multiplier", multiplier=2, categories=["pastry"])

    updated = LoyaltyProgramService.update_rule(actor=actor, rule_id=created.uuid, multiplier="2.5")
    with pytest.raises(InvalidInput) as raised:
        LoyaltyProgramService.update_rule(actor=actor, rule_id=created.uuid, points=5)
    changed_kind = LoyaltyProgramService.update_rule(
        actor=actor, rule_id=created.uuid, kind="earn", points_per_unit=2
    )

    assert updated.multiplier == Decimal("2.5")
    assert raised.value.fields == {"points": "Only bonus rules have one"}
    assert (changed_kind.kind, changed_kind.multiplier, changed_kind.categories) == (
        "earn",
        None,
        [],
    )
    other = Actor.for_system(other_tenant, "tests")
    with pytest.raises(NotFound):
        LoyaltyProgramService.update_rule(actor=other, rule_id=created.uuid, priority=2)
    with pytest.raises(NotFound):
        LoyaltyProgramService.delete_rule(actor=actor, rule_id="not-a-uuid")
    LoyaltyProgramService.delete_rule(actor=actor, rule_id=created.uuid)
    assert not LoyaltyRule.objects.exists()


def test_only_an_admin_or_the_system_changes_the_program_rules_or_balances(
    tenant, make_key, actor, ada, program
):
    from rapport.exceptions import PermissionDenied
    from rapport.loyalty.models import LoyaltyProgram, LoyaltyTransaction

    writer = Actor.for_api_key(make_key(tenant, ["write"], name="till")[0])
    before = (LoyaltyRule.objects.count(), LoyaltyTransaction.objects.count())
    name = LoyaltyProgram.objects.get(tenant=tenant).name

    attempts = [
        lambda: LoyaltyProgramService.configure_program(actor=writer, name="Mine"),
        lambda: LoyaltyProgramService.recalculate_tiers(actor=writer),
        lambda: LoyaltyProgramService.create_rule(
            actor=writer, name="Double", kind="earn", points_per_unit=2
        ),
        lambda: LoyaltyService.adjust_points(
            actor=writer, code=ada.code, points=500, description="Goodwill"
        ),
    ]
    for attempt in attempts:
        with pytest.raises(PermissionDenied):
            attempt()

    assert (LoyaltyRule.objects.count(), LoyaltyTransaction.objects.count()) == before
    assert LoyaltyProgram.objects.get(tenant=tenant).name == name
