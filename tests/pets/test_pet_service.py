"""PetService: adding and changing pets, their owners, finding them, and what each change logs."""

import datetime as dt

import pytest
from django.utils import timezone

from rapport.customers.services import CustomerService
from rapport.events.models import OutboxEvent
from rapport.exceptions import Conflict, InvalidInput, NotFound
from rapport.pets.models import Pet, PetOwner
from rapport.pets.selectors import customers_with_species
from rapport.pets.services import PetService, name_key
from rapport.tenancy.actors import Actor
from rapport.tenancy.services import TenantService
from rapport.timeline.models import TimelineEvent

pytestmark = pytest.mark.django_db


def test_add_pet_stores_it_with_its_primary_owner_timeline_and_event(actor, owner):
    pet = PetService.add_pet(
        actor=actor,
        owner=owner,
        name=" Max ",
        species="Dog",
        breed="Poodle",
        sex="male",
        microchip="985-112 003.456*789",
    )

    pet.refresh_from_db()
    assert (pet.name, pet.species, pet.breed, pet.sex) == ("Max", "dog", "Poodle", "male")
    assert pet.microchip == "985112003456789"
    [link] = PetOwner.objects.filter(pet=pet)
    assert (link.customer, link.is_primary) == (owner, True)
    entry = TimelineEvent.objects.get(customer=owner, metadata__kind="pet_created")
    assert (entry.title, entry.event_type) == ("Pet added: Max (dog, Poodle)", "profile")
    [event] = OutboxEvent.objects.filter(type="pet.created")
    assert event.data["code"] == "ADA-1"
    assert event.data["pet"]["id"] == str(pet.uuid)
    assert "notes" not in event.data["pet"]


@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"name": "  "}, "name"),
        ({"name": "!!"}, "name"),
        ({"species": "dinosaur"}, "species"),
        ({"sex": "both"}, "sex"),
        ({"microchip": "12-34"}, "microchip"),
        ({"microchip": "985112003456789012"}, "microchip"),
        ({"date_of_birth": dt.date(2999, 1, 1)}, "date_of_birth"),
        ({"date_of_birth": dt.date(2020, 1, 1), "deceased_on": dt.date(2019, 1, 1)}, "deceased_on"),
        ({"breed": "x" * 101}, "breed"),
        ({"neutered": "yes"}, "neutered"),
    ],
)
def test_bad_pets_are_refused_and_nothing_is_written(actor, owner, fields, bad):
    values = {"name": "Max", "species": "dog", **fields}

    with pytest.raises(InvalidInput) as refused:
        PetService.add_pet(actor=actor, owner=owner, **values)

    assert bad in refused.value.fields
    assert not Pet.objects.exists()
    assert not OutboxEvent.objects.filter(type__startswith="pet.").exists()


def test_a_microchip_belongs_to_one_pet_per_tenant(actor, owner, make_pet, make_customer):
    make_pet(microchip="985112003456789")
    other_tenant = TenantService.create_tenant(
        name="Elsewhere", slug="elsewhere", country="GB", currency="GBP", timezone_name="UTC"
    )
    elsewhere = Actor.for_system(other_tenant, "tests")
    theirs = make_customer(actor=elsewhere, first_name="Tom")

    with pytest.raises(Conflict) as taken:
        make_pet(name="Rex", microchip="985 112 003 456 789")
    PetService.add_pet(
        actor=elsewhere, owner=theirs, name="Rex", species="dog", microchip="985112003456789"
    )

    assert set(taken.value.fields) == {"microchip"}
    assert Pet.objects.filter(microchip="985112003456789").count() == 2
    # pets without a chip do not collide
    make_pet(name="A")
    make_pet(name="B")


def test_update_pet_logs_on_every_owner_and_skips_no_op(actor, make_pet, make_customer):
    pet = make_pet(breed="Poodle")
    ben = make_customer(code="BEN-2", first_name="Ben")
    PetService.add_owner(actor=actor, pet=pet, customer=ben)

    PetService.update_pet(actor=actor, pet=pet, breed="Toy Poodle", neutered=True, notes="Shy")
    PetService.update_pet(actor=actor, pet=pet, breed="Toy Poodle")

    events = OutboxEvent.objects.filter(type="pet.updated").order_by("pk")
    assert sorted(event.data["code"] for event in events) == ["ADA-1", "BEN-2"]
    titles = TimelineEvent.objects.filter(metadata__kind="pet_updated").values_list(
        "title", flat=True
    )
    assert set(titles) == {"Pet updated: Max (breed, neutered, notes)"}
    changes = TimelineEvent.objects.filter(metadata__kind="pet_updated").first().metadata
    assert changes["changes"]["breed"] == {"old": "Poodle", "new": "Toy Poodle"}
    assert "notes" not in changes["changes"]  # the words may be health data


def test_a_renamed_pet_is_found_by_its_new_name(actor, make_pet, tenant):
    pet = make_pet(name="Max")

    PetService.update_pet(actor=actor, pet=pet, name="Maximilian von Paw")

    assert list(PetService.find_pets(tenant=tenant, name="paw")) == [pet]
    assert list(PetService.find_pets(tenant=tenant, name="max")) == [pet]


def test_find_pets_matches_the_start_of_any_word_in_any_case(make_pet, tenant, make_customer):
    names = ["Max", "Sir Maxwell", "Mr-Fluffy", "Tomax", "Émile", "Luna"]
    for name in names:
        make_pet(name=name, species="cat" if name == "Luna" else "dog")

    def found(**query):
        return [pet.name for pet in PetService.find_pets(tenant=tenant, **query)]

    assert found(name="MAX") == ["Max", "Sir Maxwell"]
    assert found(name="fluffy") == ["Mr-Fluffy"]
    assert found(name="mr fl") == ["Mr-Fluffy"]
    assert found(name="émile") == ["Émile"]
    assert found(name="ÉMILE") == ["Émile"]
    assert found(species="cat") == ["Luna"]
    assert found(name="max", species="cat") == []
    assert len(found()) == len(names)
    with pytest.raises(InvalidInput):
        found(species="dragon")


def test_name_key_folds_case_and_punctuation():
    assert name_key("  Sir  MAX-the_Great!! ") == "sir max the great"


def test_owners_are_added_once_and_the_last_one_stays(actor, make_pet, owner, make_customer):
    pet = make_pet()
    ben = make_customer(code="BEN-2", first_name="Ben")

    PetService.add_owner(actor=actor, pet=pet, customer=ben)
    with pytest.raises(Conflict):
        PetService.add_owner(actor=actor, pet=pet, customer=ben)
    PetService.remove_owner(actor=actor, pet=pet, customer=owner)

    # the primary role passed to the remaining owner
    [link] = PetOwner.objects.filter(pet=pet)
    assert (link.customer, link.is_primary) == (ben, True)
    with pytest.raises(Conflict) as last:
        PetService.remove_owner(actor=actor, pet=pet, customer=ben)
    assert set(last.value.fields) == {"code"}
    assert PetOwner.objects.filter(pet=pet).count() == 1
    with pytest.raises(NotFound):
        PetService.remove_owner(actor=actor, pet=pet, customer=owner)
    assert [e.data["code"] for e in OutboxEvent.objects.filter(type="pet.owner_added")] == ["BEN-2"]
    assert [e.data["code"] for e in OutboxEvent.objects.filter(type="pet.owner_removed")] == [
        "ADA-1"
    ]
    assert TimelineEvent.objects.filter(customer=owner, title="No longer owns Max (dog)").exists()


def test_pet_of_customer_finds_only_the_customers_own_pet(make_pet, owner, make_customer):
    pet = make_pet()
    ben = make_customer(code="BEN-2", first_name="Ben")

    assert PetService.pet_of_customer(customer=owner, pet_id=pet.uuid) == pet
    with pytest.raises(NotFound) as not_theirs:
        PetService.pet_of_customer(customer=ben, pet_id=pet.uuid)
    assert set(not_theirs.value.fields) == {"pet"}
    with pytest.raises(NotFound):
        PetService.pet_of_customer(customer=owner, pet_id="not-a-uuid")


def test_another_tenant_cannot_reach_or_change_a_pet(make_pet, other_tenant, make_customer):
    pet = make_pet()
    them = Actor.for_system(other_tenant, "tests")
    theirs = make_customer(actor=them, first_name="Tom")

    with pytest.raises(NotFound):
        PetService.get_pet(tenant=other_tenant, pet_id=pet.uuid)
    with pytest.raises(NotFound):
        PetService.update_pet(actor=them, pet=pet, name="Stolen")
    with pytest.raises(NotFound):
        PetService.add_owner(actor=them, pet=pet, customer=theirs)
    assert Pet.objects.get().name == "Max"
    assert list(PetService.find_pets(tenant=other_tenant)) == []


def test_age_counts_whole_months_in_the_tenants_today_and_stops_at_death(make_pet):
    pet = make_pet(date_of_birth=dt.date(2020, 5, 31))

    assert pet.age_on(dt.date(2021, 5, 30)) == (0, 11)
    assert pet.age_on(dt.date(2021, 5, 31)) == (1, 0)
    assert pet.age_on(dt.date(2023, 8, 1)) == (3, 2)
    pet.deceased_on = dt.date(2022, 6, 1)
    assert pet.age_on(dt.date(2030, 1, 1)) == (2, 0)
    assert make_pet(name="Unknown").age is None


def test_age_uses_the_tenants_date_not_utcs(actor, owner, tenant):
    # Given a tenant far east of UTC, where tomorrow has started
    tenant.timezone = "Pacific/Kiritimati"  # UTC+14
    tenant.save()
    today_there = timezone.localdate(timezone=dt.timezone(dt.timedelta(hours=14)))
    born = today_there.replace(year=today_there.year - 2)

    pet = PetService.add_pet(
        actor=Actor.for_system(tenant, "tests"),
        owner=owner,
        name="Kiri",
        species="cat",
        date_of_birth=born,
    )

    assert Pet.objects.select_related("tenant").get(pk=pet.pk).age == (2, 0)


def test_mark_deceased_records_the_date_on_the_owners_timeline(actor, make_pet, owner):
    pet = make_pet(date_of_birth=dt.date(2015, 1, 1))

    PetService.mark_deceased(actor=actor, pet=pet, on=dt.date(2024, 3, 2))

    assert Pet.objects.get().deceased_on == dt.date(2024, 3, 2)
    assert TimelineEvent.objects.filter(
        customer=owner, title="Pet died: Max on 2024-03-02"
    ).exists()


def test_customers_with_species_finds_living_pets_owners(make_pet, actor, make_customer, tenant):
    cat_owner = make_customer(code="CAT-1", first_name="Cat")
    make_pet()
    old = make_pet(name="Tom", species="cat", owner=cat_owner)
    PetService.mark_deceased(actor=actor, pet=old, on=dt.date(2024, 1, 1))

    dogs = customers_with_species(tenant=tenant, species=["dog"])
    cats = customers_with_species(tenant=tenant, species=["cat"])
    cats_ever = customers_with_species(tenant=tenant, species=["cat"], include_deceased=True)

    assert [c.code for c in dogs] == ["ADA-1"]
    assert list(cats) == []
    assert [c.code for c in cats_ever] == ["CAT-1"]


def test_deleting_a_customer_takes_the_pets_only_they_owned(actor, make_pet, make_customer):
    ben = make_customer(code="BEN-2", first_name="Ben")
    alone = make_pet(name="Alone")
    shared = make_pet(name="Shared")
    PetService.add_owner(actor=actor, pet=shared, customer=ben)

    CustomerService.delete_customer(actor=actor, code="ADA-1")

    assert list(Pet.objects.values_list("name", flat=True)) == ["Shared"]
    assert not Pet.objects.filter(pk=alone.pk).exists()
    link = PetOwner.objects.get(pet=shared)
    assert (link.customer, link.is_primary) == (ben, True)
