"""Every write to the customer core: customers, tags, notes, addresses, referrals."""

import datetime as dt
import re
import secrets
import zoneinfo
from typing import Any

import pycountry
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from rapport.customers import hooks
from rapport.customers.hooks import CustomerChange
from rapport.customers.models import (
    ContactMethod,
    Customer,
    CustomerAddress,
    CustomerTag,
    Gender,
    Note,
    Tag,
)
from rapport.customers.normalization import (
    is_plain_json,
    normalize_email,
    normalize_instagram_handle,
    normalize_phone,
)
from rapport.exceptions import Conflict, InvalidInput, NotFound, PermissionDenied
from rapport.tenancy.actors import Actor
from rapport.tenancy.models import Tenant

CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O or 1/I to misread
LANGUAGE_PATTERN = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
HEX_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}){1,2}$")
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


def _find_referrer(tenant: Tenant, code: str | None, customer: Customer | None) -> Customer | None:
    """The referring customer for a code, refusing self-referral and referral loops."""
    if not code:
        return None
    referrer = Customer.objects.filter(tenant=tenant, code=code).first()
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
        customer = Customer.objects.filter(tenant=tenant, code=code).first()
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
            customer = (
                # Lock only the customer: PostgreSQL refuses FOR UPDATE on the outer join.
                Customer.objects.select_for_update(of=("self",))
                .filter(tenant=tenant, code=code)
                .select_related("referred_by")
                .first()
            )
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
            customer = (
                Customer.objects.select_for_update().filter(tenant=actor.tenant, code=code).first()
            )
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
            customer = (
                Customer.objects.select_for_update().filter(tenant=actor.tenant, code=code).first()
            )
            if customer is None:
                raise NotFound(f"No customer with code {code!r}")
            hooks.publish(CustomerChange(kind="deleted", customer=customer, actor=actor))
            customer.delete()


def _tag_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise InvalidInput("A tag needs a name", fields={"name": "Required"})
    if len(name) > 50:
        raise InvalidInput("The tag name is too long", fields={"name": "At most 50 characters"})
    return name


def _tag_color(color: str) -> str:
    if not HEX_COLOR.fullmatch(color):
        raise InvalidInput(
            "The tag colour is not valid", fields={"color": "Use a hex colour such as #ffc107"}
        )
    color = color.lower()
    if len(color) == 4:
        color = "#" + "".join(digit * 2 for digit in color[1:])
    return color


def _name_is_taken(tenant: Tenant, name: str, exclude_pk: int | None = None) -> bool:
    return Tag.objects.filter(tenant=tenant, name__iexact=name).exclude(pk=exclude_pk).exists()


class TagService:
    """The tenant's tags, and tagging customers with them."""

    @staticmethod
    def get_tag(*, tenant: Tenant, tag_id) -> Tag:
        tag = Tag.objects.filter(tenant=tenant, uuid=tag_id).first()
        if tag is None:
            raise NotFound("No tag with that id")
        return tag

    @staticmethod
    def create_tag(
        *,
        actor: Actor,
        name: str,
        color: str = "#6c757d",
        description: str = "",
        is_active: bool = True,
    ) -> Tag:
        """A new tag; names are unique per tenant, whatever their case."""
        name, color = _tag_name(name), _tag_color(color)
        with transaction.atomic():
            if _name_is_taken(actor.tenant, name):
                raise Conflict(f"A tag named {name!r} exists", fields={"name": "Already taken"})
            return Tag.objects.create(
                tenant=actor.tenant,
                name=name,
                color=color,
                description=description.strip(),
                is_active=is_active,
            )

    @staticmethod
    def update_tag(*, actor: Actor, tag_id, **fields: Any) -> Tag:
        """Rename, recolour, describe, activate or deactivate a tag."""
        with transaction.atomic():
            tag = Tag.objects.select_for_update().filter(tenant=actor.tenant, uuid=tag_id).first()
            if tag is None:
                raise NotFound("No tag with that id")
            if fields.get("name") is not None:
                fields["name"] = _tag_name(fields["name"])
                if _name_is_taken(actor.tenant, fields["name"], exclude_pk=tag.pk):
                    raise Conflict(
                        f"A tag named {fields['name']!r} exists", fields={"name": "Already taken"}
                    )
            if fields.get("color") is not None:
                fields["color"] = _tag_color(fields["color"])
            for name, value in fields.items():
                if value is not None:
                    setattr(tag, name, value.strip() if isinstance(value, str) else value)
            tag.save()
        return tag

    @staticmethod
    def delete_tag(*, actor: Actor, tag_id) -> None:
        """Delete a tag and take it off every customer."""
        deleted, _ = Tag.objects.filter(tenant=actor.tenant, uuid=tag_id).delete()
        if not deleted:
            raise NotFound("No tag with that id")

    @staticmethod
    def add_tags(
        *, actor: Actor, code: str, names: list[str], create_missing: bool = True
    ) -> list[Tag]:
        """Tag a customer by tag names, creating unknown tags; already-present tags are kept."""
        tenant = actor.tenant
        unique: dict[str, str] = {}  # one entry per name whatever its case, first spelling kept
        for name in map(_tag_name, names):
            unique.setdefault(name.lower(), name)
        names = list(unique.values())
        if not names:
            raise InvalidInput("Name at least one tag", fields={"tags": "Required"})
        with transaction.atomic():
            customer = CustomerService.get_customer(tenant=tenant, code=code)
            existing = {
                tag.name.lower(): tag
                for tag in Tag.objects.filter(
                    tenant=tenant, name__iregex=r"^(" + "|".join(map(re.escape, names)) + r")$"
                )
            }
            inactive = [tag.name for tag in existing.values() if not tag.is_active]
            if inactive:
                raise InvalidInput(
                    "Inactive tags cannot be added", fields={"tags": f"Inactive: {inactive}"}
                )
            missing = [name for name in names if name.lower() not in existing]
            if missing and not create_missing:
                raise InvalidInput("Unknown tags", fields={"tags": f"No such tags: {missing}"})
            for name in missing:
                existing[name.lower()] = Tag.objects.create(tenant=tenant, name=name)
            tags = [existing[name.lower()] for name in names]
            already = set(
                CustomerTag.objects.filter(customer=customer, tag__in=tags).values_list(
                    "tag_id", flat=True
                )
            )
            added = [tag for tag in tags if tag.pk not in already]
            CustomerTag.objects.bulk_create(
                CustomerTag(
                    tenant=tenant,
                    customer=customer,
                    tag=tag,
                    added_by=actor.label,
                    added_by_user_id=actor.user_id,
                )
                for tag in added
            )
            if added:
                hooks.publish(
                    CustomerChange(
                        kind="tagged",
                        customer=customer,
                        actor=actor,
                        detail={"tags": [tag.name for tag in added]},
                    )
                )
        return tags

    @staticmethod
    def remove_tag(*, actor: Actor, code: str, tag_name: str) -> None:
        """Take a tag off a customer; NotFound if the customer does not have it."""
        with transaction.atomic():
            customer = CustomerService.get_customer(tenant=actor.tenant, code=code)
            link = (
                CustomerTag.objects.filter(customer=customer, tag__name__iexact=tag_name)
                .select_related("tag")
                .first()
            )
            if link is None:
                raise NotFound(f"The customer has no tag named {tag_name!r}")
            link.delete()
            hooks.publish(
                CustomerChange(
                    kind="untagged",
                    customer=customer,
                    actor=actor,
                    detail={"tags": [link.tag.name]},
                )
            )


def visible_notes_filter(actor: Actor) -> Q:
    """Private notes show to their author and to admins only."""
    if actor.is_admin:
        return Q()
    mine = Q(author_api_key=actor.api_key) if actor.api_key is not None else Q(pk__in=[])
    if actor.user_id is not None:
        mine |= Q(author_user_id=actor.user_id)
    return Q(is_private=False) | mine


class NoteService:
    """Staff notes on a customer."""

    @staticmethod
    def get_note(*, actor: Actor, code: str, note_id) -> Note:
        """A note the actor may see; NotFound for others' private notes and other tenants."""
        note = (
            Note.objects.filter(visible_notes_filter(actor))
            .filter(tenant=actor.tenant, customer__code=code, uuid=note_id)
            .select_related("customer")
            .first()
        )
        if note is None:
            raise NotFound("No note with that id on this customer")
        return note

    @staticmethod
    def add_note(
        *, actor: Actor, code: str, content: str, is_pinned: bool = False, is_private: bool = False
    ) -> Note:
        """Write a note on a customer."""
        content = content.strip()
        if not content:
            raise InvalidInput("A note needs content", fields={"content": "Required"})
        if len(content) > 10_000:
            raise InvalidInput(
                "The note is too long", fields={"content": "At most 10,000 characters"}
            )
        with transaction.atomic():
            customer = CustomerService.get_customer(tenant=actor.tenant, code=code)
            note = Note.objects.create(
                tenant=actor.tenant,
                customer=customer,
                content=content,
                author=actor.label,
                author_user_id=actor.user_id,
                author_api_key=actor.api_key,
                is_pinned=is_pinned,
                is_private=is_private,
            )
            hooks.publish(
                CustomerChange(
                    kind="note_added",
                    customer=customer,
                    actor=actor,
                    # A private note's words stay out of the shared timeline.
                    detail={
                        "note": str(note.uuid),
                        "is_private": is_private,
                        "content": "" if is_private else content,
                    },
                )
            )
        return note

    @staticmethod
    def pin_note(*, actor: Actor, code: str, note_id, is_pinned: bool = True) -> Note:
        """Pin a note to the top of the customer's notes, or unpin it."""
        note = NoteService.get_note(actor=actor, code=code, note_id=note_id)
        if note.is_pinned != is_pinned:
            note.is_pinned = is_pinned
            note.save(update_fields=["is_pinned", "updated_at"])
        return note

    @staticmethod
    def delete_note(*, actor: Actor, code: str, note_id) -> None:
        """Delete a note; only its author or an admin may."""
        note = NoteService.get_note(actor=actor, code=code, note_id=note_id)
        is_author = (actor.api_key is not None and note.author_api_key_id == actor.api_key.pk) or (
            actor.user_id is not None and note.author_user_id == actor.user_id
        )
        if not (is_author or actor.is_admin):
            raise PermissionDenied("Only the note's author or an admin may delete it")
        note.delete()


ADDRESS_FIELDS = (
    "label",
    "line1",
    "line2",
    "neighborhood",
    "city",
    "state",
    "postal_code",
    "country",
    "delivery_instructions",
    "is_default",
)


def _clean_address(fields: dict[str, Any]) -> dict[str, Any]:
    errors = {}
    if "label" in fields and fields["label"] not in CustomerAddress.Label.values:
        errors["label"] = f"Use one of {', '.join(CustomerAddress.Label.values)}"
    if "line1" in fields and not (fields["line1"] or "").strip():
        errors["line1"] = "Required"
    if fields.get("country"):
        fields["country"] = fields["country"].upper()
        if pycountry.countries.get(alpha_2=fields["country"]) is None:
            errors["country"] = f"{fields['country']!r} is not an ISO 3166-1 alpha-2 code"
    if errors:
        raise InvalidInput("The address is not valid", fields=errors)
    return {
        name: value.strip() if isinstance(value, str) else value for name, value in fields.items()
    }


class AddressService:
    """A customer's postal addresses; at most one is the default."""

    @staticmethod
    def get_address(*, actor: Actor, code: str, address_id) -> CustomerAddress:
        address = CustomerAddress.objects.filter(
            tenant=actor.tenant, customer__code=code, uuid=address_id
        ).first()
        if address is None:
            raise NotFound("No address with that id on this customer")
        return address

    @staticmethod
    def add_address(*, actor: Actor, code: str, **fields: Any) -> CustomerAddress:
        """Add an address; the first one, or one marked default, becomes the default."""
        cleaned = _clean_address({"line1": "", **fields})
        with transaction.atomic():
            customer = (
                Customer.objects.select_for_update().filter(tenant=actor.tenant, code=code).first()
            )
            if customer is None:
                raise NotFound(f"No customer with code {code!r}")
            if not customer.addresses.exists():
                cleaned["is_default"] = True
            if cleaned.get("is_default"):
                customer.addresses.update(is_default=False)
            return CustomerAddress.objects.create(tenant=actor.tenant, customer=customer, **cleaned)

    @staticmethod
    def update_address(*, actor: Actor, code: str, address_id, **fields: Any) -> CustomerAddress:
        cleaned = _clean_address({k: v for k, v in fields.items() if v is not None})
        with transaction.atomic():
            address = AddressService.get_address(actor=actor, code=code, address_id=address_id)
            if cleaned.get("is_default"):
                CustomerAddress.objects.filter(customer_id=address.customer_id).update(
                    is_default=False
                )
            for name, value in cleaned.items():
                setattr(address, name, value)
            address.save()
        return address

    @staticmethod
    def delete_address(*, actor: Actor, code: str, address_id) -> None:
        with transaction.atomic():
            address = AddressService.get_address(actor=actor, code=code, address_id=address_id)
            address.delete()
            if address.is_default:
                successor = CustomerAddress.objects.filter(customer_id=address.customer_id).first()
                if successor is not None:
                    successor.is_default = True
                    successor.save(update_fields=["is_default", "updated_at"])
