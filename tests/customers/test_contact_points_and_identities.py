"""Contact points and external identities: the services, then the endpoints through real URLs."""

import math
import uuid
from urllib.parse import quote

import pytest

from rapport.customers.models import ContactPoint, ExternalIdentity
from rapport.customers.services import ContactPointService, ExternalIdentityService
from rapport.events.models import OutboxEvent
from rapport.exceptions import Conflict, InvalidInput, NotFound
from rapport.tenancy.actors import Actor
from rapport.timeline.models import TimelineEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(make_customer):
    return make_customer(code="ADA", first_name="Ada", last_name="Obi")


@pytest.fixture
def add(system_actor, customer):
    """add(type, value, **options): a contact point on the customer, through the service."""

    def make(type, value, **options):
        return ContactPointService.add_contact_point(
            actor=system_actor, code=customer.code, type=type, value=value, **options
        )

    return make


@pytest.fixture
def link(system_actor, customer):
    """link(provider, external_id, code=…, **options): an identity, through the service."""

    def make(provider, external_id, code=None, **options):
        return ExternalIdentityService.link(
            actor=system_actor,
            code=code or customer.code,
            provider=provider,
            external_id=external_id,
            **options,
        )

    return make


def written_rows() -> tuple[int, int, int, int]:
    return (
        ContactPoint.objects.count(),
        ExternalIdentity.objects.count(),
        TimelineEvent.objects.count(),
        OutboxEvent.objects.count(),
    )


def primaries(customer, type: str) -> list[str]:
    return list(
        ContactPoint.objects.filter(customer=customer, type=type, is_primary=True).values_list(
            "value", flat=True
        )
    )


def titles(customer) -> list[str]:
    return list(
        TimelineEvent.objects.filter(customer=customer)
        .order_by("created_at", "id")
        .values_list("title", flat=True)
    )


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    return body["error"]


# --- contact points: values -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("type", "sent", "stored"),
    [
        ("phone", "0803 123 4567", "+2348031234567"),
        ("whatsapp", "00234 803 123 4567", "+2348031234567"),
        ("phone", "+44 20 7946 0958", "+442079460958"),
        ("email", "  Ada@Example.COM ", "ada@example.com"),
        ("instagram", "https://www.instagram.com/Ada.Obi/", "ada.obi"),
        ("instagram", "@ada_obi", "ada_obi"),
        ("telegram", "  @AdaObi  ", "@AdaObi"),
        ("facebook", " https://facebook.com/ada ", "https://facebook.com/ada"),
        ("other", " Pager 42 ", "Pager 42"),
    ],
)
def test_a_value_is_stored_in_the_normal_form_of_its_type(add, customer, type, sent, stored):
    contact_point = add(type, sent)

    saved = ContactPoint.objects.get(pk=contact_point.pk)
    assert (saved.type, saved.value) == (type, stored)
    assert (saved.tenant_id, saved.customer_id) == (customer.tenant_id, customer.pk)


def test_phones_are_read_in_the_tenants_own_region(other_tenant, make_customer):
    actor = Actor.for_system(other_tenant, "tests")
    theirs = make_customer(actor=actor, code="BR-1", first_name="Bruna")

    contact_point = ContactPointService.add_contact_point(
        actor=actor, code=theirs.code, type="whatsapp", value="(11) 91234-5678"
    )

    assert contact_point.value == "+5511912345678"


@pytest.mark.parametrize(
    ("type", "value", "field"),
    [
        ("phone", "12345", "value"),
        ("whatsapp", "not a number", "value"),
        ("email", "ada@", "value"),
        ("instagram", "no spaces allowed", "value"),
        ("telegram", "   ", "value"),
        ("other", "x" * 255, "value"),
        ("fax", "0803 123 4567", "type"),
    ],
)
def test_a_bad_contact_point_is_refused_naming_the_field_and_writes_nothing(
    add, type, value, field
):
    before = written_rows()

    with pytest.raises(InvalidInput) as error:
        add(type, value)

    assert list(error.value.fields) == [field]
    assert written_rows() == before


def test_the_same_value_twice_is_a_conflict_whatever_its_spelling(add, customer):
    add("phone", "+2348031234567")
    before = written_rows()

    with pytest.raises(Conflict) as error:
        add("phone", "0803 123 4567")

    assert error.value.fields == {"value": "Already recorded for this customer"}
    assert written_rows() == before


def test_the_same_value_may_be_a_phone_and_a_whatsapp_and_belong_to_two_customers(
    add, make_customer, system_actor
):
    add("phone", "08031234567")
    add("whatsapp", "08031234567")
    sister = make_customer(first_name="Ngozi")

    ContactPointService.add_contact_point(
        actor=system_actor, code=sister.code, type="phone", value="08031234567"
    )

    assert ContactPoint.objects.filter(value="+2348031234567").count() == 3


def test_adding_to_an_unknown_or_another_tenants_customer_is_not_found(
    system_actor, other_tenant, make_customer
):
    theirs = make_customer(actor=Actor.for_system(other_tenant, "tests"), first_name="Theirs")

    for code in ("NOBODY", theirs.code):
        with pytest.raises(NotFound):
            ContactPointService.add_contact_point(
                actor=system_actor, code=code, type="email", value="x@example.com"
            )
    assert not ContactPoint.objects.exists()


# --- contact points: primary and verified ---------------------------------------------------


def test_the_first_of_each_type_becomes_primary(add, customer):
    first_phone = add("phone", "08031234567")
    second_phone = add("phone", "08039999999")
    email = add("email", "ada@example.com")

    assert (first_phone.is_primary, second_phone.is_primary, email.is_primary) == (
        True,
        False,
        True,
    )
    assert primaries(customer, "phone") == ["+2348031234567"]


def test_adding_one_marked_primary_takes_over_from_the_previous_primary(add, customer):
    add("phone", "08031234567")

    add("phone", "08039999999", is_primary=True)

    assert primaries(customer, "phone") == ["+2348039999999"]


def test_making_another_one_primary_moves_the_primary(add, system_actor, customer):
    add("phone", "08031234567")
    second = add("phone", "08039999999")
    add("email", "ada@example.com")

    updated = ContactPointService.update_contact_point(
        actor=system_actor, code=customer.code, contact_point_id=second.uuid, is_primary=True
    )

    assert updated.is_primary is True
    assert primaries(customer, "phone") == ["+2348039999999"]
    assert primaries(customer, "email") == ["ada@example.com"]
    assert titles(customer)[-1] == "Contact point Phone +2348039999999 made primary"


def test_the_primary_cannot_be_unset_without_another_taking_over(add, system_actor, customer):
    first = add("phone", "08031234567")
    add("phone", "08039999999")
    before = written_rows()

    with pytest.raises(InvalidInput) as error:
        ContactPointService.update_contact_point(
            actor=system_actor, code=customer.code, contact_point_id=first.uuid, is_primary=False
        )

    assert list(error.value.fields) == ["is_primary"]
    assert primaries(customer, "phone") == ["+2348031234567"]
    assert written_rows() == before


def test_verifying_records_when_and_unverifying_clears_it(add, system_actor, customer):
    email = add("email", "ada@example.com")

    verified = ContactPointService.update_contact_point(
        actor=system_actor, code=customer.code, contact_point_id=email.uuid, is_verified=True
    )
    stored = ContactPoint.objects.get(pk=email.pk)
    assert (verified.is_verified, stored.is_verified) == (True, True)
    assert stored.verified_at is not None

    ContactPointService.update_contact_point(
        actor=system_actor, code=customer.code, contact_point_id=email.uuid, is_verified=False
    )
    stored.refresh_from_db()
    assert (stored.is_verified, stored.verified_at) == (False, None)
    assert titles(customer)[-2:] == [
        "Contact point Email ada@example.com verified",
        "Contact point Email ada@example.com marked unverified",
    ]


def test_an_update_that_changes_nothing_records_nothing(add, system_actor, customer):
    email = add("email", "ada@example.com")
    before = written_rows()

    ContactPointService.update_contact_point(
        actor=system_actor,
        code=customer.code,
        contact_point_id=email.uuid,
        is_primary=True,
        is_verified=False,
    )

    assert written_rows() == before


def test_one_added_verified_records_when(add):
    assert add("email", "ada@example.com", is_verified=True).verified_at is not None


def test_removing_the_primary_promotes_the_oldest_remaining_one(add, system_actor, customer):
    first = add("phone", "08031234567")
    add("phone", "08039999999")
    add("phone", "08037777777")
    add("email", "ada@example.com")

    ContactPointService.remove_contact_point(
        actor=system_actor, code=customer.code, contact_point_id=first.uuid
    )

    assert not ContactPoint.objects.filter(pk=first.pk).exists()
    assert primaries(customer, "phone") == ["+2348039999999"]
    assert primaries(customer, "email") == ["ada@example.com"]


def test_removing_another_one_keeps_the_primary(add, system_actor, customer):
    add("phone", "08031234567")
    second = add("phone", "08039999999")

    ContactPointService.remove_contact_point(
        actor=system_actor, code=customer.code, contact_point_id=second.uuid
    )

    assert primaries(customer, "phone") == ["+2348031234567"]


def test_a_contact_point_is_reached_only_through_its_own_customer(add, system_actor, make_customer):
    contact_point = add("email", "ada@example.com")
    someone_else = make_customer(first_name="Bola")

    with pytest.raises(NotFound):
        ContactPointService.remove_contact_point(
            actor=system_actor, code=someone_else.code, contact_point_id=contact_point.uuid
        )
    with pytest.raises(NotFound):
        ContactPointService.update_contact_point(
            actor=system_actor, code="ADA", contact_point_id=uuid.uuid4(), is_verified=True
        )
    assert ContactPoint.objects.filter(pk=contact_point.pk).exists()


def test_contact_point_changes_reach_the_timeline_but_not_the_outbox(add, system_actor, customer):
    outbox = OutboxEvent.objects.count()

    whatsapp = add("whatsapp", "08031234567")
    ContactPointService.remove_contact_point(
        actor=system_actor, code=customer.code, contact_point_id=whatsapp.uuid
    )

    assert titles(customer)[-2:] == [
        "Contact point added: WhatsApp +2348031234567",
        "Contact point removed: WhatsApp +2348031234567",
    ]
    added = TimelineEvent.objects.get(customer=customer, metadata__kind="contact_point_added")
    assert added.metadata == {
        "kind": "contact_point_added",
        "contact_point": str(whatsapp.uuid),
        "type": "whatsapp",
        "value": "+2348031234567",
        "is_primary": True,
    }
    assert added.actor == "system:tests"
    assert OutboxEvent.objects.count() == outbox


# --- external identities --------------------------------------------------------------------


def test_link_tidies_the_provider_and_keeps_the_metadata(link, customer):
    identity = link(" Shopify ", " 7712 ", metadata={"store": "lagos", "orders": 3})

    saved = ExternalIdentity.objects.get(pk=identity.pk)
    assert (saved.provider, saved.external_id) == ("shopify", "7712")
    assert saved.metadata == {"store": "lagos", "orders": 3}
    assert (saved.tenant_id, saved.customer_id) == (customer.tenant_id, customer.pk)
    assert titles(customer)[-1] == "Linked to shopify as 7712"


@pytest.mark.parametrize(
    ("provider", "external_id", "metadata", "fields"),
    [
        ("", "1", None, {"provider"}),
        ("-shop", "1", None, {"provider"}),
        ("my shop", "1", None, {"provider"}),
        ("s" * 51, "1", None, {"provider"}),
        ("shop", "   ", None, {"external_id"}),
        ("shop", "9" * 201, None, {"external_id"}),
        ("shop", "1", ["not", "an", "object"], {"metadata"}),
        ("shop", "1", {"ratio": math.nan}, {"metadata"}),
        ("shop", "1", {"big": 2**70}, {"metadata"}),
        ("shop/", "", "text", {"provider", "external_id", "metadata"}),
    ],
)
def test_a_bad_identity_is_refused_naming_every_bad_field_and_writes_nothing(
    link, provider, external_id, metadata, fields
):
    before = written_rows()

    with pytest.raises(InvalidInput) as error:
        link(provider, external_id, metadata=metadata)

    assert set(error.value.fields) == fields
    assert written_rows() == before


def test_the_longest_provider_and_id_are_accepted(link):
    identity = link("p" * 50, "9" * 200)

    assert (len(identity.provider), len(identity.external_id)) == (50, 200)


def test_an_id_linked_to_someone_else_is_a_conflict_naming_them(link, make_customer):
    link("shopify", "7712")
    bola = make_customer(code="BOLA", first_name="Bola")
    before = written_rows()

    with pytest.raises(Conflict) as error:
        link("SHOPIFY", "7712", code=bola.code)

    assert "'ADA'" in error.value.message
    assert error.value.fields == {"external_id": "Linked to customer ADA"}
    assert written_rows() == before


def test_linking_the_same_id_again_is_a_conflict_too(link):
    link("shopify", "7712")

    with pytest.raises(Conflict):
        link("shopify", "7712")

    assert ExternalIdentity.objects.count() == 1


def test_one_customer_may_have_several_ids_and_tenants_may_share_one(
    link, customer, other_tenant, make_customer
):
    link("shopify", "7712")
    link("shopify", "9001")
    link("square", "7712")
    actor = Actor.for_system(other_tenant, "tests")
    theirs = make_customer(actor=actor, code="THEIRS", first_name="Theirs")

    ExternalIdentityService.link(
        actor=actor, code=theirs.code, provider="shopify", external_id="7712"
    )

    assert customer.external_identities.count() == 3
    assert ExternalIdentity.objects.count() == 4


def test_find_customer_by_an_id_in_another_system(link, customer, tenant, other_tenant):
    link("shopify", "7712")

    found = ExternalIdentityService.find_customer(
        tenant=tenant, provider="Shopify", external_id="7712"
    )

    assert found == customer
    for tenant_, provider, external_id in [
        (other_tenant, "shopify", "7712"),
        (tenant, "shopify", "7713"),
        (tenant, "square", "7712"),
    ]:
        with pytest.raises(NotFound):
            ExternalIdentityService.find_customer(
                tenant=tenant_, provider=provider, external_id=external_id
            )


def test_unlink_forgets_the_id(link, system_actor, customer, tenant):
    identity = link("shopify", "7712")

    ExternalIdentityService.unlink(
        actor=system_actor, code=customer.code, identity_id=identity.uuid
    )

    assert not ExternalIdentity.objects.exists()
    assert titles(customer)[-1] == "Unlinked from shopify (7712)"
    with pytest.raises(NotFound):
        ExternalIdentityService.find_customer(tenant=tenant, provider="shopify", external_id="7712")
    with pytest.raises(NotFound):
        ExternalIdentityService.unlink(
            actor=system_actor, code=customer.code, identity_id=identity.uuid
        )


def test_identity_changes_write_no_outbox_events(link, system_actor, customer):
    outbox = OutboxEvent.objects.count()

    identity = link("shopify", "7712")
    ExternalIdentityService.unlink(
        actor=system_actor, code=customer.code, identity_id=identity.uuid
    )

    assert OutboxEvent.objects.count() == outbox


# --- the contact point endpoints -----------------------------------------------------------


def test_add_a_contact_point_through_the_api(api, customer):
    response = api.post(
        f"/customers/{customer.code}/contact-points",
        {"type": "whatsapp", "value": "0803 123 4567"},
    )

    assert response.status_code == 201, response.content
    body = response.json()
    contact_point = ContactPoint.objects.get()
    assert body == {
        "id": str(contact_point.uuid),
        "type": "whatsapp",
        "value": "+2348031234567",
        "is_primary": True,
        "is_verified": False,
        "verified_at": None,
        "created_at": body["created_at"],
    }
    assert TimelineEvent.objects.get(metadata__kind="contact_point_added").actor == (
        "api_key:test key"
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "phone", "value": "12345"}, "value"),
        ({"type": "email", "value": "ada@"}, "value"),
        ({"type": "fax", "value": "1"}, "type"),
        ({"type": "phone"}, "value"),
        ({"type": "phone", "value": ""}, "value"),
        ({"type": "phone", "value": "0803 123 4567", "label": "home"}, "label"),
        ({"type": "other", "value": "x" * 255}, "value"),
    ],
)
def test_a_bad_contact_point_is_a_422_naming_the_field(api, customer, body, field):
    before = written_rows()

    error = error_of(api.post(f"/customers/{customer.code}/contact-points", body), 422)

    assert error["code"] == "invalid"
    assert set(error["fields"]) == {field}
    assert written_rows() == before


def test_a_duplicate_contact_point_is_a_409(api, customer):
    api.post(f"/customers/{customer.code}/contact-points", {"type": "email", "value": "a@b.co"})

    error = error_of(
        api.post(
            f"/customers/{customer.code}/contact-points", {"type": "email", "value": "A@B.CO"}
        ),
        409,
    )

    assert error["code"] == "conflict"
    assert set(error["fields"]) == {"value"}
    assert ContactPoint.objects.count() == 1


def test_list_update_and_remove_contact_points_through_the_api(api, add, customer):
    first = add("phone", "08031234567")
    second = add("phone", "08039999999")
    email = add("email", "ada@example.com")
    url = f"/customers/{customer.code}/contact-points"

    listed = api.get(url).json()
    assert [(item["value"], item["is_primary"]) for item in listed] == [
        ("ada@example.com", True),
        ("+2348031234567", True),
        ("+2348039999999", False),
    ]

    patched = api.patch(f"{url}/{second.uuid}", {"is_primary": True, "is_verified": True})
    assert patched.status_code == 200, patched.content
    assert (patched.json()["is_primary"], patched.json()["is_verified"]) == (True, True)
    assert patched.json()["verified_at"] is not None

    refused = error_of(api.patch(f"{url}/{second.uuid}", {"is_primary": False}), 422)
    assert set(refused["fields"]) == {"is_primary"}

    assert api.delete(f"{url}/{second.uuid}").status_code == 204
    assert primaries(customer, "phone") == ["+2348031234567"]
    assert api.delete(f"{url}/{second.uuid}").status_code == 404
    assert api.delete(f"{url}/{email.uuid}").status_code == 204
    assert [item["id"] for item in api.get(url).json()] == [str(first.uuid)]


def test_contact_point_routes_answer_404_for_unknown_customers_and_ids(api, customer):
    missing = uuid.uuid4()

    assert error_of(api.get("/customers/NOBODY/contact-points"), 404)["code"] == "not_found"
    error_of(api.post("/customers/NOBODY/contact-points", {"type": "other", "value": "x"}), 404)
    error_of(api.patch(f"/customers/ADA/contact-points/{missing}", {"is_verified": True}), 404)
    error_of(api.delete(f"/customers/ADA/contact-points/{missing}"), 404)
    error_of(api.delete("/customers/ADA/contact-points/not-a-uuid"), 422)


def test_a_read_key_cannot_change_contact_points(read_api, add, customer):
    contact_point = add("email", "ada@example.com")
    url = f"/customers/{customer.code}/contact-points"

    assert read_api.get(url).status_code == 200
    error_of(read_api.post(url, {"type": "other", "value": "x"}), 403)
    error_of(read_api.patch(f"{url}/{contact_point.uuid}", {"is_verified": True}), 403)
    error_of(read_api.delete(f"{url}/{contact_point.uuid}"), 403)
    assert ContactPoint.objects.get().is_verified is False


# --- the external identity endpoints -------------------------------------------------------


def test_link_list_and_unlink_through_the_api(api, customer):
    url = f"/customers/{customer.code}/external-identities"

    response = api.post(
        url, {"provider": "shopify", "external_id": "7712", "metadata": {"store": "ikeja"}}
    )

    assert response.status_code == 201, response.content
    body = response.json()
    identity = ExternalIdentity.objects.get()
    assert body == {
        "id": str(identity.uuid),
        "provider": "shopify",
        "external_id": "7712",
        "metadata": {"store": "ikeja"},
        "created_at": body["created_at"],
    }
    assert [item["id"] for item in api.get(url).json()] == [body["id"]]
    detail = api.get(f"/customers/{customer.code}").json()
    assert [item["external_id"] for item in detail["external_identities"]] == ["7712"]

    assert api.delete(f"{url}/{identity.uuid}").status_code == 204
    assert api.get(url).json() == []
    error_of(api.delete(f"{url}/{identity.uuid}"), 404)


def test_linking_a_taken_id_is_a_409_naming_its_customer(api, link, make_customer):
    link("shopify", "7712")
    bola = make_customer(code="BOLA", first_name="Bola")

    error = error_of(
        api.post(
            f"/customers/{bola.code}/external-identities",
            {"provider": "shopify", "external_id": "7712"},
        ),
        409,
    )

    assert error["code"] == "conflict"
    assert "ADA" in error["message"]
    assert error["fields"] == {"external_id": "Linked to customer ADA"}
    assert ExternalIdentity.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"provider": "my shop", "external_id": "1"}, {"provider"}),
        ({"provider": "shop", "external_id": ""}, {"external_id"}),
        ({"provider": "shop", "external_id": "1", "metadata": [1]}, {"metadata"}),
        ({"provider": "shop", "external_id": "1", "metadata": {"n": 2**70}}, {"metadata"}),
        ({"provider": "shop", "external_id": "1", "customer": "ADA"}, {"customer"}),
        ({"external_id": "1"}, {"provider"}),
    ],
)
def test_a_bad_identity_is_a_422_naming_the_field(api, customer, body, fields):
    before = written_rows()

    error = error_of(api.post(f"/customers/{customer.code}/external-identities", body), 422)

    assert set(error["fields"]) == fields
    assert written_rows() == before


@pytest.mark.parametrize("external_id", ["7712", "gid://shopify/Customer/7712", "a b%c?d#e"])
def test_an_integration_finds_the_customer_by_its_own_id(api, link, customer, external_id):
    link("shopify", external_id)

    response = api.get(f"/external-identities/shopify/{quote(external_id, safe='')}")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["code"] == "ADA"
    assert [item["external_id"] for item in body["external_identities"]] == [external_id]


def test_looking_up_an_unknown_id_is_a_404(api, link):
    link("shopify", "7712")

    for path in ("/external-identities/shopify/7713", "/external-identities/square/7712"):
        assert error_of(api.get(path), 404)["code"] == "not_found"


def test_another_tenant_cannot_find_the_customer_by_its_id(link, other_api):
    link("shopify", "7712")

    error_of(other_api.get("/external-identities/shopify/7712"), 404)
