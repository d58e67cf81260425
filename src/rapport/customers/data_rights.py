"""The core's part in a person's data rights: what it exports, and how it erases a customer.

`CustomerData` is the core's export and erase handler in the personal-data registry. The
functions below it are what the privacy service needs from the core and may not write itself:
the original values to scrub from free text, and the customer row made anonymous in place.
"""

from typing import Any

import phonenumbers
from django.utils import timezone

from rapport.customers import personal_data
from rapport.customers.models import (
    ContactPoint,
    Customer,
    CustomerAddress,
    CustomerTag,
    ExternalIdentity,
    Note,
)
from rapport.customers.personal_data import Erasure
from rapport.customers.selectors import customer_payload

# Profile fields that describe the person. Their old and new values in change records
# (timeline metadata, `customer.updated` payloads) are erased with the person.
PERSONAL_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "phone_secondary",
    "date_of_birth",
    "gender",
    "instagram_handle",
    "facebook_url",
    "metadata",
    "referral_source",
)
# Text shorter than this is not searched for in free text: "Al" would scrub every "also".
SHORTEST_ORIGINAL = 3
ADDRESS_TEXT_FIELDS = (
    "line1",
    "line2",
    "neighborhood",
    "city",
    "state",
    "postal_code",
    "delivery_instructions",
)


def _time(value) -> str | None:
    return value.isoformat() if value else None


def _phone_forms(value: str) -> list[str]:
    """A stored E.164 phone as people write it: +234…, 234…, 0803 123 4567, 08031234567."""
    forms = [value, value.lstrip("+")]
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return forms
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    international = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    digits = "".join(character for character in national if character.isdigit())
    return [*forms, national, international, digits]


def _looks_like_e164(value: str) -> bool:
    return value.startswith("+") and value[1:].isdigit()


def originals_of(customer: Customer) -> list[str]:
    """Every value that names or reaches the person, as free text may hold it, including the
    values other apps hold (their handlers' `originals`)."""
    values = [
        customer.first_name,
        customer.last_name,
        customer.full_name,
        customer.email,
        customer.instagram_handle,
        f"@{customer.instagram_handle}" if customer.instagram_handle else "",
        customer.facebook_url,
    ]
    phones = [customer.phone, customer.phone_secondary]
    for type, value in ContactPoint.objects.filter(customer=customer).values_list("type", "value"):
        values.append(value)
        if type in (ContactPoint.Type.PHONE, ContactPoint.Type.WHATSAPP):
            phones.append(value)
    for phone in filter(None, phones):
        values.extend(_phone_forms(phone))
    for line1, line2 in CustomerAddress.objects.filter(customer=customer).values_list(
        "line1", "line2"
    ):
        values.extend([line1, line2])
    values.extend(
        ExternalIdentity.objects.filter(customer=customer).values_list("external_id", flat=True)
    )
    for handler in personal_data.handlers("originals"):
        for value in handler.originals(customer):
            values.extend(_phone_forms(value) if _looks_like_e164(value) else [value])
    unique = {value.strip(): None for value in values if len(value.strip()) >= SHORTEST_ORIGINAL}
    return list(unique)


def scrub_json(value: Any, erasure: Erasure) -> Any:
    """`value` with every string in it (at any depth, keys aside) scrubbed."""
    if isinstance(value, str):
        return erasure.scrub(value)
    if isinstance(value, dict):
        return {key: scrub_json(item, erasure) for key, item in value.items()}
    if isinstance(value, list):
        return [scrub_json(item, erasure) for item in value]
    return value


def scrub_changes(changes: Any, erasure: Erasure) -> Any:
    """A change record ({field: {old, new}}) with the personal fields' values erased."""
    if not isinstance(changes, dict):
        return scrub_json(changes, erasure)
    scrubbed = {}
    for name, values in changes.items():
        if name in PERSONAL_FIELDS and isinstance(values, dict):
            scrubbed[name] = {key: erasure.placeholder for key in values}
        else:
            scrubbed[name] = scrub_json(values, erasure)
    return scrubbed


def anonymize_customer(customer: Customer, erasure: Erasure) -> None:
    """Blank the person on the customer row; its code, tenant, dates and links stay."""
    now = timezone.now()
    for name in PERSONAL_FIELDS:
        if name == "date_of_birth":
            customer.date_of_birth = None
        elif name == "metadata":
            customer.metadata = {}
        elif name == "referral_source":
            customer.referral_source = erasure.scrub(customer.referral_source)
        else:
            setattr(customer, name, "")
    customer.acquisition_source = erasure.scrub(customer.acquisition_source)
    customer.erased_at = now
    if not customer.is_archived:
        customer.is_archived = True
        customer.archived_at = now
    customer.save()


class CustomerData:
    """The core's handler: profile, contact points, addresses, identities, tags, notes, referrals."""

    name = "customers"

    def export(self, customer: Customer) -> dict[str, Any]:
        """Everything the core holds on the customer, private notes included."""
        return {
            "profile": {**customer_payload(customer), "erased_at": _time(customer.erased_at)},
            "contact_points": [
                {
                    "id": str(point.uuid),
                    "type": point.type,
                    "value": point.value,
                    "is_primary": point.is_primary,
                    "is_verified": point.is_verified,
                    "verified_at": _time(point.verified_at),
                    "created_at": _time(point.created_at),
                }
                for point in ContactPoint.objects.filter(customer=customer)
            ],
            "addresses": [
                {
                    "id": str(address.uuid),
                    "label": address.label,
                    **{name: getattr(address, name) for name in ADDRESS_TEXT_FIELDS},
                    "country": address.country,
                    "is_default": address.is_default,
                    "created_at": _time(address.created_at),
                    "updated_at": _time(address.updated_at),
                }
                for address in CustomerAddress.objects.filter(customer=customer)
            ],
            "external_identities": [
                {
                    "id": str(identity.uuid),
                    "provider": identity.provider,
                    "external_id": identity.external_id,
                    "metadata": identity.metadata,
                    "created_at": _time(identity.created_at),
                }
                for identity in ExternalIdentity.objects.filter(customer=customer).order_by("pk")
            ],
            "tags": [
                {"name": link.tag.name, "added_by": link.added_by, "added_at": _time(link.added_at)}
                for link in CustomerTag.objects.filter(customer=customer)
                .select_related("tag")
                .order_by("tag__name")
            ],
            "notes": [
                {
                    "id": str(note.uuid),
                    "content": note.content,
                    "author": note.author,
                    "is_pinned": note.is_pinned,
                    "is_private": note.is_private,
                    "created_at": _time(note.created_at),
                }
                for note in Note.objects.filter(customer=customer)
            ],
            "referrals": {
                "referred_by": customer.referred_by.code if customer.referred_by_id else None,
                "referral_source": customer.referral_source,
                "referred": list(
                    Customer.objects.filter(referred_by=customer)
                    .order_by("created_at", "pk")
                    .values_list("code", flat=True)
                ),
            },
        }

    def erase(self, customer: Customer, erasure: Erasure) -> int:
        """Delete contact points and identities, blank addresses, replace notes' content."""
        changed = ContactPoint.objects.filter(customer=customer).delete()[0]
        changed += ExternalIdentity.objects.filter(customer=customer).delete()[0]
        changed += CustomerAddress.objects.filter(customer=customer).update(
            **dict.fromkeys(ADDRESS_TEXT_FIELDS, ""), updated_at=timezone.now()
        )
        changed += Note.objects.filter(customer=customer).update(
            content=erasure.placeholder, updated_at=timezone.now()
        )
        return changed
