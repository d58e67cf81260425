"""Order history for analytics: seed 000's OrderHistoryBackend protocol and its default.

Insights and reports read orders through a backend, so a project whose orders live elsewhere
(an order-management system, a warehouse) plugs in its own with the
RAPPORT_ORDER_HISTORY_BACKEND setting, a dotted path to a class taking no arguments.

A backend reports the orders that were sold (completed, partially refunded, refunded), each
with its items. `until` reads history as it stood then: orders placed before it, with only
the refunds made before it (and the status those leave).
"""

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.module_loading import import_string

from rapport.commerce.models import SOLD, Order, OrderLine, OrderRefund, Status
from rapport.customers.services import find_customer
from rapport.tenancy.models import Tenant

DEFAULT_BACKEND = "rapport.commerce.history.CommerceOrderHistoryBackend"
FIELDS = (
    "id",
    "customer__code",
    "external_id",
    "source",
    "channel",
    "status",
    "placed_at",
    "total_q",
    "refunded_q",
    "currency",
)


@dataclass(frozen=True)
class ItemRecord:
    """One line of an order in history."""

    sku: str
    name: str
    category: str
    quantity: int
    unit_price_q: int
    total_q: int


@dataclass(frozen=True)
class OrderRecord:
    """One sold order as analytics read it; `refunded_q` and `status` as of the read's `until`."""

    customer_code: str
    external_id: str
    source: str
    channel: str
    status: str
    placed_at: dt.datetime
    total_q: int
    refunded_q: int
    currency: str
    items: tuple[ItemRecord, ...] = ()

    @property
    def net_q(self) -> int:
        return self.total_q - self.refunded_q


@runtime_checkable
class OrderHistoryBackend(Protocol):
    """Where analytics read the orders customers placed."""

    def get_customer_orders(
        self,
        tenant: Tenant,
        customer_code: str,
        *,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
    ) -> list[OrderRecord]:
        """One customer's sold orders placed in [since, until), oldest first."""

    def iter_orders(
        self, tenant: Tenant, *, until: dt.datetime | None = None, batch_size: int = 10_000
    ) -> Iterator[OrderRecord]:
        """Every sold order of the tenant placed before `until`, in chunks of `batch_size`."""


class CommerceOrderHistoryBackend:
    """The default backend: the orders rapport.commerce holds."""

    def get_customer_orders(
        self,
        tenant: Tenant,
        customer_code: str,
        *,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
    ) -> list[OrderRecord]:
        """One customer's sold orders (found by code, merges followed), oldest first."""
        customer = find_customer(tenant, customer_code) if customer_code else None
        if customer is None:
            return []
        rows = sold_orders(Order.objects.filter(tenant=tenant, customer=customer), until)
        if since is not None:
            rows = rows.filter(placed_at__gte=since)
        return _records(list(rows.order_by("placed_at", "id").values(*_fields(until))), until)

    def iter_orders(
        self, tenant: Tenant, *, until: dt.datetime | None = None, batch_size: int = 10_000
    ) -> Iterator[OrderRecord]:
        """Every sold order, by id, a chunk (one query for orders, one for lines) at a time."""
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        rows = sold_orders(Order.objects.filter(tenant=tenant), until).order_by("id")
        last = 0
        while True:
            chunk = list(rows.filter(id__gt=last).values(*_fields(until))[:batch_size])
            if not chunk:
                return
            yield from _records(chunk, until)
            last = chunk[-1]["id"]
            if len(chunk) < batch_size:
                return


def _fields(until: dt.datetime | None) -> tuple[str, ...]:
    return (*FIELDS, "refunded_then") if until is not None else FIELDS


def sold_orders(rows, until: dt.datetime | None):
    """Sold orders placed before `until`, annotated with `refunded_then`, their refunds then."""
    rows = rows.filter(status__in=SOLD)
    if until is None:
        return rows
    refunded_then = (
        OrderRefund.objects.filter(order=OuterRef("pk"), created_at__lt=until)
        .order_by()
        .values("order")
        .annotate(total=Sum("amount_q"))
        .values("total")
    )
    # Orders placed before `until` but completed after it were not sold yet then.
    return (
        rows.filter(placed_at__lt=until)
        .filter(Q(completed_at__isnull=True) | Q(completed_at__lt=until))
        .annotate(refunded_then=Coalesce(Subquery(refunded_then), Value(0)))
    )


def _records(rows: list[dict], until: dt.datetime | None) -> list[OrderRecord]:
    items: dict[int, list[ItemRecord]] = {row["id"]: [] for row in rows}
    lines = OrderLine.objects.filter(order_id__in=list(items)).order_by("order_id", "position")
    for line in lines.values_list(
        "order_id", "sku", "name", "category", "quantity", "unit_price_q", "total_q"
    ):
        items[line[0]].append(ItemRecord(*line[1:]))
    records = []
    for row in rows:
        refunded_q, status = row["refunded_q"], row["status"]
        if until is not None:
            refunded_q = row["refunded_then"]
            status = (
                Status.COMPLETED
                if refunded_q == 0
                else Status.REFUNDED
                if refunded_q == row["total_q"]
                else Status.PARTIALLY_REFUNDED
            )
        records.append(
            OrderRecord(
                customer_code=row["customer__code"],
                external_id=row["external_id"],
                source=row["source"],
                channel=row["channel"],
                status=status,
                placed_at=row["placed_at"],
                total_q=row["total_q"],
                refunded_q=refunded_q,
                currency=row["currency"],
                items=tuple(items[row["id"]]),
            )
        )
    return records


def get_order_history_backend() -> OrderHistoryBackend:
    """The configured backend (RAPPORT_ORDER_HISTORY_BACKEND), or commerce's own."""
    path = getattr(settings, "RAPPORT_ORDER_HISTORY_BACKEND", "") or DEFAULT_BACKEND
    try:
        backend_class = import_string(path)
    except ImportError as error:
        raise ImproperlyConfigured(
            f"RAPPORT_ORDER_HISTORY_BACKEND is {path!r}, which cannot be imported ({error}). "
            "Set it to the dotted path of a class, e.g. "
            f"{DEFAULT_BACKEND!r}."
        ) from None
    backend = backend_class()
    missing = [
        name
        for name in ("get_customer_orders", "iter_orders")
        if not callable(getattr(backend, name, None))
    ]
    if missing:
        raise ImproperlyConfigured(
            f"RAPPORT_ORDER_HISTORY_BACKEND {path!r} lacks {', '.join(missing)}: it must "
            "implement rapport.commerce.history.OrderHistoryBackend"
        )
    return backend
