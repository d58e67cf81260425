"""Stamp cards (completion, reset, reward, overflow) and reversals of earns and redeems."""

import pytest

from rapport.events.models import OutboxEvent
from rapport.exceptions import InvalidInput, NotFound
from rapport.loyalty.exceptions import AlreadyReversed
from rapport.loyalty.models import LoyaltyTransaction
from rapport.loyalty.services import LoyaltyService
from rapport.timeline.models import TimelineEvent
from tests.loyalty.helpers import account_of, assert_ledger_adds_up

pytestmark = pytest.mark.django_db


@pytest.fixture
def coffee_card(configure):
    return configure(stamps_target=3, stamp_reward="A free coffee", stamp_reward_points=50)


def stamp(actor, reference, count=1):
    return LoyaltyService.add_stamp(actor=actor, code="ADA-1", reference=reference, count=count)


# --- stamps ---------------------------------------------------------------------------------


def test_filling_a_card_completes_it_resets_it_and_issues_the_reward(actor, ada, coffee_card):
    stamp(actor, "visit:1")
    stamp(actor, "visit:2")
    assert account_of(ada).stamps_current == 2

    result = stamp(actor, "visit:3")

    account = result.account
    assert (account.stamps_current, account.stamps_completed, account.stamps_target) == (0, 1, 3)
    entry = result.transaction
    assert (entry.transaction_type, entry.stamps, entry.stamps_after) == ("stamp", 1, 0)
    assert (entry.cards_completed, entry.detail["reward"]) == (1, "A free coffee")
    [reward] = result.rewards
    assert (reward.transaction_type, reward.points, reward.detail["card"]) == ("earn", 50, 1)
    assert account.points_balance == 50
    [completed] = OutboxEvent.objects.filter(type="loyalty.stamp_card_completed")
    assert (completed.data["card"], completed.data["reward"]) == (1, "A free coffee")
    assert completed.data["reward_points"] == 50
    [line] = TimelineEvent.objects.filter(metadata__kind="loyalty_stamp_card_completed")
    assert line.title == "Completed stamp card 1: A free coffee (+50 points)"
    assert OutboxEvent.objects.filter(type="loyalty.stamps_added").count() == 3
    assert_ledger_adds_up(account)


def test_stamps_beyond_a_card_carry_into_the_next(actor, ada, coffee_card):
    stamp(actor, "visit:1", count=2)

    result = stamp(actor, "group:1", count=5)  # 7 stamps: two full cards and one over

    assert (result.account.stamps_current, result.account.stamps_completed) == (1, 2)
    assert result.transaction.detail["cards"] == [1, 2]
    assert [r.detail["card"] for r in result.rewards] == [1, 2]
    assert result.account.points_balance == 100


def test_a_new_card_takes_the_programs_current_target(actor, ada, coffee_card, configure):
    stamp(actor, "visit:1")
    configure(stamps_target=5)

    assert account_of(ada).stamps_target == 3  # the card in hand keeps its target
    result = stamp(actor, "visit:2", count=3)

    assert (result.account.stamps_current, result.account.stamps_target) == (1, 5)


def test_a_replayed_stamp_returns_the_first_result_with_its_rewards(actor, ada, coffee_card):
    first = stamp(actor, "visit:1", count=3)
    before = LoyaltyTransaction.objects.count()

    again = stamp(actor, "visit:1", count=3)

    assert again.is_replay is True
    assert again.transaction.pk == first.transaction.pk
    assert [r.pk for r in again.rewards] == [r.pk for r in first.rewards]
    assert LoyaltyTransaction.objects.count() == before
    assert account_of(ada).stamps_completed == 1


def test_a_points_only_program_keeps_no_stamps(actor, ada, configure):
    configure(mode="points")

    with pytest.raises(InvalidInput) as raised:
        stamp(actor, "visit:1")

    assert raised.value.fields == {"count": "The loyalty program keeps no stamp cards"}


@pytest.mark.parametrize(
    ("count", "message"), [(0, "Must be a positive whole number"), (101, "At most 100")]
)
def test_a_bad_stamp_count_is_refused(actor, ada, count, message):
    with pytest.raises(InvalidInput) as raised:
        stamp(actor, "visit:1", count=count)

    assert raised.value.fields == {"count": message}


# --- reversals ------------------------------------------------------------------------------


def reverse(actor, entry, reference, **fields):
    return LoyaltyService.reverse_transaction(
        actor=actor, code="ADA-1", transaction_id=entry.uuid, reference=reference, **fields
    )


def test_reversing_an_earn_takes_the_points_and_the_lifetime_points_back(actor, ada):
    earned = LoyaltyService.earn_points(actor=actor, code="ADA-1", points=300, reference="o1")

    result = reverse(actor, earned.transaction, "refund:1")

    entry = result.transaction
    assert (entry.transaction_type, entry.points, entry.qualifying_points) == (
        "reverse",
        -300,
        -300,
    )
    assert entry.reverses_id == earned.transaction.pk
    assert (result.account.points_balance, result.account.lifetime_points) == (0, 0)
    event = OutboxEvent.objects.get(type="loyalty.points_reversed")
    assert (event.data["reversed_type"], event.data["reversed_points"]) == ("earn", 300)
    assert_ledger_adds_up(result.account)


def test_a_partial_refund_then_the_rest(actor, ada):
    earned = LoyaltyService.earn_points(actor=actor, code="ADA-1", points=300, reference="o1")

    reverse(actor, earned.transaction, "refund:1", points=100)
    rest = reverse(actor, earned.transaction, "refund:2")

    assert rest.transaction.points == -200
    with pytest.raises(AlreadyReversed) as raised:
        reverse(actor, earned.transaction, "refund:3")
    assert (raised.value.status, raised.value.code) == (409, "already_reversed")


def test_more_than_is_left_is_refused(actor, ada):
    earned = LoyaltyService.earn_points(actor=actor, code="ADA-1", points=300, reference="o1")
    reverse(actor, earned.transaction, "refund:1", points=250)

    with pytest.raises(InvalidInput) as raised:
        reverse(actor, earned.transaction, "refund:2", points=51)

    assert raised.value.fields == {"points": "At most 50 points are left to reverse"}


def test_a_refund_after_the_points_were_spent_never_goes_below_zero(actor, ada):
    # Given 300 points earned and 250 of them spent
    earned = LoyaltyService.earn_points(actor=actor, code="ADA-1", points=300, reference="o1")
    LoyaltyService.redeem_points(actor=actor, code="ADA-1", points=250, reference="r1")

    # When the order is refunded
    result = reverse(actor, earned.transaction, "refund:1")

    # Then the 50 left are taken back, the rest is recorded as not recovered
    assert (result.transaction.points, result.account.points_balance) == (-50, 0)
    assert result.transaction.detail == {"reversed_points": 300, "not_recovered": 250}
    assert result.account.lifetime_points == 0
    assert_ledger_adds_up(result.account)


def test_reversing_a_redeem_gives_the_points_back(actor, ada):
    LoyaltyService.earn_points(actor=actor, code="ADA-1", points=1000, reference="o1")
    redeemed = LoyaltyService.redeem_points(actor=actor, code="ADA-1", points=400, reference="r1")

    result = reverse(actor, redeemed.transaction, "void:1", points=100)

    assert (result.transaction.points, result.transaction.value_q) == (100, 100)
    assert (result.account.points_balance, result.account.lifetime_points) == (700, 1000)
    [line] = TimelineEvent.objects.filter(metadata__kind="loyalty_points_reversed")
    assert line.title == "Gave back 100 redeemed points"


def test_a_replayed_reversal_returns_the_first(actor, ada):
    earned = LoyaltyService.earn_points(actor=actor, code="ADA-1", points=300, reference="o1")
    first = reverse(actor, earned.transaction, "refund:1", points=100)

    again = reverse(actor, earned.transaction, "refund:1", points=100)

    assert (again.is_replay, again.transaction.pk) == (True, first.transaction.pk)
    assert account_of(ada).points_balance == 200


def test_only_this_customers_earns_and_redeems_can_be_reversed(actor, ada, make_customer):
    make_customer(code="BEN-2", first_name="Ben")
    bens = LoyaltyService.earn_points(actor=actor, code="BEN-2", points=10, reference="o")
    adjusted = LoyaltyService.adjust_points(actor=actor, code="ADA-1", points=5, description="x")

    with pytest.raises(NotFound):
        reverse(actor, bens.transaction, "refund:1")
    with pytest.raises(NotFound):
        LoyaltyService.reverse_transaction(
            actor=actor, code="ADA-1", transaction_id="nonsense", reference="refund:1"
        )
    with pytest.raises(InvalidInput) as raised:
        reverse(actor, adjusted.transaction, "refund:1")
    assert raised.value.fields == {"transaction_id": "Its type is adjust"}
    assert LoyaltyService.get_balance(tenant=ada.tenant, code="BEN-2") == 10
