"""Tenants and API keys: creation, lookup, authentication, revocation."""

import hashlib
import hmac
import re
import secrets
import zoneinfo
from datetime import timedelta

import phonenumbers
import pycountry
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from rapport.exceptions import InvalidInput, NotFound
from rapport.tenancy import hooks
from rapport.tenancy.models import DEFAULT_TENANT_SLUG, ApiKey, Scope, Tenant

KEY_PREFIX = "rk"
SLUG = re.compile(r"^[-a-zA-Z0-9_]{1,60}$")
# last_used_at is a hint for people, not an audit log: write it at most this often.
LAST_USED_RESOLUTION = timedelta(minutes=1)

TENANT_SETTINGS = (
    "name",
    "country",
    "currency",
    "timezone",
    "default_language",
    "default_phone_region",
)
LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")

DEFAULT_TENANT = {
    "name": "My business",
    "country": "NG",
    "currency": "NGN",
    "timezone": "Africa/Lagos",
    "default_language": "en",
    "default_phone_region": "NG",
}


def validate_tenant_settings(
    *, country: str, currency: str, timezone_name: str, default_phone_region: str
) -> dict[str, str]:
    """The field errors in a tenant's locale settings (empty when all are valid)."""
    errors = {}
    if pycountry.countries.get(alpha_2=country.upper()) is None:
        errors["country"] = f"{country!r} is not an ISO 3166-1 alpha-2 country code"
    if pycountry.currencies.get(alpha_3=currency.upper()) is None:
        errors["currency"] = f"{currency!r} is not an ISO 4217 currency code"
    if timezone_name not in zoneinfo.available_timezones():
        errors["timezone"] = f"{timezone_name!r} is not an IANA time zone"
    if default_phone_region.upper() not in phonenumbers.SUPPORTED_REGIONS:
        errors["default_phone_region"] = f"{default_phone_region!r} is not a phone region"
    return errors


class TenantService:
    """Create and find tenants; a single business only ever uses the default one."""

    @staticmethod
    def get_default() -> Tenant:
        """The default tenant, created on first use with Nigerian defaults (NGN, +234)."""
        tenant = Tenant.objects.filter(slug=DEFAULT_TENANT_SLUG).first()
        if tenant is not None:
            return tenant
        with transaction.atomic():
            tenant, created = Tenant.objects.get_or_create(
                slug=DEFAULT_TENANT_SLUG, defaults=DEFAULT_TENANT
            )
            if created:
                hooks.tenant_created(tenant)
        return tenant

    @staticmethod
    def get_by_slug(slug: str) -> Tenant:
        try:
            return Tenant.objects.get(slug=slug)
        except Tenant.DoesNotExist:
            raise NotFound(f"No tenant with slug {slug!r}") from None

    @staticmethod
    def create_tenant(
        *,
        name: str,
        slug: str = "",
        country: str,
        currency: str,
        timezone_name: str,
        default_language: str = "en",
        default_phone_region: str = "",
    ) -> Tenant:
        """A new tenant; the phone region defaults to the country. Apps' listeners set it up."""
        slug = slug or slugify(name)[:60].strip("-")
        default_phone_region = (default_phone_region or country).upper()
        errors = validate_tenant_settings(
            country=country,
            currency=currency,
            timezone_name=timezone_name,
            default_phone_region=default_phone_region,
        )
        if not name.strip():
            errors["name"] = "A tenant needs a name"
        elif len(name.strip()) > 200:
            errors["name"] = "At most 200 characters"
        if not slug:
            errors["slug"] = "A tenant needs a slug"
        elif not SLUG.fullmatch(slug):
            errors["slug"] = "Letters, digits, '-' and '_', at most 60 characters"
        elif Tenant.objects.filter(slug=slug).exists():
            errors["slug"] = f"The slug {slug!r} is taken"
        if errors:
            raise InvalidInput("The tenant settings are not valid", fields=errors)
        with transaction.atomic():
            tenant = Tenant.objects.create(
                name=name.strip(),
                slug=slug,
                country=country.upper(),
                currency=currency.upper(),
                timezone=timezone_name,
                default_language=default_language,
                default_phone_region=default_phone_region,
            )
            hooks.tenant_created(tenant)
        return tenant

    @staticmethod
    @transaction.atomic
    def update_tenant(*, tenant: Tenant, **changes: str) -> Tenant:
        """Change a tenant's name or locale settings; the slug never changes.

        Changing the currency does not convert amounts already stored in minor units.
        """
        unknown = set(changes) - set(TENANT_SETTINGS)
        if unknown:
            raise InvalidInput(
                "Unknown tenant settings", fields={name: "Not a tenant setting" for name in unknown}
            )
        locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
        values = {name: getattr(locked, name) for name in TENANT_SETTINGS}
        values.update({name: value.strip() for name, value in changes.items()})
        for name in ("country", "currency", "default_phone_region"):
            values[name] = values[name].upper()
        errors = validate_tenant_settings(
            country=values["country"],
            currency=values["currency"],
            timezone_name=values["timezone"],
            default_phone_region=values["default_phone_region"],
        )
        if not values["name"]:
            errors["name"] = "A tenant needs a name"
        elif len(values["name"]) > 200:
            errors["name"] = "At most 200 characters"
        if not LANGUAGE.fullmatch(values["default_language"]):
            errors["default_language"] = "Use a language tag such as en, pt-BR or yo"
        if errors:
            raise InvalidInput("The tenant settings are not valid", fields=errors)
        for name, value in values.items():
            setattr(locked, name, value)
        locked.save()
        return locked


def _hash_key(raw_key: str) -> str:
    # Keys carry 190+ bits of randomness, so a fast hash is enough; no stretching needed.
    return hashlib.sha256(raw_key.encode()).hexdigest()


class ApiKeyService:
    """Issue, authenticate and revoke API keys. The secret is shown once, at creation."""

    @staticmethod
    def create_key(
        *, tenant: Tenant, name: str, scopes: list[str], user=None
    ) -> tuple[ApiKey, str]:
        """A new key and its secret, which is not stored and cannot be shown again."""
        errors = {}
        if not name.strip():
            errors["name"] = "A key needs a name"
        elif len(name.strip()) > 100:
            errors["name"] = "At most 100 characters"
        unknown = sorted(set(scopes) - set(Scope.values))
        if not scopes:
            errors["scopes"] = "A key needs at least one scope: read, write or admin"
        elif unknown:
            errors["scopes"] = f"Unknown scopes {unknown}; use read, write or admin"
        if errors:
            raise InvalidInput("The API key is not valid", fields=errors)
        prefix = secrets.token_hex(4)
        raw_key = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
        api_key = ApiKey.objects.create(
            tenant=tenant,
            name=name.strip(),
            prefix=prefix,
            key_hash=_hash_key(raw_key),
            scopes=sorted(set(scopes), key=list(Scope.values).index),
            user=user,
        )
        return api_key, raw_key

    @staticmethod
    def authenticate(raw_key: str) -> ApiKey | None:
        """The live key matching a presented secret, or None."""
        parts = raw_key.split("_", 2)
        if len(parts) != 3 or parts[0] != KEY_PREFIX:
            return None
        api_key = (
            ApiKey.objects.select_related("tenant", "user")
            .filter(prefix=parts[1], revoked_at__isnull=True)
            .first()
        )
        if api_key is None or not hmac.compare_digest(api_key.key_hash, _hash_key(raw_key)):
            return None
        now = timezone.now()
        if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
            ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
            api_key.last_used_at = now
        return api_key

    @staticmethod
    @transaction.atomic
    def revoke_key(*, tenant: Tenant, key_uuid) -> ApiKey:
        """Stop a key from working; revoking twice keeps the first revocation time."""
        api_key = ApiKey.objects.select_for_update().filter(tenant=tenant, uuid=key_uuid).first()
        if api_key is None:
            raise NotFound("No API key with that id")
        if api_key.revoked_at is None:
            api_key.revoked_at = timezone.now()
            api_key.save(update_fields=["revoked_at"])
        return api_key

    @staticmethod
    def list_keys(*, tenant: Tenant):
        return ApiKey.objects.filter(tenant=tenant).select_related("user")
