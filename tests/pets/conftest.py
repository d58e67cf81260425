"""Fixtures of the pet tests: an actor, an owner, and a pet factory."""

import pytest

from rapport.pets.services import PetService
from rapport.tenancy.actors import Actor


@pytest.fixture
def actor(tenant):
    return Actor.for_system(tenant, "tests")


@pytest.fixture
def owner(make_customer):
    return make_customer(code="ADA-1", first_name="Ada", last_name="Obi")


@pytest.fixture
def make_pet(actor, owner):
    """make_pet(name="Max", species="dog", owner=…, **fields) through PetService."""

    def make(name="Max", species="dog", owner=owner, actor=actor, **fields):
        return PetService.add_pet(actor=actor, owner=owner, name=name, species=species, **fields)

    return make
