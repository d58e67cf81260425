"""PreferenceService: set, read, delete; idempotency, validation, and what the log shows."""

from decimal import Decimal

import pytest

from rapport.customers.models import Customer
from rapport.events.models import OutboxEvent
from rapport.exceptions import Conflict, InvalidInput, NotFound
from rapport.preferences import conf
from rapport.preferences.models import CustomerPreference
from rapport.preferences.services import PreferenceService
from rapport.timeline.models import TimelineEvent

pytestmark = pytest.mark.django_db


def logged(customer) -> tuple[int, int]:
    return (
        TimelineEvent.objects.filter(customer=customer).count(),
        OutboxEvent.objects.filter(type__startswith="preference.").count(),
    )


def set_pref(actor, code="ADA-1", category="diet", key="milk", value="oat", **fields):
    return PreferenceService.set_preference(
        actor=actor, code=code, category=category, key=key, value=value, **fields
    )


# --- set ----------------------------------------------------------------------------------


def test_setting_a_preference_stores_it_with_defaults(actor, customer, tenant):
    preference = set_pref(actor, value=["oat", "soy"], source="chat")

    stored = CustomerPreference.objects.get()
    assert stored.pk == preference.pk
    assert (stored.tenant, stored.customer) == (tenant, customer)
    assert (stored.category, stored.key, stored.value) == ("diet", "milk", ["oat", "soy"])
    assert (stored.preference_type, stored.confidence, stored.source) == (
        "explicit",
        Decimal("1.00"),
        "chat",
    )


def test_setting_logs_the_key_but_never_the_value(actor, customer):
    set_pref(
        actor, category="health", key="allergies", value=["peanuts"], preference_type="restriction"
    )

    event = TimelineEvent.objects.filter(customer=customer).latest("created_at")
    assert (event.event_type, event.title) == ("profile", "Restriction set: health/allergies")
    assert event.metadata == {
        "kind": "preference_set",
        "category": "health",
        "key": "allergies",
        "preference_type": "restriction",
    }
    outbox = OutboxEvent.objects.get(type="preference.updated")
    assert outbox.data == {
        "code": "ADA-1",
        "category": "health",
        "key": "allergies",
        "preference_type": "restriction",
    }
    assert "peanuts" not in str(event.metadata) + event.title + event.description
    assert "peanuts" not in str(outbox.data)


def test_the_same_preference_again_changes_and_logs_nothing(actor, customer):
    first = set_pref(actor, value={"size": "large", "sugar": 0}, source="form")
    before = logged(customer)

    again = set_pref(actor, value={"sugar": 0, "size": "large"}, source="form")

    assert again.pk == first.pk
    assert again.updated_at == first.updated_at
    assert CustomerPreference.objects.get().updated_at == first.updated_at
    assert logged(customer) == before


def test_a_new_value_replaces_the_old_and_logs_once(actor, customer):
    first = set_pref(actor, value="oat")
    before = logged(customer)

    second = set_pref(actor, value="soy")

    assert second.pk == first.pk
    assert CustomerPreference.objects.get().value == "soy"
    assert logged(customer) == (before[0] + 1, before[1] + 1)
    assert TimelineEvent.objects.filter(customer=customer).latest("created_at").title == (
        "Preference set: diet/milk"
    )


@pytest.mark.parametrize(
    ("old", "new"),
    [(True, 1), (1, 1.0), (0, False), ("1", 1), ([1, 2], [2, 1]), ({"a": 1}, {"a": True})],
)
def test_json_values_that_python_thinks_equal_are_changes(actor, customer, old, new):
    set_pref(actor, value=old)
    before = logged(customer)

    set_pref(actor, value=new)

    stored = CustomerPreference.objects.get().value
    assert (type(stored), stored) == (type(new), new)
    assert logged(customer)[1] == before[1] + 1


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"source": "pos"}, ("explicit", Decimal("1.00"), "pos")),
        ({"preference_type": "restriction"}, ("restriction", Decimal("1.00"), "")),
        (
            {"preference_type": "inferred", "confidence": "0.6"},
            ("inferred", Decimal("0.60"), ""),
        ),
    ],
)
def test_type_confidence_and_source_changes_count(actor, customer, change, expected):
    set_pref(actor)
    before = logged(customer)

    set_pref(actor, **change)

    stored = CustomerPreference.objects.get()
    assert (stored.preference_type, stored.confidence, stored.source) == expected
    assert logged(customer)[1] == before[1] + 1


def test_a_merged_duplicates_code_sets_on_the_survivor(actor, make_customer, customer):
    duplicate = make_customer(code="OLD-1", first_name="Ada")
    Customer.objects.filter(pk=duplicate.pk).update(merged_into=customer)

    set_pref(actor, code="OLD-1")

    assert CustomerPreference.objects.get().customer == customer


def test_a_customer_holds_a_limited_number(actor, customer, monkeypatch):
    monkeypatch.setattr(conf, "PREFERENCES_PER_CUSTOMER", 2)
    set_pref(actor, key="a")
    set_pref(actor, key="b")

    with pytest.raises(Conflict) as error:
        set_pref(actor, key="c")

    assert set(error.value.fields) == {"key"}
    set_pref(actor, key="b", value="changed")  # changing one held is still fine
    assert sorted(CustomerPreference.objects.values_list("key", flat=True)) == ["a", "b"]


# --- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"category": ""}, "category"),
        ({"category": "Diet"}, "category"),
        ({"category": "diet food"}, "category"),
        ({"category": "-diet"}, "category"),
        ({"category": "d" * 51}, "category"),
        ({"category": "dïet"}, "category"),
        ({"key": "Milk"}, "key"),
        ({"key": "milk/oat"}, "key"),
        ({"key": "_milk"}, "key"),
        ({"value": None}, "value"),
        ({"value": float("nan")}, "value"),
        ({"value": float("inf")}, "value"),
        ({"value": 2**70}, "value"),
        ({"value": {1: "a"}}, "value"),
        ({"value": {"a": object()}}, "value"),
        ({"value": "x" * conf.VALUE_BYTES_LIMIT}, "value"),
        ({"preference_type": "wish"}, "preference_type"),
        ({"preference_type": "inferred"}, "confidence"),
        ({"preference_type": "inferred", "confidence": "1.01"}, "confidence"),
        ({"preference_type": "inferred", "confidence": -0.01}, "confidence"),
        ({"preference_type": "inferred", "confidence": "0.333"}, "confidence"),
        ({"preference_type": "inferred", "confidence": "NaN"}, "confidence"),
        ({"preference_type": "inferred", "confidence": "Infinity"}, "confidence"),
        ({"preference_type": "inferred", "confidence": "high"}, "confidence"),
        ({"preference_type": "inferred", "confidence": True}, "confidence"),
        ({"confidence": "0.5"}, "confidence"),
        ({"preference_type": "restriction", "confidence": 0.9}, "confidence"),
        ({"source": "s" * 101}, "source"),
        ({"source": "bad\x00"}, "source"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(actor, customer, fields, field):
    with pytest.raises(InvalidInput) as error:
        set_pref(actor, **fields)

    assert set(error.value.fields) == {field}
    assert CustomerPreference.objects.count() == 0
    assert logged(customer) == (1, 0)  # only "Customer created"


def test_every_bad_field_is_named_at_once(actor, customer):
    with pytest.raises(InvalidInput) as error:
        set_pref(actor, category="A", key="B", value=None, preference_type="inferred")

    assert set(error.value.fields) == {"category", "key", "value", "confidence"}
    assert "lower-case slug" in error.value.fields["category"]


@pytest.mark.parametrize(
    ("confidence", "stored"),
    [(0, Decimal("0.00")), ("0.5", Decimal("0.50")), (0.25, Decimal("0.25")), (1, Decimal("1"))],
)
def test_inferred_confidence_from_0_to_1(actor, customer, confidence, stored):
    preference = set_pref(actor, preference_type="inferred", confidence=confidence)

    assert preference.confidence == stored
    assert CustomerPreference.objects.get().confidence == stored


def test_slugs_may_hold_digits_dashes_and_underscores(actor, customer):
    set_pref(actor, category="2nd-floor", key="seat_near_window")

    assert CustomerPreference.objects.get().category == "2nd-floor"


def test_an_unknown_customer_is_not_found(actor, customer, other_tenant, make_customer):
    from rapport.tenancy.actors import Actor

    theirs = make_customer(actor=Actor.for_system(other_tenant, "tests"), code="THEIRS-1")

    with pytest.raises(NotFound):
        set_pref(actor, code="NOPE")
    with pytest.raises(NotFound):
        set_pref(actor, code=theirs.code)
    assert CustomerPreference.objects.count() == 0


# --- read ---------------------------------------------------------------------------------


@pytest.fixture
def held(actor, customer):
    set_pref(actor, category="drinks", key="milk", value="oat")
    set_pref(
        actor,
        category="drinks",
        key="coffee",
        value="decaf",
        preference_type="inferred",
        confidence="0.8",
        source="order_history",
    )
    set_pref(
        actor,
        category="health",
        key="allergies",
        value=["peanuts", "shellfish"],
        preference_type="restriction",
    )
    set_pref(actor, category="packaging", key="bag", value=False)
    set_pref(
        actor, category="health", key="diet", value={"vegan": True}, preference_type="restriction"
    )


def test_get_preference(held, tenant):
    preference = PreferenceService.get_preference(
        tenant=tenant, code="ADA-1", category="drinks", key="coffee"
    )

    assert (preference.value, preference.confidence) == ("decaf", Decimal("0.80"))
    with pytest.raises(NotFound):
        PreferenceService.get_preference(tenant=tenant, code="ADA-1", category="drinks", key="tea")


def test_get_preferences_sorted_and_filtered(held, tenant):
    def keys(**filters):
        rows = PreferenceService.get_preferences(tenant=tenant, code="ADA-1", **filters)
        return [f"{row.category}/{row.key}" for row in rows]

    assert keys() == [
        "drinks/coffee",
        "drinks/milk",
        "health/allergies",
        "health/diet",
        "packaging/bag",
    ]
    assert keys(category="drinks") == ["drinks/coffee", "drinks/milk"]
    assert keys(preference_type="inferred") == ["drinks/coffee"]
    assert keys(category="drinks", preference_type="restriction") == []
    with pytest.raises(InvalidInput) as error:
        keys(preference_type="wish")
    assert set(error.value.fields) == {"preference_type"}


def test_get_preferences_dict_nests_values_by_category(held, tenant):
    nested = PreferenceService.get_preferences_dict(tenant=tenant, code="ADA-1")

    assert nested == {
        "drinks": {"coffee": "decaf", "milk": "oat"},
        "health": {"allergies": ["peanuts", "shellfish"], "diet": {"vegan": True}},
        "packaging": {"bag": False},
    }
    assert list(nested) == ["drinks", "health", "packaging"]
    assert list(nested["drinks"]) == ["coffee", "milk"]


def test_get_preferences_dict_of_a_customer_with_none(tenant, customer):
    assert PreferenceService.get_preferences_dict(tenant=tenant, code="ADA-1") == {}


def test_get_restrictions_returns_only_restrictions(held, tenant):
    rows = PreferenceService.get_restrictions(tenant=tenant, code="ADA-1")

    assert [(row.key, row.value) for row in rows] == [
        ("allergies", ["peanuts", "shellfish"]),
        ("diet", {"vegan": True}),
    ]


def test_reads_of_another_tenants_customer_are_not_found(held, other_tenant):
    for read in (PreferenceService.get_preferences, PreferenceService.get_restrictions):
        with pytest.raises(NotFound):
            read(tenant=other_tenant, code="ADA-1")
    with pytest.raises(NotFound):
        PreferenceService.get_preference(
            tenant=other_tenant, code="ADA-1", category="drinks", key="milk"
        )


# --- delete -------------------------------------------------------------------------------


def test_delete_removes_the_row_and_logs_without_the_value(held, actor, customer):
    PreferenceService.delete_preference(
        actor=actor, code="ADA-1", category="health", key="allergies"
    )

    assert not CustomerPreference.objects.filter(key="allergies").exists()
    assert CustomerPreference.objects.count() == 4
    event = TimelineEvent.objects.filter(customer=customer).latest("created_at")
    assert event.title == "Restriction removed: health/allergies"
    outbox = OutboxEvent.objects.get(type="preference.deleted")
    assert outbox.data == {
        "code": "ADA-1",
        "category": "health",
        "key": "allergies",
        "preference_type": "restriction",
    }


def test_deleting_a_missing_preference_is_not_found_and_logs_nothing(held, actor, customer):
    before = logged(customer)

    with pytest.raises(NotFound):
        PreferenceService.delete_preference(actor=actor, code="ADA-1", category="x", key="y")

    assert logged(customer) == before
    assert CustomerPreference.objects.count() == 5
