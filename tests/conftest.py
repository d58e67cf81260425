"""Shared fixtures: tenants, API keys, an authenticated API client, customer factories."""

import itertools
import json

import pytest
from django.conf import settings as django_settings
from django.test import Client, override_settings

from rapport.customers.services import CustomerService
from rapport.tenancy.actors import Actor
from rapport.tenancy.services import ApiKeyService, TenantService

_phones = itertools.count(1_000_000)


class ApiClient:
    """The Django test client speaking JSON to /api/v1 with one API key."""

    def __init__(self, secret: str | None) -> None:
        self.client = Client()
        self.secret = secret

    def _headers(self, headers: dict | None) -> dict:
        extra = {} if self.secret is None else {"Authorization": f"Bearer {self.secret}"}
        return {**extra, **(headers or {})}

    def _url(self, path: str) -> str:
        return path if path.startswith("/api/") else f"/api/v1{path}"

    def get(self, path: str, params: dict | None = None, headers: dict | None = None):
        return self.client.get(self._url(path), params or {}, headers=self._headers(headers))

    def post(self, path: str, body=None, headers: dict | None = None):
        data = body if isinstance(body, str | bytes) else json.dumps({} if body is None else body)
        return self.client.post(
            self._url(path), data, content_type="application/json", headers=self._headers(headers)
        )

    def patch(self, path: str, body=None, headers: dict | None = None):
        data = body if isinstance(body, str | bytes) else json.dumps(body or {})
        return self.client.patch(
            self._url(path), data, content_type="application/json", headers=self._headers(headers)
        )

    def delete(self, path: str, headers: dict | None = None):
        return self.client.delete(self._url(path), headers=self._headers(headers))


@pytest.fixture
def tenant(db):
    return TenantService.get_default()


@pytest.fixture
def other_tenant(db):
    return TenantService.create_tenant(
        name="Other shop",
        slug="other-shop",
        country="BR",
        currency="BRL",
        timezone_name="America/Sao_Paulo",
    )


@pytest.fixture
def system_actor(tenant):
    return Actor.for_system(tenant, "tests")


@pytest.fixture
def make_key(db):
    """make_key(tenant, scopes=["write"]) -> (ApiKey, secret)."""

    def make(tenant, scopes=("write",), name="test key", user=None):
        return ApiKeyService.create_key(tenant=tenant, name=name, scopes=list(scopes), user=user)

    return make


@pytest.fixture
def api(tenant, make_key):
    """An API client with a read+write key of the default tenant."""
    _, secret = make_key(tenant, ["write"])
    return ApiClient(secret)


@pytest.fixture
def admin_api(tenant, make_key):
    _, secret = make_key(tenant, ["admin"], name="admin key")
    return ApiClient(secret)


@pytest.fixture
def read_api(tenant, make_key):
    _, secret = make_key(tenant, ["read"], name="read key")
    return ApiClient(secret)


@pytest.fixture
def other_api(other_tenant, make_key):
    """An admin client of another tenant: it must never see the default tenant's data."""
    _, secret = make_key(other_tenant, ["admin"], name="other tenant key")
    return ApiClient(secret)


@pytest.fixture
def anonymous_api(db):
    return ApiClient(None)


@pytest.fixture
def make_customer(tenant):
    """make_customer(**fields) creates a customer through the service (unique NG phone each)."""

    def make(actor=None, **fields):
        actor = actor or Actor.for_system(fields.pop("tenant", tenant), "tests")
        if not any(fields.get(name) for name in ("first_name", "last_name", "email", "phone")):
            fields["phone"] = f"+23480{next(_phones):08d}"
        return CustomerService.create_customer(actor=actor, **fields)

    return make


@pytest.fixture(autouse=True)
def immediate_tasks():
    """Background tasks run as they are enqueued, inside the test; a test of the queue itself
    switches to the database backend (tests/jobs)."""
    # override_settings, not the `settings` fixture: some tests take a parameter of that name.
    immediate = {
        alias: {**backend, "BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}
        for alias, backend in django_settings.TASKS.items()
    }
    with override_settings(TASKS=immediate):
        yield
