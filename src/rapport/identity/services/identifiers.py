"""Identifiers: the (type, value) pairs each of which finds exactly one customer of a tenant."""

import re
from typing import Any

from django.db import IntegrityError, transaction

from rapport.customers import hooks
from rapport.customers.hooks import CustomerChange
from rapport.customers.models import Customer
from rapport.customers.normalization import (
    normalize_email,
    normalize_handle,
    normalize_phone,
    normalize_text,
)
from rapport.customers.services import CustomerService, find_customer
from rapport.customers.services.contact_points import promote_oldest
from rapport.exceptions import Conflict, InvalidInput, NotFound
from rapport.identity.models import CustomerIdentifier, IdentifierType, Normalization
from rapport.tenancy.actors import Actor
from rapport.tenancy.models import Tenant

# The types every tenant has, and how their values are normalized.
BUILT_IN_TYPES = {
    "phone": Normalization.PHONE,
    "email": Normalization.EMAIL,
    "whatsapp": Normalization.PHONE,
    "instagram": Normalization.HANDLE,
    "facebook": Normalization.HANDLE,
    "telegram": Normalization.HANDLE,
    "manychat": Normalization.TEXT,
}
NETWORK_HANDLES = ("instagram", "facebook", "telegram")
VALUE_LIMIT = 254  # the column's width
SOURCE_LIMIT = 50


def identifier_types(tenant: Tenant) -> dict[str, str]:
    """Every identifier type the tenant can use, built-in and its own, with its normalization."""
    own = dict(IdentifierType.objects.filter(tenant=tenant).values_list("name", "normalization"))
    return {**own, **BUILT_IN_TYPES}


def normalize_identifier(tenant: Tenant, type: str, value: str) -> str:
    """The value in its normal form for the type; InvalidInput naming `type` or `value`."""
    types = BUILT_IN_TYPES if type in BUILT_IN_TYPES else identifier_types(tenant)
    if not isinstance(type, str) or type not in types:
        raise InvalidInput(
            "The identifier type is not known",
            fields={"type": f"Use one of {', '.join(sorted(identifier_types(tenant)))}"},
        )
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("An identifier needs a value", fields={"value": "Required"})
    normalization = types[type]
    try:
        if normalization == Normalization.PHONE:
            text = normalize_phone(value, tenant.default_phone_region)
        elif normalization == Normalization.EMAIL:
            text = normalize_email(value)
        elif normalization == Normalization.HANDLE:
            text = normalize_handle(value, type if type in NETWORK_HANDLES else "")
        else:
            text = normalize_text(value)
    except ValueError as error:
        raise InvalidInput(
            "The identifier value is not valid", fields={"value": str(error)}
        ) from None
    if len(text) > VALUE_LIMIT:
        raise InvalidInput(
            "The identifier value is too long",
            fields={"value": f"At most {VALUE_LIMIT} characters"},
        )
    return text


def _clean_source(source: str) -> str:
    source = (source or "").strip()
    if len(source) > SOURCE_LIMIT:
        raise InvalidInput(
            "The source is too long", fields={"source": f"At most {SOURCE_LIMIT} characters"}
        )
    return source


def _survivor(customer: Customer | None) -> Customer | None:
    """The customer itself, or the one it was merged into."""
    if customer is not None and customer.merged_into_id is not None:
        return Customer.objects.filter(pk=customer.merged_into_id).first()
    return customer


def _locked_customer(actor: Actor, code: str) -> Customer:
    # The customer's row serializes changes to which identifier of a type is primary.
    customer = find_customer(actor.tenant, code, for_update=True)
    if customer is None:
        raise NotFound(f"No customer with code {code!r}")
    return customer


def _identifier_of(customer: Customer, identifier_id) -> CustomerIdentifier:
    identifier = CustomerIdentifier.objects.filter(customer=customer, uuid=identifier_id).first()
    if identifier is None:
        raise NotFound("No identifier with that id on this customer")
    return identifier


def _taken(tenant: Tenant, type: str, value: str) -> Conflict:
    holder = (
        CustomerIdentifier.objects.filter(tenant=tenant, type=type, value=value)
        .select_related("customer")
        .first()
    )
    code = holder.customer.code if holder else "another customer"
    return Conflict(
        f"The {type} {value!r} already identifies customer {code}",
        fields={"value": f"Already identifies customer {code}"},
    )


def _detail(identifier: CustomerIdentifier) -> dict[str, Any]:
    return {
        "identifier": str(identifier.uuid),
        "type": identifier.type,
        "value": identifier.value,
        "is_primary": identifier.is_primary,
    }


def _create(
    actor: Actor, customer: Customer, type: str, value: str, is_primary: bool, source: str
) -> CustomerIdentifier:
    """Insert the identifier under the customer's lock; IntegrityError if the value is taken."""
    same_type = CustomerIdentifier.objects.filter(customer=customer, type=type)
    if not same_type.exists():
        is_primary = True
    if is_primary:
        same_type.filter(is_primary=True).update(is_primary=False)
    with transaction.atomic():
        identifier = CustomerIdentifier.objects.create(
            tenant=actor.tenant,
            customer=customer,
            type=type,
            value=value,
            is_primary=is_primary,
            source=source,
        )
    hooks.publish(
        CustomerChange(
            kind="identifier_added",
            customer=customer,
            actor=actor,
            detail={**_detail(identifier), "source": source},
            title=f"Identifier added: {type} {value}",
            timeline_type="profile",
            event="customer.identifier_added",
        )
    )
    return identifier


class IdentifierService:
    """Find customers by phone, email or handle; add, list and remove their identifiers."""

    @staticmethod
    def find_by_identifier(*, tenant: Tenant, type: str, value: str) -> Customer | None:
        """The customer this identifier finds (its survivor if merged), else None.

        The identifier table is read first; a phone, WhatsApp number or email not recorded
        there finds the oldest live customer with it in their own phone or email field.
        """
        value = normalize_identifier(tenant, type, value)
        identifier = (
            CustomerIdentifier.objects.filter(tenant=tenant, type=type, value=value)
            .select_related("customer")
            .first()
        )
        if identifier is not None:
            return _survivor(identifier.customer)
        customers = Customer.objects.filter(tenant=tenant).order_by(
            "merged_into", "created_at", "pk"
        )
        if BUILT_IN_TYPES.get(type) == Normalization.PHONE:
            customer = customers.filter(phone=value).first()
            customer = customer or customers.filter(phone_secondary=value).first()
            return _survivor(customer)
        if type == "email":
            return _survivor(customers.filter(email=value).first())
        return None

    @staticmethod
    def get_identifiers(*, tenant: Tenant, code: str) -> list[CustomerIdentifier]:
        """The customer's identifiers, by type, primary first; NotFound for an unknown code."""
        customer = find_customer(tenant, code)
        if customer is None:
            raise NotFound(f"No customer with code {code!r}")
        return list(CustomerIdentifier.objects.filter(customer=customer))

    @staticmethod
    def get_identifier(*, tenant: Tenant, code: str, identifier_id) -> CustomerIdentifier:
        """One identifier of the tenant's customer; NotFound otherwise."""
        customer = find_customer(tenant, code)
        if customer is None:
            raise NotFound(f"No customer with code {code!r}")
        return _identifier_of(customer, identifier_id)

    @staticmethod
    def add_identifier(
        *,
        actor: Actor,
        code: str,
        type: str,
        value: str,
        is_primary: bool = False,
        source: str = "",
    ) -> CustomerIdentifier:
        """Link an identifier to a customer; Conflict naming the customer it already finds."""
        value = normalize_identifier(actor.tenant, type, value)
        source = _clean_source(source)
        with transaction.atomic():
            customer = _locked_customer(actor, code)
            if CustomerIdentifier.objects.filter(
                tenant=actor.tenant, type=type, value=value
            ).exists():
                raise _taken(actor.tenant, type, value)
            try:
                return _create(actor, customer, type, value, is_primary, source)
            except IntegrityError:
                raise _taken(actor.tenant, type, value) from None

    @staticmethod
    def update_identifier(
        *, actor: Actor, code: str, identifier_id, is_primary: bool | None = None
    ) -> CustomerIdentifier:
        """Make an identifier its type's primary; a type keeps one, so unsetting it is refused."""
        if is_primary is None:
            return IdentifierService.get_identifier(
                tenant=actor.tenant, code=code, identifier_id=identifier_id
            )
        if is_primary:
            return IdentifierService.set_primary(
                actor=actor, code=code, identifier_id=identifier_id
            )
        identifier = IdentifierService.get_identifier(
            tenant=actor.tenant, code=code, identifier_id=identifier_id
        )
        if identifier.is_primary:
            raise InvalidInput(
                "A type with identifiers keeps one primary",
                fields={"is_primary": "Make another identifier of this type primary"},
            )
        return identifier

    @staticmethod
    def set_primary(*, actor: Actor, code: str, identifier_id) -> CustomerIdentifier:
        """Make an identifier the primary one of its type for its customer."""
        with transaction.atomic():
            customer = _locked_customer(actor, code)
            identifier = _identifier_of(customer, identifier_id)
            if not identifier.is_primary:
                CustomerIdentifier.objects.filter(
                    customer=customer, type=identifier.type, is_primary=True
                ).update(is_primary=False)
                identifier.is_primary = True
                identifier.save(update_fields=["is_primary"])
                hooks.publish(
                    CustomerChange(
                        kind="identifier_updated",
                        customer=customer,
                        actor=actor,
                        changes={"is_primary": {"old": False, "new": True}},
                        detail=_detail(identifier),
                        title=f"Primary {identifier.type} is now {identifier.value}",
                        timeline_type="profile",
                        event="customer.identifier_updated",
                    )
                )
        return identifier

    @staticmethod
    def remove_identifier(*, actor: Actor, code: str, identifier_id) -> None:
        """Unlink an identifier; if it was its type's primary, the oldest remaining one is."""
        with transaction.atomic():
            customer = _locked_customer(actor, code)
            identifier = _identifier_of(customer, identifier_id)
            identifier.delete()
            if identifier.is_primary:
                promote_oldest(
                    CustomerIdentifier.objects.filter(customer=customer, type=identifier.type)
                )
            hooks.publish(
                CustomerChange(
                    kind="identifier_removed",
                    customer=customer,
                    actor=actor,
                    detail=_detail(identifier),
                    title=f"Identifier removed: {identifier.type} {identifier.value}",
                    timeline_type="profile",
                    event="customer.identifier_removed",
                )
            )

    @staticmethod
    def find_or_create_customer(
        *,
        actor: Actor,
        type: str,
        value: str,
        defaults: dict[str, Any] | None = None,
        source: str = "",
    ) -> tuple[Customer, bool]:
        """The customer this identifier finds, or a new one linked to it: (customer, created).

        Safe under concurrency: the identifier's unique constraint lets one creation win; the
        others roll back their savepoint and return the winner's customer.
        """
        tenant = actor.tenant
        value = normalize_identifier(tenant, type, value)
        source = _clean_source(source)
        if defaults is not None and not isinstance(defaults, dict):
            raise InvalidInput("Defaults are an object", fields={"defaults": "A JSON object"})
        fields = dict(defaults or {})
        if "code" in fields or "referred_by" in fields:
            raise InvalidInput(
                "Defaults hold profile fields only",
                fields={
                    name: "Not a profile field"
                    for name in ("code", "referred_by")
                    if name in fields
                },
            )
        existing = IdentifierService.find_by_identifier(tenant=tenant, type=type, value=value)
        if existing is not None:
            return existing, False
        normalization = BUILT_IN_TYPES.get(type)
        if normalization == Normalization.PHONE:
            fields.setdefault("phone", value)
        elif type == "email":
            fields.setdefault("email", value)
        elif type == "instagram":
            fields.setdefault("instagram_handle", value)
        if not any(fields.get(name) for name in ("first_name", "last_name", "email", "phone")):
            raise InvalidInput(
                "A new customer needs a name, an email or a phone number",
                fields={"defaults": f"Give a name, email or phone to create a customer by {type}"},
            )
        fields.setdefault("source", source)
        try:
            with transaction.atomic():
                customer = CustomerService.create_customer(actor=actor, **fields)
                _create(actor, customer, type, value, True, source)
        except IntegrityError:
            # Another request linked this value first: theirs is the customer.
            winner = IdentifierService.find_by_identifier(tenant=tenant, type=type, value=value)
            if winner is None:
                raise Conflict(
                    f"The {type} {value!r} could not be linked; try again",
                    fields={"value": "Changed while the customer was being created"},
                ) from None
            return winner, False
        return customer, True


NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,29}$")
LABEL_LIMIT = 100


class IdentifierTypeService:
    """The identifier types a tenant adds to the built-in ones."""

    @staticmethod
    def list_types(*, tenant: Tenant) -> list[IdentifierType]:
        """The tenant's own identifier types, by name."""
        return list(IdentifierType.objects.filter(tenant=tenant))

    @staticmethod
    def create_type(
        *, actor: Actor, name: str, label: str = "", normalization: str = Normalization.TEXT
    ) -> IdentifierType:
        """Add an identifier type; its name is a slug no built-in type or other type uses."""
        errors = {}
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            errors["name"] = "A lower-case slug: letters, digits and '_', at most 30"
        elif name in BUILT_IN_TYPES:
            errors["name"] = "A built-in type has this name"
        label = (label or "").strip()
        if len(label) > LABEL_LIMIT:
            errors["label"] = f"At most {LABEL_LIMIT} characters"
        if normalization not in Normalization.values:
            errors["normalization"] = f"Use one of {', '.join(Normalization.values)}"
        if errors:
            raise InvalidInput("The identifier type is not valid", fields=errors)
        conflict = Conflict(
            f"An identifier type named {name!r} exists", fields={"name": "Already taken"}
        )
        with transaction.atomic():
            if IdentifierType.objects.filter(tenant=actor.tenant, name=name).exists():
                raise conflict
            try:
                with transaction.atomic():
                    return IdentifierType.objects.create(
                        tenant=actor.tenant, name=name, label=label, normalization=normalization
                    )
            except IntegrityError:
                raise conflict from None

    @staticmethod
    def delete_type(*, actor: Actor, type_id) -> None:
        """Remove an identifier type no identifier uses; Conflict while some do."""
        with transaction.atomic():
            identifier_type = (
                IdentifierType.objects.select_for_update()
                .filter(tenant=actor.tenant, uuid=type_id)
                .first()
            )
            if identifier_type is None:
                raise NotFound("No identifier type with that id")
            used = CustomerIdentifier.objects.filter(
                tenant=actor.tenant, type=identifier_type.name
            ).count()
            if used:
                raise Conflict(
                    f"{used} identifier{'s are' if used > 1 else ' is'} of type "
                    f"{identifier_type.name!r}; remove {'them' if used > 1 else 'it'} first",
                    fields={"type_id": "In use"},
                )
            identifier_type.delete()
