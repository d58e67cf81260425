"""Fixtures of the loyalty tests: an actor, a program from a preset, customers, ledger checks."""

import pytest

from rapport.loyalty.services import LoyaltyProgramService
from rapport.tenancy.actors import Actor


@pytest.fixture
def actor(tenant):
    return Actor.for_system(tenant, "tests")


@pytest.fixture
def configure(actor):
    """configure(preset=..., **terms): set the default tenant's program up."""

    def apply(**settings):
        return LoyaltyProgramService.configure_program(actor=actor, **settings)

    return apply


@pytest.fixture
def ada(make_customer):
    return make_customer(code="ADA-1", first_name="Ada", email="ada@example.com")
