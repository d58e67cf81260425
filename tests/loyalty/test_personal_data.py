"""Loyalty in exports, erasures and merges: the handler, and rapport.identity's MergeService."""

import json

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from rapport.customers import personal_data
from rapport.customers.personal_data import Erasure
from rapport.events.models import OutboxEvent
from rapport.exceptions import Conflict
from rapport.identity.services import MergeService
from rapport.loyalty.models import LoyaltyAccount, LoyaltyTransaction
from rapport.loyalty.personal_data import LoyaltyData
from rapport.loyalty.services import LoyaltyService
from rapport.privacy.services import PrivacyService
from tests.loyalty.helpers import account_of, assert_ledger_adds_up

pytestmark = pytest.mark.django_db

handler = LoyaltyData()
# What a merge and its undo append to the ledger; the rest must come back exactly.
MARKERS = {"merge", "merge_undone"}


@pytest.fixture
def pair(make_customer):
    """Two records of one person (same name and email): enough evidence to merge."""
    survivor = make_customer(code="KEEP", first_name="Ada", last_name="Obi", email="ada@x.com")
    duplicate = make_customer(code="DUP", first_name="Ada", last_name="Obi", email="ada@x.com")
    return survivor, duplicate


def lasting(export: dict) -> dict:
    """An export without the entries merges and undos append, as JSON would carry it."""
    export = json.loads(json.dumps(export, default=str))
    export["transactions"] = [
        entry for entry in export["transactions"] if not MARKERS & set(entry["detail"])
    ]
    return export


def test_the_handler_is_registered_for_every_part():
    for method in ("export", "erase", "plan_merge", "merge", "blockers_to_undo", "undo_merge"):
        assert any(isinstance(h, LoyaltyData) for h in personal_data.handlers(method)), method


def test_export_holds_the_account_and_the_whole_ledger_oldest_first(actor, ada):
    LoyaltyService.earn_points(
        actor=actor, code="ADA-1", points=100, reference="o1", description="Ada's cake"
    )
    LoyaltyService.redeem_points(actor=actor, code="ADA-1", points=40, reference="r1")

    exported = handler.export(ada)

    assert exported["account"]["points_balance"] == 60
    assert exported["account"]["tier"] == "Bronze"
    assert [
        (e["transaction_type"], e["points"], e["balance_after"], e["description"])
        for e in exported["transactions"]
    ] == [("earn", 100, 100, "Ada's cake"), ("redeem", -40, 60, "")]


def test_erasure_keeps_the_ledger_and_blanks_free_text(actor, ada, make_customer):
    # Given entries with descriptions and a reference naming Ada, and another customer's
    LoyaltyService.earn_points(
        actor=actor, code="ADA-1", points=100, reference="o1", description="Cake for Ada"
    )
    LoyaltyService.earn_points(
        actor=actor, code="ADA-1", points=5, reference="visit by ada@example.com"
    )
    make_customer(code="BEN-2", first_name="Ben")
    LoyaltyService.earn_points(
        actor=actor, code="BEN-2", points=7, reference="o1", description="Ben"
    )
    before = list(
        LoyaltyTransaction.objects.filter(account__customer=ada)
        .order_by("id")
        .values_list("points", "balance_after", "transaction_type")
    )

    # When Ada is erased
    with transaction.atomic():
        changed = handler.erase(ada, Erasure(actor=actor, originals=["Ada", "ada@example.com"]))

    # Then every amount stays, the description is blank, the reference scrubbed but unique
    assert changed == 2
    entries = list(LoyaltyTransaction.objects.filter(account__customer=ada).order_by("id"))
    assert [(e.points, e.balance_after, e.transaction_type) for e in entries] == before
    assert [e.description for e in entries] == ["", ""]
    assert entries[0].reference == "o1"
    assert entries[1].reference == f"visit by [erased] {entries[1].uuid}"
    assert LoyaltyTransaction.objects.get(description="Ben").reference == "o1"
    assert_ledger_adds_up(account_of(ada))


def test_the_privacy_erasure_reaches_loyalty(actor, ada):
    LoyaltyService.earn_points(
        actor=actor, code="ADA-1", points=100, reference="o1", description="Cake for Ada"
    )

    record = PrivacyService.erase_customer(actor=actor, code="ADA-1")

    assert record.counts["loyalty"] == 1
    assert LoyaltyTransaction.objects.get().description == ""
    assert account_of(ada).points_balance == 100


# --- merges -----------------------------------------------------------------------------------


def test_merging_into_a_customer_with_no_account_hands_the_account_over(actor, pair):
    survivor, duplicate = pair
    LoyaltyService.earn_points(actor=actor, code="DUP", points=800, reference="o1")
    account = account_of(duplicate)
    before = lasting(handler.export(duplicate))

    preview = MergeService.preview(actor=actor, survivor="KEEP", duplicate="DUP")
    merge = MergeService.merge(actor=actor, survivor="KEEP", duplicate="DUP")

    [step] = [s for s in preview.plan if s.app == "loyalty"]
    assert (step.action, step.what) == ("move", "loyalty account (800 points, 1 transaction)")
    assert account_of(survivor).pk == account.pk
    assert (account_of(survivor).points_balance, account_of(survivor).tier) == (800, "Silver")
    assert merge.journal["loyalty"]["action"] == "moved"
    assert_ledger_adds_up(account_of(survivor))

    MergeService.undo(actor=actor, merge_id=merge.uuid)

    assert account_of(duplicate).pk == account.pk
    assert not LoyaltyAccount.objects.filter(customer=survivor).exists()
    assert lasting(handler.export(duplicate)) == before
    assert_ledger_adds_up(account_of(duplicate))


def test_merging_two_accounts_adds_them_up_and_undo_separates_them_exactly(actor, pair):
    # Given two enrolled records with points, stamps and a reference both used
    survivor, duplicate = pair
    LoyaltyService.earn_points(actor=actor, code="KEEP", points=300, reference="order:1")
    LoyaltyService.add_stamp(actor=actor, code="KEEP", reference="visit:1", count=6)
    LoyaltyService.earn_points(actor=actor, code="DUP", points=1900, reference="order:1")
    LoyaltyService.redeem_points(actor=actor, code="DUP", points=100, reference="r:1")
    LoyaltyService.add_stamp(actor=actor, code="DUP", reference="visit:9", count=13)
    before = {
        "survivor": lasting(handler.export(survivor)),
        "duplicate": lasting(handler.export(duplicate)),
    }
    assert (account_of(survivor).tier, account_of(duplicate).tier) == ("Bronze", "Silver")

    # When they are merged
    preview = MergeService.preview(actor=actor, survivor="KEEP", duplicate="DUP")
    merge = MergeService.merge(actor=actor, survivor="KEEP", duplicate="DUP")

    # Then the survivor holds both balances and ledgers; the stamps fill a card; tier up
    [step] = [s for s in preview.plan if s.app == "loyalty"]
    assert step.action == "combine"
    assert step.detail["shared_references"] == ["earn:order:1"]
    assert "1 reference is on both ledgers" in step.reason
    ours = account_of(survivor)
    assert (ours.points_balance, ours.lifetime_points) == (2100, 2200)
    # 6 + 3 open stamps on a card of 10, and the duplicate's completed card
    assert (ours.stamps_current, ours.stamps_completed) == (9, 1)
    assert ours.tier == "Gold"
    theirs = account_of(duplicate)
    assert (theirs.points_balance, theirs.stamps_current, theirs.stamps_completed) == (0, 0, 0)
    assert not LoyaltyTransaction.objects.filter(account=theirs).exists()
    assert LoyaltyTransaction.objects.filter(account=ours, reference="order:1").count() == 2
    assert_ledger_adds_up(ours)
    assert (
        OutboxEvent.objects.filter(type="customer.tier_changed").last().data["new_tier"] == "Gold"
    )

    # And a replay of the shared reference finds the older entry and changes nothing
    replay = LoyaltyService.earn_points(actor=actor, code="DUP", points=1, reference="order:1")
    assert (replay.is_replay, replay.transaction.points) == (True, 300)

    # When the merge is undone
    MergeService.undo(actor=actor, merge_id=merge.uuid)

    # Then each record has its own account, ledger and tier back
    assert lasting(handler.export(survivor)) == before["survivor"]
    assert lasting(handler.export(duplicate)) == before["duplicate"]
    assert_ledger_adds_up(account_of(survivor))
    assert_ledger_adds_up(account_of(duplicate))
    assert OutboxEvent.objects.filter(type="customer.tier_changed").last().data == {
        "code": "KEEP",
        "account": str(ours.uuid),
        "old_tier": "Gold",
        "new_tier": "Bronze",
        "direction": "down",
        "qualifying_points": 300,
    }


def test_a_card_the_merge_fills_issues_its_reward_and_undo_takes_it_back(actor, pair, configure):
    configure(stamp_reward_points=25)
    survivor, duplicate = pair
    LoyaltyService.add_stamp(actor=actor, code="KEEP", reference="v1", count=7)
    LoyaltyService.add_stamp(actor=actor, code="DUP", reference="v2", count=5)

    merge = MergeService.merge(actor=actor, survivor="KEEP", duplicate="DUP")

    ours = account_of(survivor)
    assert (ours.stamps_current, ours.stamps_completed, ours.points_balance) == (2, 1, 25)
    assert_ledger_adds_up(ours)
    MergeService.undo(actor=actor, merge_id=merge.uuid)
    ours = account_of(survivor)
    assert (ours.stamps_current, ours.stamps_completed, ours.points_balance) == (7, 0, 0)
    assert (account_of(duplicate).stamps_current, account_of(duplicate).points_balance) == (5, 0)
    assert_ledger_adds_up(ours)


def test_undo_is_refused_once_the_survivor_used_the_merged_points(actor, pair):
    LoyaltyService.earn_points(actor=actor, code="KEEP", points=100, reference="a")
    LoyaltyService.earn_points(actor=actor, code="DUP", points=500, reference="b")
    merge = MergeService.merge(actor=actor, survivor="KEEP", duplicate="DUP")
    LoyaltyService.redeem_points(actor=actor, code="KEEP", points=550, reference="spend")

    with pytest.raises(Conflict) as raised:
        MergeService.undo(actor=actor, merge_id=merge.uuid)

    assert raised.value.fields["loyalty"] == (
        "The survivor's loyalty account has 1 transaction since the merge"
    )
    assert account_of(pair[0]).points_balance == 50


def test_a_merge_without_loyalty_accounts_plans_and_journals_nothing(actor, pair):
    preview = MergeService.preview(actor=actor, survivor="KEEP", duplicate="DUP")
    merge = MergeService.merge(actor=actor, survivor="KEEP", duplicate="DUP")

    assert [s for s in preview.plan if s.app == "loyalty"] == []
    assert merge.journal["loyalty"] == {}
    MergeService.undo(actor=actor, merge_id=merge.uuid)
    assert not LoyaltyAccount.objects.exists()


# --- the ledger is append-only --------------------------------------------------------------


def test_ledger_entries_cannot_be_edited_or_deleted(actor, ada):
    entry = LoyaltyService.earn_points(
        actor=actor, code="ADA-1", points=5, reference="a"
    ).transaction

    entry.points = 500
    with pytest.raises(TypeError):
        entry.save()
    with pytest.raises(TypeError):
        entry.delete()
    with pytest.raises(TypeError):
        LoyaltyTransaction.objects.filter(pk=entry.pk).delete()
    assert LoyaltyTransaction.objects.get(pk=entry.pk).points == 5


def test_the_database_refuses_a_second_entry_with_the_same_reference(actor, ada):
    entry = LoyaltyService.earn_points(
        actor=actor, code="ADA-1", points=5, reference="a"
    ).transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        LoyaltyTransaction.objects.create(
            tenant_id=entry.tenant_id,
            account_id=entry.account_id,
            origin_account_id=entry.account_id,
            transaction_type="earn",
            points=5,
            balance_after=10,
            reference="a",
            occurred_at=timezone.now(),
        )
    assert LoyaltyTransaction.objects.count() == 1


def test_the_database_refuses_a_negative_balance(actor, ada):
    LoyaltyService.enroll(actor=actor, code="ADA-1")

    with pytest.raises(IntegrityError), transaction.atomic():
        LoyaltyAccount.objects.filter(customer=ada).update(points_balance=-1)
