"""Fixtures of the preference tests: a customer to hold preferences, and PUT for the API client."""

import json

import pytest

from rapport.tenancy.actors import Actor


@pytest.fixture
def actor(tenant):
    return Actor.for_system(tenant, "tests")


@pytest.fixture
def customer(make_customer):
    return make_customer(code="ADA-1", first_name="Ada")


@pytest.fixture
def put():
    """put(client, path, body): the shared ApiClient speaks GET, POST, PATCH and DELETE only."""

    def send(client, path: str, body):
        data = body if isinstance(body, str | bytes) else json.dumps(body)
        return client.client.put(
            client._url(path), data, content_type="application/json", headers=client._headers({})
        )

    return send
