"""API keys through the real URLs: who gets in, what each scope may do, managing keys."""

import pytest

from rapport.customers.models import Customer
from rapport.tenancy.models import ApiKey
from rapport.tenancy.services import ApiKeyService
from tests.conftest import ApiClient

pytestmark = pytest.mark.django_db

UNAUTHORIZED = {
    "error": {
        "code": "unauthorized",
        "message": "Send a valid API key as 'Authorization: Bearer <key>'",
        "fields": {},
    }
}


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    return body["error"]


# --- who gets in ---------------------------------------------------------------------------


def test_no_key_is_401(anonymous_api):
    for response in [
        anonymous_api.get("/customers"),
        anonymous_api.get("/tenant"),
        anonymous_api.post("/customers", {"phone": "08031234567"}),
        anonymous_api.delete("/customers/ANY"),
    ]:
        assert response.status_code == 401
        assert response.json() == UNAUTHORIZED
    assert not Customer.objects.exists()


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer rk_deadbeef_not-a-real-secret",
        "Bearer not-even-shaped-like-a-key",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "rk_deadbeef_secret",
    ],
)
def test_a_bad_key_is_401(db, authorization):
    client = ApiClient(None)

    response = client.get("/customers", headers={"Authorization": authorization})

    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


def test_a_key_with_a_known_prefix_but_wrong_secret_is_401(tenant, make_key):
    api_key, _ = make_key(tenant, ["admin"])

    response = ApiClient(f"rk_{api_key.prefix}_{'x' * 43}").get("/tenant")

    assert response.json() == UNAUTHORIZED


def test_a_revoked_key_is_401(tenant, make_key):
    api_key, secret = make_key(tenant, ["admin"])
    client = ApiClient(secret)
    assert client.get("/tenant").status_code == 200

    ApiKeyService.revoke_key(tenant=tenant, key_uuid=api_key.uuid)

    response = client.post("/customers", {"phone": "08031234567"})
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED
    assert client.get("/tenant").json() == UNAUTHORIZED
    assert not Customer.objects.exists()


def test_a_key_records_when_it_was_last_used(tenant, make_key):
    api_key, secret = make_key(tenant, ["read"])
    assert api_key.last_used_at is None

    ApiClient(secret).get("/tenant")

    api_key.refresh_from_db()
    assert api_key.last_used_at is not None


# --- scopes --------------------------------------------------------------------------------


def test_read_key_reads_but_cannot_write(read_api, make_customer):
    customer = make_customer(first_name="Ada")
    assert read_api.get("/customers").status_code == 200
    assert read_api.get(f"/customers/{customer.code}").status_code == 200

    error = error_of(read_api.post("/customers", {"phone": "08031234567"}), 403)

    assert error == {
        "code": "forbidden",
        "message": "This API key lacks the write scope",
        "fields": {},
    }
    error_of(read_api.patch(f"/customers/{customer.code}", {"first_name": "Bola"}), 403)
    error_of(read_api.post("/tags", {"name": "VIP"}), 403)
    assert Customer.objects.count() == 1


def test_read_key_cannot_manage_keys(read_api):
    error_of(read_api.get("/api-keys"), 403)
    error_of(read_api.post("/api-keys", {"name": "x", "scopes": ["read"]}), 403)


def test_write_key_cannot_manage_keys(api, tenant, make_key):
    other_key, _ = make_key(tenant, ["read"], name="victim")
    keys_before = ApiKey.objects.count()

    error = error_of(api.get("/api-keys"), 403)
    assert error["message"] == "This API key lacks the admin scope"
    error_of(api.post("/api-keys", {"name": "escalate", "scopes": ["admin"]}), 403)
    error_of(api.post(f"/api-keys/{other_key.uuid}/revoke"), 403)

    assert ApiKey.objects.count() == keys_before
    other_key.refresh_from_db()
    assert other_key.revoked_at is None


def test_admin_key_can_also_write(admin_api):
    response = admin_api.post("/customers", {"phone": "08031234567"})

    assert response.status_code == 201


# --- managing keys -------------------------------------------------------------------------


def test_admin_lists_the_tenants_keys_without_secrets(admin_api, tenant, other_tenant, make_key):
    make_key(tenant, ["read"], name="reporting")
    make_key(other_tenant, ["admin"], name="not ours")

    response = admin_api.get("/api-keys")

    assert response.status_code == 200
    keys = response.json()
    assert sorted(k["name"] for k in keys) == ["admin key", "reporting"]
    reporting = next(k for k in keys if k["name"] == "reporting")
    assert reporting["scopes"] == ["read"]
    assert reporting["revoked_at"] is None
    assert set(reporting) == {
        "id",
        "name",
        "prefix",
        "scopes",
        "created_at",
        "last_used_at",
        "revoked_at",
    }
    assert "key_hash" not in response.content.decode()


def test_admin_creates_a_key_and_its_secret_works(admin_api, tenant):
    response = admin_api.post("/api-keys", {"name": "Shop POS", "scopes": ["write", "read"]})

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "Shop POS"
    assert body["scopes"] == ["read", "write"]
    assert body["key"].startswith(f"rk_{body['prefix']}_")
    stored = ApiKey.objects.get(uuid=body["id"])
    assert stored.tenant == tenant
    assert body["key"] not in stored.key_hash

    new_client = ApiClient(body["key"])
    assert new_client.post("/customers", {"phone": "08031234567"}).status_code == 201
    assert new_client.get("/api-keys").status_code == 403
    listed = admin_api.get("/api-keys").json()
    assert all("key" not in k for k in listed)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "", "scopes": ["read"]}, "name"),
        ({"name": "x", "scopes": []}, "scopes"),
        ({"name": "x", "scopes": ["root"]}, "scopes.0"),
        ({"name": "x"}, "scopes"),
        ({"name": "x", "scopes": ["read"], "tenant": "other"}, "tenant"),
    ],
)
def test_create_a_key_rejects_bad_input(admin_api, body, field):
    before = ApiKey.objects.count()

    error = error_of(admin_api.post("/api-keys", body), 422)

    assert field in error["fields"]
    assert ApiKey.objects.count() == before


def test_admin_revokes_a_key(admin_api, tenant, make_key):
    api_key, secret = make_key(tenant, ["write"], name="leaked")

    response = admin_api.post(f"/api-keys/{api_key.uuid}/revoke")

    assert response.status_code == 200, response.content
    revoked_at = response.json()["revoked_at"]
    assert revoked_at is not None
    assert ApiClient(secret).get("/tenant").json() == UNAUTHORIZED
    again = admin_api.post(f"/api-keys/{api_key.uuid}/revoke")
    assert again.json()["revoked_at"] == revoked_at
    listed = {k["name"]: k["revoked_at"] for k in admin_api.get("/api-keys").json()}
    assert listed["leaked"] == revoked_at


def test_revoke_an_unknown_key_is_404(admin_api):
    error_of(admin_api.post("/api-keys/00000000-0000-0000-0000-000000000000/revoke"), 404)
    error_of(admin_api.post("/api-keys/not-a-uuid/revoke"), 422)


# --- the tenant ----------------------------------------------------------------------------


def test_tenant_describes_the_keys_tenant(read_api, other_api):
    assert read_api.get("/tenant").json() == {
        "name": "My business",
        "slug": "default",
        "country": "NG",
        "currency": "NGN",
        "timezone": "Africa/Lagos",
        "default_language": "en",
        "default_phone_region": "NG",
    }
    other = other_api.get("/tenant").json()
    assert (other["slug"], other["currency"], other["default_phone_region"]) == (
        "other-shop",
        "BRL",
        "BR",
    )
