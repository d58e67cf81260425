"""What a recalculation reads: orders, visits, messages and order lines, as numpy columns.

Recalculation is set-based: each read is one query over a range of customers whose rows come
back as whole numpy columns, never one query per customer. On PostgreSQL each column comes
packed into one binary value and is read straight into an array; elsewhere (SQLite) the rows
come from an ordinary cursor. Times are seconds since 1970 on the tenant's wall clock, so that days,
weekdays and hours are the customer's own.

Orders are read through the order-history backend (seed 000's OrderHistoryBackend): commerce's
own is read in SQL; a project's own backend is read record by record with `iter_orders`.
"""

import datetime as dt
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import psycopg
from django.db import connection
from django.db.models import (
    BigIntegerField,
    Case,
    F,
    Func,
    IntegerField,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast

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


def _is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def _columns(rows: QuerySet, names: list[str], times: set[str]) -> dict[str, np.ndarray]:
    """The queryset's `names` as int64 columns; those in `times` as seconds since 1970 UTC."""
    if _is_postgresql():
        annotations = {
            f"_{name}": Epoch(F(name)) if name in times else Cast(F(name), BigIntegerField())
            for name in names
        }
        rows = rows.annotate(**annotations).values_list(*annotations)
        return dict(zip(names, _packed_columns(rows, len(names)), strict=True))
    values = list(rows.values_list(*names))
    if not values:
        return {name: np.zeros(0, dtype=np.int64) for name in names}
    columns = list(zip(*values, strict=True))
    result = {}
    for name, column in zip(names, columns, strict=True):
        if name in times:
            column = [int(value.timestamp()) for value in column]
        result[name] = np.asarray(column, dtype=np.int64)
    return result


class Epoch(Func):
    """PostgreSQL: a timestamp as whole seconds since 1970 UTC."""

    template = "EXTRACT(EPOCH FROM %(expressions)s)::bigint"
    output_field = BigIntegerField()


DAY = 86_400
QUARTER_HOUR = 900


def wall_clock(utc: np.ndarray, zone_name: str) -> np.ndarray:
    """Seconds since 1970 UTC as seconds since 1970 on the zone's wall clock, vectorized.

    The zone's offset is asked once a day over the span of `utc`; where two days differ, the
    change is found to the quarter hour (every zone changes its clocks on one).
    """
    if not len(utc):
        return utc.copy()
    zone = zoneinfo.ZoneInfo(zone_name)

    def offset(seconds: int) -> int:
        return int(dt.datetime.fromtimestamp(seconds, zone).utcoffset().total_seconds())

    first = int(utc.min()) // DAY * DAY
    changes, offsets = [first], [offset(first)]
    for moment in range(first + DAY, int(utc.max()) + DAY, DAY):
        if offset(moment) != offsets[-1]:
            for quarter in range(moment - DAY + QUARTER_HOUR, moment + 1, QUARTER_HOUR):
                if offset(quarter) != offsets[-1]:
                    changes.append(quarter)
                    offsets.append(offset(quarter))
                    break
    index = np.searchsorted(np.asarray(changes), utc, side="right") - 1
    return utc + np.asarray(offsets, dtype=np.int64)[index]


def _fetch_binary(cursor, sql: str, params) -> tuple:
    """The one row of `sql`, sent by PostgreSQL in binary: a packed column arrives as its bytes,
    not as hexadecimal text twice its size."""
    with psycopg.Cursor(cursor.connection) as binary:
        binary.execute(sql, params, binary=True)
        return binary.fetchone()


def _packed_columns(rows: QuerySet, count: int) -> list[np.ndarray]:
    """The rows' columns (bigints), each packed by the database into one bytea, in one row.

    Packing rows with string_agg(int8send(…)) sends the whole column in one value, read with
    one numpy call, instead of a Python object or a COPY message per row.
    """
    sql, params = rows.query.sql_with_params()
    packed = ", ".join(f"string_agg(int8send(COALESCE(t.c{i}, 0)), '')" for i in range(count))
    aliases = ", ".join(f"c{i}" for i in range(count))
    with connection.cursor() as cursor:
        blobs = _fetch_binary(cursor, f"SELECT {packed} FROM ({sql}) t ({aliases})", params)
    return [
        np.frombuffer(blob, dtype=">i8").astype(np.int64)
        if blob is not None
        else np.zeros(0, dtype=np.int64)
        for blob in blobs
    ]


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

    @classmethod
    def joined(cls, parts: list["Orders"]) -> "Orders":
        """Orders read in parts, one after the other (parts in customer order stay sorted)."""
        names = list(cls.__dataclass_fields__)
        if not parts:
            return cls(*(np.zeros(0, dtype=np.int64) for _ in names))
        return cls(*(np.concatenate([getattr(part, name) for part in parts]) for name in names))

    def within(self, first: int, last: int) -> "Orders":
        """The orders of customers whose ids are in [first, last], without reading again."""
        start, stop = np.searchsorted(self.customer, [first, last + 1])
        return Orders(*(getattr(self, name)[start:stop] for name in self.__dataclass_fields__))


def reads_commerce() -> bool:
    """True when orders come from rapport.commerce (the default backend), read in SQL."""
    return type(get_order_history_backend()) is CommerceOrderHistoryBackend


def read_orders(scope: CustomerRange, *, as_of: dt.datetime, past: bool) -> Orders:
    """The scope's sold orders placed before `as_of`, net of refunds made before it.

    `past` says `as_of` is a moment already gone, whose refunds must be read as they stood.
    A fully refunded order is no purchase and is left out.
    """
    if not reads_commerce():
        return _orders_from_backend(get_order_history_backend(), scope, as_of)
    rows = scope.filter(Order.objects.all())
    if past:
        rows = sold_orders(rows, as_of).annotate(net=F("total_q") - F("refunded_then"))
    else:
        rows = rows.filter(status__in=SOLD, placed_at__lt=as_of).annotate(
            net=F("total_q") - F("refunded_q")
        )
    rows = rows.filter(net__gt=0).annotate(
        channel_index=Case(
            *[When(channel=name, then=Value(i)) for i, name in enumerate(CHANNELS)],
            default=Value(len(CHANNELS)),
            output_field=IntegerField(),
        ),
    )
    columns = _columns(
        rows.order_by(), ["customer_id", "placed_at", "net", "channel_index"], {"placed_at"}
    )
    return _sorted_orders(scope.tenant.timezone, *columns.values())


def _sorted_orders(zone: str, customer, utc_seconds, net_q, channel) -> Orders:
    order = np.lexsort((utc_seconds, customer))
    utc_seconds = utc_seconds[order]
    return Orders(
        customer[order],
        wall_clock(utc_seconds, zone),
        utc_seconds,
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
    customer, utc_seconds, net_q, channel = [], [], [], []
    for record in backend.iter_orders(scope.tenant, until=as_of):
        customer_id = ids.get(record.customer_code)
        if customer_id is None or record.net_q <= 0 or record.placed_at >= as_of:
            continue
        customer.append(customer_id)
        utc_seconds.append(int(record.placed_at.timestamp()))
        net_q.append(record.net_q)
        channel.append(CHANNELS.index(record.channel) if record.channel in CHANNELS else 4)
    return _sorted_orders(
        scope.tenant.timezone,
        *(np.asarray(column, dtype=np.int64) for column in (customer, utc_seconds, net_q, channel)),
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


def read_visits(
    scope: CustomerRange, *, as_of: dt.datetime, is_emergency: Callable[[str], bool]
) -> Visits:
    """The scope's visits that happened (or were due) before `as_of`.

    `is_emergency` tells an emergency by the service's name: it is asked once for each of
    the scope's distinct service names (a short list), not once per visit.
    """
    rows = scope.filter(Visit.objects.filter(occurred_at__lt=as_of))
    services = rows.order_by().values_list("service", flat=True).distinct()
    emergencies = [service for service in services if is_emergency(service)]
    rows = rows.annotate(
        status_index=Case(
            *[When(status=name, then=Value(i)) for i, name in enumerate(VISIT_STATUSES)],
            default=Value(len(VISIT_STATUSES)),
            output_field=IntegerField(),
        ),
        emergency=Case(When(service__in=emergencies, then=Value(1)), default=Value(0)),
    ).order_by()
    columns = _columns(
        rows, ["customer_id", "occurred_at", "status_index", "emergency"], {"occurred_at"}
    )
    order = np.lexsort((columns["occurred_at"], columns["customer_id"]))
    utc_seconds = columns["occurred_at"][order]
    return Visits(
        columns["customer_id"][order],
        wall_clock(utc_seconds, scope.tenant.timezone),
        utc_seconds,
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
    columns = _columns(rows, ["customer_id", "occurred_at", "outbound", "message"], {"occurred_at"})
    order = np.lexsort((columns["occurred_at"], columns["customer_id"]))
    return Messages(
        columns["customer_id"][order],
        columns["occurred_at"][order],
        columns["outbound"][order].astype(bool),
        columns["message"][order].astype(bool),
    )


def read_favourites(
    scope: CustomerRange, *, as_of: dt.datetime, keep: int
) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    """Each customer's `keep` most bought products and categories, by quantity, in one query.

    Products are told apart by name; equal quantities go by name, so the answer is the same
    every time. A project's own order-history backend has no lines to read: both are empty.
    """
    if not reads_commerce():
        return {}, {}
    if _is_postgresql():
        customer, names, categories, bought = _packed_lines(scope, as_of)
    else:
        orders = {f"order__{key}": value for key, value in _order_filter(scope).items()}
        rows = list(
            OrderLine.objects.filter(**orders, order__status__in=SOLD, order__placed_at__lt=as_of)
            .values_list("order__customer_id", "name", "category")
            .annotate(bought=Sum("quantity"))
            .order_by()
        )
        customer = np.asarray([row[0] for row in rows], dtype=np.int64)
        names = [row[1] for row in rows]
        categories = [row[2] for row in rows]
        bought = np.asarray([row[3] for row in rows], dtype=np.int64)
    return (
        _most_bought(customer, names, bought, keep),
        _most_bought(customer, categories, bought, keep),
    )


SEPARATOR = "\x1f"  # the ASCII unit separator, taken out of names before they are joined


def _packed_lines(
    scope: CustomerRange, as_of: dt.datetime
) -> tuple[np.ndarray, list[str], list[str], np.ndarray]:
    """The scope's order lines grouped by customer, product and category, packed: two bigint
    columns and two joined text columns.

    Each order's lines are found through the lines' order index (a LATERAL join, fenced with
    OFFSET 0 so it is not planned as a join that scans every line of the tenant per chunk).
    """
    orders = (
        Order.objects.filter(**_order_filter(scope), status__in=SOLD, placed_at__lt=as_of)
        .order_by()
        .values_list("id", "customer_id")
    )
    sql, params = orders.query.sql_with_params()
    lines = connection.ops.quote_name(OrderLine._meta.db_table)
    with connection.cursor() as cursor:
        buyers, names, categories, bought = _fetch_binary(
            cursor,
            "SELECT string_agg(int8send(t.buyer), ''), "
            "string_agg(replace(t.name, %s, ' '), %s), "
            "string_agg(replace(t.category, %s, ' '), %s), "
            "string_agg(int8send(t.bought), '') "
            "FROM (SELECT o.customer_id, l.name, l.category, SUM(l.quantity)::bigint "
            f"FROM ({sql}) o (id, customer_id) CROSS JOIN LATERAL (SELECT name, category, "
            f"quantity FROM {lines} WHERE order_id = o.id OFFSET 0) l GROUP BY 1, 2, 3) "
            "t (buyer, name, category, bought)",
            (SEPARATOR, SEPARATOR, SEPARATOR, SEPARATOR, *params),
        )
    if buyers is None:
        return np.zeros(0, dtype=np.int64), [], [], np.zeros(0, dtype=np.int64)
    return (
        np.frombuffer(buyers, dtype=">i8").astype(np.int64),
        names.split(SEPARATOR),
        categories.split(SEPARATOR),
        np.frombuffer(bought, dtype=">i8").astype(np.int64),
    )


def _most_bought(
    customer: np.ndarray, items: list[str], bought: np.ndarray, keep: int
) -> dict[int, list[str]]:
    """Per customer, the `keep` items bought most (ties by name); blank items left out."""
    if not items:
        return {}
    names, codes = np.unique(np.asarray(items, dtype=object), return_inverse=True)
    present = names[codes] != ""
    customer, codes, bought = customer[present], codes[present], bought[present]
    if not len(customer):
        return {}
    # Sum per (customer, item), then order each customer's items by quantity, then name.
    order = np.lexsort((codes, customer))
    customer, codes, bought = customer[order], codes[order], bought[order]
    starts = np.flatnonzero(
        np.concatenate(([True], (np.diff(customer) != 0) | (np.diff(codes) != 0)))
    )
    totals = np.add.reduceat(bought, starts)
    customer, codes = customer[starts], codes[starts]
    order = np.lexsort((codes, -totals, customer))
    customer, codes = customer[order], codes[order]
    first = np.concatenate(([True], np.diff(customer) != 0))
    rank = np.arange(len(customer)) - np.maximum.accumulate(
        np.where(first, np.arange(len(customer)), 0)
    )
    kept = rank < keep
    favourites: dict[int, list[str]] = {}
    for buyer, name in zip(customer[kept].tolist(), names[codes[kept]].tolist(), strict=True):
        favourites.setdefault(buyer, []).append(name)
    return favourites


def _order_filter(scope: CustomerRange) -> dict:
    """The scope as lookups on an order's own fields."""
    lookups = {"tenant": scope.tenant}
    if scope.first is not None:
        lookups["customer_id__gte"] = scope.first
    if scope.last is not None:
        lookups["customer_id__lte"] = scope.last
    return lookups
