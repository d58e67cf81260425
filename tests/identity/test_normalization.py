import pytest

from rapport.exceptions import InvalidInput
from rapport.identity.models import IdentifierType, Normalization
from rapport.identity.services import normalize_identifier
from rapport.tenancy.services import TenantService


@pytest.fixture
def tenant_in(db):
    """tenant_in("BR") -> a tenant whose phone region is BR."""

    def make(region):
        return TenantService.create_tenant(
            name=f"Shop {region}",
            slug=f"shop-{region.lower()}",
            country=region,
            currency={"NG": "NGN", "BR": "BRL", "MX": "MXN"}[region],
            timezone_name="UTC",
        )

    return make


@pytest.mark.parametrize(
    ("region", "type", "raw", "expected"),
    [
        ("NG", "phone", "0803 123 4567", "+2348031234567"),
        ("NG", "whatsapp", "0803-123-4567", "+2348031234567"),
        ("NG", "phone", "+234 803 123 4567", "+2348031234567"),
        ("BR", "phone", "(11) 91234-5678", "+5511912345678"),
        ("BR", "whatsapp", "11 91234 5678", "+5511912345678"),
        ("MX", "phone", "998-123-4567", "+529981234567"),
        ("MX", "whatsapp", "+52 998 123 4567", "+529981234567"),
        ("NG", "email", "  Ada.Obi@Example.COM ", "ada.obi@example.com"),
        ("NG", "email", "ada@Bücher.de", "ada@xn--bcher-kva.de"),
        ("BR", "email", "joão@são-paulo.com.br", None),
        ("BR", "email", "joao@São-Paulo.com.br", "joao@xn--so-paulo-rza.com.br"),
        ("NG", "instagram", "@Ada.Obi", "ada.obi"),
        ("NG", "instagram", "https://www.instagram.com/ada_obi/?hl=en", "ada_obi"),
        ("NG", "facebook", "https://www.facebook.com/Ada.Obi", "ada.obi"),
        ("NG", "facebook", "https://facebook.com/profile.php?id=100012345", "100012345"),
        ("NG", "facebook", "fb.com/ada.obi", "ada.obi"),
        ("NG", "telegram", "@AdaObi", "adaobi"),
        ("NG", "telegram", "https://t.me/ada_obi", "ada_obi"),
        ("NG", "manychat", "  123456789 ", "123456789"),
    ],
)
def test_values_take_their_normal_form(tenant_in, region, type, raw, expected):
    tenant = tenant_in(region)
    if expected is None:
        with pytest.raises(InvalidInput) as error:
            normalize_identifier(tenant, type, raw)
        assert "value" in error.value.fields
    else:
        assert normalize_identifier(tenant, type, raw) == expected


@pytest.mark.parametrize(
    ("type", "raw", "field"),
    [
        ("phone", "call me", "value"),
        ("phone", "0803 123 456", "value"),
        ("whatsapp", "", "value"),
        ("email", "ada@", "value"),
        ("email", "ada@xn--.com", "value"),
        ("instagram", "ada obi", "value"),
        ("instagram", "https://instagram.com/", "value"),
        ("telegram", "ab", "value"),
        ("facebook", "https://facebook.com/ada obi", "value"),
        ("manychat", "   ", "value"),
        ("twitter", "@ada", "type"),
        ("", "x", "type"),
    ],
)
def test_what_cannot_be_read_is_refused_naming_the_field(tenant_in, type, raw, field):
    with pytest.raises(InvalidInput) as error:
        normalize_identifier(tenant_in("NG"), type, raw)
    assert list(error.value.fields) == [field]


@pytest.mark.parametrize(
    ("normalization", "raw", "expected"),
    [
        (Normalization.TEXT, "  LC-00 42  ", "LC-00 42"),
        (Normalization.HANDLE, "https://tiktok.com/@Ada.Obi", "ada.obi"),
        (Normalization.HANDLE, "@Ada", "ada"),
        (Normalization.PHONE, "0803 123 4567", "+2348031234567"),
        (Normalization.EMAIL, "ADA@EXAMPLE.COM", "ada@example.com"),
    ],
)
def test_a_tenant_type_normalizes_as_it_says(tenant_in, normalization, raw, expected):
    tenant = tenant_in("NG")
    IdentifierType.objects.create(tenant=tenant, name="card", normalization=normalization)
    assert normalize_identifier(tenant, "card", raw) == expected


def test_another_tenants_type_is_unknown(tenant_in):
    nigeria, brazil = tenant_in("NG"), tenant_in("BR")
    IdentifierType.objects.create(tenant=nigeria, name="card")
    with pytest.raises(InvalidInput) as error:
        normalize_identifier(brazil, "card", "1")
    assert "type" in error.value.fields
