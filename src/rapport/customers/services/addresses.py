"""A customer's postal addresses."""

from typing import Any

import pycountry
from django.db import transaction

from rapport.customers.models import CustomerAddress
from rapport.customers.services.customers import find_customer
from rapport.exceptions import InvalidInput, NotFound
from rapport.tenancy.actors import Actor

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
            tenant=actor.tenant, customer=find_customer(actor.tenant, code), uuid=address_id
        ).first()
        if address is None:
            raise NotFound("No address with that id on this customer")
        return address

    @staticmethod
    def add_address(*, actor: Actor, code: str, **fields: Any) -> CustomerAddress:
        """Add an address; the first one, or one marked default, becomes the default."""
        cleaned = _clean_address({"line1": "", **fields})
        with transaction.atomic():
            customer = find_customer(actor.tenant, code, for_update=True)
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
