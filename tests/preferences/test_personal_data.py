"""Preferences in export, erasure and merge, through the handler the registry holds."""

import json
from decimal import Decimal

import pytest
from django.db import transaction

from rapport.customers import personal_data
from rapport.customers.personal_data import Erasure
from rapport.preferences.models import CustomerPreference
from rapport.preferences.personal_data import PreferenceData
from rapport.preferences.services import PreferenceService

pytestmark = pytest.mark.django_db


@pytest.fixture
def handler() -> PreferenceData:
    """The registered handler, so these tests also prove PreferencesConfig.ready registered it."""
    [found] = [h for h in personal_data.handlers("merge") if h.name == "preferences"]
    assert [h for h in personal_data.handlers("export") if h.name == "preferences"] == [found]
    return found


@pytest.fixture
def pair(make_customer):
    return make_customer(code="DUP", first_name="Ada"), make_customer(code="SURV", first_name="Ada")


def give(actor, code, category, key, value, preference_type="explicit", confidence=None):
    return PreferenceService.set_preference(
        actor=actor,
        code=code,
        category=category,
        key=key,
        value=value,
        preference_type=preference_type,
        confidence=confidence,
    )


def state(customer) -> dict:
    """Every stored field of a customer's preferences, so "exactly as before" can be compared."""
    return {
        (p.category, p.key): (
            p.uuid,
            p.tenant_id,
            p.value,
            p.preference_type,
            p.confidence,
            p.source,
            p.created_at,
            p.updated_at,
        )
        for p in CustomerPreference.objects.filter(customer=customer)
    }


# --- export and erasure -------------------------------------------------------------------


def test_export_holds_every_preference_with_its_value(handler, actor, customer, make_customer):
    give(actor, "ADA-1", "health", "allergies", ["peanuts"], "restriction")
    give(actor, "ADA-1", "drinks", "coffee", "decaf", "inferred", "0.7")
    other = make_customer(code="OTHER")
    give(actor, other.code, "drinks", "milk", "oat")

    exported = handler.export(customer)

    assert [(row["category"], row["key"], row["value"]) for row in exported] == [
        ("drinks", "coffee", "decaf"),
        ("health", "allergies", ["peanuts"]),
    ]
    assert exported[0]["confidence"] == "0.70"
    assert set(exported[0]) == {
        "id",
        "category",
        "key",
        "value",
        "preference_type",
        "confidence",
        "source",
        "created_at",
        "updated_at",
    }


def test_erasure_deletes_every_preference_of_that_customer_only(
    handler, actor, customer, make_customer
):
    give(actor, "ADA-1", "health", "allergies", ["peanuts"], "restriction")
    give(actor, "ADA-1", "drinks", "milk", "oat")
    other = make_customer(code="OTHER")
    give(actor, other.code, "drinks", "milk", "oat")

    with transaction.atomic():
        erased = handler.erase(customer, Erasure(actor=actor, originals=["Ada"]))

    assert erased == 2
    assert not CustomerPreference.objects.filter(customer=customer).exists()
    assert CustomerPreference.objects.filter(customer=other).count() == 1
    assert handler.export(customer) == []


# --- merge --------------------------------------------------------------------------------

# (survivor's type, confidence), (duplicate's type, confidence) -> whose value is kept
RULES = [
    (("explicit", None), ("restriction", None), "duplicate"),
    (("inferred", "0.99"), ("restriction", None), "duplicate"),
    (("restriction", None), ("explicit", None), "survivor"),
    (("restriction", None), ("inferred", "1.00"), "survivor"),
    (("restriction", None), ("restriction", None), "survivor"),
    (("inferred", "1.00"), ("explicit", None), "duplicate"),
    (("explicit", None), ("inferred", "1.00"), "survivor"),
    (("explicit", None), ("explicit", None), "survivor"),
    (("inferred", "0.40"), ("inferred", "0.90"), "duplicate"),
    (("inferred", "0.90"), ("inferred", "0.40"), "survivor"),
    (("inferred", "0.50"), ("inferred", "0.50"), "survivor"),
]


@pytest.mark.parametrize(("ours", "theirs", "winner"), RULES)
def test_the_merge_rule_on_a_shared_key(handler, actor, pair, ours, theirs, winner):
    duplicate, survivor = pair
    give(actor, "SURV", "diet", "milk", "survivor's", *ours)
    give(actor, "DUP", "diet", "milk", "duplicate's", *theirs)
    owner = {"duplicate": duplicate, "survivor": survivor}[winner]
    expected = CustomerPreference.objects.get(customer=owner, key="milk")

    plan = handler.plan_merge(duplicate, survivor)
    with transaction.atomic():
        handler.merge(duplicate, survivor, actor)

    kept = CustomerPreference.objects.get(customer=survivor, key="milk")
    assert (kept.uuid, kept.value) == (expected.uuid, f"{winner}'s")
    assert not CustomerPreference.objects.filter(customer=duplicate).exists()
    [step] = plan
    assert step.what == "preference diet/milk"
    assert step.action == ("take duplicate's" if winner == "duplicate" else "keep survivor's")
    assert "survivor's" not in str(step.detail) and "duplicate's" not in str(step.detail)


def test_keys_only_the_duplicate_has_move_whole(handler, actor, pair):
    duplicate, survivor = pair
    give(actor, "DUP", "drinks", "coffee", "decaf", "inferred", "0.6")
    give(actor, "DUP", "packaging", "bag", False)
    give(actor, "SURV", "drinks", "milk", "oat")
    before = {**state(duplicate), **state(survivor)}

    plan = handler.plan_merge(duplicate, survivor)
    with transaction.atomic():
        journal = handler.merge(duplicate, survivor, actor)

    assert [(s.what, s.action) for s in plan] == [("2 preferences", "move")]
    assert state(survivor) == before
    assert state(duplicate) == {}
    assert [row["key"] for row in journal["moved"]] == ["coffee", "bag"]
    assert journal["removed"] == []


def test_the_plan_writes_nothing_and_holds_no_values(handler, actor, pair):
    duplicate, survivor = pair
    give(actor, "SURV", "health", "allergies", ["peanuts"], "restriction")
    give(actor, "DUP", "health", "allergies", ["shellfish"], "restriction")
    give(actor, "DUP", "drinks", "milk", "oat")
    before = {**state(duplicate), **state(survivor)}

    plan = handler.plan_merge(duplicate, survivor)

    assert {**state(duplicate), **state(survivor)} == before
    assert [(s.app, s.what, s.action) for s in plan] == [
        ("preferences", "1 preference", "move"),
        ("preferences", "preference health/allergies", "keep survivor's"),
    ]
    text = str([vars(step) for step in plan])
    assert "peanuts" not in text and "shellfish" not in text and "oat" not in text


def merged(handler, actor, duplicate, survivor) -> dict:
    with transaction.atomic():
        return handler.merge(duplicate, survivor, actor)


def test_undo_puts_both_customers_back_exactly(handler, actor, pair):
    # given both customers with keys of their own and three shared keys, decided both ways
    duplicate, survivor = pair
    give(actor, "DUP", "drinks", "coffee", "decaf", "inferred", "0.6")
    give(actor, "SURV", "drinks", "milk", "oat")
    give(actor, "SURV", "health", "allergies", ["peanuts"], "inferred", "0.3")
    give(actor, "DUP", "health", "allergies", ["peanuts", "shellfish"], "restriction")
    give(actor, "SURV", "diet", "vegan", True)
    give(actor, "DUP", "diet", "vegan", False, "inferred", "0.9")
    give(actor, "SURV", "seat", "window", True, "inferred", "0.5")
    give(actor, "DUP", "seat", "window", False, "inferred", "0.5")
    before = (state(duplicate), state(survivor))

    # when they are merged
    journal = merged(handler, actor, duplicate, survivor)

    # then the survivor holds the winners, the duplicate nothing
    assert {key: row[2] for key, row in state(survivor).items()} == {
        ("drinks", "coffee"): "decaf",
        ("drinks", "milk"): "oat",
        ("health", "allergies"): ["peanuts", "shellfish"],
        ("diet", "vegan"): True,
        ("seat", "window"): True,
    }
    assert state(duplicate) == {}
    assert handler.blockers_to_undo(duplicate, survivor, journal) == []

    # when the merge is undone (the journal as stored: through JSON)
    stored_journal = json.loads(json.dumps(journal))
    with transaction.atomic():
        handler.undo_merge(duplicate, survivor, stored_journal, actor)

    # then every row is back, with its id, owner, values and times
    assert (state(duplicate), state(survivor)) == before


def test_undo_is_blocked_when_a_moved_preference_changed(handler, actor, pair):
    duplicate, survivor = pair
    give(actor, "DUP", "drinks", "coffee", "decaf")
    give(actor, "DUP", "drinks", "tea", "green")
    give(actor, "DUP", "drinks", "juice", "orange")
    journal = merged(handler, actor, duplicate, survivor)

    give(actor, "SURV", "drinks", "coffee", "espresso")
    give(actor, "SURV", "drinks", "juice", "orange")  # the same again: not a change
    PreferenceService.delete_preference(actor=actor, code="SURV", category="drinks", key="tea")

    assert handler.blockers_to_undo(duplicate, survivor, journal) == [
        "The preference drinks/coffee was changed after the merge",
        "The preference drinks/tea was deleted after the merge",
    ]


def test_undo_is_blocked_when_a_winning_duplicate_value_changed(handler, actor, pair):
    duplicate, survivor = pair
    give(actor, "SURV", "health", "allergies", ["peanuts"])
    give(actor, "DUP", "health", "allergies", ["shellfish"], "restriction")
    journal = merged(handler, actor, duplicate, survivor)

    give(actor, "SURV", "health", "allergies", ["shellfish", "soy"], "restriction")

    assert handler.blockers_to_undo(duplicate, survivor, journal) == [
        "The preference health/allergies was changed after the merge"
    ]


def test_new_keys_on_the_survivor_do_not_block_undo(handler, actor, pair):
    duplicate, survivor = pair
    give(actor, "DUP", "drinks", "coffee", "decaf")
    journal = merged(handler, actor, duplicate, survivor)
    give(actor, "SURV", "drinks", "tea", "green")

    assert handler.blockers_to_undo(duplicate, survivor, journal) == []
    with transaction.atomic():
        handler.undo_merge(duplicate, survivor, journal, actor)
    assert sorted(
        CustomerPreference.objects.filter(customer=survivor).values_list("key", flat=True)
    ) == ["tea"]
    assert CustomerPreference.objects.get(customer=duplicate).key == "coffee"


def test_merge_writes_confidence_unchanged(handler, actor, pair):
    duplicate, survivor = pair
    give(actor, "DUP", "drinks", "coffee", "decaf", "inferred", "0.35")

    merged(handler, actor, duplicate, survivor)

    assert CustomerPreference.objects.get(customer=survivor).confidence == Decimal("0.35")
