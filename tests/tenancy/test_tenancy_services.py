import hashlib
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from rapport.exceptions import InvalidInput, NotFound
from rapport.tenancy.actors import Actor
from rapport.tenancy.models import ApiKey, Tenant
from rapport.tenancy.services import ApiKeyService, TenantService

# --- tenants ------------------------------------------------------------------------------


def test_the_default_tenant_is_nigerian_and_there_is_only_one(db):
    first = TenantService.get_default()
    second = TenantService.get_default()

    assert first.pk == second.pk
    assert Tenant.objects.filter(slug="default").count() == 1
    assert (first.country, first.currency, first.timezone) == ("NG", "NGN", "Africa/Lagos")
    assert (first.default_phone_region, first.default_language) == ("NG", "en")


def test_create_tenant_normalizes_codes_and_defaults_the_phone_region_to_the_country(db):
    tenant = TenantService.create_tenant(
        name="  Café Lagos ", country="br", currency="brl", timezone_name="America/Sao_Paulo"
    )

    stored = Tenant.objects.get(pk=tenant.pk)
    assert (stored.name, stored.slug) == ("Café Lagos", "cafe-lagos")
    assert (stored.country, stored.currency, stored.default_phone_region) == ("BR", "BRL", "BR")
    assert stored.timezone == "America/Sao_Paulo"


def test_create_tenant_keeps_an_explicit_slug_and_phone_region(db):
    tenant = TenantService.create_tenant(
        name="Clínica",
        slug="clinica-sp",
        country="PT",
        currency="EUR",
        timezone_name="Europe/Lisbon",
        default_phone_region="br",
        default_language="pt-BR",
    )

    assert (tenant.slug, tenant.default_phone_region, tenant.default_language) == (
        "clinica-sp",
        "BR",
        "pt-BR",
    )


def test_every_bad_locale_setting_is_named_and_nothing_is_written(db):
    before = Tenant.objects.count()

    with pytest.raises(InvalidInput) as error:
        TenantService.create_tenant(
            name="Shop",
            slug="shop",
            country="XX",
            currency="EURO",
            timezone_name="Mars/Olympus",
            default_phone_region="ZZ",
        )

    assert set(error.value.fields) == {"country", "currency", "timezone", "default_phone_region"}
    assert error.value.fields["currency"] == "'EURO' is not an ISO 4217 currency code"
    assert Tenant.objects.count() == before


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"country": "NGA"}, "country"),
        ({"country": ""}, "country"),
        ({"currency": "ABC"}, "currency"),
        ({"currency": "NG"}, "currency"),
        ({"timezone_name": "africa/lagos"}, "timezone"),
        ({"timezone_name": ""}, "timezone"),
        ({"default_phone_region": "XX"}, "default_phone_region"),
    ],
)
def test_one_bad_locale_setting(db, settings, field):
    fields = {"country": "NG", "currency": "NGN", "timezone_name": "Africa/Lagos", **settings}

    with pytest.raises(InvalidInput) as error:
        TenantService.create_tenant(name="Shop", slug="shop", **fields)

    assert field in error.value.fields
    assert not Tenant.objects.filter(slug="shop").exists()


def test_a_taken_slug_is_rejected(other_tenant):
    with pytest.raises(InvalidInput) as error:
        TenantService.create_tenant(
            name="Another",
            slug="other-shop",
            country="NG",
            currency="NGN",
            timezone_name="Africa/Lagos",
        )

    assert error.value.fields == {"slug": "The slug 'other-shop' is taken"}
    assert Tenant.objects.filter(slug="other-shop").count() == 1


def test_a_tenant_needs_a_name(db):
    with pytest.raises(InvalidInput) as error:
        TenantService.create_tenant(
            name="  ", country="NG", currency="NGN", timezone_name="Africa/Lagos"
        )

    assert set(error.value.fields) == {"name", "slug"}


def test_get_by_slug(other_tenant):
    assert TenantService.get_by_slug("other-shop") == other_tenant
    with pytest.raises(NotFound):
        TenantService.get_by_slug("nobody")


# --- API keys -----------------------------------------------------------------------------


def test_the_secret_is_shown_once_and_only_its_sha256_is_stored(tenant):
    api_key, secret = ApiKeyService.create_key(tenant=tenant, name=" POS ", scopes=["write"])

    stored = ApiKey.objects.get(pk=api_key.pk)
    assert secret.startswith(f"rk_{stored.prefix}_")
    assert len(secret) > 40
    assert stored.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert stored.name == "POS"
    assert stored.tenant == tenant
    random_part = secret.split("_", 2)[2]
    for field in ApiKey._meta.concrete_fields:
        assert random_part not in str(getattr(stored, field.attname))


def test_each_key_gets_its_own_secret_and_prefix(tenant):
    first_key, first_secret = ApiKeyService.create_key(tenant=tenant, name="a", scopes=["read"])
    second_key, second_secret = ApiKeyService.create_key(tenant=tenant, name="b", scopes=["read"])

    assert first_secret != second_secret
    assert first_key.prefix != second_key.prefix


def test_scopes_are_deduplicated_and_ordered(tenant):
    api_key, _ = ApiKeyService.create_key(
        tenant=tenant, name="k", scopes=["admin", "read", "admin"]
    )

    assert ApiKey.objects.get(pk=api_key.pk).scopes == ["read", "admin"]


@pytest.mark.parametrize(
    ("name", "scopes", "fields"),
    [
        ("k", [], {"scopes"}),
        ("k", ["read", "superuser"], {"scopes"}),
        ("  ", ["read"], {"name"}),
        ("", ["root"], {"name", "scopes"}),
    ],
)
def test_a_bad_key_is_rejected_and_nothing_is_written(tenant, name, scopes, fields):
    with pytest.raises(InvalidInput) as error:
        ApiKeyService.create_key(tenant=tenant, name=name, scopes=scopes)

    assert set(error.value.fields) == fields
    assert not ApiKey.objects.exists()


def test_authenticate_with_the_right_secret(tenant, make_key):
    api_key, secret = make_key(tenant, ["read"])

    found = ApiKeyService.authenticate(secret)

    assert found == api_key
    assert found.tenant == tenant


def test_authenticate_refuses_a_wrong_secret_with_a_real_prefix(tenant, make_key):
    api_key, secret = make_key(tenant, ["admin"])
    forged = f"rk_{api_key.prefix}_{'A' * 43}"

    assert ApiKeyService.authenticate(forged) is None
    assert ApiKeyService.authenticate(secret[:-1]) is None
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at is None


def test_authenticate_refuses_a_revoked_key(tenant, make_key):
    api_key, secret = make_key(tenant, ["admin"])

    ApiKeyService.revoke_key(tenant=tenant, key_uuid=api_key.uuid)

    assert ApiKeyService.authenticate(secret) is None


@pytest.mark.parametrize(
    "raw",
    ["", "rk", "rk_", "rk__", "rk_deadbeef", "xx_deadbeef_secret", "Bearer rk_a_b", "rk_nope_x"],
)
def test_authenticate_refuses_malformed_keys(tenant, make_key, raw):
    make_key(tenant, ["admin"])

    assert ApiKeyService.authenticate(raw) is None


def test_revoking_twice_keeps_the_first_time(tenant, make_key):
    api_key, _ = make_key(tenant, ["read"])
    first = ApiKeyService.revoke_key(tenant=tenant, key_uuid=api_key.uuid).revoked_at

    again = ApiKeyService.revoke_key(tenant=tenant, key_uuid=api_key.uuid)

    assert again.revoked_at == first
    assert ApiKey.objects.get(pk=api_key.pk).revoked_at == first


def test_another_tenants_key_cannot_be_revoked(tenant, other_tenant, make_key):
    theirs, secret = make_key(other_tenant, ["admin"])

    with pytest.raises(NotFound):
        ApiKeyService.revoke_key(tenant=tenant, key_uuid=theirs.uuid)

    assert ApiKey.objects.get(pk=theirs.pk).revoked_at is None
    assert ApiKeyService.authenticate(secret) == theirs


def test_list_keys_shows_only_the_tenants_keys(tenant, other_tenant, make_key):
    ours, _ = make_key(tenant, ["read"])
    make_key(other_tenant, ["read"])

    assert list(ApiKeyService.list_keys(tenant=tenant)) == [ours]


@pytest.mark.parametrize(
    ("scopes", "granted"),
    [
        (["read"], {"read"}),
        (["write"], {"read", "write"}),
        (["admin"], {"read", "write", "admin"}),
        (["read", "write"], {"read", "write"}),
    ],
)
def test_a_scope_grants_itself_and_every_scope_below_it(tenant, make_key, scopes, granted):
    api_key, _ = make_key(tenant, scopes)

    assert {scope for scope in ("read", "write", "admin") if api_key.has_scope(scope)} == granted
    assert Actor.for_api_key(api_key).is_admin is ("admin" in granted)


def test_last_used_at_is_written_at_most_once_a_minute(tenant, make_key):
    # given a key used for the first time
    api_key, secret = make_key(tenant, ["read"])
    ApiKeyService.authenticate(secret)
    first_use = ApiKey.objects.get(pk=api_key.pk).last_used_at
    assert first_use is not None
    assert timezone.now() - first_use < timedelta(seconds=5)

    # when it is used again within the minute, nothing is written
    with CaptureQueriesContext(connection) as queries:
        assert ApiKeyService.authenticate(secret) == api_key
    assert [q["sql"] for q in queries if q["sql"].upper().startswith("UPDATE")] == []
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at == first_use

    # when it is used more than a minute later, the time moves on
    long_ago = timezone.now() - timedelta(minutes=2)
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=long_ago)
    found = ApiKeyService.authenticate(secret)
    stored = ApiKey.objects.get(pk=api_key.pk).last_used_at
    assert stored > long_ago + timedelta(minutes=1)
    assert found.last_used_at == stored


@pytest.mark.parametrize(
    ("name", "slug", "field"),
    [
        ("Shop", "has space", "slug"),
        ("Shop", "a/b", "slug"),
        ("Shop", "shop\n", "slug"),
        ("Shop", "s" * 61, "slug"),
        ("x" * 201, "shop", "name"),
    ],
)
def test_a_bad_name_or_slug_is_rejected(db, name, slug, field):
    before = Tenant.objects.count()

    with pytest.raises(InvalidInput) as error:
        TenantService.create_tenant(
            name=name, slug=slug, country="NG", currency="NGN", timezone_name="Africa/Lagos"
        )

    assert list(error.value.fields) == [field]
    assert Tenant.objects.count() == before


def test_a_slug_made_from_a_long_name_fits(db):
    tenant = TenantService.create_tenant(
        name="Clinic " * 20, country="NG", currency="NGN", timezone_name="Africa/Lagos"
    )

    assert len(tenant.slug) <= 60
    assert tenant.slug.startswith("clinic-clinic-")
    assert not tenant.slug.endswith("-")
