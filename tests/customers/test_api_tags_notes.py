"""Tags, a customer's tags, notes and addresses through the real URLs and API keys."""

import datetime as dt
import uuid

import pytest

from rapport.customers.models import CustomerAddress, CustomerTag, Note, Tag
from rapport.customers.services import NoteService, TagService
from tests.conftest import ApiClient

pytestmark = pytest.mark.django_db


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    return body["error"]


@pytest.fixture
def colleague_api(tenant, make_key):
    """A second read+write key of the same tenant."""
    _, secret = make_key(tenant, ["write"], name="colleague key")
    return ApiClient(secret)


@pytest.fixture
def customer(make_customer):
    return make_customer(first_name="Ada", last_name="Okafor")


# --- tags ----------------------------------------------------------------------------------


def test_create_a_tag(api):
    response = api.post("/tags", {"name": "  VIP  ", "color": "#FC0", "description": "Big"})

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "VIP"
    assert body["color"] == "#ffcc00"
    assert body["description"] == "Big"
    assert body["is_active"] is True
    assert body["customer_count"] == 0
    tag = Tag.objects.get()
    assert str(tag.uuid) == body["id"]


def test_tag_names_are_unique_whatever_their_case(api):
    api.post("/tags", {"name": "VIP"})

    error = error_of(api.post("/tags", {"name": "vip"}), 409)

    assert error["code"] == "conflict"
    assert set(error["fields"]) == {"name"}
    assert Tag.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 51}, "name"),
        ({"name": "VIP", "color": "yellow"}, "color"),
        ({"name": "VIP", "colour": "#fff"}, "colour"),
        ({}, "name"),
    ],
)
def test_create_a_tag_rejects_bad_input(api, body, field):
    error = error_of(api.post("/tags", body), 422)

    assert field in error["fields"]
    assert not Tag.objects.exists()


def test_list_tags_by_name_with_customer_counts(api, customer, make_customer, system_actor):
    TagService.add_tags(actor=system_actor, code=customer.code, names=["VIP", "Breeder"])
    TagService.add_tags(actor=system_actor, code=make_customer().code, names=["VIP"])
    TagService.create_tag(actor=system_actor, name="Archived", is_active=False)

    response = api.get("/tags")

    assert response.status_code == 200
    assert [(t["name"], t["customer_count"]) for t in response.json()] == [
        ("Archived", 0),
        ("Breeder", 1),
        ("VIP", 2),
    ]
    assert [t["name"] for t in api.get("/tags", {"is_active": "false"}).json()] == ["Archived"]
    assert [t["name"] for t in api.get("/tags", {"is_active": "true"}).json()] == [
        "Breeder",
        "VIP",
    ]


def test_get_update_and_delete_a_tag(api, customer, system_actor):
    TagService.add_tags(actor=system_actor, code=customer.code, names=["VIP"])
    tag_id = api.get("/tags").json()[0]["id"]

    fetched = api.get(f"/tags/{tag_id}")
    assert fetched.status_code == 200
    assert fetched.json()["customer_count"] == 1

    updated = api.patch(f"/tags/{tag_id}", {"name": "Gold", "color": "#ffc107"})
    assert updated.status_code == 200, updated.content
    assert updated.json()["name"] == "Gold"
    assert updated.json()["color"] == "#ffc107"
    assert updated.json()["description"] == ""
    assert updated.json()["customer_count"] == 1
    assert api.get(f"/customers/{customer.code}").json()["tags"] == ["Gold"]

    deleted = api.delete(f"/tags/{tag_id}")
    assert deleted.status_code == 204
    error_of(api.get(f"/tags/{tag_id}"), 404)
    error_of(api.delete(f"/tags/{tag_id}"), 404)
    assert not CustomerTag.objects.exists()
    assert api.get(f"/customers/{customer.code}").json()["tags"] == []


def test_renaming_a_tag_to_a_taken_name_is_a_conflict(api, system_actor):
    TagService.create_tag(actor=system_actor, name="VIP")
    gold = TagService.create_tag(actor=system_actor, name="Gold")

    error = error_of(api.patch(f"/tags/{gold.uuid}", {"name": "vip", "color": "#000000"}), 409)

    assert set(error["fields"]) == {"name"}
    gold.refresh_from_db()
    assert (gold.name, gold.color) == ("Gold", "#6c757d")


def test_renaming_a_tag_to_another_case_of_its_own_name_is_allowed(api, system_actor):
    tag = TagService.create_tag(actor=system_actor, name="vip")

    response = api.patch(f"/tags/{tag.uuid}", {"name": "VIP"})

    assert response.status_code == 200
    assert response.json()["name"] == "VIP"


@pytest.mark.parametrize(
    ("body", "field"),
    [({"color": "red"}, "color"), ({"name": ""}, "name"), ({"slug": "vip"}, "slug")],
)
def test_update_a_tag_rejects_bad_input(api, system_actor, body, field):
    tag = TagService.create_tag(actor=system_actor, name="VIP")

    error = error_of(api.patch(f"/tags/{tag.uuid}", body), 422)

    assert field in error["fields"]
    tag.refresh_from_db()
    assert (tag.name, tag.color) == ("VIP", "#6c757d")


def test_unknown_or_malformed_tag_ids(api):
    error_of(api.get(f"/tags/{uuid.uuid4()}"), 404)
    error_of(api.patch(f"/tags/{uuid.uuid4()}", {"name": "x"}), 404)
    error = error_of(api.get("/tags/not-a-uuid"), 422)
    assert set(error["fields"]) == {"tag_id"}


def test_read_key_cannot_change_tags(read_api, system_actor):
    tag = TagService.create_tag(actor=system_actor, name="VIP")

    assert error_of(read_api.post("/tags", {"name": "New"}), 403)["code"] == "forbidden"
    error_of(read_api.patch(f"/tags/{tag.uuid}", {"name": "Gold"}), 403)
    error_of(read_api.delete(f"/tags/{tag.uuid}"), 403)
    assert list(Tag.objects.values_list("name", flat=True)) == ["VIP"]
    assert read_api.get(f"/tags/{tag.uuid}").status_code == 200


# --- a customer's tags ---------------------------------------------------------------------


def test_tag_a_customer_by_names(api, customer, system_actor):
    TagService.create_tag(actor=system_actor, name="VIP", color="#ffc107")

    response = api.post(f"/customers/{customer.code}/tags", {"tags": ["vip", "Dog owner", "VIP"]})

    assert response.status_code == 200, response.content
    body = response.json()
    assert [(t["name"], t["color"], t["added_by"]) for t in body] == [
        ("Dog owner", "#6c757d", "api_key:test key"),
        ("VIP", "#ffc107", "api_key:test key"),
    ]
    assert all(dt.datetime.fromisoformat(t["added_at"]) for t in body)
    assert sorted(Tag.objects.values_list("name", flat=True)) == ["Dog owner", "VIP"]


def test_tagging_again_keeps_who_added_it_first(api, colleague_api, customer):
    api.post(f"/customers/{customer.code}/tags", {"tags": ["VIP"]})

    response = colleague_api.post(f"/customers/{customer.code}/tags", {"tags": ["VIP", "New"]})

    assert [(t["name"], t["added_by"]) for t in response.json()] == [
        ("New", "api_key:colleague key"),
        ("VIP", "api_key:test key"),
    ]
    assert CustomerTag.objects.count() == 2


def test_list_a_customers_tags(api, read_api, customer, make_customer, system_actor):
    TagService.add_tags(actor=system_actor, code=customer.code, names=["VIP", "Breeder"])
    TagService.add_tags(actor=system_actor, code=make_customer().code, names=["Other"])

    response = read_api.get(f"/customers/{customer.code}/tags")

    assert response.status_code == 200
    assert [(t["name"], t["added_by"]) for t in response.json()] == [
        ("Breeder", "system:tests"),
        ("VIP", "system:tests"),
    ]


def test_adding_an_inactive_tag_is_refused(api, customer, system_actor):
    TagService.create_tag(actor=system_actor, name="Old", is_active=False)

    error = error_of(api.post(f"/customers/{customer.code}/tags", {"tags": ["New", "old"]}), 422)

    assert set(error["fields"]) == {"tags"}
    assert not CustomerTag.objects.exists()
    assert list(Tag.objects.values_list("name", flat=True)) == ["Old"]


@pytest.mark.parametrize("body", [{"tags": []}, {"tags": ["  "]}, {"tags": "VIP"}, {}])
def test_adding_tags_rejects_bad_input(api, customer, body):
    error_of(api.post(f"/customers/{customer.code}/tags", body), 422)

    assert not Tag.objects.exists()


def test_remove_a_tag_by_name(api, customer, system_actor):
    TagService.add_tags(actor=system_actor, code=customer.code, names=["VIP", "Breeder"])

    response = api.delete(f"/customers/{customer.code}/tags/vip")

    assert response.status_code == 204
    assert [t["name"] for t in api.get(f"/customers/{customer.code}/tags").json()] == ["Breeder"]
    assert Tag.objects.filter(name="VIP").exists()


def test_removing_a_tag_the_customer_lacks_is_404(api, customer, make_customer, system_actor):
    TagService.add_tags(actor=system_actor, code=make_customer().code, names=["VIP"])

    error = error_of(api.delete(f"/customers/{customer.code}/tags/VIP"), 404)

    assert error["code"] == "not_found"
    error_of(api.delete(f"/customers/{customer.code}/tags/Unknown"), 404)
    assert CustomerTag.objects.count() == 1


def test_tags_of_an_unknown_customer_are_404(api):
    error_of(api.get("/customers/NOBODY/tags"), 404)
    error_of(api.post("/customers/NOBODY/tags", {"tags": ["VIP"]}), 404)
    error_of(api.delete("/customers/NOBODY/tags/VIP"), 404)
    assert not Tag.objects.exists()


# --- notes ---------------------------------------------------------------------------------


def test_add_a_note(api, customer):
    response = api.post(f"/customers/{customer.code}/notes", {"content": "  Allergic to cats  "})

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["content"] == "Allergic to cats"
    assert body["author"] == "api_key:test key"
    assert body["is_pinned"] is False
    assert body["is_private"] is False
    assert str(Note.objects.get().uuid) == body["id"]


@pytest.mark.parametrize(
    "body",
    [{"content": ""}, {"content": "   "}, {"content": "x" * 10_001}, {}, {"content": "x", "a": 1}],
)
def test_add_a_note_rejects_bad_input(api, customer, body):
    error = error_of(api.post(f"/customers/{customer.code}/notes", body), 422)

    assert error["fields"]
    assert not Note.objects.exists()


def test_notes_list_pinned_first_then_newest(api, customer):
    ids = {}
    for content, pinned in [("old", False), ("pinned old", True), ("new", False), ("pin", True)]:
        response = api.post(
            f"/customers/{customer.code}/notes", {"content": content, "is_pinned": pinned}
        )
        ids[content] = response.json()["id"]
    base = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    for minutes, content in enumerate(["old", "pinned old", "new", "pin"]):
        Note.objects.filter(uuid=ids[content]).update(
            created_at=base + dt.timedelta(minutes=minutes)
        )

    response = api.get(f"/customers/{customer.code}/notes")

    assert response.status_code == 200
    assert [n["content"] for n in response.json()["items"]] == ["pin", "pinned old", "new", "old"]

    pages, cursor = [], None
    while True:
        params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = api.get(f"/customers/{customer.code}/notes", params).json()
        pages += [n["content"] for n in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == ["pin", "pinned old", "new", "old"]


def test_pin_and_unpin_a_note(api, customer):
    first = api.post(f"/customers/{customer.code}/notes", {"content": "first"}).json()
    api.post(f"/customers/{customer.code}/notes", {"content": "second"})

    pinned = api.post(f"/customers/{customer.code}/notes/{first['id']}/pin")

    assert pinned.status_code == 200
    assert pinned.json()["is_pinned"] is True
    listed = api.get(f"/customers/{customer.code}/notes").json()["items"]
    assert [n["content"] for n in listed] == ["first", "second"]

    unpinned = api.post(f"/customers/{customer.code}/notes/{first['id']}/unpin")

    assert unpinned.json()["is_pinned"] is False
    listed = api.get(f"/customers/{customer.code}/notes").json()["items"]
    assert [n["content"] for n in listed] == ["second", "first"]


def test_delete_a_note(api, customer):
    note = api.post(f"/customers/{customer.code}/notes", {"content": "gone"}).json()

    response = api.delete(f"/customers/{customer.code}/notes/{note['id']}")

    assert response.status_code == 204
    assert api.get(f"/customers/{customer.code}/notes").json()["items"] == []
    error_of(api.delete(f"/customers/{customer.code}/notes/{note['id']}"), 404)


def test_a_note_belongs_to_its_customer(api, customer, make_customer):
    other = make_customer(first_name="Other")
    note = api.post(f"/customers/{customer.code}/notes", {"content": "mine"}).json()

    error_of(api.post(f"/customers/{other.code}/notes/{note['id']}/pin"), 404)
    error_of(api.delete(f"/customers/{other.code}/notes/{note['id']}"), 404)
    assert Note.objects.filter(uuid=note["id"], is_pinned=False).exists()


def test_private_notes_show_to_their_author_and_admins_only(
    api, colleague_api, admin_api, read_api, customer
):
    api.post(f"/customers/{customer.code}/notes", {"content": "public"})
    private = api.post(
        f"/customers/{customer.code}/notes", {"content": "secret", "is_private": True}
    ).json()

    def contents(client):
        response = client.get(f"/customers/{customer.code}/notes")
        assert response.status_code == 200
        return sorted(n["content"] for n in response.json()["items"])

    assert contents(api) == ["public", "secret"]
    assert contents(admin_api) == ["public", "secret"]
    assert contents(colleague_api) == ["public"]
    assert contents(read_api) == ["public"]
    error_of(colleague_api.post(f"/customers/{customer.code}/notes/{private['id']}/pin"), 404)
    error_of(colleague_api.delete(f"/customers/{customer.code}/notes/{private['id']}"), 404)
    assert Note.objects.filter(uuid=private["id"], is_pinned=False).exists()


def test_a_private_note_stays_out_of_the_shared_timeline(api, colleague_api, customer):
    api.post(f"/customers/{customer.code}/notes", {"content": "secret", "is_private": True})

    events = colleague_api.get(f"/customers/{customer.code}/timeline").json()["items"]

    assert "secret" not in str(events)
    assert "Private note added" in [event["title"] for event in events]


def test_only_the_author_or_an_admin_deletes_a_note(api, colleague_api, admin_api, customer):
    first = api.post(f"/customers/{customer.code}/notes", {"content": "first"}).json()
    second = api.post(f"/customers/{customer.code}/notes", {"content": "second"}).json()

    error = error_of(colleague_api.delete(f"/customers/{customer.code}/notes/{first['id']}"), 403)

    assert error["code"] == "forbidden"
    assert Note.objects.count() == 2
    assert (
        colleague_api.post(f"/customers/{customer.code}/notes/{first['id']}/pin").status_code == 200
    )
    assert admin_api.delete(f"/customers/{customer.code}/notes/{first['id']}").status_code == 204
    assert api.delete(f"/customers/{customer.code}/notes/{second['id']}").status_code == 204
    assert not Note.objects.exists()


def test_notes_of_unknown_customers_and_ids_are_404(api, customer, tenant):
    error_of(api.get("/customers/NOBODY/notes"), 404)
    error_of(api.post("/customers/NOBODY/notes", {"content": "x"}), 404)
    error_of(api.post(f"/customers/{customer.code}/notes/{uuid.uuid4()}/pin"), 404)
    error_of(api.post(f"/customers/{customer.code}/notes/{uuid.uuid4()}/unpin"), 404)
    error_of(api.delete(f"/customers/{customer.code}/notes/{uuid.uuid4()}"), 404)
    error_of(api.post(f"/customers/{customer.code}/notes/not-a-uuid/pin"), 422)
    assert not Note.objects.exists()


def test_read_key_cannot_write_notes(read_api, customer, system_actor):
    note = NoteService.add_note(actor=system_actor, code=customer.code, content="hello")

    error_of(read_api.post(f"/customers/{customer.code}/notes", {"content": "x"}), 403)
    error_of(read_api.post(f"/customers/{customer.code}/notes/{note.uuid}/pin"), 403)
    error_of(read_api.delete(f"/customers/{customer.code}/notes/{note.uuid}"), 403)
    assert list(Note.objects.values_list("content", "is_pinned")) == [("hello", False)]


# --- addresses -----------------------------------------------------------------------------


def addresses(api, code) -> list[tuple[str, bool]]:
    response = api.get(f"/customers/{code}/addresses")
    assert response.status_code == 200
    return [(a["line1"], a["is_default"]) for a in response.json()]


def test_add_addresses_the_first_becomes_the_default(api, customer):
    first = api.post(
        f"/customers/{customer.code}/addresses",
        {"line1": " 1 Marina Road ", "city": "Lagos", "country": "ng", "label": "work"},
    )

    assert first.status_code == 201, first.content
    body = first.json()
    assert body["line1"] == "1 Marina Road"
    assert body["country"] == "NG"
    assert body["label"] == "work"
    assert body["is_default"] is True

    second = api.post(f"/customers/{customer.code}/addresses", {"line1": "2 Allen Avenue"})
    assert second.json()["is_default"] is False
    assert addresses(api, customer.code) == [("1 Marina Road", True), ("2 Allen Avenue", False)]

    api.post(f"/customers/{customer.code}/addresses", {"line1": "3 Broad St", "is_default": True})
    assert addresses(api, customer.code) == [
        ("3 Broad St", True),
        ("1 Marina Road", False),
        ("2 Allen Avenue", False),
    ]
    detail = api.get(f"/customers/{customer.code}").json()
    assert [a["line1"] for a in detail["addresses"]] == [
        "3 Broad St",
        "1 Marina Road",
        "2 Allen Avenue",
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"line1": ""}, "line1"),
        ({}, "line1"),
        ({"line1": "1 Road", "country": "ZZ"}, "country"),
        ({"line1": "1 Road", "country": "NGA"}, "country"),
        ({"line1": "1 Road", "label": "castle"}, "label"),
        ({"line1": "1 Road", "floor": 3}, "floor"),
    ],
)
def test_add_an_address_rejects_bad_input(api, customer, body, field):
    error = error_of(api.post(f"/customers/{customer.code}/addresses", body), 422)

    assert field in error["fields"]
    assert not CustomerAddress.objects.exists()


def test_update_an_address(api, customer):
    home = api.post(f"/customers/{customer.code}/addresses", {"line1": "1 Road", "city": "Ikeja"})
    work = api.post(f"/customers/{customer.code}/addresses", {"line1": "2 Road"}).json()

    response = api.patch(
        f"/customers/{customer.code}/addresses/{work['id']}",
        {"city": "Abuja", "is_default": True},
    )

    assert response.status_code == 200, response.content
    assert response.json()["city"] == "Abuja"
    assert response.json()["line1"] == "2 Road"
    assert response.json()["is_default"] is True
    assert addresses(api, customer.code) == [("2 Road", True), ("1 Road", False)]
    assert CustomerAddress.objects.get(uuid=home.json()["id"]).city == "Ikeja"


@pytest.mark.parametrize(
    ("body", "field"),
    [({"line1": ""}, "line1"), ({"country": "ZZ"}, "country"), ({"zip": "1"}, "zip")],
)
def test_update_an_address_rejects_bad_input(api, customer, body, field):
    address = api.post(f"/customers/{customer.code}/addresses", {"line1": "1 Road"}).json()

    error = error_of(api.patch(f"/customers/{customer.code}/addresses/{address['id']}", body), 422)

    assert field in error["fields"]
    stored = CustomerAddress.objects.get()
    assert (stored.line1, stored.country) == ("1 Road", "")


def test_delete_the_default_address_passes_the_default_on(api, customer):
    home = api.post(f"/customers/{customer.code}/addresses", {"line1": "1 Road"}).json()
    api.post(f"/customers/{customer.code}/addresses", {"line1": "2 Road"})

    response = api.delete(f"/customers/{customer.code}/addresses/{home['id']}")

    assert response.status_code == 204
    assert addresses(api, customer.code) == [("2 Road", True)]
    error_of(api.delete(f"/customers/{customer.code}/addresses/{home['id']}"), 404)


def test_an_address_belongs_to_its_customer(api, customer, make_customer):
    other = make_customer(first_name="Other")
    address = api.post(f"/customers/{customer.code}/addresses", {"line1": "1 Road"}).json()

    error_of(api.patch(f"/customers/{other.code}/addresses/{address['id']}", {"city": "X"}), 404)
    error_of(api.delete(f"/customers/{other.code}/addresses/{address['id']}"), 404)
    error_of(api.get("/customers/NOBODY/addresses"), 404)
    error_of(api.post("/customers/NOBODY/addresses", {"line1": "1 Road"}), 404)
    assert list(CustomerAddress.objects.values_list("line1", "city")) == [("1 Road", "")]
