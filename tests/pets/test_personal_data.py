"""Pets in export, erasure and merge, through the handler the registry holds."""

import pytest

from rapport.customers import personal_data
from rapport.identity.services import MergeService
from rapport.pets.models import Pet, PetOwner
from rapport.pets.personal_data import PetData
from rapport.pets.services import PetService
from rapport.privacy.services import PrivacyService

pytestmark = pytest.mark.django_db


@pytest.fixture
def handler() -> PetData:
    """The registered handler, so these tests also prove PetsConfig.ready registered it."""
    [found] = [h for h in personal_data.handlers("merge") if h.name == "pets"]
    assert [h for h in personal_data.handlers("export") if h.name == "pets"] == [found]
    return found


def links(pet) -> list[tuple[str, bool]]:
    return sorted(
        (link.customer.code, link.is_primary)
        for link in PetOwner.objects.filter(pet=pet).select_related("customer")
    )


def test_export_holds_the_customers_pets_whole(actor, make_pet, handler):
    make_pet(notes="Allergic to chicken", microchip="985112003456789")

    document = PrivacyService.export_customer(actor=actor, code="ADA-1")

    [pet] = document["sections"]["pets"]
    assert (pet["name"], pet["notes"], pet["microchip"]) == (
        "Max",
        "Allergic to chicken",
        "985112003456789",
    )
    assert pet["is_primary_owner"] is True


def test_erasure_anonymizes_pets_left_without_an_owner_and_keeps_shared_ones(
    actor, make_pet, make_customer
):
    ben = make_customer(code="BEN-2", first_name="Ben")
    alone = make_pet(name="Max", notes="Ada brings him", microchip="985112003456789")
    shared = make_pet(name="Luna", notes="Ada Obi walks her")
    PetService.add_owner(actor=actor, pet=shared, customer=ben)

    record = PrivacyService.erase_customer(actor=actor, code="ADA-1")

    alone.refresh_from_db()
    shared.refresh_from_db()
    assert (alone.name, alone.notes, alone.microchip) == ("[erased]", "", "")
    assert links(alone) == []
    assert shared.name == "Luna"
    assert shared.notes == "[erased] walks her"
    assert links(shared) == [("BEN-2", True)]
    assert record.counts["pets"] == 4
    assert PetService.find_pets(tenant=actor.tenant, name="max").count() == 0


def test_merge_moves_ownerships_keeps_one_link_and_undo_restores(actor, make_pet, make_customer):
    survivor = make_customer(code="KEEP", first_name="Ada", last_name="Obi", email="a@example.com")
    duplicate = make_customer(code="DUP", first_name="Ada", last_name="Obi", email="a@example.com")
    theirs = make_pet(name="Rex", owner=duplicate)
    both = make_pet(name="Luna", owner=duplicate)
    PetService.add_owner(actor=actor, pet=both, customer=survivor)
    ours = make_pet(name="Kiki", owner=survivor)
    before = {pet.pk: links(pet) for pet in (theirs, both, ours)}

    preview = MergeService.preview(actor=actor, survivor="KEEP", duplicate="DUP")
    merge = MergeService.merge(actor=actor, survivor="KEEP", duplicate="DUP")

    assert {(s.app, s.what, s.action) for s in preview.plan if s.app == "pets"} == {
        ("pets", "1 pet", "move"),
        ("pets", "1 pet owned by both", "keep survivor's"),
    }
    assert links(theirs) == [("KEEP", True)]
    assert links(both) == [("KEEP", True)]  # the duplicate was primary: the survivor is now
    assert links(ours) == [("KEEP", True)]
    assert [p.name for p in PetService.get_customer_pets(customer=survivor)] == [
        "Kiki",
        "Luna",
        "Rex",
    ]

    MergeService.undo(actor=actor, merge_id=merge.uuid)

    assert {pet.pk: links(pet) for pet in (theirs, both, ours)} == before
    assert Pet.objects.count() == 3
