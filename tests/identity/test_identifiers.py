import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.customers.models import Customer
from rapport.events.models import OutboxEvent
from rapport.exceptions import Conflict, InvalidInput, NotFound
from rapport.identity.models import CustomerIdentifier, IdentifierType
from rapport.identity.services import IdentifierService, IdentifierTypeService
from rapport.tenancy.actors import Actor
from rapport.timeline.models import TimelineEvent


@pytest.fixture
def actor(tenant):
    return Actor.for_system(tenant, "tests")


def add(actor, code, type, value, **options):
    return IdentifierService.add_identifier(
        actor=actor, code=code, type=type, value=value, **options
    )


def test_an_added_identifier_finds_its_customer_in_any_written_form(actor, make_customer):
    ada = make_customer(first_name="Ada")
    identifier = add(actor, ada.code, "whatsapp", "0803 123 4567", source="whatsapp")

    assert (identifier.value, identifier.is_primary, identifier.source) == (
        "+2348031234567",
        True,
        "whatsapp",
    )
    for written in ("+2348031234567", "0803-123-4567", "+234 803 123 4567"):
        found = IdentifierService.find_by_identifier(
            tenant=actor.tenant, type="whatsapp", value=written
        )
        assert found == ada


def test_adding_logs_on_the_timeline_and_writes_an_event(actor, make_customer):
    ada = make_customer(first_name="Ada")
    add(actor, ada.code, "instagram", "@Ada.Obi")

    entry = TimelineEvent.objects.filter(customer=ada).latest("id")
    assert (entry.event_type, entry.title) == ("profile", "Identifier added: instagram ada.obi")
    event = OutboxEvent.objects.filter(type="customer.identifier_added").get()
    assert event.data["code"] == ada.code
    assert (event.data["type"], event.data["value"]) == ("instagram", "ada.obi")


def test_a_value_on_another_customer_is_a_conflict_naming_that_customer(actor, make_customer):
    ada, bola = make_customer(first_name="Ada"), make_customer(first_name="Bola")
    add(actor, ada.code, "email", "ada@example.com")

    with pytest.raises(Conflict) as error:
        add(actor, bola.code, "email", "ADA@example.com")

    assert ada.code in error.value.message
    assert ada.code in error.value.fields["value"]
    assert not CustomerIdentifier.objects.filter(customer=bola).exists()


def test_the_first_of_a_type_is_primary_and_a_new_primary_takes_over(actor, make_customer):
    ada = make_customer(first_name="Ada")
    first = add(actor, ada.code, "phone", "08031234567")
    second = add(actor, ada.code, "phone", "08031234568")
    assert (first.is_primary, second.is_primary) == (True, False)

    third = add(actor, ada.code, "phone", "08031234569", is_primary=True)
    IdentifierService.set_primary(actor=actor, code=ada.code, identifier_id=second.uuid)

    primaries = CustomerIdentifier.objects.filter(customer=ada, is_primary=True)
    assert list(primaries.values_list("uuid", flat=True)) == [second.uuid]
    assert third.uuid != second.uuid


def test_removing_the_primary_promotes_the_oldest_and_the_value_finds_no_one(actor, make_customer):
    ada = make_customer(first_name="Ada")
    first = add(actor, ada.code, "telegram", "@ada_obi")
    second = add(actor, ada.code, "telegram", "@ada_two")

    IdentifierService.remove_identifier(actor=actor, code=ada.code, identifier_id=first.uuid)

    second.refresh_from_db()
    assert second.is_primary
    found = IdentifierService.find_by_identifier(
        tenant=actor.tenant, type="telegram", value="ada_obi"
    )
    assert found is None
    assert OutboxEvent.objects.filter(type="customer.identifier_removed").count() == 1


def test_identifiers_of_another_customer_or_tenant_are_not_found(
    actor, make_customer, other_tenant
):
    ada, bola = make_customer(first_name="Ada"), make_customer(first_name="Bola")
    identifier = add(actor, ada.code, "manychat", "42")
    stranger = Actor.for_system(other_tenant, "tests")

    with pytest.raises(NotFound):
        IdentifierService.remove_identifier(
            actor=actor, code=bola.code, identifier_id=identifier.uuid
        )
    with pytest.raises(NotFound):
        IdentifierService.set_primary(actor=stranger, code=ada.code, identifier_id=identifier.uuid)
    assert (
        IdentifierService.find_by_identifier(tenant=other_tenant, type="manychat", value="42")
        is None
    )
    assert CustomerIdentifier.objects.filter(uuid=identifier.uuid).exists()


def test_lookup_falls_back_to_the_customers_own_phone_and_email(actor, make_customer):
    ada = make_customer(first_name="Ada", phone="0803 111 2222", email="ada@example.com")

    assert (
        IdentifierService.find_by_identifier(tenant=actor.tenant, type="phone", value="08031112222")
        == ada
    )
    assert (
        IdentifierService.find_by_identifier(
            tenant=actor.tenant, type="whatsapp", value="+2348031112222"
        )
        == ada
    )
    assert (
        IdentifierService.find_by_identifier(
            tenant=actor.tenant, type="email", value="Ada@Example.com"
        )
        == ada
    )
    assert (
        IdentifierService.find_by_identifier(tenant=actor.tenant, type="email", value="x@y.com")
        is None
    )


def test_a_merged_customer_resolves_to_its_survivor(actor, make_customer):
    survivor = make_customer(first_name="Ada")
    duplicate = make_customer(first_name="Ada", email="ada@example.com")
    add(actor, duplicate.code, "instagram", "ada")
    Customer.objects.filter(pk=duplicate.pk).update(merged_into=survivor)

    for type, value in (("instagram", "ada"), ("email", "ada@example.com")):
        assert (
            IdentifierService.find_by_identifier(tenant=actor.tenant, type=type, value=value)
            == survivor
        )


def test_an_unknown_type_is_refused(actor, make_customer):
    ada = make_customer(first_name="Ada")
    with pytest.raises(InvalidInput) as error:
        add(actor, ada.code, "myspace", "ada")
    assert list(error.value.fields) == ["type"]
    with pytest.raises(InvalidInput):
        IdentifierService.find_by_identifier(tenant=actor.tenant, type="myspace", value="ada")


def test_a_tenant_type_is_usable_once_created(actor, make_customer):
    ada = make_customer(first_name="Ada")
    IdentifierTypeService.create_type(actor=actor, name="loyalty_card", label="Loyalty card")

    add(actor, ada.code, "loyalty_card", "  LC 0042 ")

    found = IdentifierService.find_by_identifier(
        tenant=actor.tenant, type="loyalty_card", value="LC 0042"
    )
    assert found == ada


@pytest.mark.parametrize(
    ("name", "field"),
    [("phone", "name"), ("Loyalty Card", "name"), ("", "name"), ("x" * 31, "name")],
)
def test_a_type_name_must_be_a_new_slug(actor, name, field):
    with pytest.raises(InvalidInput) as error:
        IdentifierTypeService.create_type(actor=actor, name=name)
    assert list(error.value.fields) == [field]
    assert not IdentifierType.objects.exists()


def test_a_type_name_is_taken_once_and_a_used_type_cannot_be_deleted(actor, make_customer):
    card = IdentifierTypeService.create_type(actor=actor, name="card", normalization="text")
    with pytest.raises(Conflict):
        IdentifierTypeService.create_type(actor=actor, name="card")
    identifier = add(actor, make_customer().code, "card", "7")

    with pytest.raises(Conflict):
        IdentifierTypeService.delete_type(actor=actor, type_id=card.uuid)

    IdentifierService.remove_identifier(
        actor=actor, code=identifier.customer.code, identifier_id=identifier.uuid
    )
    IdentifierTypeService.delete_type(actor=actor, type_id=card.uuid)
    assert not IdentifierType.objects.exists()


def test_find_or_create_creates_once_then_finds(actor):
    customer, created = IdentifierService.find_or_create_customer(
        actor=actor,
        type="whatsapp",
        value="0803 555 0000",
        defaults={"first_name": "Chidi"},
        source="whatsapp",
    )
    again, created_again = IdentifierService.find_or_create_customer(
        actor=actor, type="whatsapp", value="+2348035550000", defaults={"first_name": "Other"}
    )

    assert (created, created_again) == (True, False)
    assert again == customer
    assert (customer.first_name, customer.phone, customer.source) == (
        "Chidi",
        "+2348035550000",
        "whatsapp",
    )
    identifier = CustomerIdentifier.objects.get(customer=customer)
    assert (identifier.type, identifier.value, identifier.is_primary) == (
        "whatsapp",
        "+2348035550000",
        True,
    )


def test_find_or_create_by_handle_needs_a_name_and_writes_nothing_without_one(actor):
    with pytest.raises(InvalidInput) as error:
        IdentifierService.find_or_create_customer(actor=actor, type="instagram", value="@ada")
    assert list(error.value.fields) == ["defaults"]
    assert not Customer.objects.exists()

    customer, created = IdentifierService.find_or_create_customer(
        actor=actor, type="instagram", value="@ada", defaults={"first_name": "Ada"}
    )
    assert created
    assert customer.instagram_handle == "ada"


def test_find_or_create_with_bad_defaults_writes_nothing(actor):
    with pytest.raises(InvalidInput) as error:
        IdentifierService.find_or_create_customer(
            actor=actor, type="phone", value="08035550001", defaults={"email": "nope"}
        )
    assert "email" in error.value.fields
    assert not Customer.objects.exists()
    assert not CustomerIdentifier.objects.exists()


def test_listing_identifiers_takes_a_fixed_number_of_queries(actor, make_customer):
    ada = make_customer(first_name="Ada")
    for number in range(5):
        add(actor, ada.code, "phone", f"0803000000{number}")

    with CaptureQueriesContext(connection) as queries:
        identifiers = IdentifierService.get_identifiers(tenant=actor.tenant, code=ada.code)

    assert len(identifiers) == 5
    assert len(queries) == 2
