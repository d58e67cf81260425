"""Fixtures of the commerce tests: an actor, customers, and order inputs."""

import datetime as dt

import pytest

from rapport.commerce.services import LineInput, OrderInput
from rapport.tenancy.actors import Actor

PLACED = dt.datetime(2025, 3, 1, 10, 30, tzinfo=dt.UTC)


@pytest.fixture
def actor(tenant):
    return Actor.for_system(tenant, "tests")


@pytest.fixture
def ada(make_customer):
    return make_customer(code="ADA-1", first_name="Ada", last_name="Obi", email="ada@example.com")


@pytest.fixture
def ben(make_customer):
    return make_customer(code="BEN-2", first_name="Ben")


def order_input(customer, external_id="1043", **fields) -> OrderInput:
    """A completed POS order of two lines (2 x 1500 + 1 x 1500 = 4500) unless told otherwise."""
    fields.setdefault(
        "lines",
        (
            LineInput(
                name="Croissant", unit_price_q=1500, quantity=2, sku="CR-1", category="bakery"
            ),
            LineInput(name="Coffee", unit_price_q=1500, sku="CO-1", category="drinks"),
        ),
    )
    fields.setdefault("placed_at", PLACED)
    return OrderInput(customer=customer, external_id=external_id, **fields)
