"""Reads about pets worth a name: who keeps which species (the seed's `has_pets_species`)."""

from django.db.models import QuerySet

from rapport.customers.models import Customer
from rapport.pets.models import PetOwner
from rapport.tenancy.models import Tenant


def customers_with_species(
    *, tenant: Tenant, species: list[str], include_deceased: bool = False
) -> QuerySet:
    """The tenant's customers who own a pet of any of these species (living ones by default)."""
    links = PetOwner.objects.filter(tenant=tenant, pet__species__in=species)
    if not include_deceased:
        links = links.filter(pet__deceased_on__isnull=True)
    return Customer.objects.filter(tenant=tenant, pk__in=links.values("customer_id"))
