"""REST endpoints of pets: a customer's pets, finding pets by name, and who owns them."""

import datetime as dt
from typing import Literal
from uuid import UUID

from ninja import Query, Router, Schema, Status
from pydantic import Field

from rapport.customers.services import CustomerService, find_customer
from rapport.exceptions import InvalidInput
from rapport.pagination import TEXT, paginate
from rapport.pets import conf
from rapport.pets.models import Pet, PetOwner
from rapport.pets.services import PetService
from rapport.schemas import WRITE_ERRORS, InputSchema, PageQuery, responses
from rapport.tenancy.api import READ, WRITE, actor_of

router = Router(tags=["pets"], auth=READ)

SpeciesValue = Literal[conf.SPECIES]  # type: ignore[valid-type]
SexValue = Literal["male", "female", "unknown"]
ORDER = ["name_key"]
PARSERS = {"name_key": TEXT}


class OwnerOut(Schema):
    code: str = Field(description="The owner's customer code")
    is_primary: bool
    since: dt.date

    @staticmethod
    def resolve_code(link: PetOwner) -> str:
        return link.customer.code


class PetOut(Schema):
    id: UUID = Field(alias="uuid")
    name: str
    species: str
    breed: str
    sex: str
    date_of_birth: dt.date | None
    age_years: int | None = Field(description="Whole years old today (at death if deceased)")
    age_months: int | None = Field(description="Months beyond the whole years")
    neutered: bool | None = Field(description="null: not known")
    colour: str
    microchip: str
    notes: str
    deceased_on: dt.date | None
    owners: list[OwnerOut]
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_age_years(pet: Pet) -> int | None:
        return pet.age[0] if pet.age else None

    @staticmethod
    def resolve_age_months(pet: Pet) -> int | None:
        return pet.age[1] if pet.age else None

    @staticmethod
    def resolve_owners(pet: Pet) -> list[PetOwner]:
        return list(pet.ownerships.all())


class PetPage(Schema):
    items: list[PetOut]
    next_cursor: str | None


class PetFields(InputSchema):
    breed: str = Field("", max_length=100, examples=["Poodle"])
    sex: SexValue = "unknown"
    date_of_birth: dt.date | None = None
    neutered: bool | None = None
    colour: str = Field("", max_length=50)
    microchip: str = Field(
        "",
        max_length=40,
        description="9 to 15 letters and digits; spaces and dashes are dropped",
        examples=["985 112 003 456 789"],
    )
    notes: str = Field("", max_length=10_000)


class PetIn(PetFields):
    name: str = Field(min_length=1, max_length=100, examples=["Max"])
    species: SpeciesValue = Field(examples=["dog"])


class PetPatch(InputSchema):
    """Only the fields sent change. Send deceased_on to record that the pet died."""

    name: str | None = Field(None, min_length=1, max_length=100)
    species: SpeciesValue | None = None
    breed: str | None = Field(None, max_length=100)
    sex: SexValue | None = None
    date_of_birth: dt.date | None = None
    neutered: bool | None = None
    colour: str | None = Field(None, max_length=50)
    microchip: str | None = Field(None, max_length=40)
    notes: str | None = Field(None, max_length=10_000)
    deceased_on: dt.date | None = None


class PetQuery(PageQuery):
    name: str | None = Field(
        None, max_length=100, description="Matches the start of any word of the name, any case"
    )
    species: SpeciesValue | None = None


class OwnerIn(InputSchema):
    code: str = Field(min_length=1, max_length=40, description="The new owner's customer code")


# Fields whose null means "not known" or "none"; the others cannot be cleared with null.
NULLABLE = {"date_of_birth", "neutered", "deceased_on"}
BLANKABLE = {"breed", "colour", "microchip", "notes"}


def _changes(payload: PetPatch) -> dict:
    changes = payload.model_dump(exclude_unset=True)
    refused = {}
    for name, value in list(changes.items()):
        if value is None and name in BLANKABLE:
            changes[name] = ""
        elif value is None and name not in NULLABLE:
            refused[name] = "Cannot be null"
    if refused:
        raise InvalidInput("Some pet fields cannot be cleared", fields=refused)
    return changes


def _page(pets, query: PageQuery):
    return paginate(pets, ordering=ORDER, parsers=PARSERS, cursor=query.cursor, limit=query.limit)


@router.get("/customers/{code}/pets", response=responses({200: PetPage}, 404))
def list_customer_pets(request, code: str, query: Query[PageQuery]):
    """The customer's pets, living and deceased, by name."""
    customer = CustomerService.get_customer(tenant=actor_of(request).tenant, code=code)
    return _page(PetService.get_customer_pets(customer=customer), query)


@router.post(
    "/customers/{code}/pets",
    response=responses({201: PetOut}, 404, *WRITE_ERRORS),
    auth=WRITE,
)
def add_pet(request, code: str, payload: PetIn):
    """Register a pet with this customer as its primary owner."""
    actor = actor_of(request)
    owner = CustomerService.get_customer(tenant=actor.tenant, code=code)
    pet = PetService.add_pet(actor=actor, owner=owner, **payload.model_dump())
    return Status(201, PetService.get_pet(tenant=actor.tenant, pet_id=pet.uuid))


@router.get("/pets", response=responses({200: PetPage}))
def list_pets(request, query: Query[PetQuery]):
    """The tenant's pets by name; `name` finds "Max" in "Sir Max" too."""
    pets = PetService.find_pets(
        tenant=actor_of(request).tenant, name=query.name or "", species=query.species or ""
    )
    return _page(pets, query)


@router.get("/pets/{pet_id}", response=responses({200: PetOut}, 404))
def get_pet(request, pet_id: UUID):
    """One pet with its owners."""
    return PetService.get_pet(tenant=actor_of(request).tenant, pet_id=pet_id)


@router.patch("/pets/{pet_id}", response=responses({200: PetOut}, 400, 404, 409), auth=WRITE)
def update_pet(request, pet_id: UUID, payload: PetPatch):
    """Change a pet's details, or record that it died (deceased_on)."""
    actor = actor_of(request)
    pet = PetService.get_pet(tenant=actor.tenant, pet_id=pet_id)
    PetService.update_pet(actor=actor, pet=pet, **_changes(payload))
    return PetService.get_pet(tenant=actor.tenant, pet_id=pet_id)


@router.post(
    "/pets/{pet_id}/owners",
    response=responses({201: PetOut}, 404, *WRITE_ERRORS),
    auth=WRITE,
)
def add_owner(request, pet_id: UUID, payload: OwnerIn):
    """Make another customer an owner of the pet (409 if they already are)."""
    actor = actor_of(request)
    pet = PetService.get_pet(tenant=actor.tenant, pet_id=pet_id)
    customer = find_customer(actor.tenant, payload.code)
    if customer is None:
        raise InvalidInput(
            "Unknown owner", fields={"code": f"No customer with code {payload.code!r}"}
        )
    PetService.add_owner(actor=actor, pet=pet, customer=customer)
    return Status(201, PetService.get_pet(tenant=actor.tenant, pet_id=pet_id))


@router.delete(
    "/pets/{pet_id}/owners/{code}", response=responses({204: None}, 404, 409), auth=WRITE
)
def remove_owner(request, pet_id: UUID, code: str):
    """End a customer's ownership of the pet; its last owner cannot be removed (409)."""
    actor = actor_of(request)
    pet = PetService.get_pet(tenant=actor.tenant, pet_id=pet_id)
    customer = CustomerService.get_customer(tenant=actor.tenant, code=code)
    PetService.remove_owner(actor=actor, pet=pet, customer=customer)
    return Status(204, None)
