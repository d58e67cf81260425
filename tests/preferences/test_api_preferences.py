"""The preference endpoints, through the real URLs and API keys."""

import pytest

from rapport.events.models import OutboxEvent
from rapport.preferences.models import CustomerPreference
from rapport.preferences.services import PreferenceService

pytestmark = pytest.mark.django_db

URL = "/customers/ADA-1/preferences"


@pytest.fixture
def held(actor, customer):
    def add(category, key, value, **fields):
        PreferenceService.set_preference(
            actor=actor, code="ADA-1", category=category, key=key, value=value, **fields
        )

    add("drinks", "milk", "oat", source="chat")
    add("drinks", "coffee", "decaf", preference_type="inferred", confidence="0.8")
    add("health", "allergies", ["peanuts"], preference_type="restriction")


# --- PUT ----------------------------------------------------------------------------------


def test_put_creates_a_preference(api, put, customer):
    response = put(
        api,
        f"{URL}/drinks/coffee",
        {"value": "decaf", "preference_type": "inferred", "confidence": 0.8, "source": "pos"},
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {
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
    assert (body["category"], body["key"], body["value"]) == ("drinks", "coffee", "decaf")
    assert (body["preference_type"], body["confidence"], body["source"]) == (
        "inferred",
        "0.80",
        "pos",
    )
    assert str(CustomerPreference.objects.get().uuid) == body["id"]


def test_put_with_only_a_value_is_an_explicit_certain_preference(api, put, customer):
    response = put(api, f"{URL}/packaging/bag", {"value": False})

    assert response.status_code == 200
    body = response.json()
    assert (body["value"], body["preference_type"], body["confidence"], body["source"]) == (
        False,
        "explicit",
        "1.00",
        "",
    )


def test_put_again_replays_without_a_second_event(api, put, customer):
    body = {"value": ["oat", "soy"], "source": "form"}
    first = put(api, f"{URL}/drinks/milk", body)

    second = put(api, f"{URL}/drinks/milk", body)

    assert second.status_code == 200
    assert second.json() == first.json()
    assert OutboxEvent.objects.filter(type="preference.updated").count() == 1


def test_put_replaces_a_value(api, put, held):
    response = put(api, f"{URL}/drinks/milk", {"value": {"kind": "soy", "warm": True}})

    assert response.status_code == 200
    assert response.json()["value"] == {"kind": "soy", "warm": True}
    assert CustomerPreference.objects.get(key="milk").value == {"kind": "soy", "warm": True}


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("Drinks/milk", {"value": "oat"}, "category"),
        ("drinks/Milk", {"value": "oat"}, "key"),
        ("drinks/milk%20tea", {"value": "oat"}, "key"),
        (f"drinks/{'k' * 51}", {"value": "oat"}, "key"),
        ("drinks/milk", {}, "value"),
        ("drinks/milk", {"value": None}, "value"),
        ("drinks/milk", {"value": 1e300}, "value"),
        ("drinks/milk", {"value": "oat", "preference_type": "wish"}, "preference_type"),
        ("drinks/milk", {"value": "oat", "preference_type": "inferred"}, "confidence"),
        (
            "drinks/milk",
            {"value": "oat", "preference_type": "inferred", "confidence": 1.5},
            "confidence",
        ),
        (
            "drinks/milk",
            {"value": "oat", "preference_type": "inferred", "confidence": -0.1},
            "confidence",
        ),
        (
            "drinks/milk",
            {"value": "oat", "preference_type": "inferred", "confidence": "0.125"},
            "confidence",
        ),
        (
            "drinks/milk",
            {"value": "oat", "preference_type": "inferred", "confidence": "lots"},
            "confidence",
        ),
        ("drinks/milk", {"value": "oat", "confidence": 0.5}, "confidence"),
        ("drinks/milk", {"value": "oat", "source": "s" * 101}, "source"),
        ("drinks/milk", {"value": "oat", "colour": "red"}, "colour"),
    ],
)
def test_put_refuses_bad_input_naming_the_field(api, put, customer, path, body, field):
    response = put(api, f"{URL}/{path}", body)

    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert field in error["fields"], error
    assert CustomerPreference.objects.count() == 0
    assert not OutboxEvent.objects.filter(type__startswith="preference.").exists()


def test_put_with_a_body_that_is_not_json_is_refused(api, put, customer):
    response = put(api, f"{URL}/drinks/milk", "{not json")

    assert response.status_code in (400, 422)
    assert CustomerPreference.objects.count() == 0


def test_put_needs_a_write_key(read_api, put, customer):
    response = put(read_api, f"{URL}/drinks/milk", {"value": "oat"})

    assert response.status_code == 403
    assert CustomerPreference.objects.count() == 0


def test_put_for_an_unknown_customer_is_404(api, put, customer):
    response = put(api, "/customers/NOPE/preferences/drinks/milk", {"value": "oat"})

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


# --- GET ----------------------------------------------------------------------------------


def test_list_preferences(read_api, held):
    response = read_api.get(URL)

    assert response.status_code == 200
    assert [(p["category"], p["key"], p["value"]) for p in response.json()] == [
        ("drinks", "coffee", "decaf"),
        ("drinks", "milk", "oat"),
        ("health", "allergies", ["peanuts"]),
    ]


@pytest.mark.parametrize(
    ("params", "keys"),
    [
        ({"category": "drinks"}, ["coffee", "milk"]),
        ({"category": "none"}, []),
        ({"preference_type": "restriction"}, ["allergies"]),
        ({"category": "drinks", "preference_type": "inferred"}, ["coffee"]),
    ],
)
def test_list_preferences_filters(read_api, held, params, keys):
    response = read_api.get(URL, params)

    assert response.status_code == 200
    assert [p["key"] for p in response.json()] == keys


def test_list_preferences_refuses_an_unknown_type(read_api, held):
    response = read_api.get(URL, {"preference_type": "wish"})

    assert response.status_code == 422
    assert set(response.json()["error"]["fields"]) == {"preference_type"}


def test_by_category(read_api, held):
    response = read_api.get(f"{URL}/by-category")

    assert response.status_code == 200
    assert response.json() == {
        "drinks": {"coffee": "decaf", "milk": "oat"},
        "health": {"allergies": ["peanuts"]},
    }


def test_restrictions(read_api, held):
    response = read_api.get("/customers/ADA-1/restrictions")

    assert response.status_code == 200
    assert [(p["key"], p["value"], p["confidence"]) for p in response.json()] == [
        ("allergies", ["peanuts"], "1.00")
    ]


def test_get_one_preference(read_api, held):
    response = read_api.get(f"{URL}/drinks/coffee")

    assert response.status_code == 200
    body = response.json()
    assert (body["value"], body["preference_type"], body["confidence"]) == (
        "decaf",
        "inferred",
        "0.80",
    )


@pytest.mark.parametrize(
    "url",
    [
        f"{URL}/drinks/tea",
        f"{URL}/Drinks/milk",
        "/customers/NOPE/preferences",
        "/customers/NOPE/preferences/by-category",
        "/customers/NOPE/restrictions",
        "/customers/NOPE/preferences/drinks/milk",
    ],
)
def test_reads_of_what_is_not_there_are_404(read_api, held, url):
    response = read_api.get(url)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_reads_need_a_key(anonymous_api, held):
    assert anonymous_api.get(URL).status_code == 401


# --- DELETE -------------------------------------------------------------------------------


def test_delete(api, held):
    response = api.delete(f"{URL}/health/allergies")

    assert response.status_code == 204
    assert sorted(CustomerPreference.objects.values_list("key", flat=True)) == ["coffee", "milk"]
    assert OutboxEvent.objects.filter(type="preference.deleted").count() == 1
    assert api.delete(f"{URL}/health/allergies").status_code == 404


def test_delete_needs_a_write_key(read_api, held):
    assert read_api.delete(f"{URL}/health/allergies").status_code == 403
    assert CustomerPreference.objects.count() == 3


def test_another_tenant_sets_the_same_key_on_its_own_customer_only(
    held, put, other_api, other_tenant, make_customer
):
    from rapport.tenancy.actors import Actor

    make_customer(actor=Actor.for_system(other_tenant, "tests"), code="THEIRS-1")

    response = put(other_api, "/customers/THEIRS-1/preferences/health/allergies", {"value": []})

    assert response.status_code == 200
    ours = CustomerPreference.objects.get(tenant__slug="default", key="allergies")
    assert ours.value == ["peanuts"]
    theirs = CustomerPreference.objects.get(tenant=other_tenant)
    assert (theirs.customer.code, theirs.value) == ("THEIRS-1", [])
    assert other_api.get("/customers/ADA-1/preferences").status_code == 404
    assert other_api.get("/customers/THEIRS-1/restrictions").json() == []
