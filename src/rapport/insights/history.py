"""What a recalculation reads: orders, visits, messages and order lines, as numpy columns.

Recalculation is set-based: each read is one query over a range of customers whose rows come
back as whole numpy columns, never one query per customer. On PostgreSQL the rows stream out
with binary COPY and are read straight into arrays; elsewhere (SQLite) they come from an
ordinary cursor. Times are seconds since 1970 on the tenant's wall clock, so that days,
weekdays and hours are the customer's own.

Orders are read through the order-history backend (seed 000's OrderHistoryBackend): commerce's
own is read in SQL; a project's own backend is read record by record with `iter_orders`.
"""

import datetime as dt
import struct
import zoneinfo
from dataclasses import dataclass

import numpy as np
from django.db import connection
from django.db.models import (
    BigIntegerField,
    Case,
    F,
    Func,
    IntegerField,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce

from rapport.commerce.history import (
    CommerceOrderHistoryBackend,
    get_order_history_backend,
    sold_orders,
)
from rapport.commerce.models import SOLD, Channel, Order, OrderLine, Visit, VisitStatus
from rapport.customers.models import Customer
from rapport.tenancy.models import Tenant
from rapport.timeline.models import Direction, Interaction, InteractionType

CHANNELS = tuple(Channel.values)  # an order's channel is its index here
VISIT_STATUSES = tuple(VisitStatus.values)
MESSAGE_TYPES = (
    InteractionType.EMAIL,
    InteractionType.SMS,
    InteractionType.WHATSAPP,
    InteractionType.CHAT,
)
COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
COPY_HEADER = len(COPY_SIGNATURE) + 8  # signature, flags, header extension length


@dataclass(frozen=True)
class CustomerRange:
    """Customers of a tenant whose ids are in [first, last]; None for the end of the range."""

    tenant: Tenant
    first: int | None = None
    last: int | None = None

    def filter(self, rows: QuerySet, field: str = "customer_id") -> QuerySet:
        rows = rows.filter(tenant=self.tenant)
        if self.first is not None:
            rows = rows.filter(**{f"{field}__gte": self.first})
        if self.last is not None:
            rows = rows.filter(**{f"{field}__lte": self.last})
        return rows


class LocalSeconds(Func):
    """PostgreSQL: a timestamp as seconds since 1970 on a timezone's wall clock."""

    output_field = BigIntegerField()

    def __init__(self, expression, zone: str):
        super().__init__(expression, Value(zone))

    def as_sql(self, compiler, connection, **extra):
        timestamp, params = compiler.compile(self.source_expressions[0])
        zone, zone_params = compiler.compile(self.source_expressions[1])
        sql = f"EXTRACT(EPOCH FROM ({timestamp} AT TIME ZONE {zone}))::bigint"
        return sql, (*params, *zone_params)


def _is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def _columns(rows: QuerySet, names: list[str], times: dict[str, str]) -> dict[str, np.ndarray]:
    """The queryset's `names` as int64 columns; `times` maps a datetime field to a zone name."""
    if _is_postgresql():
        annotations = {
            f"_{name}": LocalSeconds(F(name), times[name])
            if name in times
            else Cast(F(name), BigIntegerField())
            for name in names
        }
        rows = rows.annotate(**annotations).values_list(*annotations)
        return dict(zip(names, _copy_binary(rows, len(names)), strict=True))
    values = list(rows.values_list(*names))
    if not values:
        return {name: np.zeros(0, dtype=np.int64) for name in names}
    columns = list(zip(*values, strict=True))
    result = {}
    for name, column in zip(names, columns, strict=True):
        if name in times:
            zone = zoneinfo.ZoneInfo(times[name])
            column = [_wall_seconds(value, zone) for value in column]
        result[name] = np.asarray(column, dtype=np.int64)
    return result


def _wall_seconds(moment: dt.datetime, zone: zoneinfo.ZoneInfo) -> int:
    wall = moment.astimezone(zone).replace(tzinfo=dt.UTC)
    return int(wall.timestamp())


def _copy_binary(rows: QuerySet, count: int) -> list[np.ndarray]:
    """Stream the rows (every column a non-null bigint) with COPY … (FORMAT BINARY)."""
    sql, params = rows.query.sql_with_params()
    statement = connection.ops.compose_sql(f"COPY ({sql}) TO STDOUT (FORMAT BINARY)", params)
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        data = b"".join(bytes(block) for block in copy)
    if not data.startswith(COPY_SIGNATURE):
        raise ValueError("Not a binary COPY stream")
    layout = np.dtype(
        [("fields", ">i2")] + [item for i in range(count) for item in _field_layout(i)]
    )
    body = data[COPY_HEADER:-2]  # the trailer is a field count of -1
    (extension,) = struct.unpack(">i", data[COPY_HEADER - 4 : COPY_HEADER])
    body = body[extension:]
    records = np.frombuffer(body, dtype=layout)
    if len(records) and (
        (records["fields"] != count).any()
        or any((records[f"length{i}"] != 8).any() for i in range(count))
    ):
        raise ValueError("A column was null or not a bigint")
    return [records[f"value{i}"].astype(np.int64) for i in range(count)]


def _field_layout(index: int) -> list[tuple[str, str]]:
    return [(f"length{index}", ">i4"), (f"value{index}", ">i8")]


@dataclass(frozen=True)
class Orders:
    """Sold orders worth something, sorted by customer then time."""

    customer: np.ndarray  # customer id
    seconds: np.ndarray  # placed_at on the tenant's wall clock
    utc_seconds: np.ndarray  # placed_at since 1970 UTC
    net_q: np.ndarray  # what was paid less what was refunded (as of the history's end)
    channel: np.ndarray  # index into CHANNELS

    def __len__(self) -> int:
        return len(self.customer)


def read_orders(scope: CustomerRange, *, as_of: dt.datetime, past: bool) -> Orders:
    """The scope's sold orders placed before `as_of`, net of refunds made before it.

    `past` says `as_of` is a moment already gone, whose refunds must be read as they stood.
    A fully refunded order is no purchase and is left out.
    """
    backend = get_order_history_backend()
    if type(backend) is not CommerceOrderHistoryBackend:
        return _orders_from_backend(backend, scope, as_of)
    rows = scope.filter(Order.objects.all())
    if past:
        rows = sold_orders(rows, as_of).annotate(net=F("total_q") - F("refunded_then"))
    else:
        rows = rows.filter(status__in=SOLD, placed_at__lt=as_of).annotate(
            net=F("total_q") - F("refunded_q")
        )
    rows = rows.filter(net__gt=0).annotate(
        placed_utc=F("placed_at"),
        channel_index=Case(
            *[When(channel=name, then=Value(i)) for i, name in enumerate(CHANNELS)],
            default=Value(len(CHANNELS)),
            output_field=IntegerField(),
        ),
    )
    columns = _columns(
        rows.order_by(),
        ["customer_id", "placed_at", "placed_utc", "net", "channel_index"],
        {"placed_at": scope.tenant.timezone, "placed_utc": "UTC"},
    )
    return _sorted_orders(*columns.values())


def _sorted_orders(customer, seconds, utc_seconds, net_q, channel) -> Orders:
    order = np.lexsort((utc_seconds, customer))
    return Orders(
        customer[order],
        seconds[order],
        utc_seconds[order],
        net_q[order],
        channel[order].astype(np.int8),
    )


def _orders_from_backend(backend, scope: CustomerRange, as_of: dt.datetime) -> Orders:
    """A project's own backend, read record by record (every order of the tenant)."""
    ids = dict(
        scope.filter(Customer.objects.filter(merged_into__isnull=True), field="id").values_list(
            "code", "id"
        )
    )
    zone = zoneinfo.ZoneInfo(scope.tenant.timezone)
    customer, seconds, utc_seconds, net_q, channel = [], [], [], [], []
    for record in backend.iter_orders(scope.tenant, until=as_of):
        customer_id = ids.get(record.customer_code)
        if customer_id is None or record.net_q <= 0 or record.placed_at >= as_of:
            continue
        customer.append(customer_id)
        seconds.append(_wall_seconds(record.placed_at, zone))
        utc_seconds.append(int(record.placed_at.timestamp()))
        net_q.append(record.net_q)
        channel.append(CHANNELS.index(record.channel) if record.channel in CHANNELS else 4)
    return _sorted_orders(
        *(
            np.asarray(column, dtype=np.int64)
            for column in (customer, seconds, utc_seconds, net_q, channel)
        )
    )


@dataclass(frozen=True)
class Visits:
    """Visits and appointments up to the history's end, sorted by customer then time."""

    customer: np.ndarray
    seconds: np.ndarray  # occurred_at on the tenant's wall clock
    utc_seconds: np.ndarray
    status: np.ndarray  # index into VISIT_STATUSES
    is_emergency: np.ndarray  # bool

    def __len__(self) -> int:
        return len(self.customer)


def read_visits(scope: CustomerRange, *, as_of: dt.datetime, emergency_words) -> Visits:
    """The scope's visits that happened (or were due) before `as_of`."""
    is_emergency = Q()
    for word in emergency_words:
        is_emergency |= Q(service__icontains=word)
    rows = (
        scope.filter(Visit.objects.filter(occurred_at__lt=as_of))
        .annotate(
            status_index=Case(
                *[When(status=name, then=Value(i)) for i, name in enumerate(VISIT_STATUSES)],
                default=Value(len(VISIT_STATUSES)),
                output_field=IntegerField(),
            ),
            emergency=Case(When(is_emergency, then=Value(1)), default=Value(0))
            if is_emergency
            else Value(0),
            occurred_utc=F("occurred_at"),
        )
        .order_by()
    )
    columns = _columns(
        rows,
        ["customer_id", "occurred_at", "occurred_utc", "status_index", "emergency"],
        {"occurred_at": scope.tenant.timezone, "occurred_utc": "UTC"},
    )
    order = np.lexsort((columns["occurred_utc"], columns["customer_id"]))
    return Visits(
        columns["customer_id"][order],
        columns["occurred_at"][order],
        columns["occurred_utc"][order],
        columns["status_index"][order].astype(np.int8),
        columns["emergency"][order].astype(bool),
    )


@dataclass(frozen=True)
class Messages:
    """Interactions up to the history's end, sorted by customer then time."""

    customer: np.ndarray
    seconds: np.ndarray  # occurred_at, UTC
    is_outbound: np.ndarray  # bool
    is_message: np.ndarray  # bool: an email, text, WhatsApp or chat message

    def __len__(self) -> int:
        return len(self.customer)


def read_messages(scope: CustomerRange, *, as_of: dt.datetime) -> Messages:
    """The scope's interactions before `as_of`: who wrote to whom, when."""
    rows = (
        scope.filter(Interaction.objects.filter(occurred_at__lt=as_of))
        .annotate(
            outbound=Case(When(direction=Direction.OUTBOUND, then=Value(1)), default=Value(0)),
            message=Case(When(interaction_type__in=MESSAGE_TYPES, then=Value(1)), default=Value(0)),
        )
        .order_by()
    )
    columns = _columns(
        rows, ["customer_id", "occurred_at", "outbound", "message"], {"occurred_at": "UTC"}
    )
    order = np.lexsort((columns["occurred_at"], columns["customer_id"]))
    return Messages(
        columns["customer_id"][order],
        columns["occurred_at"][order],
        columns["outbound"][order].astype(bool),
        columns["message"][order].astype(bool),
    )


def read_favourites(
    scope: CustomerRange, *, as_of: dt.datetime, field: str, keep: int
) -> dict[int, list[str]]:
    """Each customer's `keep` most bought products (or categories), by quantity, in one query.

    Names tie by name, so the answer is the same every time.
    """
    if type(get_order_history_backend()) is not CommerceOrderHistoryBackend:
        return {}
    lines = (
        OrderLine.objects.filter(
            order__in=scope.filter(Order.objects.all()).filter(status__in=SOLD, placed_at__lt=as_of)
        )
        .exclude(**{field: ""})
        .annotate(buyer=F("order__customer_id"), item=F(field))
        .values("buyer", "item")
        .annotate(bought=Coalesce(Sum("quantity"), 0))
        .order_by()
    )
    sql, params = lines.query.sql_with_params()
    ranked = (
        "SELECT buyer, item FROM (SELECT t.buyer, t.item, ROW_NUMBER() OVER (PARTITION BY"
        f" t.buyer ORDER BY t.bought DESC, t.item) AS place FROM ({sql}) t) ranked"
        " WHERE place <= %s"
    )
    favourites: dict[int, list[str]] = {}
    with connection.cursor() as cursor:
        cursor.execute(ranked, (*params, keep))
        for customer, item in cursor.fetchall():
            favourites.setdefault(customer, []).append(item)
    return favourites
