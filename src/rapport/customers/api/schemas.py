"""Request and response shapes of the customer core's endpoints."""

import datetime as dt
from typing import Literal
from uuid import UUID

from ninja import Schema
from pydantic import Field

from rapport.customers import selectors
from rapport.customers.models import Customer
from rapport.schemas import InputSchema, PageQuery, Timestamp

ContactPointType = Literal[
    "phone", "email", "whatsapp", "instagram", "facebook", "telegram", "other"
]
GenderValue = Literal["", "female", "male", "non_binary", "other"]
ContactMethodValue = Literal["", "whatsapp", "sms", "email", "phone", "push"]


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
    verified_at: dt.datetime | None
    created_at: dt.datetime


class ExternalIdentityOut(Schema):
    id: UUID = Field(alias="uuid")
    provider: str
    external_id: str
    metadata: dict
    created_at: dt.datetime


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
    created_after: Timestamp | None = None
    created_before: Timestamp | None = None
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


class ContactPointIn(InputSchema):
    type: ContactPointType
    value: str = Field(
        min_length=1,
        max_length=254,
        description="Phones and WhatsApp in any common format (stored as E.164 using the "
        "tenant's region), emails lower-cased, Instagram as @name, name or a profile URL",
        examples=["0803 123 4567"],
    )
    is_primary: bool = Field(False, description="The first contact point of a type is primary")
    is_verified: bool = False


class ContactPointPatch(InputSchema):
    """Only the fields sent change. A primary stays primary until another is made primary."""

    is_primary: bool | None = None
    is_verified: bool | None = None


class ExternalIdentityIn(InputSchema):
    provider: str = Field(
        min_length=1,
        max_length=50,
        description="The other system, as a lower-case slug",
        examples=["shopify", "square", "manychat"],
    )
    external_id: str = Field(min_length=1, max_length=200, description="The id it gives them")
    metadata: dict | None = None


class ReferrerOut(Schema):
    code: str
    display_name: str
    referral_count: int
