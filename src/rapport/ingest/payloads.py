"""What other systems send in: customer references, orders, visits and inbound event envelopes.

The same schemas validate the REST API's bodies and the broker's messages, so both doors accept
exactly the same payloads and name the same fields when one is wrong.
"""

import datetime as dt
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, Field, TypeAdapter, WrapValidator, model_validator
from pydantic import ValidationError as PydanticValidationError

from rapport.customers.normalization import is_plain_json
from rapport.exceptions import InvalidInput
from rapport.schemas import InputSchema, Timestamp

EXTERNAL_ID_LIMIT = 100  # commerce keeps an order's or visit's id in its source this wide
SOURCE_LIMIT = 50
LINES_LIMIT = 500
BULK_LIMIT = 10_000
EXTERNAL_IDS_LIMIT = 10
AMOUNT_LIMIT = 2**63 - 1
UNIT_PRICE_LIMIT = 10**12
QUANTITY_LIMIT = 1_000_000

Channel = Literal["pos", "online", "marketplace", "phone"]
NewOrderStatus = Literal["completed", "pending", "cancelled"]
Gender = Literal["", "female", "male", "non_binary", "other"]


def _plain_json(value: dict) -> dict:
    # Stored metadata must render again on every read: no NaN, no integers beyond 64 bits.
    if not is_plain_json(value):
        raise ValueError("Plain JSON only: finite numbers, integers within 64 bits")
    return value


Metadata = Annotated[dict[str, Any], AfterValidator(_plain_json)]
Currency = Annotated[str, Field(pattern=r"^[A-Za-z]{3}$", examples=["NGN"])]
Amount = Annotated[int, Field(ge=0, le=AMOUNT_LIMIT)]
ExternalId = Annotated[
    str,
    Field(min_length=1, max_length=EXTERNAL_ID_LIMIT, pattern=r"\S", examples=["ORD-1042"]),
]
Source = Annotated[
    str,
    Field(
        min_length=1,
        max_length=SOURCE_LIMIT,
        pattern=r"\S",
        description="The sending system; an order is unique by its source and external_id",
        examples=["shopify"],
    ),
]


# --- customers --------------------------------------------------------------------------------


class CustomerRefIn(InputSchema):
    """Who the order or visit is for: an existing customer's `code`, or identifiers.

    Identifiers find the customer by `external_ids`, then `email`, then `phone`, and create
    one (with the names given) when none matches; they need the identity app.
    """

    code: str | None = Field(None, min_length=1, max_length=40, examples=["C7K2M9QX4P"])
    email: str | None = Field(None, max_length=254, examples=["ada@example.com"])
    phone: str | None = Field(None, max_length=40, examples=["0803 123 4567"])
    external_ids: dict[str, str] | None = Field(
        None,
        max_length=EXTERNAL_IDS_LIMIT,
        description="The customer's ids in other systems, by provider",
        examples=[{"shopify": "gid://shopify/Customer/42"}],
    )
    first_name: str | None = Field(None, max_length=100)
    last_name: str | None = Field(None, max_length=100)

    @model_validator(mode="after")
    def _one_way(self):
        identifiers = (self.email, self.phone, self.external_ids)
        if self.code is not None and any(value is not None for value in identifiers):
            raise ValueError("Give a customer code or identifiers, not both")
        if self.code is None and not any(identifiers):
            raise ValueError("Give a customer code, or an email, phone or external_ids")
        return self


# --- orders -----------------------------------------------------------------------------------


class LineItemIn(InputSchema):
    name: str = Field(min_length=1, max_length=200, examples=["Jollof rice"])
    unit_price_q: int = Field(ge=0, le=UNIT_PRICE_LIMIT, description="Minor units")
    quantity: int = Field(1, ge=1, le=QUANTITY_LIMIT)
    sku: str = Field("", max_length=100)
    category: str = Field("", max_length=100, examples=["food"])


class _OrderFields(InputSchema):
    external_id: ExternalId
    source: Source = "api"
    lines: list[LineItemIn] = Field(default_factory=list, max_length=LINES_LIMIT)
    total_q: Amount | None = Field(
        None, description="What was paid, in minor units; the lines' sum when absent"
    )
    currency: Currency | None = Field(None, description="ISO 4217; the tenant's when absent")
    channel: Channel = "pos"
    completed_at: Timestamp | None = None
    metadata: Metadata = Field(default_factory=dict)


class OrderIn(_OrderFields):
    """One order. Sending it again (same source and external_id) changes nothing, or moves its
    status forward."""

    customer: CustomerRefIn
    placed_at: Timestamp
    status: NewOrderStatus = "completed"


class OrderBulkIn(InputSchema):
    """Up to 10,000 orders in one transaction: all are recorded, or none."""

    orders: list[OrderIn] = Field(min_length=1, max_length=BULK_LIMIT)
    earn_points: bool = Field(
        False,
        description="Whether completed orders new to rapport earn loyalty points "
        "(off: a backfill of history earns nothing)",
    )


class RefundIn(InputSchema):
    amount_q: int | None = Field(
        None, ge=1, le=AMOUNT_LIMIT, description="Minor units; what is left to refund when absent"
    )
    reason: str = Field("", max_length=200)
    reference: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="Your id of the refund: the same reference again refunds once",
    )


# --- visits -----------------------------------------------------------------------------------


class PetRefIn(InputSchema):
    """The pet seen: a registered pet's `id`, or a `name` matched among the customer's pets."""

    id: UUID | None = None
    name: str | None = Field(None, min_length=1, max_length=100)

    @model_validator(mode="after")
    def _one_way(self):
        if (self.id is None) == (self.name is None):
            raise ValueError("Give the pet's id or its name")
        return self


class VisitIn(InputSchema):
    """A visit or appointment; sending it again moves its status forward or changes nothing."""

    customer: CustomerRefIn
    external_id: ExternalId
    service: str = Field(min_length=1, max_length=200, examples=["Vaccination"])
    status: Literal["completed", "scheduled", "cancelled", "no_show"] = "completed"
    scheduled_at: Timestamp | None = None
    completed_at: Timestamp | None = None
    staff: str = Field("", max_length=150)
    pet: PetRefIn | None = None
    price_q: Amount | None = None
    currency: Currency | None = None
    source: Source = "api"
    notes: str = Field("", max_length=10_000)
    metadata: Metadata = Field(default_factory=dict)


# --- inbound events ---------------------------------------------------------------------------


class UserRegisteredData(InputSchema):
    """Someone signed up in another system: find or create their customer."""

    user_id: str = Field(min_length=1, max_length=200, pattern=r"\S", examples=["u_1042"])
    provider: str = Field(
        "auth",
        min_length=1,
        max_length=50,
        description="The system they registered with: the user id is linked to the customer "
        "as an external identity of this provider",
    )
    email: str | None = Field(None, max_length=254)
    phone: str | None = Field(None, max_length=40)
    first_name: str | None = Field(None, max_length=100)
    last_name: str | None = Field(None, max_length=100)
    date_of_birth: dt.date | None = None
    gender: Gender | None = None
    preferred_language: str | None = Field(None, max_length=10, examples=["en"])


class OrderCreatedData(_OrderFields):
    """An order was placed: record it (pending unless a status is given)."""

    customer: CustomerRefIn
    placed_at: Timestamp | None = Field(None, description="The envelope's timestamp when absent")
    status: NewOrderStatus = "pending"


class OrderCompletedData(_OrderFields):
    """An order was completed: complete the known order, or record it completed when it is new
    (then `customer` and `lines` or `total_q` are needed)."""

    customer: CustomerRefIn | None = None
    placed_at: Timestamp | None = None


class OrderRefundedData(InputSchema):
    """Money was given back on an order: refund it and take back the points it earned."""

    external_id: ExternalId
    source: Source = "api"
    amount_q: int | None = Field(
        None, ge=1, le=AMOUNT_LIMIT, description="What is left to refund when absent"
    )
    reason: str = Field("", max_length=200)
    reference: str | None = Field(
        None, min_length=1, max_length=200, description="The event's id when absent"
    )


class AppointmentCompletedData(InputSchema):
    """An appointment took place: record a completed visit."""

    customer: CustomerRefIn
    external_id: ExternalId = Field(description="The appointment's id in its source")
    service: str = Field(min_length=1, max_length=200, examples=["Vaccination"])
    staff: str = Field("", max_length=150)
    scheduled_at: Timestamp | None = None
    completed_at: Timestamp | None = Field(None, description="The envelope's timestamp when absent")
    pet: PetRefIn | None = None
    price_q: Amount | None = None
    currency: Currency | None = None
    source: Source = "api"
    notes: str = Field("", max_length=10_000)
    metadata: Metadata = Field(default_factory=dict)


class InvoicePaidData(InputSchema):
    """An invoice was paid: record it as a completed order of source `billing`."""

    customer: CustomerRefIn
    external_id: ExternalId = Field(description="The invoice's id in the billing system")
    total_q: Amount
    currency: Currency | None = None
    paid_at: Timestamp | None = Field(None, description="The envelope's timestamp when absent")
    issued_at: Timestamp | None = Field(None, description="When it was issued; paid_at if absent")
    lines: list[LineItemIn] = Field(default_factory=list, max_length=LINES_LIMIT)
    channel: Channel = Field("pos", description="Where it was sold: at the counter by default")
    metadata: Metadata = Field(default_factory=dict)


class _Envelope(InputSchema):
    id: str = Field(
        min_length=1,
        max_length=200,
        pattern=r"\S",
        description="The sender's id of the event: the same id again changes nothing",
        examples=["4f1c2a9e-5b7d-4c61-9a0e-2d8f3b6c1e77"],
    )
    timestamp: Timestamp | None = Field(None, description="When it happened (ISO 8601)")
    tenant: str | None = Field(
        None, max_length=50, description="The tenant's slug; the API key's own when absent"
    )


class UserRegisteredEventIn(_Envelope):
    type: Literal["user.registered"]
    data: UserRegisteredData


class OrderCreatedEventIn(_Envelope):
    type: Literal["order.created"]
    data: OrderCreatedData


class OrderCompletedEventIn(_Envelope):
    type: Literal["order.completed"]
    data: OrderCompletedData


class OrderRefundedEventIn(_Envelope):
    type: Literal["order.refunded"]
    data: OrderRefundedData


class AppointmentCompletedEventIn(_Envelope):
    type: Literal["appointment.completed"]
    data: AppointmentCompletedData


class InvoicePaidEventIn(_Envelope):
    type: Literal["invoice.paid"]
    data: InvoicePaidData


Envelope = (
    UserRegisteredEventIn
    | OrderCreatedEventIn
    | OrderCompletedEventIn
    | OrderRefundedEventIn
    | AppointmentCompletedEventIn
    | InvoicePaidEventIn
)


def _plain_locations(value: Any, handler) -> Any:
    """Errors located as the envelope reads (`data.total_q`), not under the type's tag."""
    try:
        return handler(value)
    except PydanticValidationError as error:
        details = []
        for item in error.errors():
            location = tuple(item["loc"])
            if item["type"] in ("union_tag_invalid", "union_tag_not_found"):
                location = ("type",)
            elif location and location[0] in EVENT_TYPES:
                location = location[1:]
            detail = {"type": item["type"], "loc": location, "input": item["input"]}
            if "ctx" in item:
                detail["ctx"] = item["ctx"]
            details.append(detail)
        raise PydanticValidationError.from_exception_data(error.title, details) from None


EVENT_TYPES = (
    "user.registered",
    "order.created",
    "order.completed",
    "order.refunded",
    "appointment.completed",
    "invoice.paid",
)
# The envelope of every type; `type` picks which `data` schema applies.
InboundEventIn = Annotated[
    Annotated[Envelope, Field(discriminator="type")], WrapValidator(_plain_locations)
]
_ENVELOPE = TypeAdapter(InboundEventIn)


def field_name(location: tuple) -> str:
    """A pydantic error location as the API names fields: ('data', 'total_q') -> 'data.total_q'."""
    return ".".join(str(part) for part in location) or "body"


def parse_envelope(raw: Any) -> Envelope:
    """A received envelope, validated; InvalidInput naming every bad field otherwise."""
    try:
        return _ENVELOPE.validate_python(raw)
    except PydanticValidationError as error:
        fields: dict[str, str] = {}
        for item in error.errors():
            fields.setdefault(field_name(tuple(item.get("loc", ()))), item.get("msg", "Invalid"))
        raise InvalidInput("The event is not valid", fields=fields) from None
