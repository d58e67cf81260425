"""Tiers: up and down at the boundaries, the multiplier in force at the time, presets, settings."""

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.utils import timezone

from rapport.events.models import OutboxEvent
from rapport.exceptions import InvalidInput
from rapport.loyalty.models import LoyaltyProgram
from rapport.loyalty.presets import PRESETS, TierSpec
from rapport.loyalty.services import LoyaltyProgramService, LoyaltyService, recalculate_tiers
from rapport.timeline.models import TimelineEvent
from tests.loyalty.helpers import account_of

pytestmark = pytest.mark.django_db


_references = itertools.count(1)


def earn(actor, points=None, **fields):
    """Ada earns `points`, or what an order's fields earn, under a new reference."""
    return LoyaltyService.earn_points(
        actor=actor, code="ADA-1", points=points, reference=f"order:{next(_references)}", **fields
    )


def tier_events() -> list[tuple[str, str]]:
    return [
        (e.data["old_tier"], e.data["new_tier"])
        for e in OutboxEvent.objects.filter(type="customer.tier_changed").order_by("id")
    ]


@pytest.mark.parametrize(
    ("preset", "tiers"),
    [
        (
            "guestman",
            [
                ("Bronze", 0, "1"),
                ("Silver", 500, "1"),
                ("Gold", 2000, "1"),
                ("Platinum", 5000, "1"),
            ],
        ),
        (
            "nigerian_retail",
            [
                ("Bronze", 0, "1"),
                ("Silver", 1000, "1.25"),
                ("Gold", 5000, "1.5"),
                ("Platinum", 10000, "2"),
            ],
        ),
        (
            "crm_service",
            [
                ("Bronze", 0, "1"),
                ("Silver", 1000, "1"),
                ("Gold", 5000, "1"),
                ("Platinum", 15000, "1"),
                ("Diamond", 50000, "1"),
            ],
        ),
    ],
)
def test_each_preset_reproduces_its_seed(configure, tenant, preset, tiers):
    program = configure(preset=preset)

    assert program.preset == preset
    assert [
        (t.name, t.threshold, t.multiplier) for t in LoyaltyProgramService.get_tiers(tenant=tenant)
    ] == [(name, threshold, Decimal(m)) for name, threshold, m in tiers]
    assert {p.key for p in LoyaltyProgramService.list_presets()} == set(PRESETS)


def test_tiers_go_up_exactly_at_the_thresholds(actor, ada):
    # Given the guestman tiers: Silver at 500 lifetime points
    earn(actor, 499)
    assert account_of(ada).tier == "Bronze"

    result = earn(actor, 1)

    assert result.account.tier == "Silver"
    assert result.tier_change.old_tier == "Bronze"
    assert (result.tier_change.new_tier, result.tier_change.qualifying_points) == ("Silver", 500)
    earn(actor, 1500)
    assert account_of(ada).tier == "Gold"
    assert tier_events() == [("Bronze", "Silver"), ("Silver", "Gold")]
    [line] = TimelineEvent.objects.filter(customer=ada, metadata__old_tier="Silver")
    assert line.title == "Loyalty tier changed from Silver to Gold"
    assert OutboxEvent.objects.filter(type="customer.tier_changed").last().data == {
        "code": "ADA-1",
        "account": str(account_of(ada).uuid),
        "old_tier": "Silver",
        "new_tier": "Gold",
        "direction": "up",
        "qualifying_points": 2000,
    }


def test_an_order_earns_by_the_tier_in_force_before_it(actor, ada, configure):
    # Given seed 004's tiers: Silver at 1,000 earns 1.25x
    configure(preset="nigerian_retail")

    crossing = earn(actor, amount_q=1_000_00)  # ₦1,000 at 1 point per naira, as Bronze
    after = earn(actor, amount_q=1_000_00)  # now Silver

    assert (crossing.transaction.points, crossing.transaction.tier) == (1000, "Bronze")
    assert crossing.account.tier == "Silver"
    assert (after.transaction.points, after.transaction.tier) == (1250, "Silver")
    assert after.transaction.detail["contributions"][-1] == {
        "source": "tier",
        "kind": "tier_multiplier",
        "name": "Silver",
        "points": 250,
        "explanation": "Silver tier earns 1.25x",
        "rule": None,
    }


def test_points_given_as_points_are_not_multiplied(actor, ada, configure):
    configure(preset="nigerian_retail")
    earn(actor, 5000)  # Gold

    result = earn(actor, 100)

    assert result.transaction.points == 100


def test_under_the_never_policy_a_refund_does_not_take_the_tier_away(actor, ada):
    first = earn(actor, 600)

    LoyaltyService.reverse_transaction(
        actor=actor, code="ADA-1", transaction_id=first.transaction.uuid, reference="refund:1"
    )

    account = account_of(ada)
    assert (account.lifetime_points, account.tier) == (0, "Silver")


def test_under_the_immediate_policy_a_refund_takes_the_tier_down(actor, ada, configure):
    configure(downgrade_policy="immediate")
    earn(actor, 400)
    second = earn(actor, 100)
    assert second.account.tier == "Silver"

    reversed_ = LoyaltyService.reverse_transaction(
        actor=actor,
        code="ADA-1",
        transaction_id=second.transaction.uuid,
        reference="refund:2",
        points=1,
    )

    assert reversed_.account.tier == "Bronze"  # 499 qualifying points, one short of Silver
    assert reversed_.tier_change.qualifying_points == 499
    event = OutboxEvent.objects.filter(type="customer.tier_changed").last()
    assert (event.data["old_tier"], event.data["new_tier"], event.data["direction"]) == (
        "Silver",
        "Bronze",
        "down",
    )


def test_a_rolling_window_lets_old_points_fall_out_and_the_tier_with_them(
    actor, ada, configure, tenant
):
    # Given a 12-month window, Silver earned with points from 11 months ago
    configure(qualification_window="rolling", qualification_months=12, downgrade_policy="immediate")
    now = timezone.now()
    earn(actor, 600, occurred_at=now - dt.timedelta(days=330))
    assert account_of(ada).tier == "Silver"

    # When the tiers are recalculated two months on, and a year on from then
    soon = recalculate_tiers(tenant=tenant, at=now + dt.timedelta(days=20))
    later = recalculate_tiers(tenant=tenant, at=now + dt.timedelta(days=60))

    # Then the tier holds while the points are in the window and drops when they leave it
    assert (soon.accounts, soon.changed) == (1, 0)
    assert (later.accounts, later.changed) == (1, 1)
    assert account_of(ada).tier == "Bronze"
    assert tier_events()[-1] == ("Silver", "Bronze")
    assert recalculate_tiers(tenant=tenant, at=now + dt.timedelta(days=60)).changed == 0


def test_a_refund_counts_in_the_window_of_the_order_it_refunds(actor, ada, configure):
    configure(qualification_window="rolling", qualification_months=1, downgrade_policy="immediate")
    now = timezone.now()
    old = earn(actor, 600, occurred_at=now - dt.timedelta(days=40))  # outside the window
    earn(actor, 500)

    LoyaltyService.reverse_transaction(
        actor=actor, code="ADA-1", transaction_id=old.transaction.uuid, reference="refund"
    )

    # The refund of the old order does not eat into this month's 500.
    assert account_of(ada).tier == "Silver"


def test_changing_the_tiers_moves_every_account(actor, ada, make_customer, configure):
    make_customer(code="BEN-2", first_name="Ben")
    earn(actor, 800)
    LoyaltyService.earn_points(actor=actor, code="BEN-2", points=100, reference="b")

    tiers = LoyaltyProgramService.set_tiers(
        actor=actor,
        tiers=[
            {"name": "Member", "threshold": 0},
            TierSpec(name="VIP", threshold=750, multiplier=Decimal("1.1")),
        ],
    )

    assert [(t.name, t.threshold) for t in tiers] == [("Member", 0), ("VIP", 750)]
    assert account_of(ada).tier == "VIP"  # Silver no longer exists
    assert LoyaltyService.get_account(tenant=ada.tenant, code="BEN-2").tier == "Member"
    assert ("Silver", "VIP") in tier_events() and ("Bronze", "Member") in tier_events()


@pytest.mark.parametrize(
    ("tiers", "fields"),
    [
        (
            [{"name": "A", "threshold": 10}],
            {"tiers": "The lowest tier's threshold must be 0, so every member has a tier"},
        ),
        (
            [{"name": "A", "threshold": 0}, {"name": "a", "threshold": 5}],
            {"tiers": "Tier names must differ"},
        ),
        (
            [{"name": "A", "threshold": 0}, {"name": "B", "threshold": 0}],
            {"tiers": "Tier thresholds must differ"},
        ),
        (
            [{"name": "A", "threshold": -1}],
            {"tiers[0].threshold": "Must be a whole number of at least 0"},
        ),
        (
            [{"name": "A", "threshold": 0, "multiplier": 0}],
            {"tiers[0].multiplier": "Must be more than 0"},
        ),
        ([{"name": "A", "threshold": 0, "colour": "red"}], {"tiers[0]": "Unknown fields: colour"}),
        ("Gold", {"tiers": "Must be a list of tiers"}),
    ],
)
def test_bad_tiers_are_refused_and_change_nothing(actor, tenant, tiers, fields):
    before = [(t.name, t.threshold) for t in LoyaltyProgramService.get_tiers(tenant=tenant)]

    with pytest.raises(InvalidInput) as raised:
        LoyaltyProgramService.set_tiers(actor=actor, tiers=tiers)

    assert raised.value.fields == fields
    assert [(t.name, t.threshold) for t in LoyaltyProgramService.get_tiers(tenant=tenant)] == before


@pytest.mark.parametrize(
    ("settings", "fields"),
    [
        ({"mode": "coins"}, {"mode": "Use one of points, stamps, both"}),
        ({"currency": "XYZ"}, {"currency": "'XYZ' is not an ISO 4217 currency code"}),
        ({"points_per_unit": -1}, {"points_per_unit": "Must be at least 0"}),
        ({"redeem_points_per_unit": 0}, {"redeem_points_per_unit": "Must be more than 0"}),
        ({"min_order_q": -5}, {"min_order_q": "Must be a whole number of at least 0"}),
        (
            {"qualification_window": "forever"},
            {"qualification_window": "Use one of lifetime, rolling"},
        ),
        ({"qualification_months": 0}, {"qualification_months": "Must be a positive whole number"}),
        ({"downgrade_policy": "sometimes"}, {"downgrade_policy": "Use one of never, immediate"}),
        (
            {"points_expire_after_days": 0},
            {"points_expire_after_days": "Must be a positive whole number"},
        ),
        ({"stamps_target": 0}, {"stamps_target": "Must be a positive whole number"}),
        ({"colour": "red"}, {"colour": "Not a program setting"}),
        ({"preset": "airline"}, {"preset": "Use one of guestman, nigerian_retail, crm_service"}),
    ],
)
def test_bad_program_settings_are_refused_with_their_field(configure, tenant, settings, fields):
    before = LoyaltyProgramService.get_program(tenant=tenant)

    with pytest.raises(InvalidInput) as raised:
        configure(**settings)

    assert raised.value.status == 422
    assert raised.value.fields == fields
    after = LoyaltyProgram.objects.get(pk=before.pk)
    assert (after.mode, after.currency, after.updated_at) == (
        before.mode,
        before.currency,
        before.updated_at,
    )


def test_settings_on_top_of_a_preset(configure):
    program = configure(preset="crm_service", currency="uah", points_expire_after_days=365)

    assert (program.preset, program.mode, program.currency) == ("crm_service", "points", "UAH")
    assert program.points_expire_after_days == 365
