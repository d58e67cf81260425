"""The customer endpoints through the real URLs and API keys: list, create, get, patch, archive,
delete and referrals."""

import datetime as dt

import pytest
from django.utils import timezone

from rapport.customers.models import Customer
from rapport.customers.services import CustomerService, TagService
from rapport.events.models import OutboxEvent
from rapport.tenancy.actors import Actor
from rapport.timeline.models import TimelineEvent

pytestmark = pytest.mark.django_db

BASE_TIME = dt.datetime(2024, 1, 1, 12, 0, tzinfo=dt.UTC)


def codes(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["code"] for item in response.json()["items"]]


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    return body["error"]


def written_rows() -> tuple[int, int, int]:
    return Customer.objects.count(), TimelineEvent.objects.count(), OutboxEvent.objects.count()


def set_times(customer: Customer, *, created: dt.datetime, updated: dt.datetime | None = None):
    Customer.objects.filter(pk=customer.pk).update(
        created_at=created, updated_at=updated or created
    )


# --- list: filters -------------------------------------------------------------------------


def test_list_shows_active_customers_newest_first(api, make_customer):
    first = make_customer(first_name="First")
    second = make_customer(first_name="Second")
    set_times(first, created=BASE_TIME)
    set_times(second, created=BASE_TIME + dt.timedelta(hours=1))

    response = api.get("/customers")

    assert codes(response) == [second.code, first.code]
    assert response.json()["next_cursor"] is None
    item = response.json()["items"][0]
    assert item["first_name"] == "Second"
    assert item["tags"] == []
    assert item["referred_by"] is None


def test_list_searches_names_email_phone_and_code(api, make_customer):
    ada = make_customer(first_name="Ada", last_name="Okafor", email="ada@example.com")
    bola = make_customer(first_name="Bola", phone="0803 555 1234")
    make_customer(first_name="Chidi", code="CHIDI-1")

    assert codes(api.get("/customers", {"q": "okaf"})) == [ada.code]
    assert codes(api.get("/customers", {"q": "ADA@EXAMPLE"})) == [ada.code]
    assert codes(api.get("/customers", {"q": "5551234"})) == [bola.code]
    assert codes(api.get("/customers", {"q": "08035551234"})) == [bola.code]
    assert codes(api.get("/customers", {"q": "chidi-1"})) == ["CHIDI-1"]
    assert codes(api.get("/customers", {"q": "Ada Okafor"})) == [ada.code]
    assert codes(api.get("/customers", {"q": "Ada Chidi"})) == []


def test_list_search_needs_two_characters(api):
    error = error_of(api.get("/customers", {"q": "a"}), 422)

    assert error["code"] == "invalid"
    assert set(error["fields"]) == {"q"}


def test_list_filters_by_exact_email_and_phone(api, make_customer):
    ada = make_customer(first_name="Ada", email="ada@example.com")
    bola = make_customer(first_name="Bola", phone="08035551234")
    make_customer(first_name="Ade", email="ade@example.com", phone="08035551235")

    assert codes(api.get("/customers", {"email": "ADA@example.com"})) == [ada.code]
    assert codes(api.get("/customers", {"email": "ada@example"})) == []
    assert codes(api.get("/customers", {"phone": "+2348035551234"})) == [bola.code]


def test_list_filters_by_tag_whatever_its_case(api, make_customer, system_actor):
    vip = make_customer(first_name="Vip")
    make_customer(first_name="Plain")
    TagService.add_tags(actor=system_actor, code=vip.code, names=["VIP"])

    response = api.get("/customers", {"tag": "vip"})

    assert codes(response) == [vip.code]
    assert response.json()["items"][0]["tags"] == ["VIP"]
    assert codes(api.get("/customers", {"tag": "unknown"})) == []


@pytest.mark.parametrize(
    ("name", "matching", "other"),
    [
        ("customer_type", "vip", "regular"),
        ("source", "pos", "online"),
        ("gender", "female", "male"),
        ("preferred_contact_method", "whatsapp", "email"),
    ],
)
def test_list_filters_by_exact_field(api, make_customer, name, matching, other):
    wanted = make_customer(first_name="Wanted", **{name: matching})
    make_customer(first_name="Other", **{name: other})
    make_customer(first_name="Blank")

    assert codes(api.get("/customers", {name: matching})) == [wanted.code]


def test_list_rejects_an_unknown_gender(api):
    error = error_of(api.get("/customers", {"gender": "robot"}), 422)

    assert set(error["fields"]) == {"gender"}


def test_list_filters_by_referrer(api, make_customer):
    referrer = make_customer(first_name="Referrer")
    referred = make_customer(first_name="Referred", referred_by=referrer.code)
    make_customer(first_name="Walk-in")

    response = api.get("/customers", {"referred_by": referrer.code})

    assert codes(response) == [referred.code]
    assert response.json()["items"][0]["referred_by"] == referrer.code


def test_list_shows_archived_customers_only_when_asked(api, make_customer, system_actor):
    active = make_customer(first_name="Active")
    archived = make_customer(first_name="Archived")
    CustomerService.archive_customer(actor=system_actor, code=archived.code)

    assert codes(api.get("/customers")) == [active.code]
    assert codes(api.get("/customers", {"archived": "false"})) == [active.code]
    assert codes(api.get("/customers", {"archived": "true"})) == [archived.code]


def test_list_filters_by_creation_time(api, make_customer):
    old = make_customer(first_name="Old")
    middle = make_customer(first_name="Middle")
    new = make_customer(first_name="New")
    set_times(old, created=BASE_TIME)
    set_times(middle, created=BASE_TIME + dt.timedelta(days=1))
    set_times(new, created=BASE_TIME + dt.timedelta(days=2))
    after = (BASE_TIME + dt.timedelta(days=1)).isoformat()
    before = (BASE_TIME + dt.timedelta(days=2)).isoformat()

    assert codes(api.get("/customers", {"created_after": after})) == [new.code, middle.code]
    assert codes(api.get("/customers", {"created_before": before})) == [middle.code, old.code]
    both = {"created_after": after, "created_before": before}
    assert codes(api.get("/customers", both)) == [middle.code]


def test_list_rejects_a_malformed_date(api):
    error = error_of(api.get("/customers", {"created_after": "yesterday"}), 422)

    assert set(error["fields"]) == {"created_after"}


@pytest.mark.parametrize(
    "value",
    [
        "-1368478",  # Unix seconds are not ISO 8601
        "1700000000",
        "0001-01-01T00:00:00+05:00",  # before year 1 in UTC
        "9999-12-31T23:59:59-05:00",  # after year 9999 in UTC
    ],
)
def test_list_rejects_a_time_that_is_not_an_iso_instant_utc_can_hold(api, value):
    for name in ("created_after", "created_before"):
        error = error_of(api.get("/customers", {name: value}), 422)

        assert set(error["fields"]) == {name}


def test_list_reads_any_offset_as_the_same_instant_in_utc(api, make_customer):
    # PostgreSQL refuses offsets beyond ±15:59; Python and ISO 8601 allow up to ±23:59.
    old = make_customer(first_name="Old")
    new = make_customer(first_name="New")
    set_times(old, created=BASE_TIME)
    set_times(new, created=BASE_TIME + dt.timedelta(days=2))
    far_west = dt.timezone(-dt.timedelta(hours=21, minutes=27))
    after = (BASE_TIME + dt.timedelta(days=1)).astimezone(far_west).isoformat()

    assert codes(api.get("/customers", {"created_after": after})) == [new.code]
    assert codes(api.get("/customers", {"created_before": after})) == [old.code]


# --- list: sorting and pagination ----------------------------------------------------------


@pytest.fixture
def sortable_customers(make_customer):
    """Four customers whose code, last name, creation and update orders all differ."""
    rows = [
        ("B-2", "Chukwu", 3, 0),
        ("A-1", "Bello", 1, 2),
        ("D-4", "Adeyemi", 0, 3),
        ("C-3", "Danjuma", 2, 1),
    ]
    for code, last_name, created_hours, updated_hours in rows:
        customer = make_customer(code=code, last_name=last_name)
        set_times(
            customer,
            created=BASE_TIME + dt.timedelta(hours=created_hours),
            updated=BASE_TIME + dt.timedelta(days=1, hours=updated_hours),
        )
    return rows


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        ("created_at", ["D-4", "A-1", "C-3", "B-2"]),
        ("-created_at", ["B-2", "C-3", "A-1", "D-4"]),
        ("updated_at", ["B-2", "C-3", "A-1", "D-4"]),
        ("-updated_at", ["D-4", "A-1", "C-3", "B-2"]),
        ("last_name", ["D-4", "A-1", "B-2", "C-3"]),
        ("-last_name", ["C-3", "B-2", "A-1", "D-4"]),
        ("code", ["A-1", "B-2", "C-3", "D-4"]),
        ("-code", ["D-4", "C-3", "B-2", "A-1"]),
    ],
)
def test_list_sorts_by_each_allowed_field(api, sortable_customers, order_by, expected):
    assert codes(api.get("/customers", {"order_by": order_by})) == expected


@pytest.mark.parametrize("order_by", ["email", "-phone", "pk", "", "--code"])
def test_list_rejects_other_sorts(api, sortable_customers, order_by):
    error = error_of(api.get("/customers", {"order_by": order_by}), 422)

    assert error["code"] == "invalid"
    assert set(error["fields"]) == {"order_by"}


def walk(api, params: dict) -> tuple[list[str], int]:
    """Every code across all pages, and how many pages it took."""
    seen, cursor, pages = [], None, 0
    while True:
        response = api.get("/customers", {**params, **({"cursor": cursor} if cursor else {})})
        seen += codes(response)
        pages += 1
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return seen, pages


@pytest.mark.parametrize("order_by", ["created_at", "-created_at", "last_name", "-code"])
def test_cursor_walks_every_row_once_even_with_ties(api, make_customer, order_by):
    customers = [make_customer(last_name="Same") for _ in range(7)]
    Customer.objects.update(created_at=BASE_TIME)  # all tied: the primary key decides

    seen, pages = walk(api, {"order_by": order_by, "limit": 3})

    assert sorted(seen) == sorted(customer.code for customer in customers)
    assert len(seen) == len(set(seen)) == 7
    assert pages == 3
    assert seen == codes(api.get("/customers", {"order_by": order_by, "limit": 500}))


def test_cursor_pages_follow_the_sort(api, sortable_customers):
    seen, pages = walk(api, {"order_by": "last_name", "limit": 1})

    assert seen == ["D-4", "A-1", "B-2", "C-3"]
    assert pages == 4


def test_a_tampered_cursor_is_rejected(api, make_customer):
    for _ in range(3):
        make_customer()
    cursor = api.get("/customers", {"limit": 1}).json()["next_cursor"]

    for bad in ["not-a-cursor", cursor[:-3], "W10", "WyJ4IiwgMV0"]:
        error = error_of(api.get("/customers", {"limit": 1, "cursor": bad}), 422)
        assert set(error["fields"]) == {"cursor"}


@pytest.mark.parametrize("limit", ["0", "-1", "501", "many"])
def test_limit_out_of_bounds_is_rejected(api, limit):
    error = error_of(api.get("/customers", {"limit": limit}), 422)

    assert set(error["fields"]) == {"limit"}


@pytest.mark.parametrize("limit", [1, 500])
def test_limit_bounds_are_accepted(api, make_customer, limit):
    make_customer()
    make_customer()

    assert len(codes(api.get("/customers", {"limit": limit}))) == min(limit, 2)


# --- create --------------------------------------------------------------------------------


def test_create_returns_the_customer_with_201(api, make_customer):
    referrer = make_customer(first_name="Referrer")

    response = api.post(
        "/customers",
        {
            "code": "ADA-001",
            "first_name": " Ada ",
            "last_name": "Okafor",
            "email": "Ada@Example.com",
            "phone": "0803 123 4567",
            "date_of_birth": "1990-05-17",
            "gender": "female",
            "preferred_language": "yo",
            "preferred_contact_method": "whatsapp",
            "customer_type": "vip",
            "source": "pos",
            "referred_by": referrer.code,
            "instagram_handle": "@Ada.Okafor",
            "metadata": {"loyalty_card": "123"},
        },
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["code"] == "ADA-001"
    assert body["first_name"] == "Ada"
    assert body["display_name"] == "Ada Okafor"
    assert body["email"] == "ada@example.com"
    assert body["phone"] == "+2348031234567"
    assert body["date_of_birth"] == "1990-05-17"
    assert body["referred_by"] == referrer.code
    assert body["instagram_handle"] == "ada.okafor"
    assert body["metadata"] == {"loyalty_card": "123"}
    assert body["is_archived"] is False
    assert body["addresses"] == body["contact_points"] == body["external_identities"] == []
    stored = Customer.objects.get(code="ADA-001")
    assert stored.phone == "+2348031234567"
    assert stored.referred_by == referrer


def test_create_with_a_phone_only(api):
    response = api.post("/customers", {"phone": "+234 803 123 4567"})

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["phone"] == "+2348031234567"
    assert body["display_name"] == "+2348031234567"
    assert len(body["code"]) == 10
    assert Customer.objects.filter(code=body["code"]).exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phone": "12"}, "phone"),
        ({"first_name": "Ada", "email": "not-an-email"}, "email"),
        ({"first_name": "Ada", "date_of_birth": "2999-01-01"}, "date_of_birth"),
        ({"first_name": "Ada", "date_of_birth": "17/05/1990"}, "date_of_birth"),
        ({"first_name": "Ada", "gender": "robot"}, "gender"),
        ({"first_name": "Ada", "preferred_language": "English!"}, "preferred_language"),
        ({"first_name": "Ada", "facebook_url": "not a url"}, "facebook_url"),
        ({"first_name": "Ada", "metadata": [1, 2]}, "metadata"),
        ({"first_name": "A" * 101}, "first_name"),
        ({"first_name": "Ada", "code": "has space"}, "code"),
        ({"first_name": "Ada", "referred_by": "NOBODY"}, "referred_by"),
        ({"customer_type": "vip"}, "phone"),
        ({}, "phone"),
    ],
)
def test_create_rejects_bad_values_naming_the_field(api, body, field):
    before = written_rows()

    error = error_of(api.post("/customers", body), 422)

    assert error["code"] == "invalid"
    assert field in error["fields"]
    assert written_rows() == before


def test_create_rejects_unknown_fields(api):
    before = written_rows()

    error = error_of(api.post("/customers", {"phone": "08031234567", "is_vip": True}), 422)

    assert error["fields"] == {"is_vip": "Extra inputs are not permitted"}
    assert written_rows() == before


@pytest.mark.parametrize("raw", ['{"phone": "0803', "not json", ""])
def test_create_rejects_malformed_json(api, raw):
    before = written_rows()

    response = api.post("/customers", raw)

    if raw == "":
        error = error_of(response, 422)
    else:
        error = error_of(response, 400)
        assert error["code"] == "bad_request"
    assert written_rows() == before


@pytest.mark.parametrize("raw", ["[1, 2]", "null", '"text"'])
def test_create_rejects_a_body_that_is_not_an_object(api, raw):
    before = written_rows()

    error_of(api.post("/customers", raw), 422)

    assert written_rows() == before


def test_create_with_a_taken_code_is_a_conflict(api, make_customer):
    make_customer(code="TAKEN", first_name="First")
    before = written_rows()

    error = error_of(api.post("/customers", {"code": "TAKEN", "first_name": "Second"}), 409)

    assert error["code"] == "conflict"
    assert set(error["fields"]) == {"code"}
    assert written_rows() == before
    assert Customer.objects.get(code="TAKEN").first_name == "First"


# --- get -----------------------------------------------------------------------------------


def test_get_returns_the_customer_in_detail(api, make_customer, system_actor):
    referrer = make_customer(first_name="Referrer")
    make_customer(first_name="Referred", referred_by=referrer.code)
    TagService.add_tags(actor=system_actor, code=referrer.code, names=["VIP", "Breeder"])

    response = api.get(f"/customers/{referrer.code}")

    assert response.status_code == 200
    body = response.json()
    assert body["code"] == referrer.code
    assert body["tags"] == ["Breeder", "VIP"]
    assert body["referral_count"] == 1


def test_get_an_unknown_customer_is_404(api):
    error = error_of(api.get("/customers/NOBODY"), 404)

    assert error["code"] == "not_found"


# --- patch ---------------------------------------------------------------------------------


def test_patch_changes_only_the_fields_sent(api, make_customer):
    customer = make_customer(
        first_name="Ada", last_name="Okafor", email="ada@example.com", customer_type="vip"
    )
    before = api.get(f"/customers/{customer.code}").json()

    response = api.patch(f"/customers/{customer.code}", {"last_name": "Bello", "gender": "female"})

    assert response.status_code == 200, response.content
    after = response.json()
    assert after["last_name"] == "Bello"
    assert after["gender"] == "female"
    assert after["display_name"] == "Ada Bello"
    unchanged = set(before) - {"last_name", "gender", "display_name", "updated_at"}
    assert {name: after[name] for name in unchanged} == {name: before[name] for name in unchanged}
    assert api.get(f"/customers/{customer.code}").json() == after


def test_patch_with_null_clears_a_field(api, make_customer):
    referrer = make_customer(first_name="Referrer")
    customer = make_customer(
        first_name="Ada",
        email="ada@example.com",
        date_of_birth=dt.date(1990, 5, 17),
        metadata={"a": 1},
        referred_by=referrer.code,
    )

    response = api.patch(
        f"/customers/{customer.code}",
        {"email": None, "date_of_birth": None, "metadata": None, "referred_by": None},
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["email"] == ""
    assert body["date_of_birth"] is None
    assert body["metadata"] == {}
    assert body["referred_by"] is None
    assert body["first_name"] == "Ada"
    customer.refresh_from_db()
    assert (customer.email, customer.date_of_birth, customer.referred_by) == ("", None, None)


def test_patch_with_an_empty_body_changes_nothing(api, make_customer):
    customer = make_customer(first_name="Ada")
    before = api.get(f"/customers/{customer.code}").json()
    events = TimelineEvent.objects.count()

    response = api.patch(f"/customers/{customer.code}", {})

    assert response.status_code == 200
    assert response.json() == before
    assert TimelineEvent.objects.count() == events


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"first_name": "Changed", "email": "not-an-email"}, "email"),
        ({"first_name": "Changed", "phone": "12"}, "phone"),
        ({"first_name": "Changed", "gender": "robot"}, "gender"),
        ({"first_name": "Changed", "date_of_birth": "1800-01-01"}, "date_of_birth"),
        ({"first_name": "Changed", "referred_by": "NOBODY"}, "referred_by"),
        ({"first_name": "Changed", "favourite_colour": "blue"}, "favourite_colour"),
        ({"first_name": "Changed", "code": "NEW-CODE"}, "code"),
        ({"first_name": None}, "phone"),
    ],
)
def test_patch_rejects_bad_values_and_changes_nothing(api, make_customer, body, field):
    customer = make_customer(first_name="Ada")
    before = api.get(f"/customers/{customer.code}").json()
    rows = written_rows()

    error = error_of(api.patch(f"/customers/{customer.code}", body), 422)

    assert field in error["fields"]
    assert api.get(f"/customers/{customer.code}").json() == before
    assert written_rows() == rows


def test_patch_refuses_a_referral_loop(api, make_customer):
    grandparent = make_customer(first_name="Grandparent")
    parent = make_customer(first_name="Parent", referred_by=grandparent.code)

    for code in (grandparent.code, parent.code):
        error = error_of(api.patch(f"/customers/{code}", {"referred_by": parent.code}), 422)
        assert set(error["fields"]) == {"referred_by"}
    grandparent.refresh_from_db()
    assert grandparent.referred_by is None


def test_patch_with_malformed_json_is_400(api, make_customer):
    customer = make_customer(first_name="Ada")

    error = error_of(api.patch(f"/customers/{customer.code}", '{"first_name": '), 400)

    assert error["code"] == "bad_request"
    customer.refresh_from_db()
    assert customer.first_name == "Ada"


def test_patch_an_unknown_customer_is_404(api):
    error_of(api.patch("/customers/NOBODY", {"first_name": "Ada"}), 404)

    assert not Customer.objects.exists()


# --- archive, restore, delete --------------------------------------------------------------


def test_archive_then_restore(api, make_customer):
    customer = make_customer(first_name="Ada")

    archived = api.post(f"/customers/{customer.code}/archive")

    assert archived.status_code == 200, archived.content
    assert archived.json()["is_archived"] is True
    assert archived.json()["archived_at"] is not None
    assert codes(api.get("/customers")) == []
    assert codes(api.get("/customers", {"archived": "true"})) == [customer.code]

    again = api.post(f"/customers/{customer.code}/archive")
    assert again.json()["archived_at"] == archived.json()["archived_at"]

    restored = api.post(f"/customers/{customer.code}/restore")

    assert restored.status_code == 200
    assert restored.json()["is_archived"] is False
    assert restored.json()["archived_at"] is None
    assert codes(api.get("/customers")) == [customer.code]
    titles = list(
        TimelineEvent.objects.filter(customer=customer)
        .order_by("id")
        .values_list("title", flat=True)
    )
    assert titles == ["Customer created", "Customer archived", "Customer restored from the archive"]


@pytest.mark.parametrize("action", ["archive", "restore"])
def test_archive_or_restore_an_unknown_customer_is_404(api, action):
    error_of(api.post(f"/customers/NOBODY/{action}"), 404)


def test_delete_then_404(api, make_customer):
    customer = make_customer(first_name="Ada")
    kept = make_customer(first_name="Kept")

    response = api.delete(f"/customers/{customer.code}")

    assert response.status_code == 204
    assert response.content == b""
    error_of(api.get(f"/customers/{customer.code}"), 404)
    error_of(api.delete(f"/customers/{customer.code}"), 404)
    assert list(Customer.objects.values_list("code", flat=True)) == [kept.code]


def test_deleting_a_referrer_keeps_the_customers_they_referred(api, make_customer):
    referrer = make_customer(first_name="Referrer")
    referred = make_customer(first_name="Referred", referred_by=referrer.code)

    assert api.delete(f"/customers/{referrer.code}").status_code == 204

    body = api.get(f"/customers/{referred.code}").json()
    assert body["referred_by"] is None


def test_read_key_cannot_change_customers(read_api, make_customer):
    customer = make_customer(first_name="Ada")
    rows = written_rows()

    responses = [
        read_api.post("/customers", {"first_name": "New"}),
        read_api.patch(f"/customers/{customer.code}", {"first_name": "Changed"}),
        read_api.post(f"/customers/{customer.code}/archive"),
        read_api.delete(f"/customers/{customer.code}"),
    ]

    for response in responses:
        assert error_of(response, 403)["code"] == "forbidden"
    assert written_rows() == rows
    customer.refresh_from_db()
    assert (customer.first_name, customer.is_archived) == ("Ada", False)
    assert read_api.get(f"/customers/{customer.code}").status_code == 200


# --- referrals -----------------------------------------------------------------------------


def test_referrals_lists_whom_a_customer_referred_newest_first(api, make_customer):
    referrer = make_customer(first_name="Referrer")
    other = make_customer(first_name="Other referrer")
    older = make_customer(first_name="Older", referred_by=referrer.code)
    newer = make_customer(first_name="Newer", referred_by=referrer.code)
    not_mine = make_customer(first_name="Not mine", referred_by=other.code)
    set_times(older, created=BASE_TIME)
    set_times(newer, created=BASE_TIME + dt.timedelta(minutes=1))

    response = api.get(f"/customers/{referrer.code}/referrals")

    assert codes(response) == [newer.code, older.code]
    assert {item["referred_by"] for item in response.json()["items"]} == {referrer.code}
    assert codes(api.get(f"/customers/{other.code}/referrals")) == [not_mine.code]
    assert codes(api.get(f"/customers/{newer.code}/referrals")) == []


def test_referrals_are_paginated(api, make_customer):
    referrer = make_customer(first_name="Referrer")
    referred = [make_customer(referred_by=referrer.code) for _ in range(5)]

    first = api.get(f"/customers/{referrer.code}/referrals", {"limit": 3})
    second = api.get(
        f"/customers/{referrer.code}/referrals",
        {"limit": 3, "cursor": first.json()["next_cursor"]},
    )

    assert second.json()["next_cursor"] is None
    assert sorted(codes(first) + codes(second)) == sorted(c.code for c in referred)


def test_referrals_of_an_unknown_customer_is_404(api):
    error_of(api.get("/customers/NOBODY/referrals"), 404)


def test_top_referrers_by_count(api, make_customer):
    best = make_customer(first_name="Best")
    second = make_customer(first_name="Second")
    make_customer(first_name="None")
    for _ in range(3):
        make_customer(referred_by=best.code)
    make_customer(referred_by=second.code)

    response = api.get("/referrals/top")

    assert response.status_code == 200
    assert response.json() == [
        {"code": best.code, "display_name": "Best", "referral_count": 3},
        {"code": second.code, "display_name": "Second", "referral_count": 1},
    ]
    assert [row["code"] for row in api.get("/referrals/top", {"limit": 1}).json()] == [best.code]


@pytest.mark.parametrize("limit", ["0", "101", "x"])
def test_top_referrers_limit_bounds(api, limit):
    error = error_of(api.get("/referrals/top", {"limit": limit}), 422)

    assert set(error["fields"]) == {"limit"}


def test_created_at_is_reported_in_utc(api, make_customer):
    customer = make_customer(first_name="Ada")
    body = api.get(f"/customers/{customer.code}").json()

    created = dt.datetime.fromisoformat(body["created_at"])
    assert created.utcoffset() == dt.timedelta(0)
    assert abs(created - timezone.now()) < dt.timedelta(minutes=1)


def test_the_same_code_in_another_tenant_is_left_alone(api, other_tenant, make_customer):
    mine = make_customer(first_name="Mine", code="SAME")
    theirs = make_customer(
        actor=Actor.for_system(other_tenant, "tests"), first_name="Theirs", code="SAME"
    )

    response = api.patch("/customers/SAME", {"last_name": "Changed"})

    assert response.status_code == 200
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.last_name, theirs.last_name) == ("Changed", "")


# --- input no database can hold ------------------------------------------------------------


@pytest.mark.parametrize(
    "metadata",
    [
        '{"amount": NaN}',
        '{"amount": Infinity}',
        '{"amount": 1000000000000000000000000000000}',
        '{"a": ' * 300 + "1" + "}" * 300,
    ],
)
def test_metadata_that_cannot_be_read_back_is_refused(api, make_customer, metadata):
    customer = make_customer(first_name="Ada")
    rows = written_rows()

    created = api.post("/customers", '{"first_name": "Bola", "metadata": ' + metadata + "}")
    patched = api.patch(f"/customers/{customer.code}", '{"metadata": ' + metadata + "}")

    assert set(error_of(created, 422)["fields"]) == {"metadata"}
    assert set(error_of(patched, 422)["fields"]) == {"metadata"}
    assert written_rows() == rows
    assert api.get("/customers").status_code == 200


@pytest.mark.parametrize(
    ("send", "field"),
    [
        (lambda api: api.get("/customers/A%00B"), "path"),
        (lambda api: api.get("/customers", {"q": "Ada\x00"}), "q"),
        (lambda api: api.get("/customers", {"email": "\x00@example.com"}), "email"),
        (lambda api: api.post("/customers", {"first_name": "A\x00B"}), "body"),
        (
            lambda api: api.post("/customers", {"first_name": "A", "metadata": {"k": "\x00"}}),
            "body",
        ),
        (lambda api: api.patch("/customers/ANY", {"last_name": "\x00"}), "body"),
        (
            lambda api: api.post("/customers", {"first_name": "A"}, {"Idempotency-Key": "k\x00"}),
            "Idempotency-Key",
        ),
    ],
)
def test_nul_characters_are_refused_before_the_database_sees_them(api, send, field):
    rows = written_rows()

    error = error_of(send(api), 422)

    assert error["code"] == "invalid"
    assert set(error["fields"]) == {field}
    assert written_rows() == rows


def test_an_escaped_backslash_before_u0000_is_ordinary_text(api):
    response = api.post("/customers", '{"first_name": "A\\\\u0000B"}')

    assert response.status_code == 201, response.content
    assert response.json()["first_name"] == "A\\u0000B"
