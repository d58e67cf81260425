"""A customer's contact points: further phones, emails and chat accounts, one primary per type."""

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from rapport.customers import hooks
from rapport.customers.hooks import CustomerChange
from rapport.customers.models import ContactPoint, Customer
from rapport.customers.normalization import (
    normalize_email,
    normalize_instagram_handle,
    normalize_phone,
)
from rapport.customers.services.customers import find_customer
from rapport.exceptions import Conflict, InvalidInput, NotFound
from rapport.tenancy.actors import Actor
from rapport.tenancy.models import Tenant

VALUE_LIMIT = 254  # the column's width; normal forms keep their length within it


def promote_oldest(same_type: QuerySet) -> None:
    """After a type's primary is removed, its oldest remaining one becomes primary (contact
    points here, identity's identifiers alike)."""
    successor = same_type.order_by("created_at", "pk").first()
    if successor is not None:
        successor.is_primary = True
        successor.save(update_fields=["is_primary"])


def _clean_value(tenant: Tenant, type: str, value: str) -> str:
    """The value in its normal form for its type; InvalidInput naming `type` or `value`."""
    if type not in ContactPoint.Type.values:
        raise InvalidInput(
            "The contact point type is not valid",
            fields={"type": f"Use one of {', '.join(ContactPoint.Type.values)}"},
        )
    text = value.strip()
    if not text:
        raise InvalidInput("A contact point needs a value", fields={"value": "Required"})
    try:
        if type in (ContactPoint.Type.PHONE, ContactPoint.Type.WHATSAPP):
            text = normalize_phone(text, tenant.default_phone_region)
        elif type == ContactPoint.Type.EMAIL:
            text = normalize_email(text)
        elif type == ContactPoint.Type.INSTAGRAM:
            text = normalize_instagram_handle(text)
    except ValueError as error:
        raise InvalidInput(
            "The contact point value is not valid", fields={"value": str(error)}
        ) from None
    if len(text) > VALUE_LIMIT:
        raise InvalidInput(
            "The contact point value is too long",
            fields={"value": f"At most {VALUE_LIMIT} characters"},
        )
    return text


def _locked_customer(actor: Actor, code: str) -> Customer:
    # The customer's row serializes changes to which contact point of a type is primary.
    customer = find_customer(actor.tenant, code, for_update=True)
    if customer is None:
        raise NotFound(f"No customer with code {code!r}")
    return customer


def _contact_point_of(customer: Customer, contact_point_id) -> ContactPoint:
    contact_point = ContactPoint.objects.filter(customer=customer, uuid=contact_point_id).first()
    if contact_point is None:
        raise NotFound("No contact point with that id on this customer")
    return contact_point


def _detail(contact_point: ContactPoint) -> dict[str, str]:
    return {
        "contact_point": str(contact_point.uuid),
        "type": contact_point.type,
        "value": contact_point.value,
    }


class ContactPointService:
    """A customer's contact points; at most one of each type is primary."""

    @staticmethod
    def get_contact_point(*, actor: Actor, code: str, contact_point_id) -> ContactPoint:
        """The contact point with this id on the tenant's customer; NotFound otherwise."""
        contact_point = ContactPoint.objects.filter(
            tenant=actor.tenant, customer=find_customer(actor.tenant, code), uuid=contact_point_id
        ).first()
        if contact_point is None:
            raise NotFound("No contact point with that id on this customer")
        return contact_point

    @staticmethod
    def add_contact_point(
        *,
        actor: Actor,
        code: str,
        type: str,
        value: str,
        is_primary: bool = False,
        is_verified: bool = False,
    ) -> ContactPoint:
        """Add a way to reach a customer; the first of its type, or one marked primary, is it."""
        value = _clean_value(actor.tenant, type, value)
        with transaction.atomic():
            customer = _locked_customer(actor, code)
            same_type = ContactPoint.objects.filter(customer=customer, type=type)
            if same_type.filter(value=value).exists():
                raise Conflict(
                    f"The customer already has the {type} contact point {value!r}",
                    fields={"value": "Already recorded for this customer"},
                )
            if not same_type.exists():
                is_primary = True
            if is_primary:
                same_type.update(is_primary=False)
            try:
                with transaction.atomic():
                    contact_point = ContactPoint.objects.create(
                        tenant=actor.tenant,
                        customer=customer,
                        type=type,
                        value=value,
                        is_primary=is_primary,
                        is_verified=is_verified,
                        verified_at=timezone.now() if is_verified else None,
                    )
            except IntegrityError:
                raise Conflict(
                    f"The customer already has the {type} contact point {value!r}",
                    fields={"value": "Already recorded for this customer"},
                ) from None
            hooks.publish(
                CustomerChange(
                    kind="contact_point_added",
                    customer=customer,
                    actor=actor,
                    detail={**_detail(contact_point), "is_primary": is_primary},
                )
            )
        return contact_point

    @staticmethod
    def update_contact_point(
        *,
        actor: Actor,
        code: str,
        contact_point_id,
        is_primary: bool | None = None,
        is_verified: bool | None = None,
    ) -> ContactPoint:
        """Make a contact point its type's primary, or mark it verified or unverified."""
        with transaction.atomic():
            customer = _locked_customer(actor, code)
            contact_point = _contact_point_of(customer, contact_point_id)
            if is_primary is False and contact_point.is_primary:
                raise InvalidInput(
                    "A type with contact points keeps one primary",
                    fields={"is_primary": "Make another contact point of this type primary"},
                )
            changes = {}
            if is_primary and not contact_point.is_primary:
                ContactPoint.objects.filter(customer=customer, type=contact_point.type).update(
                    is_primary=False
                )
                contact_point.is_primary = True
                changes["is_primary"] = {"old": False, "new": True}
            if is_verified is not None and is_verified != contact_point.is_verified:
                contact_point.is_verified = is_verified
                contact_point.verified_at = timezone.now() if is_verified else None
                changes["is_verified"] = {"old": not is_verified, "new": is_verified}
            if changes:
                contact_point.save(update_fields=["is_primary", "is_verified", "verified_at"])
                hooks.publish(
                    CustomerChange(
                        kind="contact_point_updated",
                        customer=customer,
                        actor=actor,
                        changes=changes,
                        detail=_detail(contact_point),
                    )
                )
        return contact_point

    @staticmethod
    def remove_contact_point(*, actor: Actor, code: str, contact_point_id) -> None:
        """Remove a contact point; if it was its type's primary, the oldest remaining one is."""
        with transaction.atomic():
            customer = _locked_customer(actor, code)
            contact_point = _contact_point_of(customer, contact_point_id)
            contact_point.delete()
            if contact_point.is_primary:
                promote_oldest(
                    ContactPoint.objects.filter(customer=customer, type=contact_point.type)
                )
            hooks.publish(
                CustomerChange(
                    kind="contact_point_removed",
                    customer=customer,
                    actor=actor,
                    detail=_detail(contact_point),
                )
            )
