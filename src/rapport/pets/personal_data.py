"""Pets in a customer's export, erasure and merges (registered in PetsConfig.ready).

Export: every pet the customer owns, whole, with their ownership (primary or not, since when).
Co-owners are other people and stay out.

Erasure: the customer's ownerships end. A pet that other owners keep stays theirs, its notes
scrubbed of the erased person (and its primary role passed to the longest-standing owner). A
pet left with no owner stays, so visit counts and species reports keep their shape, but its
name becomes the placeholder and its notes and microchip are blanked: a chip number reaches
the owner through chip registries.

Merge: the duplicate's ownerships move to the survivor. A pet both owned keeps one link, the
survivor's, made primary if the duplicate's was. The journal keeps what moved and the links
removed, whole, so undo puts both customers back as they were.
"""

import datetime as dt
from typing import Any

from rapport.customers.models import Customer
from rapport.customers.personal_data import Erasure, MergeStep
from rapport.pets import conf
from rapport.pets.models import Pet, PetOwner
from rapport.pets.services import name_key
from rapport.tenancy.actors import Actor

NAME = "pets"


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _pet_row(pet: Pet, link: PetOwner) -> dict[str, Any]:
    return {
        "id": str(pet.uuid),
        "name": pet.name,
        "species": pet.species,
        "breed": pet.breed,
        "sex": pet.sex,
        "date_of_birth": _iso(pet.date_of_birth),
        "neutered": pet.neutered,
        "colour": pet.colour,
        "microchip": pet.microchip,
        "notes": pet.notes,
        "deceased_on": _iso(pet.deceased_on),
        "created_at": _iso(pet.created_at),
        "updated_at": _iso(pet.updated_at),
        "is_primary_owner": link.is_primary,
        "owner_since": _iso(link.since),
    }


def _link_row(link: PetOwner) -> dict[str, Any]:
    """A link whole, as undo recreates it."""
    return {
        "pk": link.pk,
        "pet": link.pet_id,
        "is_primary": link.is_primary,
        "since": link.since.isoformat(),
        "created_at": link.created_at.isoformat(),
    }


class PetData:
    """Export, erasure and merge of the pets a customer owns."""

    name = NAME

    def export(self, customer: Customer) -> list[dict[str, Any]]:
        """The customer's pets, oldest ownership first."""
        links = (
            PetOwner.objects.filter(customer=customer).select_related("pet").order_by("since", "pk")
        )
        return [_pet_row(link.pet, link) for link in links]

    def erase(self, customer: Customer, erasure: Erasure) -> int:
        """End the customer's ownerships; anonymize the pets no one else owns."""
        changed = 0
        for link in PetOwner.objects.filter(customer=customer).select_related("pet").order_by("pk"):
            pet = link.pet
            link.delete()
            changed += 1
            others = PetOwner.objects.filter(pet=pet).order_by("since", "pk")
            heir = others.first()
            if heir is None:
                pet.name = conf.ERASED_NAME
                pet.name_key = name_key(conf.ERASED_NAME)
                pet.notes = ""
                pet.microchip = ""
            else:
                if link.is_primary:
                    PetOwner.objects.filter(pk=heir.pk).update(is_primary=True)
                pet.notes = erasure.scrub(pet.notes)
            pet.save(update_fields=["name", "name_key", "notes", "microchip", "updated_at"])
            changed += 1
        return changed

    def plan_merge(self, duplicate: Customer, survivor: Customer) -> list[MergeStep]:
        """How many pets move and how many both already own; writes nothing."""
        theirs = set(PetOwner.objects.filter(customer=duplicate).values_list("pet_id", flat=True))
        if not theirs:
            return []
        shared = theirs & set(
            PetOwner.objects.filter(customer=survivor).values_list("pet_id", flat=True)
        )
        moving = len(theirs) - len(shared)
        steps = []
        if moving:
            noun = "pet" if moving == 1 else "pets"
            steps.append(
                MergeStep(
                    NAME,
                    f"{moving} {noun}",
                    "move",
                    "The survivor becomes their owner",
                    {"pets": moving},
                )
            )
        if shared:
            noun = "pet" if len(shared) == 1 else "pets"
            steps.append(
                MergeStep(
                    NAME,
                    f"{len(shared)} {noun} owned by both",
                    "keep survivor's",
                    "A pet keeps one link per owner: the survivor's, primary if either was",
                    {"pets": len(shared)},
                )
            )
        return steps

    def merge(self, duplicate: Customer, survivor: Customer, actor: Actor) -> dict[str, Any]:
        """Move the duplicate's ownerships; on a pet both own, keep the survivor's link."""
        ours = {link.pet_id: link for link in PetOwner.objects.filter(customer=survivor)}
        moved: list[int] = []
        removed: list[dict[str, Any]] = []
        promoted: list[int] = []
        for link in PetOwner.objects.filter(customer=duplicate).order_by("pk"):
            kept = ours.get(link.pet_id)
            if kept is None:
                moved.append(link.pk)
                continue
            removed.append(_link_row(link))
            link.delete()
            if link.is_primary and not kept.is_primary:
                PetOwner.objects.filter(pk=kept.pk).update(is_primary=True)
                promoted.append(kept.pk)
        PetOwner.objects.filter(pk__in=moved).update(customer=survivor)
        return {"moved": moved, "removed": removed, "promoted": promoted}

    def blockers_to_undo(
        self, duplicate: Customer, survivor: Customer, journal: dict[str, Any]
    ) -> list[str]:
        """A pet deleted since cannot get its link back."""
        pets = {row["pet"] for row in journal.get("removed", [])}
        missing = len(pets) - Pet.objects.filter(pk__in=pets).count()
        if missing:
            return [f"{missing} pet(s) both customers owned no longer exist"]
        return []

    def undo_merge(
        self, duplicate: Customer, survivor: Customer, journal: dict[str, Any], actor: Actor
    ) -> None:
        """Give the moved ownerships back and recreate the links the merge removed."""
        PetOwner.objects.filter(pk__in=journal.get("moved", []), customer=survivor).update(
            customer=duplicate
        )
        PetOwner.objects.filter(pk__in=journal.get("promoted", [])).update(is_primary=False)
        for row in journal.get("removed", []):
            link = PetOwner.objects.create(
                pk=row["pk"],
                tenant_id=duplicate.tenant_id,
                pet_id=row["pet"],
                customer=duplicate,
                is_primary=row["is_primary"],
                since=dt.date.fromisoformat(row["since"]),
            )
            # auto_now_add ignores what is given on create; put the original time back.
            PetOwner.objects.filter(pk=link.pk).update(
                created_at=dt.datetime.fromisoformat(row["created_at"])
            )
