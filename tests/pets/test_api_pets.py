"""The pets endpoints through the real URL and auth: a customer's pets, search, owners."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.events.models import OutboxEvent
from rapport.pets.models import Pet
from rapport.pets.services import PetService

pytestmark = pytest.mark.django_db

MAX = {"name": "Max", "species": "dog", "breed": "Poodle", "date_of_birth": "2020-01-15"}


def test_a_pet_is_added_to_a_customer_and_read_back(api, owner):
    created = api.post("/customers/ADA-1/pets", {**MAX, "microchip": "985 112 003 456 789"})

    assert created.status_code == 201, created.content
    body = created.json()
    assert {k: body[k] for k in ("name", "species", "breed", "sex", "microchip")} == {
        "name": "Max",
        "species": "dog",
        "breed": "Poodle",
        "sex": "unknown",
        "microchip": "985112003456789",
    }
    assert [(o["code"], o["is_primary"]) for o in body["owners"]] == [("ADA-1", True)]
    assert isinstance(body["age_years"], int) and 0 <= body["age_months"] < 12
    assert api.get(f"/pets/{body['id']}").json() == body
    assert [p["id"] for p in api.get("/customers/ADA-1/pets").json()["items"]] == [body["id"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**MAX, "species": "dragon"}, "species"),
        ({**MAX, "name": ""}, "name"),
        ({**MAX, "microchip": "123"}, "microchip"),
        ({**MAX, "date_of_birth": "2999-01-01"}, "date_of_birth"),
        ({**MAX, "colour_of_eyes": "blue"}, "colour_of_eyes"),
        ({**MAX, "sex": "x"}, "sex"),
    ],
)
def test_bad_pets_get_422_naming_the_field(api, owner, body, field):
    response = api.post("/customers/ADA-1/pets", body)

    assert response.status_code == 422, response.content
    assert field in response.json()["error"]["fields"]
    assert not Pet.objects.exists()


def test_unknown_customer_is_404_and_a_read_key_cannot_write(api, read_api, owner):
    assert api.post("/customers/NOPE/pets", MAX).status_code == 404
    assert read_api.post("/customers/ADA-1/pets", MAX).status_code == 403
    assert not Pet.objects.exists()


def test_a_taken_microchip_is_409(api, owner):
    api.post("/customers/ADA-1/pets", {**MAX, "microchip": "985112003456789"})

    response = api.post(
        "/customers/ADA-1/pets", {**MAX, "name": "Rex", "microchip": "985112003456789"}
    )

    assert response.status_code == 409
    assert Pet.objects.count() == 1


def test_search_by_name_and_species_pages_with_a_cursor(api, make_pet):
    for name in ("Max", "Sir Max", "Maxine", "Luna", "Tomax"):
        make_pet(name=name)
    make_pet(name="Max the cat", species="cat")

    first = api.get("/pets", {"name": "max", "species": "dog", "limit": 2}).json()
    second = api.get(
        "/pets", {"name": "max", "species": "dog", "limit": 2, "cursor": first["next_cursor"]}
    ).json()

    assert [p["name"] for p in first["items"]] == ["Max", "Maxine"]
    assert [p["name"] for p in second["items"]] == ["Sir Max"]
    assert second["next_cursor"] is None
    assert api.get("/pets", {"species": "dragon"}).status_code == 422


def test_patch_changes_only_what_is_sent_and_records_death(api, make_pet):
    pet = make_pet(breed="Poodle", colour="white")

    response = api.patch(f"/pets/{pet.uuid}", {"neutered": True, "deceased_on": "2024-02-01"})
    cleared = api.patch(f"/pets/{pet.uuid}", {"colour": None})
    refused = api.patch(f"/pets/{pet.uuid}", {"name": None})

    assert response.status_code == 200, response.content
    assert (response.json()["neutered"], response.json()["deceased_on"]) == (True, "2024-02-01")
    assert response.json()["breed"] == "Poodle"
    assert cleared.json()["colour"] == ""
    assert refused.status_code == 422
    assert set(refused.json()["error"]["fields"]) == {"name"}


def test_owners_are_added_and_removed_by_code(api, make_pet, make_customer):
    pet = make_pet()
    make_customer(code="BEN-2", first_name="Ben")

    added = api.post(f"/pets/{pet.uuid}/owners", {"code": "BEN-2"})
    again = api.post(f"/pets/{pet.uuid}/owners", {"code": "BEN-2"})
    unknown = api.post(f"/pets/{pet.uuid}/owners", {"code": "NOPE"})
    removed = api.delete(f"/pets/{pet.uuid}/owners/ADA-1")
    last = api.delete(f"/pets/{pet.uuid}/owners/BEN-2")

    assert added.status_code == 201
    assert [o["code"] for o in added.json()["owners"]] == ["ADA-1", "BEN-2"]
    assert again.status_code == 409
    assert unknown.status_code == 422 and set(unknown.json()["error"]["fields"]) == {"code"}
    assert removed.status_code == 204
    assert last.status_code == 409
    assert [o["code"] for o in api.get(f"/pets/{pet.uuid}").json()["owners"]] == ["BEN-2"]
    assert api.get("/customers/ADA-1/pets").json()["items"] == []


def test_another_tenants_pet_is_404_and_unchanged(make_pet, other_api):
    pet = make_pet()
    path = f"/pets/{pet.uuid}"

    assert other_api.get(path).status_code == 404
    assert other_api.patch(path, {"name": "Stolen"}).status_code == 404
    assert other_api.delete(f"{path}/owners/ADA-1").status_code == 404
    assert other_api.get("/pets").json()["items"] == []
    assert Pet.objects.get().name == "Max"
    assert not OutboxEvent.objects.filter(type="pet.updated").exists()


def queries(client, url: str) -> int:
    client.get(url)
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(context.captured_queries)


def test_pet_lists_cost_the_same_queries_whatever_the_rows(
    api, actor, owner, make_pet, make_customer
):
    urls = ["/pets", "/pets?name=pet", "/customers/ADA-1/pets"]

    def grow(count: int) -> None:
        for _ in range(count):
            pet = make_pet(name=f"Pet {Pet.objects.count()}")
            PetService.add_owner(actor=actor, pet=pet, customer=make_customer())

    grow(2)
    few = [queries(api, url) for url in urls]
    grow(10)
    many = [queries(api, url) for url in urls]

    assert many == few
    assert max(few) <= 6
    assert len(api.get("/customers/ADA-1/pets").json()["items"]) == 12
