"""Changing a tenant's settings: the service, the API and what the change affects."""

import pytest

from rapport.exceptions import InvalidInput
from rapport.tenancy.models import Tenant
from rapport.tenancy.services import TenantService


def test_update_tenant_changes_only_what_is_given(tenant):
    updated = TenantService.update_tenant(tenant=tenant, name="Café Lisboa", currency="eur")

    stored = Tenant.objects.get(pk=tenant.pk)
    assert (stored.name, stored.currency) == ("Café Lisboa", "EUR")
    assert (stored.country, stored.timezone, stored.slug) == ("NG", "Africa/Lagos", "default")
    assert updated.currency == "EUR"


def test_update_tenant_rejects_every_bad_setting_and_writes_nothing(tenant):
    with pytest.raises(InvalidInput) as error:
        TenantService.update_tenant(
            tenant=tenant,
            name=" ",
            country="XX",
            currency="ABC",
            timezone="Mars/Olympus",
            default_language="English",
            default_phone_region="ZZ",
        )

    assert set(error.value.fields) == {
        "name",
        "country",
        "currency",
        "timezone",
        "default_language",
        "default_phone_region",
    }
    assert Tenant.objects.get(pk=tenant.pk).name == "My business"


def test_update_tenant_refuses_the_slug_and_unknown_settings(tenant):
    with pytest.raises(InvalidInput) as error:
        TenantService.update_tenant(tenant=tenant, slug="renamed")
    assert error.value.fields == {"slug": "Not a tenant setting"}


def test_admin_key_changes_the_tenant_and_phones_follow_the_new_region(admin_api, tenant):
    response = admin_api.patch(
        "/tenant", {"country": "BR", "currency": "BRL", "default_phone_region": "BR"}
    )

    assert response.status_code == 200
    assert response.json()["currency"] == "BRL"
    created = admin_api.post("/customers", {"phone": "(11) 91234-5678"})
    assert created.json()["phone"] == "+5511912345678"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"currency": "ABC"}, "currency"),
        ({"timezone": "Nowhere/City"}, "timezone"),
        ({"name": None}, "name"),
        ({"slug": "other"}, "slug"),
    ],
)
def test_bad_tenant_settings_are_422_and_change_nothing(admin_api, tenant, body, field):
    response = admin_api.patch("/tenant", body)

    assert response.status_code == 422
    assert field in response.json()["error"]["fields"]
    assert Tenant.objects.get(pk=tenant.pk).currency == "NGN"


def test_only_admin_keys_change_tenant_settings(api, tenant):
    response = api.patch("/tenant", {"currency": "USD"})

    assert response.status_code == 403
    assert Tenant.objects.get(pk=tenant.pk).currency == "NGN"
