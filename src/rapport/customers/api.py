"""REST endpoints of the customer core: customers, tags, notes, addresses, referrals."""

import datetime as dt
from typing import Literal
from uuid import UUID

from ninja import Query, Router, Schema, Status
from pydantic import Field

from rapport.customers import selectors
from rapport.customers.models import Customer
from rapport.customers.services import (
    AddressService,
    CustomerService,
    NoteService,
    TagService,
)
from rapport.exceptions import NotFound
from rapport.pagination import BOOLEAN, DATETIME, TEXT, paginate, sort_order
from rapport.schemas import WRITE_ERRORS, InputSchema, PageQuery, responses
from rapport.tenancy.api import READ, WRITE, actor_of

router = Router(tags=["customers"], auth=READ)

GenderValue = Literal["", "female", "male", "non_binary", "other"]
ContactMethodValue = Literal["", "whatsapp", "sms", "email", "phone", "push"]
CUSTOMER_SORTS = {"created_at": DATETIME, "updated_at": DATETIME, "last_name": TEXT, "code": TEXT}


# --- schemas -------------------------------------------------------------------------------


class CustomerOut(Schema):
    code: str
    first_name: str
    last_name: str
    display_name: str
    email: str
    phone: str
    phone_secondary: str
    date_of_birth: dt.date | None
    gender: str
    preferred_language: str
    preferred_contact_method: str
    customer_type: str
    source: str
    acquisition_source: str
    referred_by: str | None = Field(description="Code of the customer who referred this one")
    referral_source: str
    instagram_handle: str
    facebook_url: str
    metadata: dict
    tags: list[str]
    is_archived: bool
    archived_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_referred_by(customer: Customer) -> str | None:
        return customer.referred_by.code if customer.referred_by_id else None

    @staticmethod
    def resolve_tags(customer: Customer) -> list[str]:
        return selectors.tag_names(customer)


class AddressOut(Schema):
    id: UUID = Field(alias="uuid")
    label: str
    line1: str
    line2: str
    neighborhood: str
    city: str
    state: str
    postal_code: str
    country: str
    delivery_instructions: str
    is_default: bool


class ContactPointOut(Schema):
    id: UUID = Field(alias="uuid")
    type: str
    value: str
    is_primary: bool
    is_verified: bool


class ExternalIdentityOut(Schema):
    id: UUID = Field(alias="uuid")
    provider: str
    external_id: str


class CustomerDetailOut(CustomerOut):
    referral_count: int = 0
    addresses: list[AddressOut]
    contact_points: list[ContactPointOut]
    external_identities: list[ExternalIdentityOut]

    @staticmethod
    def resolve_addresses(customer: Customer) -> list:
        return list(customer.addresses.all())

    @staticmethod
    def resolve_contact_points(customer: Customer) -> list:
        return list(customer.contact_points.all())

    @staticmethod
    def resolve_external_identities(customer: Customer) -> list:
        return list(customer.external_identities.all())


class CustomerPage(Schema):
    items: list[CustomerOut]
    next_cursor: str | None


class CustomerProfile(InputSchema):
    """The profile fields shared by create and update."""

    first_name: str | None = Field(None, max_length=100)
    last_name: str | None = Field(None, max_length=100)
    email: str | None = Field(None, max_length=254)
    phone: str | None = Field(
        None,
        max_length=40,
        description="Any common format; stored as E.164 using the tenant's region",
    )
    phone_secondary: str | None = Field(None, max_length=40)
    date_of_birth: dt.date | None = None
    gender: GenderValue | None = None
    preferred_language: str | None = Field(None, max_length=10, examples=["en", "pt-BR"])
    preferred_contact_method: ContactMethodValue | None = None
    customer_type: str | None = Field(None, max_length=50)
    source: str | None = Field(None, max_length=50, examples=["pos", "online", "marketplace"])
    acquisition_source: str | None = Field(None, max_length=100)
    referred_by: str | None = Field(None, description="Code of the referring customer")
    referral_source: str | None = Field(None, max_length=100)
    instagram_handle: str | None = Field(None, max_length=200)
    facebook_url: str | None = Field(None, max_length=200)
    metadata: dict | None = None


class CustomerIn(CustomerProfile):
    code: str | None = Field(
        None, max_length=40, description="Your own id for the customer; generated when absent"
    )


class CustomerPatch(CustomerProfile):
    """Only the fields sent change; send null or "" to clear one."""


class CustomerQuery(PageQuery):
    q: str | None = Field(None, description="Search names, email, phone digits and code")
    email: str | None = None
    phone: str | None = Field(None, description="Exact E.164 phone, e.g. +2348031234567")
    tag: str | None = Field(None, description="Tag name")
    customer_type: str | None = None
    source: str | None = None
    gender: GenderValue | None = None
    preferred_contact_method: ContactMethodValue | None = None
    referred_by: str | None = Field(None, description="Code of the referring customer")
    archived: bool | None = Field(False, description="true: only archived; omit for active only")
    created_after: dt.datetime | None = None
    created_before: dt.datetime | None = None
    order_by: str = Field(
        "-created_at", description="created_at, updated_at, last_name or code; '-' descends"
    )


class TagOut(Schema):
    id: UUID = Field(alias="uuid")
    name: str
    color: str
    description: str
    is_active: bool
    customer_count: int = 0
    created_at: dt.datetime


class TagIn(InputSchema):
    name: str = Field(min_length=1, max_length=50)
    color: str = Field("#6c757d", examples=["#ffc107"])
    description: str = ""
    is_active: bool = True


class TagPatch(InputSchema):
    name: str | None = Field(None, min_length=1, max_length=50)
    color: str | None = None
    description: str | None = None
    is_active: bool | None = None


class CustomerTagOut(Schema):
    name: str
    color: str
    added_by: str
    added_at: dt.datetime

    @staticmethod
    def resolve_name(link) -> str:
        return link.tag.name

    @staticmethod
    def resolve_color(link) -> str:
        return link.tag.color


class TagsIn(InputSchema):
    tags: list[str] = Field(min_length=1, max_length=50, examples=[["VIP", "Dog owner"]])


class NoteOut(Schema):
    id: UUID = Field(alias="uuid")
    content: str
    author: str
    is_pinned: bool
    is_private: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class NotePage(Schema):
    items: list[NoteOut]
    next_cursor: str | None


class NoteIn(InputSchema):
    content: str = Field(min_length=1, max_length=10_000)
    is_pinned: bool = False
    is_private: bool = False


class AddressIn(InputSchema):
    label: Literal["home", "work", "billing", "delivery", "other"] = "home"
    line1: str = Field(min_length=1, max_length=200)
    line2: str = Field("", max_length=200)
    neighborhood: str = Field("", max_length=100)
    city: str = Field("", max_length=100)
    state: str = Field("", max_length=100)
    postal_code: str = Field("", max_length=20)
    country: str = Field("", max_length=2, description="ISO 3166-1 alpha-2")
    delivery_instructions: str = Field("", max_length=300)
    is_default: bool = False


class AddressPatch(InputSchema):
    label: Literal["home", "work", "billing", "delivery", "other"] | None = None
    line1: str | None = Field(None, min_length=1, max_length=200)
    line2: str | None = Field(None, max_length=200)
    neighborhood: str | None = Field(None, max_length=100)
    city: str | None = Field(None, max_length=100)
    state: str | None = Field(None, max_length=100)
    postal_code: str | None = Field(None, max_length=20)
    country: str | None = Field(None, max_length=2)
    delivery_instructions: str | None = Field(None, max_length=300)
    is_default: bool | None = None


class ReferrerOut(Schema):
    code: str
    display_name: str
    referral_count: int


# --- customers -----------------------------------------------------------------------------


def _detail(request, code: str) -> Customer:
    customer = selectors.customer_detail(tenant=actor_of(request).tenant, code=code)
    if customer is None:
        raise NotFound(f"No customer with code {code!r}")
    return customer


@router.get("/customers", response=responses({200: CustomerPage}))
def list_customers(request, query: Query[CustomerQuery]):
    """Customers, filtered and sorted, a page at a time (follow `next_cursor`)."""
    filters = selectors.CustomerFilters(
        **query.model_dump(exclude={"limit", "cursor", "order_by", "archived"}),
        is_archived=query.archived,
    )
    customers = selectors.customer_list(tenant=actor_of(request).tenant, filters=filters)
    return paginate(
        customers,
        ordering=sort_order(query.order_by, CUSTOMER_SORTS),
        parsers=CUSTOMER_SORTS,
        cursor=query.cursor,
        limit=query.limit,
    )


@router.post("/customers", response=responses({201: CustomerDetailOut}, *WRITE_ERRORS), auth=WRITE)
def create_customer(request, payload: CustomerIn):
    """Create a customer. A phone number alone is enough; it is stored in E.164."""
    fields = payload.model_dump(exclude_unset=True)
    customer = CustomerService.create_customer(actor=actor_of(request), **fields)
    return Status(201, _detail(request, customer.code))


@router.get("/customers/{code}", response=responses({200: CustomerDetailOut}, 404))
def get_customer(request, code: str):
    """One customer with tags, addresses, contact points and external identities."""
    return _detail(request, code)


@router.patch(
    "/customers/{code}", response=responses({200: CustomerDetailOut}, 400, 404), auth=WRITE
)
def update_customer(request, code: str, payload: CustomerPatch):
    """Change some fields; only the fields sent change."""
    CustomerService.update_customer(
        actor=actor_of(request), code=code, **payload.model_dump(exclude_unset=True)
    )
    return _detail(request, code)


@router.post(
    "/customers/{code}/archive",
    response=responses({200: CustomerDetailOut}, 404, *WRITE_ERRORS),
    auth=WRITE,
)
def archive_customer(request, code: str):
    """Archive a customer: hidden from lists and campaigns, history kept."""
    CustomerService.archive_customer(actor=actor_of(request), code=code)
    return _detail(request, code)


@router.post(
    "/customers/{code}/restore",
    response=responses({200: CustomerDetailOut}, 404, *WRITE_ERRORS),
    auth=WRITE,
)
def restore_customer(request, code: str):
    """Bring an archived customer back."""
    CustomerService.archive_customer(actor=actor_of(request), code=code, is_archived=False)
    return _detail(request, code)


@router.delete("/customers/{code}", response=responses({204: None}, 404), auth=WRITE)
def delete_customer(request, code: str):
    """Delete a customer and everything attached to them. Archive instead to keep history."""
    CustomerService.delete_customer(actor=actor_of(request), code=code)
    return Status(204, None)


# --- a customer's tags ---------------------------------------------------------------------


def _customer(request, code: str) -> Customer:
    return CustomerService.get_customer(tenant=actor_of(request).tenant, code=code)


@router.get("/customers/{code}/tags", response=responses({200: list[CustomerTagOut]}, 404))
def list_customer_tags(request, code: str):
    """The customer's tags, with who added each and when."""
    return list(_customer(request, code).customer_tags.select_related("tag").order_by("tag__name"))


@router.post(
    "/customers/{code}/tags",
    response=responses({200: list[CustomerTagOut]}, 404, *WRITE_ERRORS),
    auth=WRITE,
)
def add_customer_tags(request, code: str, payload: TagsIn):
    """Tag a customer by tag names; unknown names become new tags, present ones stay."""
    TagService.add_tags(actor=actor_of(request), code=code, names=payload.tags)
    return list_customer_tags(request, code)


@router.delete(
    "/customers/{code}/tags/{tag_name}", response=responses({204: None}, 404), auth=WRITE
)
def remove_customer_tag(request, code: str, tag_name: str):
    """Take a tag off a customer."""
    TagService.remove_tag(actor=actor_of(request), code=code, tag_name=tag_name)
    return Status(204, None)


# --- notes ---------------------------------------------------------------------------------

NOTE_ORDER = ["-is_pinned", "-created_at"]
NOTE_PARSERS = {"is_pinned": BOOLEAN, "created_at": DATETIME}


@router.get("/customers/{code}/notes", response=responses({200: NotePage}, 404))
def list_notes(request, code: str, query: Query[PageQuery]):
    """Notes on a customer, pinned first, then newest; others' private notes are hidden."""
    actor = actor_of(request)
    notes = selectors.customer_notes(actor=actor, customer=_customer(request, code))
    return paginate(
        notes, ordering=NOTE_ORDER, parsers=NOTE_PARSERS, cursor=query.cursor, limit=query.limit
    )


@router.post(
    "/customers/{code}/notes", response=responses({201: NoteOut}, 404, *WRITE_ERRORS), auth=WRITE
)
def add_note(request, code: str, payload: NoteIn):
    """Write a note on a customer; a private one is seen only by its author and admins."""
    return Status(
        201, NoteService.add_note(actor=actor_of(request), code=code, **payload.model_dump())
    )


@router.post(
    "/customers/{code}/notes/{note_id}/pin",
    response=responses({200: NoteOut}, 404, *WRITE_ERRORS),
    auth=WRITE,
)
def pin_note(request, code: str, note_id: UUID):
    """Pin a note to the top of the customer's notes."""
    return NoteService.pin_note(actor=actor_of(request), code=code, note_id=note_id)


@router.post(
    "/customers/{code}/notes/{note_id}/unpin",
    response=responses({200: NoteOut}, 404, *WRITE_ERRORS),
    auth=WRITE,
)
def unpin_note(request, code: str, note_id: UUID):
    """Unpin a note."""
    return NoteService.pin_note(
        actor=actor_of(request), code=code, note_id=note_id, is_pinned=False
    )


@router.delete(
    "/customers/{code}/notes/{note_id}", response=responses({204: None}, 404), auth=WRITE
)
def delete_note(request, code: str, note_id: UUID):
    """Delete a note (its author or an admin only)."""
    NoteService.delete_note(actor=actor_of(request), code=code, note_id=note_id)
    return Status(204, None)


# --- addresses -----------------------------------------------------------------------------


@router.get("/customers/{code}/addresses", response=responses({200: list[AddressOut]}, 404))
def list_addresses(request, code: str):
    """The customer's addresses, the default first."""
    return list(_customer(request, code).addresses.all())


@router.post(
    "/customers/{code}/addresses",
    response=responses({201: AddressOut}, 404, *WRITE_ERRORS),
    auth=WRITE,
)
def add_address(request, code: str, payload: AddressIn):
    """Add an address; the first one becomes the default."""
    return Status(
        201, AddressService.add_address(actor=actor_of(request), code=code, **payload.model_dump())
    )


@router.patch(
    "/customers/{code}/addresses/{address_id}",
    response=responses({200: AddressOut}, 400, 404),
    auth=WRITE,
)
def update_address(request, code: str, address_id: UUID, payload: AddressPatch):
    """Change an address; making it the default unsets the previous default."""
    return AddressService.update_address(
        actor=actor_of(request),
        code=code,
        address_id=address_id,
        **payload.model_dump(exclude_unset=True),
    )


@router.delete(
    "/customers/{code}/addresses/{address_id}", response=responses({204: None}, 404), auth=WRITE
)
def delete_address(request, code: str, address_id: UUID):
    """Delete an address; another one becomes the default if this was it."""
    AddressService.delete_address(actor=actor_of(request), code=code, address_id=address_id)
    return Status(204, None)


# --- referrals -----------------------------------------------------------------------------


@router.get("/customers/{code}/referrals", response=responses({200: CustomerPage}, 404))
def list_referrals(request, code: str, query: Query[PageQuery]):
    """The customers this customer referred, newest first."""
    referred = selectors.referrals_of(customer=_customer(request, code))
    return paginate(
        referred,
        ordering=["-created_at"],
        parsers=CUSTOMER_SORTS,
        cursor=query.cursor,
        limit=query.limit,
    )


@router.get("/referrals/top", response=responses({200: list[ReferrerOut]}))
def top_referrers(request, limit: int = Query(10, ge=1, le=100)):
    """The customers who referred the most others, with their counts."""
    return list(selectors.top_referrers(tenant=actor_of(request).tenant, limit=limit))


# --- tags ----------------------------------------------------------------------------------

tags_router = Router(tags=["tags"], auth=READ)


@tags_router.get("/tags", response=responses({200: list[TagOut]}))
def list_tags(request, is_active: bool | None = None):
    """The tenant's tags by name, each with how many customers carry it."""
    return list(selectors.tag_list(tenant=actor_of(request).tenant, is_active=is_active))


@tags_router.post("/tags", response=responses({201: TagOut}, *WRITE_ERRORS), auth=WRITE)
def create_tag(request, payload: TagIn):
    """Create a tag; names are unique per tenant whatever their case."""
    return Status(201, TagService.create_tag(actor=actor_of(request), **payload.model_dump()))


@tags_router.get("/tags/{tag_id}", response=responses({200: TagOut}, 404))
def get_tag(request, tag_id: UUID):
    """One tag with its customer count."""
    tag = selectors.tag_list(tenant=actor_of(request).tenant).filter(uuid=tag_id).first()
    if tag is None:
        raise NotFound("No tag with that id")
    return tag


@tags_router.patch("/tags/{tag_id}", response=responses({200: TagOut}, 400, 404, 409), auth=WRITE)
def update_tag(request, tag_id: UUID, payload: TagPatch):
    """Rename, recolour, describe, activate or deactivate a tag."""
    TagService.update_tag(
        actor=actor_of(request), tag_id=tag_id, **payload.model_dump(exclude_unset=True)
    )
    return get_tag(request, tag_id)


@tags_router.delete("/tags/{tag_id}", response=responses({204: None}, 404), auth=WRITE)
def delete_tag(request, tag_id: UUID):
    """Delete a tag and take it off every customer."""
    TagService.delete_tag(actor=actor_of(request), tag_id=tag_id)
    return Status(204, None)
