"""Creating, changing, archiving and deleting customers."""

import datetime as dt
import re
import secrets
import zoneinfo
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.utils import timezone

from rapport.customers import hooks
from rapport.customers.hooks import CustomerChange
from rapport.customers.models import ContactMethod, Customer, Gender
from rapport.customers.normalization import (
    is_plain_json,
    normalize_email,
    normalize_instagram_handle,
    normalize_phone,
)
from rapport.exceptions import Conflict, InvalidInput, NotFound
from rapport.tenancy.actors import Actor
from rapport.tenancy.models import Tenant

CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O or 1/I to misread
LANGUAGE_PATTERN = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
REFERRAL_CHAIN_LIMIT = 100

# The profile fields a caller may set; everything else is kept by the services.
PROFILE_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "phone_secondary",
    "date_of_birth",
    "gender",
    "preferred_language",
    "preferred_contact_method",
    "customer_type",
    "source",
    "acquisition_source",
    "referral_source",
    "instagram_handle",
    "facebook_url",
    "metadata",
)
TEXT_LIMITS = {
    "first_name": 100,
    "last_name": 100,
    "customer_type": 50,
    "source": 50,
    "acquisition_source": 100,
    "referral_source": 100,
    # Normal forms keep their length, so the column widths bound these too.
    "email": 254,
    "preferred_language": 10,
    "facebook_url": 200,
}


def generate_code() -> str:
    """A short, URL-safe, hard-to-misread customer code such as C7K2M9QX4P."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))


def _plain(value: Any) -> Any:
    """A JSON-ready form of a field value, for change records."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Customer):
        return value.code
    return value


def _clean_profile(tenant: Tenant, fields: dict[str, Any]) -> dict[str, Any]:
    """Validated, normalized profile fields; InvalidInput naming every bad field."""
    unknown = set(fields) - set(PROFILE_FIELDS)
    if unknown:
        raise InvalidInput(
            "Unknown customer fields", fields={name: "Not a customer field" for name in unknown}
        )
    cleaned: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, value in fields.items():
        if value is None and name != "date_of_birth":
            value = {} if name == "metadata" else ""
        if isinstance(value, str):
            value = value.strip()
        try:
            cleaned[name] = _clean_field(tenant, name, value)
        except ValueError as error:
            errors[name] = str(error)
    if errors:
        raise InvalidInput("Some customer fields are not valid", fields=errors)
    return cleaned


def _clean_field(tenant: Tenant, name: str, value: Any) -> Any:
    if name in TEXT_LIMITS and len(value) > TEXT_LIMITS[name]:
        raise ValueError(f"At most {TEXT_LIMITS[name]} characters")
    if value in ("", None):
        return value
    if name == "email":
        return normalize_email(value)
    if name in ("phone", "phone_secondary"):
        return normalize_phone(value, tenant.default_phone_region)
    if name == "date_of_birth":
        today = timezone.localdate(timezone=zoneinfo.ZoneInfo(tenant.timezone))
        if value > today:
            raise ValueError("A date of birth cannot be in the future")
        if value.year < 1900:
            raise ValueError("A date of birth before 1900 is not plausible")
        return value
    if name == "gender" and value not in Gender.values:
        raise ValueError(f"Use one of {', '.join(v for v in Gender.values if v)}")
    if name == "preferred_contact_method" and value not in ContactMethod.values:
        raise ValueError(f"Use one of {', '.join(v for v in ContactMethod.values if v)}")
    if name == "preferred_language":
        if not LANGUAGE_PATTERN.match(value):
            raise ValueError("Use a language tag such as en, pt-BR or yo")
        return value
    if name == "instagram_handle":
        return normalize_instagram_handle(value)
    if name == "facebook_url":
        try:
            URLValidator(schemes=["http", "https"])(value)
        except ValidationError:
            raise ValueError(f"{value!r} is not a web address") from None
        return value
    if name == "metadata" and not isinstance(value, dict):
        raise ValueError("Metadata is a JSON object")
    if name == "metadata" and not is_plain_json(value):
        raise ValueError("Metadata holds plain JSON only: finite numbers, integers within 64 bits")
    return value


def find_customer(tenant: Tenant, code: str, *, for_update: bool = False) -> Customer | None:
    """The tenant's customer with this code, or the one it was merged into; None if neither.

    With `for_update`, the row found is locked; a merge never leaves a chain (it repoints
    earlier duplicates to the new survivor), so one hop is enough.
    """
    rows = Customer.objects.select_for_update(of=("self",)) if for_update else Customer.objects
    customer = rows.filter(tenant=tenant, code=code).first()
    if customer is not None and customer.merged_into_id is not None:
        customer = rows.filter(tenant=tenant, pk=customer.merged_into_id).first()
    return customer


def _find_referrer(tenant: Tenant, code: str | None, customer: Customer | None) -> Customer | None:
    """The referring customer for a code, refusing self-referral and referral loops."""
    if not code:
        return None
    referrer = find_customer(tenant, code)
    if referrer is None:
        raise InvalidInput(
            "Unknown referrer", fields={"referred_by": f"No customer with code {code!r}"}
        )
    if customer is not None:
        ancestor, steps = referrer, 0
        while ancestor is not None and steps < REFERRAL_CHAIN_LIMIT:
            if ancestor.pk == customer.pk:
                raise InvalidInput(
                    "A customer cannot be referred by themselves or by someone they referred",
                    fields={"referred_by": "This would make a referral loop"},
                )
            ancestor, steps = ancestor.referred_by, steps + 1
    return referrer


def _require_contact(values: dict[str, Any]) -> None:
    if not any(values.get(name) for name in ("first_name", "last_name", "email", "phone")):
        raise InvalidInput(
            "A customer needs at least a name, an email or a phone number",
            fields={"phone": "Give a name, an email or a phone number"},
        )


class CustomerService:
    """Create, change, archive and delete customers."""

    @staticmethod
    def get_customer(*, tenant: Tenant, code: str) -> Customer:
        """The tenant's customer with this code; NotFound otherwise (also for other tenants)."""
        customer = find_customer(tenant, code)
        if customer is None:
            raise NotFound(f"No customer with code {code!r}")
        return customer

    @staticmethod
    def create_customer(
        *,
        actor: Actor,
        code: str | None = None,
        referred_by: str | None = None,
        **fields: Any,
    ) -> Customer:
        """A new customer. A phone number alone is enough; codes are generated when absent."""
        tenant = actor.tenant
        cleaned = _clean_profile(tenant, fields)
        _require_contact(cleaned)
        if code is not None and not CODE_PATTERN.fullmatch(code):
            raise InvalidInput(
                "The customer code is not valid",
                fields={"code": "Letters, digits, '-' and '_', at most 40, starting alphanumeric"},
            )
        with transaction.atomic():
            referrer = _find_referrer(tenant, referred_by, None)
            if code is None:
                code = generate_code()
                while Customer.objects.filter(tenant=tenant, code=code).exists():
                    code = generate_code()
            elif Customer.objects.filter(tenant=tenant, code=code).exists():
                raise Conflict(
                    f"A customer with code {code!r} exists", fields={"code": "Already taken"}
                )
            try:
                with transaction.atomic():
                    customer = Customer.objects.create(
                        tenant=tenant, code=code, referred_by=referrer, **cleaned
                    )
            except IntegrityError:
                raise Conflict(
                    f"A customer with code {code!r} exists", fields={"code": "Already taken"}
                ) from None
            hooks.publish(CustomerChange(kind="created", customer=customer, actor=actor))
        return customer

    @staticmethod
    def update_customer(*, actor: Actor, code: str, **fields: Any) -> Customer:
        """Change some profile fields (and `referred_by`, a code or None); returns the customer."""
        tenant = actor.tenant
        referrer_given = "referred_by" in fields
        referrer_code = fields.pop("referred_by", None)
        cleaned = _clean_profile(tenant, fields)
        with transaction.atomic():
            customer = find_customer(tenant, code, for_update=True)
            if customer is None:
                raise NotFound(f"No customer with code {code!r}")
            if referrer_given:
                cleaned["referred_by"] = _find_referrer(tenant, referrer_code, customer)
            changes = {}
            for name, new in cleaned.items():
                old = getattr(customer, name)
                if old != new:
                    changes[name] = {"old": _plain(old), "new": _plain(new)}
                    setattr(customer, name, new)
            _require_contact({name: getattr(customer, name) for name in PROFILE_FIELDS})
            if changes:
                customer.save()
                hooks.publish(
                    CustomerChange(kind="updated", customer=customer, actor=actor, changes=changes)
                )
        return customer

    @staticmethod
    def archive_customer(*, actor: Actor, code: str, is_archived: bool = True) -> Customer:
        """Hide a customer from lists and campaigns without losing history; or bring them back."""
        with transaction.atomic():
            customer = find_customer(actor.tenant, code, for_update=True)
            if customer is None:
                raise NotFound(f"No customer with code {code!r}")
            if customer.is_archived != is_archived:
                customer.is_archived = is_archived
                customer.archived_at = timezone.now() if is_archived else None
                customer.save(update_fields=["is_archived", "archived_at", "updated_at"])
                kind = "archived" if is_archived else "restored"
                hooks.publish(CustomerChange(kind=kind, customer=customer, actor=actor))
        return customer

    @staticmethod
    def delete_customer(*, actor: Actor, code: str) -> None:
        """Remove a customer and everything attached to them; referrals they made stay, unlinked."""
        with transaction.atomic():
            customer = find_customer(actor.tenant, code, for_update=True)
            if customer is None:
                raise NotFound(f"No customer with code {code!r}")
            hooks.publish(CustomerChange(kind="deleted", customer=customer, actor=actor))
            customer.delete()
