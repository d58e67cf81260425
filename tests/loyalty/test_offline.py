"""Offline sync: each item applied, a duplicate, or rejected with a reason; never half-applied."""

import datetime as dt

import pytest
from django.utils import timezone

from rapport.events.models import OutboxEvent
from rapport.exceptions import InvalidInput
from rapport.loyalty.models import LoyaltyAccount, LoyaltyTransaction
from rapport.loyalty.services import LoyaltyService, OfflineItem, sync_offline
from rapport.timeline.models import TimelineEvent
from tests.loyalty.helpers import account_of, assert_ledger_adds_up

pytestmark = pytest.mark.django_db

MINUTE = dt.timedelta(minutes=1)


def state() -> tuple:
    return (
        LoyaltyAccount.objects.count(),
        sorted(LoyaltyAccount.objects.values_list("points_balance", flat=True)),
        LoyaltyTransaction.objects.count(),
        OutboxEvent.objects.count(),
        TimelineEvent.objects.count(),
    )


@pytest.fixture
def batch(ada, make_customer):
    make_customer(code="BEN-2", first_name="Ben")
    start = timezone.now() - 60 * MINUTE
    return [
        OfflineItem(id="till-1:0001", kind="earn", code="ADA-1", occurred_at=start, points=300),
        OfflineItem(
            id="till-1:0002",
            kind="earn",
            code="BEN-2",
            occurred_at=start + MINUTE,
            amount_q=50_000,  # ₦500 at 1 point per naira
            description="Bread",
        ),
        OfflineItem(
            id="till-1:0003",
            kind="redeem",
            code="ADA-1",
            occurred_at=start + 2 * MINUTE,
            points=200,
        ),
        OfflineItem(
            id="till-1:0004",
            kind="redeem",
            code="ADA-1",
            occurred_at=start + 3 * MINUTE,
            points=500,
        ),
        OfflineItem(id="till-1:0005", kind="earn", code="NOBODY", occurred_at=start, points=5),
    ]


def test_each_item_is_applied_or_rejected_with_its_reason(actor, batch):
    outcomes = sync_offline(actor=actor, items=batch, device="till-1")

    assert [(o.id, o.status) for o in outcomes] == [
        ("till-1:0001", "applied"),
        ("till-1:0002", "applied"),
        ("till-1:0003", "applied"),
        ("till-1:0004", "rejected"),
        ("till-1:0005", "rejected"),
    ]
    assert [(o.points, o.balance_after) for o in outcomes[:3]] == [
        (300, 300),
        (500, 500),
        (-200, 100),
    ]
    insufficient, unknown = outcomes[3], outcomes[4]
    assert (insufficient.error_code, insufficient.fields) == (
        "insufficient_points",
        {"points": "At most 100 points are available"},
    )
    assert insufficient.reason == "Customer ADA-1 has 100 points, not 500"
    assert (unknown.error_code, unknown.fields) == ("not_found", {"code": "Unknown customer"})
    entry = outcomes[0].transaction
    assert entry.reference == "till-1:0001"
    assert entry.occurred_at == batch[0].occurred_at
    assert entry.detail["offline"]["device"] == "till-1"
    assert_ledger_adds_up(outcomes[0].transaction.account)


def test_a_replayed_batch_changes_nothing_and_answers_duplicate(actor, batch):
    sync_offline(actor=actor, items=batch, device="till-1")
    before = state()

    again = sync_offline(actor=actor, items=batch, device="till-1")

    assert [o.status for o in again] == ["duplicate"] * 3 + ["rejected"] * 2
    assert state() == before
    assert again[0].transaction.reference == "till-1:0001"


def test_an_item_synced_after_the_same_reference_was_used_online_is_a_duplicate(actor, ada):
    LoyaltyService.earn_points(actor=actor, code="ADA-1", points=40, reference="order:17")

    [outcome] = sync_offline(
        actor=actor,
        items=[
            OfflineItem(
                id="order:17", kind="earn", code="ADA-1", occurred_at=timezone.now(), points=40
            )
        ],
    )

    assert outcome.status == "duplicate"
    assert account_of(ada).points_balance == 40


def test_items_apply_in_the_order_they_happened_not_the_order_sent(actor, ada):
    start = timezone.now() - 10 * MINUTE
    items = [
        {"id": "b", "kind": "redeem", "code": "ADA-1", "occurred_at": start + MINUTE, "points": 80},
        {"id": "a", "kind": "earn", "code": "ADA-1", "occurred_at": start, "points": 100},
    ]

    outcomes = sync_offline(actor=actor, items=items)

    assert [(o.id, o.status) for o in outcomes] == [("b", "applied"), ("a", "applied")]
    assert account_of(ada).points_balance == 20


@pytest.mark.parametrize(
    ("item", "fields"),
    [
        ({"occurred_at": "now"}, {"occurred_at": "Must be a date and time with its UTC offset"}),
        ({"occurred_at": "future"}, {"occurred_at": "Is in the future"}),
        ({"occurred_at": "old"}, {"occurred_at": "Is more than 30 days old"}),
        ({"kind": "gift"}, {"kind": "Use one of earn, redeem"}),
        ({"id": ""}, {"id": "Required"}),
        ({"points": -3}, {"points": "Must be a positive whole number"}),
        ({"points": None, "amount_q": 0}, {"amount_q": "Must be a positive whole number"}),
        ({"till": 3}, {"till": "Not an item field"}),
    ],
)
def test_bad_items_are_rejected_with_the_field_at_fault_and_write_nothing(actor, ada, item, fields):
    times = {
        "now": dt.datetime(2025, 1, 1, 12),  # no UTC offset
        "future": timezone.now() + dt.timedelta(hours=1),
        "old": timezone.now() - dt.timedelta(days=31),
    }
    raw = {"id": "x-1", "kind": "earn", "code": "ADA-1", "occurred_at": timezone.now(), "points": 5}
    raw.update(item)
    if raw["occurred_at"] in times:
        raw["occurred_at"] = times[raw["occurred_at"]]
    before = state()

    [outcome] = sync_offline(actor=actor, items=[raw])

    assert (outcome.status, outcome.error_code, outcome.fields) == ("rejected", "invalid", fields)
    assert state() == before


def test_a_redemption_by_someone_not_enrolled_is_rejected_without_enrolling_them(actor, ada):
    items = [
        {"id": "1", "kind": "redeem", "code": "ADA-1", "occurred_at": timezone.now(), "points": 10}
    ]
    before = state()

    [outcome] = sync_offline(actor=actor, items=items)

    assert outcome.status == "rejected"
    assert outcome.error_code == "not_enrolled"
    assert state() == before


def test_one_id_for_an_earning_and_a_redemption_in_one_batch_is_refused(actor, ada):
    now = timezone.now()
    items = [
        OfflineItem(id="same", kind="earn", code="ADA-1", occurred_at=now - MINUTE, points=10),
        OfflineItem(id="same", kind="redeem", code="ADA-1", occurred_at=now, points=5),
    ]

    outcomes = sync_offline(actor=actor, items=items)

    assert [o.status for o in outcomes] == ["applied", "rejected"]
    assert outcomes[1].fields == {"id": "Ids must differ between an earning and a redemption"}


def test_a_batch_that_is_not_a_list_or_too_long_is_refused_whole(actor, ada, settings):
    settings.RAPPORT_LOYALTY_OFFLINE_BATCH_LIMIT = 2
    item = {"id": "1", "kind": "earn", "code": "ADA-1", "occurred_at": timezone.now(), "points": 1}

    with pytest.raises(InvalidInput) as too_long:
        sync_offline(actor=actor, items=[item, {**item, "id": "2"}, {**item, "id": "3"}])
    with pytest.raises(InvalidInput) as not_a_list:
        sync_offline(actor=actor, items={"items": []})

    assert too_long.value.fields == {"items": "At most 2 items per batch"}
    assert not_a_list.value.fields == {"items": "Must be a list of items"}
    assert not LoyaltyTransaction.objects.exists()
