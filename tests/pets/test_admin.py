"""The pets admin: pets change through PetService, and the customer page lists their pets."""

import pytest
from django.contrib import admin
from django.urls import reverse

from rapport.customers.models import Customer
from rapport.events.models import OutboxEvent
from rapport.pets.models import Pet, PetOwner

pytestmark = pytest.mark.django_db

OWNERS = "ownerships"  # the owner inline's formset prefix


def url(model, view: str, *args) -> str:
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


def management(prefix: str, total: int, initial: int) -> dict:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def test_pet_pages_answer(admin_client, make_pet):
    pet = make_pet()

    assert Pet in admin.site._registry
    for page in (
        url(Pet, "changelist"),
        url(Pet, "changelist") + "?q=max",
        url(Pet, "changelist") + "?q=ADA-1",
        url(Pet, "add"),
        url(Pet, "change", pet.pk),
    ):
        assert admin_client.get(page).status_code == 200, page


def test_the_customer_page_shows_their_pets(admin_client, make_pet, owner):
    make_pet(name="Biscuit")

    page = admin_client.get(url(Customer, "change", owner.pk))

    assert page.status_code == 200
    assert "Biscuit" in page.content.decode()
    assert reverse("admin:rapport_pets_pet_change", args=[Pet.objects.get().pk]) in (
        page.content.decode()
    )


def test_adding_a_pet_goes_through_the_service(admin_client, tenant, owner):
    response = admin_client.post(
        url(Pet, "add"),
        {"tenant": tenant.pk, "owner": "ADA-1", "name": "Rex", "species": "dog", "sex": "male"},
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    pet = Pet.objects.get()
    assert PetOwner.objects.get(pet=pet).customer == owner
    assert OutboxEvent.objects.filter(type="pet.created").count() == 1


def test_an_unknown_owner_or_bad_chip_shows_on_the_form_and_writes_nothing(
    admin_client, tenant, owner
):
    unknown = admin_client.post(
        url(Pet, "add"),
        {"tenant": tenant.pk, "owner": "NOPE", "name": "Rex", "species": "dog", "sex": "male"},
    )
    bad_chip = admin_client.post(
        url(Pet, "add"),
        {
            "tenant": tenant.pk,
            "owner": "ADA-1",
            "name": "Rex",
            "species": "dog",
            "sex": "male",
            "microchip": "12",
        },
    )

    assert unknown.status_code == 200
    assert "owner" in unknown.context["adminform"].form.errors
    assert bad_chip.status_code == 200
    assert "microchip" in bad_chip.context["adminform"].form.errors
    assert not Pet.objects.exists()


def test_owners_are_added_through_the_inline(admin_client, make_pet, make_customer):
    pet = make_pet()
    ben = make_customer(code="BEN-2", first_name="Ben")
    link = PetOwner.objects.get(pet=pet)
    data = {
        "name": "Max",
        "species": "dog",
        "sex": "unknown",
        **management(OWNERS, 2, 1),
        f"{OWNERS}-0-id": link.pk,
        f"{OWNERS}-0-pet": pet.pk,
        f"{OWNERS}-1-customer": ben.pk,
        f"{OWNERS}-1-pet": pet.pk,
    }

    response = admin_client.post(url(Pet, "change", pet.pk), data)

    assert response.status_code == 302, response.content
    assert sorted(PetOwner.objects.filter(pet=pet).values_list("customer__code", flat=True)) == [
        "ADA-1",
        "BEN-2",
    ]
    assert OutboxEvent.objects.filter(type="pet.owner_added").count() == 1
