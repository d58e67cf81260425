"""Adding, changing and finding pets, and who owns them.

Every change goes on the owners' timelines and into the outbox through the customer hooks
(`pet.created`, `pet.updated`, `pet.owner_added`, `pet.owner_removed`), one entry and one event
per owner concerned, each with the owner's code.
"""

import datetime as dt
import re
import uuid
import zoneinfo
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from rapport.customers import hooks
from rapport.customers.hooks import CustomerChange
from rapport.customers.models import Customer
from rapport.exceptions import Conflict, InvalidInput, NotFound
from rapport.pets import conf
from rapport.pets.models import Pet, PetOwner, Sex
from rapport.tenancy.actors import Actor
from rapport.tenancy.models import Tenant

WORD_BREAK = re.compile(r"[\W_]+")
MICROCHIP_SEPARATORS = re.compile(r"[\s\-.*]+")
MICROCHIP = re.compile(r"^[0-9A-Z]+$")
EARLIEST_YEAR = 1900  # an older date is a typing mistake
PET_FIELDS = (
    "name",
    "species",
    "breed",
    "sex",
    "date_of_birth",
    "neutered",
    "colour",
    "microchip",
    "notes",
    "deceased_on",
)


def name_key(name: str) -> str:
    """A name as search compares it: case-folded, its words separated by single spaces."""
    return " ".join(word for word in WORD_BREAK.split(name.casefold()) if word)


def tenant_today(tenant: Tenant) -> dt.date:
    return timezone.localdate(timezone=zoneinfo.ZoneInfo(tenant.timezone))


def normalize_microchip(value: str) -> str:
    return MICROCHIP_SEPARATORS.sub("", value).upper()


def _text(errors: dict[str, str], name: str, value: Any, limit: int, *, required=False) -> None:
    if not isinstance(value, str) or "\x00" in value:
        errors[name] = "Text"
    elif required and not value.strip():
        errors[name] = "Required"
    elif len(value.strip()) > limit:
        errors[name] = f"At most {limit} characters"


def _is_date(value: Any) -> bool:
    return isinstance(value, dt.date) and not isinstance(value, dt.datetime)


def clean_pet(tenant: Tenant, values: dict[str, Any]) -> dict[str, Any]:
    """The given fields as stored; InvalidInput naming every one that breaks a rule."""
    errors: dict[str, str] = {}
    cleaned = dict(values)
    today = tenant_today(tenant)
    if "name" in values:
        _text(errors, "name", values["name"], conf.NAME_LIMIT, required=True)
        if "name" not in errors and not name_key(values["name"]):
            errors["name"] = "Use at least one letter or digit"
    if "species" in values:
        species = values["species"]
        if not isinstance(species, str) or species.strip().lower() not in conf.SPECIES:
            errors["species"] = f"Use one of {', '.join(conf.SPECIES)}"
        else:
            cleaned["species"] = species.strip().lower()
    for name, limit in (("breed", conf.BREED_LIMIT), ("colour", conf.COLOUR_LIMIT)):
        if name in values:
            _text(errors, name, values[name], limit)
    if "notes" in values:
        _text(errors, "notes", values["notes"], conf.NOTES_LIMIT)
    if "sex" in values and values["sex"] not in Sex.values:
        errors["sex"] = f"Use one of {', '.join(Sex.values)}"
    if "neutered" in values and values["neutered"] not in (True, False, None):
        errors["neutered"] = "true, false or null (unknown)"
    for name in ("date_of_birth", "deceased_on"):
        value = values.get(name)
        if value is not None and not _is_date(value):
            errors[name] = "A date, YYYY-MM-DD"
        elif value is not None and value > today:
            errors[name] = "Not in the future"
        elif value is not None and value.year < EARLIEST_YEAR:
            errors[name] = f"Not before {EARLIEST_YEAR}"
    born, died = values.get("date_of_birth"), values.get("deceased_on")
    if _is_date(born) and _is_date(died) and died < born:
        errors["deceased_on"] = "Not before the date of birth"
    if "microchip" in values:
        chip = values["microchip"]
        if not isinstance(chip, str):
            errors["microchip"] = "Text"
        else:
            chip = normalize_microchip(chip)
            if chip and (
                not MICROCHIP.match(chip)
                or not conf.MICROCHIP_MIN <= len(chip) <= conf.MICROCHIP_MAX
            ):
                errors["microchip"] = (
                    f"{conf.MICROCHIP_MIN} to {conf.MICROCHIP_MAX} letters and digits"
                )
            cleaned["microchip"] = chip
    if errors:
        raise InvalidInput("The pet is not valid", fields=errors)
    for name in ("name", "breed", "colour"):
        if name in cleaned:
            cleaned[name] = cleaned[name].strip()
    if "name" in cleaned:
        cleaned["name_key"] = name_key(cleaned["name"])
    return cleaned


def pet_payload(pet: Pet) -> dict[str, Any]:
    """A pet in outbox events. Notes stay out: they may hold health data."""
    return {
        "id": str(pet.uuid),
        "name": pet.name,
        "species": pet.species,
        "breed": pet.breed,
        "sex": pet.sex,
        "date_of_birth": pet.date_of_birth.isoformat() if pet.date_of_birth else None,
        "neutered": pet.neutered,
        "colour": pet.colour,
        "microchip": pet.microchip,
        "deceased_on": pet.deceased_on.isoformat() if pet.deceased_on else None,
    }


def describe(pet: Pet) -> str:
    """ "Max (dog, Poodle)": how a pet reads on a timeline."""
    kind = f"{pet.species}, {pet.breed}" if pet.breed else pet.species
    return f"{pet.name} ({kind})"


def _publish(
    kind: str,
    pet: Pet,
    customer: Customer,
    actor: Actor,
    title: str,
    changes: dict[str, dict[str, Any]] | None = None,
) -> None:
    hooks.publish(
        CustomerChange(
            kind=kind,
            customer=customer,
            actor=actor,
            changes=changes or {},
            detail={"pet": pet_payload(pet), **({"changes": changes} if changes else {})},
            title=title[:200],
            timeline_type="profile",
            event=f"pet.{kind.removeprefix('pet_')}",
        )
    )


def _owners(pet: Pet) -> list[Customer]:
    return [
        link.customer
        for link in PetOwner.objects.filter(pet=pet).select_related("customer").order_by("pk")
    ]


def _locked(pet: Pet) -> Pet:
    return Pet.objects.select_for_update(of=("self",)).select_related("tenant").get(pk=pet.pk)


def _save_pet(pet: Pet, fields: list[str]) -> None:
    try:
        with transaction.atomic():
            pet.save(update_fields=fields) if fields else pet.save()
    except IntegrityError:
        raise Conflict(
            "Another pet of this business has that microchip",
            fields={"microchip": "Already on another pet"},
        ) from None


def with_owners(pets: QuerySet) -> QuerySet:
    """Pets with their tenant and owners (and the owners' customers) fetched in two queries."""
    return pets.select_related("tenant").prefetch_related(
        Prefetch(
            "ownerships",
            queryset=PetOwner.objects.select_related("customer").order_by(
                "-is_primary", "since", "id"
            ),
        )
    )


class PetService:
    """Pets, their owners, and finding them by name or species."""

    @staticmethod
    def add_pet(*, actor: Actor, owner: Customer, name: str, species: str, **fields: Any) -> Pet:
        """Register a pet with its first (primary) owner; "Pet added: Max (dog, Poodle)"."""
        unknown = set(fields) - set(PET_FIELDS)
        if unknown:
            raise InvalidInput(
                "Unknown pet fields", fields={name: "Not a field of a pet" for name in unknown}
            )
        if owner.tenant_id != actor.tenant.pk:
            raise NotFound("No such customer", fields={"code": "No such customer"})
        values = clean_pet(actor.tenant, {"name": name, "species": species, **fields})
        with transaction.atomic():
            pet = Pet(tenant=actor.tenant, **values)
            _save_pet(pet, [])
            PetOwner.objects.create(
                tenant=actor.tenant,
                pet=pet,
                customer=owner,
                is_primary=True,
                since=tenant_today(actor.tenant),
            )
            _publish("pet_created", pet, owner, actor, f"Pet added: {describe(pet)}")
        return pet

    @staticmethod
    def update_pet(*, actor: Actor, pet: Pet, **changes: Any) -> Pet:
        """Change a pet's details; each owner's timeline says what changed."""
        unknown = set(changes) - set(PET_FIELDS)
        if unknown:
            raise InvalidInput(
                "Unknown pet fields",
                fields={name: "Not a field of a pet" for name in sorted(unknown)},
            )
        if pet.tenant_id != actor.tenant.pk:
            raise NotFound("No pet with that id")
        with transaction.atomic():
            pet = _locked(pet)
            # Dates are checked against each other, so the stored one fills a missing side.
            merged = {
                "date_of_birth": pet.date_of_birth,
                "deceased_on": pet.deceased_on,
                **changes,
            }
            checked = clean_pet(actor.tenant, merged)
            values = {name: checked[name] for name in [*changes, "name_key"] if name in checked}
            before = {name: getattr(pet, name) for name in PET_FIELDS}
            for name, value in values.items():
                setattr(pet, name, value)
            diff = {
                name: {"old": _plain(before[name]), "new": _plain(getattr(pet, name))}
                for name in PET_FIELDS
                if before[name] != getattr(pet, name)
            }
            if not diff:
                return pet
            _save_pet(pet, [*values, "updated_at"])
            # Notes stay out of the change record, as out of the payload.
            shown = {name: change for name, change in diff.items() if name != "notes"}
            words = ", ".join(name.replace("_", " ") for name in diff)
            title = f"Pet updated: {pet.name} ({words})"
            if "deceased_on" in diff and pet.deceased_on is not None:
                title = f"Pet died: {pet.name} on {pet.deceased_on.isoformat()}"
            for owner in _owners(pet):
                _publish("pet_updated", pet, owner, actor, title, changes=shown)
        return pet

    @staticmethod
    def mark_deceased(*, actor: Actor, pet: Pet, on: dt.date) -> Pet:
        """Record that the pet died on `on` (the tenant's date); its owners' timelines say so."""
        if on is None:
            raise InvalidInput("The date is required", fields={"deceased_on": "Required"})
        return PetService.update_pet(actor=actor, pet=pet, deceased_on=on)

    @staticmethod
    def add_owner(*, actor: Actor, pet: Pet, customer: Customer) -> PetOwner:
        """Make another customer an owner too; Conflict if they already are."""
        if pet.tenant_id != actor.tenant.pk:
            raise NotFound("No pet with that id")
        if customer.tenant_id != actor.tenant.pk:
            raise NotFound("No such customer", fields={"code": "No such customer"})
        with transaction.atomic():
            pet = _locked(pet)
            if PetOwner.objects.filter(pet=pet, customer=customer).exists():
                raise Conflict(
                    f"{customer.code} already owns {pet.name}",
                    fields={"code": "Already an owner"},
                )
            link = PetOwner.objects.create(
                tenant=actor.tenant,
                pet=pet,
                customer=customer,
                is_primary=not PetOwner.objects.filter(pet=pet).exists(),
                since=tenant_today(actor.tenant),
            )
            _publish("pet_owner_added", pet, customer, actor, f"Now an owner of {describe(pet)}")
        return link

    @staticmethod
    def remove_owner(*, actor: Actor, pet: Pet, customer: Customer) -> None:
        """End an ownership; the last owner cannot go (Conflict). A primary's role passes on."""
        if pet.tenant_id != actor.tenant.pk:
            raise NotFound("No pet with that id")
        with transaction.atomic():
            pet = _locked(pet)
            links = list(PetOwner.objects.filter(pet=pet).order_by("since", "pk"))
            link = next((link for link in links if link.customer_id == customer.pk), None)
            if link is None:
                raise NotFound(
                    f"{customer.code} does not own {pet.name}", fields={"code": "Not an owner"}
                )
            if len(links) == 1:
                raise Conflict(
                    f"{customer.code} is {pet.name}'s only owner",
                    fields={"code": "A pet keeps at least one owner: add another first"},
                )
            link.delete()
            if link.is_primary:
                heir = next(other for other in links if other.pk != link.pk)
                PetOwner.objects.filter(pk=heir.pk).update(is_primary=True)
            _publish("pet_owner_removed", pet, customer, actor, f"No longer owns {describe(pet)}")

    @staticmethod
    def get_pet(*, tenant: Tenant, pet_id: Any) -> Pet:
        """One of the tenant's pets with its owners; NotFound otherwise (also other tenants')."""
        try:
            key = uuid.UUID(str(pet_id))
        except ValueError:
            raise NotFound("No pet with that id") from None
        pet = with_owners(Pet.objects.filter(tenant=tenant, uuid=key)).first()
        if pet is None:
            raise NotFound("No pet with that id")
        return pet

    @staticmethod
    def get_customer_pets(*, customer: Customer) -> QuerySet:
        """The customer's pets, living and deceased, by name."""
        return with_owners(Pet.objects.filter(ownerships__customer=customer))

    @staticmethod
    def find_pets(*, tenant: Tenant, name: str = "", species: str = "") -> QuerySet:
        """The tenant's pets whose name has a word starting with `name` (any case), by name."""
        pets = Pet.objects.filter(tenant=tenant)
        if species:
            species = species.strip().lower()
            if species not in conf.SPECIES:
                raise InvalidInput(
                    "Unknown species", fields={"species": f"Use one of {', '.join(conf.SPECIES)}"}
                )
            pets = pets.filter(species=species)
        key = name_key(name) if isinstance(name, str) else ""
        if key:
            pets = pets.filter(Q(name_key__startswith=key) | Q(name_key__contains=f" {key}"))
        return with_owners(pets)

    @staticmethod
    def pet_of_customer(*, customer: Customer, pet_id: Any) -> Pet:
        """The pet with that id if this customer owns it; NotFound otherwise."""
        try:
            key = uuid.UUID(str(pet_id))
        except ValueError:
            raise NotFound("No pet with that id", fields={"pet": "No such pet"}) from None
        pet = with_owners(
            Pet.objects.filter(
                tenant_id=customer.tenant_id, uuid=key, ownerships__customer=customer
            )
        ).first()
        if pet is None:
            raise NotFound(
                f"Customer {customer.code!r} owns no pet with that id",
                fields={"pet": "Not one of the customer's pets"},
            )
        return pet


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def forget_orphaned_pets(change: CustomerChange) -> None:
    """A deleted customer's pets that no one else owns go with them (a hooks listener)."""
    if change.kind != "deleted":
        return
    owned = PetOwner.objects.filter(customer=change.customer).values("pet_id")
    shared = PetOwner.objects.filter(pet_id__in=owned).exclude(customer=change.customer)
    Pet.objects.filter(pk__in=owned).exclude(pk__in=shared.values("pet_id")).delete()
    # The pets others keep get a new primary owner where the deleted one was it.
    primary = PetOwner.objects.filter(customer=change.customer, is_primary=True)
    for link in primary.order_by("pk"):
        link.delete()
        heir = PetOwner.objects.filter(pet_id=link.pet_id).order_by("since", "pk").first()
        PetOwner.objects.filter(pk=heir.pk).update(is_primary=True)
