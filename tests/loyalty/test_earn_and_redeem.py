"""LoyaltyService: enrolling, earning, redeeming, replays, and what bad input is refused."""

import datetime as dt

import pytest
from django.utils import timezone

from rapport.events.models import OutboxEvent
from rapport.exceptions import InvalidInput, NotFound
from rapport.loyalty.exceptions import InsufficientPoints, NotEnrolled
from rapport.loyalty.models import LoyaltyAccount, LoyaltyProgram, LoyaltyTransaction
from rapport.loyalty.services import LoyaltyProgramService, LoyaltyService
from rapport.timeline.models import TimelineEvent
from tests.loyalty.helpers import account_of, assert_ledger_adds_up

pytestmark = pytest.mark.django_db


def counts() -> dict:
    return {
        "accounts": LoyaltyAccount.objects.count(),
        "entries": LoyaltyTransaction.objects.count(),
        "events": OutboxEvent.objects.count(),
        "timeline": TimelineEvent.objects.filter(event_type="loyalty").count(),
    }


def test_the_program_is_made_from_the_guestman_preset_on_first_use(tenant):
    assert not LoyaltyProgram.objects.filter(tenant=tenant).exists()

    program = LoyaltyProgramService.get_program(tenant=tenant)

    assert (program.preset, program.mode, program.currency) == ("guestman", "both", "NGN")
    assert [(t.name, t.threshold) for t in LoyaltyProgramService.get_tiers(tenant=tenant)] == [
        ("Bronze", 0),
        ("Silver", 500),
        ("Gold", 2000),
        ("Platinum", 5000),
    ]
    assert LoyaltyProgramService.get_program(tenant=tenant).pk == program.pk


def test_enroll_is_idempotent_and_starts_in_the_lowest_tier(actor, ada):
    first = LoyaltyService.enroll(actor=actor, code="ADA-1")
    again = LoyaltyService.enroll(actor=actor, code="ADA-1")

    assert first.pk == again.pk
    assert LoyaltyAccount.objects.filter(customer=ada).count() == 1
    assert (first.points_balance, first.tier, first.stamps_target) == (0, "Bronze", 10)
    assert OutboxEvent.objects.filter(type="loyalty.enrolled").count() == 1
    assert (
        TimelineEvent.objects.filter(customer=ada, metadata__kind="loyalty_enrolled").count() == 1
    )


def test_earning_points_writes_the_entry_its_event_and_its_timeline_line(actor, ada):
    result = LoyaltyService.earn_points(
        actor=actor, code="ADA-1", points=120, reference="order:1", description="Cake"
    )

    entry = result.transaction
    assert (entry.transaction_type, entry.points, entry.balance_after) == ("earn", 120, 120)
    assert (entry.reference, entry.description, entry.tier) == ("order:1", "Cake", "Bronze")
    assert (result.account.points_balance, result.account.lifetime_points) == (120, 120)
    assert result.is_replay is False
    [event] = OutboxEvent.objects.filter(type="loyalty.points_earned")
    assert event.data["code"] == "ADA-1"
    assert (event.data["points"], event.data["balance_after"]) == (120, 120)
    assert event.data["transaction"] == str(entry.uuid)
    assert "Cake" not in str(event.data)  # free text stays out of events
    [line] = TimelineEvent.objects.filter(customer=ada, metadata__kind="loyalty_points_earned")
    assert (line.event_type, line.title) == ("loyalty", "Earned 120 points")
    assert_ledger_adds_up(result.account)


def test_an_order_earns_by_the_rules_and_the_entry_explains_how(actor, ada, configure):
    configure(preset="nigerian_retail", points_per_unit="0.01")  # 1 point per ₦100

    result = LoyaltyService.earn_points(
        actor=actor, code="ADA-1", amount_q=1_250_000, reference="order:7", currency="NGN"
    )

    entry = result.transaction
    assert (entry.points, entry.order_amount_q, entry.currency) == (125, 1_250_000, "NGN")
    [rate] = entry.detail["contributions"]
    assert (rate["kind"], rate["points"]) == ("earn_rate", 125)
    assert rate["explanation"] == "0.01 points per NGN on 12,500.00 NGN"


def test_a_replayed_reference_awards_once_and_returns_the_first_entry(actor, ada):
    first = LoyaltyService.earn_points(actor=actor, code="ADA-1", points=50, reference="r-1")
    before = counts()

    again = LoyaltyService.earn_points(actor=actor, code="ADA-1", points=70, reference="r-1")

    assert again.is_replay is True
    assert again.transaction.pk == first.transaction.pk
    assert again.transaction.points == 50
    assert counts() == before
    assert account_of(ada).points_balance == 50


def test_a_replayed_redemption_returns_the_first_even_when_the_balance_is_gone(actor, ada):
    LoyaltyService.earn_points(actor=actor, code="ADA-1", points=100, reference="e")
    first = LoyaltyService.redeem_points(actor=actor, code="ADA-1", points=100, reference="pos:1")
    before = counts()

    again = LoyaltyService.redeem_points(actor=actor, code="ADA-1", points=100, reference="pos:1")

    assert (again.is_replay, again.transaction.pk) == (True, first.transaction.pk)
    assert counts() == before
    assert account_of(ada).points_balance == 0


def test_the_same_reference_on_another_kind_of_entry_is_another_entry(actor, ada):
    LoyaltyService.earn_points(actor=actor, code="ADA-1", points=50, reference="order:1")

    redeemed = LoyaltyService.redeem_points(
        actor=actor, code="ADA-1", points=20, reference="order:1"
    )

    assert redeemed.is_replay is False
    assert account_of(ada).points_balance == 30


def test_redeeming_spends_points_and_says_what_they_were_worth(actor, ada):
    LoyaltyService.earn_points(actor=actor, code="ADA-1", points=1000, reference="e")

    result = LoyaltyService.redeem_points(actor=actor, code="ADA-1", points=400, reference="pos:9")

    entry = result.transaction
    assert (entry.points, entry.balance_after) == (-400, 600)
    # 100 points per naira by default: 400 points are ₦4.00, 400 kobo.
    assert (entry.value_q, entry.currency) == (400, "NGN")
    [line] = TimelineEvent.objects.filter(metadata__kind="loyalty_points_redeemed")
    assert line.title == "Redeemed 400 points worth 4.00 NGN"
    assert OutboxEvent.objects.get(type="loyalty.points_redeemed").data["value_q"] == 400
    assert_ledger_adds_up(result.account)


def test_a_redemption_beyond_the_balance_is_refused_and_writes_nothing(actor, ada):
    LoyaltyService.earn_points(actor=actor, code="ADA-1", points=100, reference="e")
    before = counts()

    with pytest.raises(InsufficientPoints) as raised:
        LoyaltyService.redeem_points(actor=actor, code="ADA-1", points=101, reference="r")

    assert (raised.value.status, raised.value.code) == (409, "insufficient_points")
    assert raised.value.fields == {"points": "At most 100 points are available"}
    assert counts() == before


def test_a_redemption_below_the_minimum_is_refused(actor, ada, configure):
    configure(min_redeem_points=500)
    LoyaltyService.earn_points(actor=actor, code="ADA-1", points=1000, reference="e")

    with pytest.raises(InvalidInput) as raised:
        LoyaltyService.redeem_points(actor=actor, code="ADA-1", points=499, reference="r")

    assert raised.value.status == 422
    assert raised.value.fields == {"points": "At least 500 points at a time"}
    assert account_of(ada).points_balance == 1000


def test_a_redeem_rule_in_force_sets_the_rate_and_the_minimum(actor, ada):
    now = timezone.now()
    LoyaltyProgramService.create_rule(
        actor=actor,
        name="Double value week",
        kind="redeem",
        points_per_unit=50,
        min_points=200,
        valid_from=now - dt.timedelta(days=1),
        valid_until=now + dt.timedelta(days=6),
    )
    LoyaltyService.earn_points(actor=actor, code="ADA-1", points=1000, reference="e")

    with pytest.raises(InvalidInput):
        LoyaltyService.redeem_points(actor=actor, code="ADA-1", points=100, reference="small")
    result = LoyaltyService.redeem_points(actor=actor, code="ADA-1", points=200, reference="r")

    assert result.transaction.value_q == 400  # 200 points at 50 per naira: ₦4.00
    assert result.transaction.detail["redemption"]["name"] == "Double value week"


@pytest.mark.parametrize(
    ("arguments", "fields"),
    [
        ({"points": -5}, {"points": "Must be a positive whole number"}),
        ({"points": 0}, {"points": "Must be a positive whole number"}),
        ({"points": 2.5}, {"points": "Must be a positive whole number"}),
        ({"points": True}, {"points": "Must be a positive whole number"}),
        ({"amount_q": -100}, {"amount_q": "Must be a positive whole number"}),
        ({}, {"points": "Give either points or an order amount_q"}),
        ({"points": 5, "amount_q": 500}, {"points": "Give either points or an order amount_q"}),
        ({"points": 5, "reference": " "}, {"reference": "Required"}),
        ({"points": 5, "description": "x" * 201}, {"description": "At most 200 characters"}),
        (
            {"amount_q": 500, "lines": [{"amount_q": 200}]},
            {"lines": "The lines add up to 200, not amount_q 500"},
        ),
        (
            {"amount_q": 500, "lines": [{"amount_q": -1}]},
            {"lines[0].amount_q": "Must be a whole number of at least 0"},
        ),
        (
            {"points": 5, "occurred_at": timezone.now() + dt.timedelta(days=1)},
            {"occurred_at": "Is in the future"},
        ),
        (
            {"points": 5, "occurred_at": dt.datetime(2024, 1, 1)},
            {"occurred_at": "Must be a date and time with its UTC offset"},
        ),
    ],
)
def test_bad_earnings_are_refused_with_the_field_at_fault(actor, ada, arguments, fields):
    arguments = {"reference": "order:1", **arguments}

    with pytest.raises(InvalidInput) as raised:
        LoyaltyService.earn_points(actor=actor, code="ADA-1", **arguments)

    assert raised.value.status == 422
    assert raised.value.fields == fields
    assert counts()["entries"] == 0
    assert not LoyaltyAccount.objects.exists()


def test_an_order_in_another_currency_is_refused(actor, ada):
    with pytest.raises(InvalidInput) as raised:
        LoyaltyService.earn_points(
            actor=actor, code="ADA-1", amount_q=500, currency="USD", reference="o"
        )

    assert raised.value.fields == {"currency": "The program counts in NGN"}
    assert not LoyaltyAccount.objects.exists()


def test_an_unknown_customer_is_not_found_and_another_tenants_customer_too(
    actor, make_customer, other_tenant
):
    make_customer(code="ELSEWHERE", first_name="Other", tenant=other_tenant)

    for code in ("NOBODY", "ELSEWHERE"):
        with pytest.raises(NotFound) as raised:
            LoyaltyService.earn_points(actor=actor, code=code, points=5, reference="o")
        assert raised.value.status == 404
        assert raised.value.fields == {"code": "Unknown customer"}
    assert not LoyaltyAccount.objects.exists()


def test_reads_of_a_customer_who_is_not_enrolled(actor, ada, tenant):
    assert LoyaltyService.get_balance(tenant=tenant, code="ADA-1") == 0
    assert list(LoyaltyService.get_transactions(tenant=tenant, code="ADA-1")) == []
    with pytest.raises(NotEnrolled) as raised:
        LoyaltyService.get_account(tenant=tenant, code="ADA-1")
    assert (raised.value.status, raised.value.code) == (404, "not_enrolled")
    with pytest.raises(NotEnrolled):
        LoyaltyService.redeem_points(actor=actor, code="ADA-1", points=1, reference="r")


def test_a_stamps_only_program_refuses_points(actor, ada, configure):
    configure(mode="stamps")

    with pytest.raises(InvalidInput) as raised:
        LoyaltyService.earn_points(actor=actor, code="ADA-1", points=5, reference="o")

    assert raised.value.fields == {"points": "The loyalty program keeps no points"}


def test_get_transactions_lists_the_ledger_newest_first_and_filters_by_type(actor, ada, tenant):
    LoyaltyService.earn_points(actor=actor, code="ADA-1", points=100, reference="a")
    LoyaltyService.redeem_points(actor=actor, code="ADA-1", points=30, reference="b")
    LoyaltyService.earn_points(actor=actor, code="ADA-1", points=5, reference="c")

    entries = LoyaltyService.get_transactions(tenant=tenant, code="ADA-1")
    earns = LoyaltyService.get_transactions(tenant=tenant, code="ADA-1", transaction_type="earn")

    assert [e.reference for e in entries] == ["c", "b", "a"]
    assert [e.reference for e in earns] == ["c", "a"]
    with pytest.raises(InvalidInput) as raised:
        LoyaltyService.get_transactions(tenant=tenant, code="ADA-1", transaction_type="gift")
    assert "transaction_type" in raised.value.fields


def test_adjustments_correct_a_balance_without_counting_toward_tiers(actor, ada):
    LoyaltyService.earn_points(actor=actor, code="ADA-1", points=100, reference="a")

    up = LoyaltyService.adjust_points(actor=actor, code="ADA-1", points=900, description="Goodwill")
    with pytest.raises(InsufficientPoints):
        LoyaltyService.adjust_points(actor=actor, code="ADA-1", points=-1001, description="x")
    with pytest.raises(InvalidInput) as raised:
        LoyaltyService.adjust_points(actor=actor, code="ADA-1", points=5, description=" ")

    assert raised.value.fields == {"description": "Required"}
    assert (up.account.points_balance, up.account.lifetime_points) == (1000, 100)
    assert up.account.tier == "Bronze"  # 1,000 points, but only 100 earned
    assert_ledger_adds_up(up.account)


def test_a_merged_code_reaches_the_survivors_account(actor, make_customer, tenant):
    from rapport.identity.services import MergeService

    make_customer(code="KEEP", first_name="Ada", email="ada@example.com")
    make_customer(code="DUP", first_name="Ada", email="ada@example.com")
    MergeService.merge(actor=actor, survivor="KEEP", duplicate="DUP")

    result = LoyaltyService.earn_points(actor=actor, code="DUP", points=10, reference="o")

    assert result.account.customer.code == "KEEP"
    assert LoyaltyService.get_balance(tenant=tenant, code="KEEP") == 10


def test_the_summary_shows_tier_progress_totals_and_recent_entries(actor, ada, tenant):
    LoyaltyService.earn_points(actor=actor, code="ADA-1", points=700, reference="a")
    LoyaltyService.redeem_points(actor=actor, code="ADA-1", points=200, reference="b")

    summary = LoyaltyService.get_summary(tenant=tenant, code="ADA-1")

    assert (summary.points_balance, summary.lifetime_points, summary.tier) == (500, 700, "Silver")
    assert (summary.next_tier, summary.points_to_next_tier) == ("Gold", 1300)
    assert (summary.points_earned_total, summary.points_redeemed_total) == (700, 200)
    assert summary.balance_value_q == 500  # 500 points at 100 per naira: ₦5.00
    assert [e.reference for e in summary.recent_transactions] == ["b", "a"]
    assert (summary.points_expiring_soon, summary.expiring_soon_until) == (0, None)
