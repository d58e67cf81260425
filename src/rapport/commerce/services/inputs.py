"""What callers hand the commerce services, and the checks that turn it into storable values.

Every check appends to an `errors` dict under the caller's field names (`total_q`,
`lines[2].quantity`, or `orders[3].total_q` in a batch), so one answer names every problem.
"""

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
import pycountry
from django.utils import timezone

from rapport.commerce.models import Channel, Status, VisitStatus
from rapport.customers.models import Customer
from rapport.customers.normalization import is_plain_json
from rapport.tenancy.models import Tenant

EXTERNAL_ID_LIMIT = 100
SOURCE_LIMIT = 50
LINES_LIMIT = 500
# Quantities and amounts: far beyond any till, and a line's total stays inside 64 bits.
QUANTITY_LIMIT = 1_000_000
AMOUNT_LIMIT = 2**63 - 1
UNIT_PRICE_LIMIT = 10**12
NOTES_LIMIT = 10_000
# A till's clock may run ahead of ours; an order further in the future is a mistake.
FUTURE_SKEW = dt.timedelta(days=1)
NEW_ORDER_STATUSES = (Status.PENDING, Status.COMPLETED, Status.CANCELLED)


@dataclass(frozen=True)
class LineInput:
    """One line of an order as the sending system reports it."""

    name: str
    unit_price_q: int
    quantity: int = 1
    sku: str = ""
    category: str = ""


@dataclass(frozen=True)
class OrderInput:
    """An order for a customer the caller has already found.

    `total_q` None means the sum of the lines (then lines are required). A total that differs
    from the lines' sum is kept as given: it may hold shipping, discounts or tips.
    `currency` "" means the tenant's currency.
    """

    customer: Customer
    external_id: str
    placed_at: dt.datetime
    lines: tuple[LineInput, ...] = ()
    total_q: int | None = None
    currency: str = ""
    channel: str = Channel.POS
    status: str = Status.COMPLETED  # pending, completed or cancelled
    source: str = "api"
    completed_at: dt.datetime | None = None
    metadata: dict = field(default_factory=dict)


@dataclass(frozen=True)
class VisitInput:
    """A visit or appointment for a customer the caller has already found."""

    customer: Customer
    external_id: str
    service: str
    status: str = VisitStatus.COMPLETED
    scheduled_at: dt.datetime | None = None
    completed_at: dt.datetime | None = None
    staff: str = ""
    pet_uuid: uuid.UUID | None = None
    pet_name: str = ""
    price_q: int | None = None
    currency: str = ""
    source: str = "api"
    notes: str = ""
    metadata: dict = field(default_factory=dict)


@dataclass(frozen=True)
class CleanLine:
    position: int
    sku: str
    name: str
    category: str
    quantity: int
    unit_price_q: int
    total_q: int

    def key(self) -> tuple:
        """What two reports of one line must agree on."""
        return (self.sku, self.name, self.category, self.quantity, self.unit_price_q)


@dataclass(frozen=True)
class CleanOrder:
    customer: Customer
    source: str
    external_id: str
    channel: str
    status: str
    placed_at: dt.datetime
    completed_at: dt.datetime | None
    total_q: int
    currency: str
    lines: tuple[CleanLine, ...]
    metadata: dict


@dataclass(frozen=True)
class CleanVisit:
    customer: Customer
    source: str
    external_id: str
    service: str
    status: str
    scheduled_at: dt.datetime | None
    completed_at: dt.datetime | None
    staff: str
    pet_uuid: uuid.UUID | None
    pet_name: str
    price_q: int | None
    currency: str
    notes: str
    metadata: dict


# --- single values ----------------------------------------------------------------------------


def is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def whole(
    errors: dict[str, str], name: str, value: Any, *, minimum: int = 0, limit: int = AMOUNT_LIMIT
) -> int:
    if not is_whole(value) or value < minimum:
        errors[name] = f"Must be a whole number of at least {minimum}"
        return minimum
    if value > limit:
        errors[name] = f"At most {limit:,}"
        return minimum
    return value


def text(
    errors: dict[str, str], name: str, value: Any, *, limit: int, required: bool = False
) -> str:
    """`value` stripped; an error if it is not text, holds NUL, is too long, or is blank."""
    if not isinstance(value, str) or "\x00" in value:
        errors[name] = "Must be text"
        return ""
    value = value.strip()
    if required and not value:
        errors[name] = "Required"
    elif len(value) > limit:
        errors[name] = f"At most {limit} characters"
    return value


def source(errors: dict[str, str], name: str, value: Any) -> str:
    """The sending system's name, lower-cased so `Shopify` and `shopify` are one source."""
    return text(errors, name, value, limit=SOURCE_LIMIT, required=True).lower()


def choice(errors: dict[str, str], name: str, value: Any, choices) -> str:
    if value not in choices:
        errors[name] = f"Use one of {', '.join(choices)}"
        return ""
    return str(value)


def moment(errors: dict[str, str], name: str, value: Any) -> dt.datetime | None:
    """An aware time in UTC, not more than a day ahead; None stays None."""
    if value is None:
        return None
    if not isinstance(value, dt.datetime) or timezone.is_naive(value):
        errors[name] = "Must be a date and time with its UTC offset"
        return None
    try:
        value = value.astimezone(dt.UTC)
    except OverflowError:
        errors[name] = "The time is out of range"
        return None
    if value > timezone.now() + FUTURE_SKEW:
        errors[name] = "Is in the future"
        return None
    return value


def currency(errors: dict[str, str], name: str, value: Any, tenant: Tenant) -> str:
    """An ISO 4217 code, upper-cased; "" is the tenant's currency."""
    if value == "" or value is None:
        return tenant.currency
    if not isinstance(value, str) or len(value) != 3 or not value.isascii():
        errors[name] = "Must be an ISO 4217 currency code such as NGN"
        return ""
    if pycountry.currencies.get(alpha_3=value.upper()) is None:
        errors[name] = f"{value!r} is not an ISO 4217 currency code"
        return ""
    return value.upper()


def metadata(errors: dict[str, str], name: str, value: Any) -> dict:
    """A JSON object that survives storage unchanged."""
    if value is None:
        return {}
    if not isinstance(value, dict) or not is_plain_json(value):
        errors[name] = "Must be a JSON object: finite numbers, integers within 64 bits"
        return {}
    if b"\\u0000" in orjson.dumps(value):
        errors[name] = "Must not hold NUL characters"
        return {}
    return value


def customer(errors: dict[str, str], name: str, value: Any, tenant: Tenant) -> Customer | None:
    """A customer of the acting tenant whose data was not erased."""
    if not isinstance(value, Customer) or value.pk is None:
        errors[name] = "Must be a stored customer"
        return None
    if value.tenant_id != tenant.pk:
        errors[name] = "The customer belongs to another tenant"
        return None
    if value.erased_at is not None:
        errors[name] = f"Customer {value.code}'s data was erased: nothing new is recorded"
        return None
    return value


# --- orders and visits ------------------------------------------------------------------------


def _lines(errors: dict[str, str], prefix: str, value: Any) -> tuple[CleanLine, ...]:
    if not isinstance(value, tuple | list):
        errors[f"{prefix}lines"] = "Must be a list of order lines"
        return ()
    if len(value) > LINES_LIMIT:
        errors[f"{prefix}lines"] = f"At most {LINES_LIMIT} lines"
        return ()
    lines = []
    for position, line in enumerate(value):
        name = f"{prefix}lines[{position}]"
        if isinstance(line, Mapping):
            unknown = set(line) - {"name", "unit_price_q", "quantity", "sku", "category"}
            if unknown or "name" not in line or "unit_price_q" not in line:
                errors[name] = "Give name and unit_price_q, and optionally quantity, sku, category"
                continue
            line = LineInput(**line)
        if not isinstance(line, LineInput):
            errors[name] = "Must be an order line"
            continue
        quantity = whole(errors, f"{name}.quantity", line.quantity, minimum=1, limit=QUANTITY_LIMIT)
        unit_price_q = whole(
            errors, f"{name}.unit_price_q", line.unit_price_q, limit=UNIT_PRICE_LIMIT
        )
        lines.append(
            CleanLine(
                position=position,
                sku=text(errors, f"{name}.sku", line.sku, limit=100),
                name=text(errors, f"{name}.name", line.name, limit=200, required=True),
                category=text(errors, f"{name}.category", line.category, limit=100),
                quantity=quantity,
                unit_price_q=unit_price_q,
                total_q=quantity * unit_price_q,
            )
        )
    return tuple(lines)


def check_order(
    errors: dict[str, str], order: Any, tenant: Tenant, prefix: str = ""
) -> CleanOrder | None:
    """The order's storable values, or None with what is wrong in `errors`."""
    if not isinstance(order, OrderInput):
        errors[prefix.rstrip(".") or "order"] = "Must be an OrderInput"
        return None
    before = len(errors)
    who = customer(errors, f"{prefix}customer", order.customer, tenant)
    lines = _lines(errors, prefix, order.lines)
    if order.total_q is None:
        if not order.lines:
            errors[f"{prefix}total_q"] = "Required when there are no lines"
        total_q = sum(line.total_q for line in lines)
        if total_q > AMOUNT_LIMIT:
            errors[f"{prefix}lines"] = "The lines add up to more than an amount can hold"
    else:
        total_q = whole(errors, f"{prefix}total_q", order.total_q)
    status = choice(errors, f"{prefix}status", order.status, NEW_ORDER_STATUSES)
    placed_at = moment(errors, f"{prefix}placed_at", order.placed_at)
    if order.placed_at is None:
        errors[f"{prefix}placed_at"] = "Required"
    completed_at = moment(errors, f"{prefix}completed_at", order.completed_at)
    if placed_at and completed_at and completed_at < placed_at:
        errors[f"{prefix}completed_at"] = "Is before placed_at"
    clean = CleanOrder(
        customer=who,
        source=source(errors, f"{prefix}source", order.source),
        external_id=text(
            errors,
            f"{prefix}external_id",
            order.external_id,
            limit=EXTERNAL_ID_LIMIT,
            required=True,
        ),
        channel=choice(errors, f"{prefix}channel", order.channel, Channel.values),
        status=status,
        placed_at=placed_at,
        completed_at=completed_at,
        total_q=total_q,
        currency=currency(errors, f"{prefix}currency", order.currency, tenant),
        lines=lines,
        metadata=metadata(errors, f"{prefix}metadata", order.metadata),
    )
    return clean if len(errors) == before else None


def check_visit(errors: dict[str, str], visit: Any, tenant: Tenant) -> CleanVisit | None:
    """The visit's storable values, or None with what is wrong in `errors`."""
    if not isinstance(visit, VisitInput):
        errors["visit"] = "Must be a VisitInput"
        return None
    who = customer(errors, "customer", visit.customer, tenant)
    status = choice(errors, "status", visit.status, VisitStatus.values)
    scheduled_at = _any_moment(errors, "scheduled_at", visit.scheduled_at)
    completed_at = moment(errors, "completed_at", visit.completed_at)
    if status == VisitStatus.SCHEDULED and scheduled_at is None and "scheduled_at" not in errors:
        errors["scheduled_at"] = "A scheduled visit needs the time it is booked for"
    pet_uuid = visit.pet_uuid
    if isinstance(pet_uuid, str):
        try:
            pet_uuid = uuid.UUID(pet_uuid)
        except ValueError:
            pet_uuid = False
    if pet_uuid is not None and not isinstance(pet_uuid, uuid.UUID):
        errors["pet_uuid"] = "Must be a UUID"
        pet_uuid = None
    price_q = None if visit.price_q is None else whole(errors, "price_q", visit.price_q)
    clean = CleanVisit(
        customer=who,
        source=source(errors, "source", visit.source),
        external_id=text(
            errors, "external_id", visit.external_id, limit=EXTERNAL_ID_LIMIT, required=True
        ),
        service=text(errors, "service", visit.service, limit=200, required=True),
        status=status,
        scheduled_at=scheduled_at,
        completed_at=completed_at,
        staff=text(errors, "staff", visit.staff, limit=150),
        pet_uuid=pet_uuid,
        pet_name=text(errors, "pet_name", visit.pet_name, limit=100),
        price_q=price_q,
        currency=currency(errors, "currency", visit.currency, tenant),
        notes=text(errors, "notes", visit.notes, limit=NOTES_LIMIT),
        metadata=metadata(errors, "metadata", visit.metadata),
    )
    return None if errors else clean


def _any_moment(errors: dict[str, str], name: str, value: Any) -> dt.datetime | None:
    """An aware time in UTC that may lie in the future (an appointment)."""
    if value is None:
        return None
    if not isinstance(value, dt.datetime) or timezone.is_naive(value):
        errors[name] = "Must be a date and time with its UTC offset"
        return None
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        errors[name] = "The time is out of range"
        return None
