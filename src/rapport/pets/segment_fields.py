"""Pets' fields for segment conditions: the species of the customer's living pets."""

from django.db.models import OuterRef, QuerySet

from rapport.customers import segment_fields
from rapport.customers.segment_fields import CHOICE, SegmentField
from rapport.pets import conf
from rapport.pets.models import PetOwner


def _pets(species: list | None) -> QuerySet:
    links = PetOwner.objects.filter(customer=OuterRef("pk"), pet__deceased_on__isnull=True)
    return links if species is None else links.filter(pet__species__in=species)


def register() -> None:
    """pets.species (registered in PetsConfig.ready())."""
    segment_fields.register(
        SegmentField(
            "pets.species",
            CHOICE,
            "Species of a living pet",
            segment_fields.related(_pets),
            operators=("eq", "in", "neq", "not_in", "is_null"),
            choices=conf.SPECIES,
            app="pets",
            description="eq, in: owns a living pet of the species; neq, not_in: owns none; "
            "is_null: owns no living pet",
        )
    )
