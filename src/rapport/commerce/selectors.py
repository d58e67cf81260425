"""Reads of commerce worth a name: filtered order and visit lists, a customer's activity."""

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Max, Min, Q, QuerySet, Sum

from rapport.commerce.models import Order, Status, Visit, VisitStatus
from rapport.customers.models import Customer
from rapport.tenancy.models import Tenant

RECENT = 20
SPENDING = (Status.COMPLETED, Status.PARTIALLY_REFUNDED)


def orders(
    *,
    tenant: Tenant,
    customer: Customer | None = None,
    status: str | None = None,
    channel: str | None = None,
    source: str | None = None,
    placed_after: dt.datetime | None = None,
    placed_before: dt.datetime | None = None,
) -> QuerySet:
    """The tenant's orders with their customer and lines, filtered by what is given."""
    rows = Order.objects.filter(tenant=tenant)
    if customer is not None:
        rows = rows.filter(customer=customer)
    if status:
        rows = rows.filter(status=status)
    if channel:
        rows = rows.filter(channel=channel)
    if source:
        rows = rows.filter(source=source.strip().lower())
    if placed_after is not None:
        rows = rows.filter(placed_at__gte=placed_after)
    if placed_before is not None:
        rows = rows.filter(placed_at__lt=placed_before)
    return rows.select_related("customer").prefetch_related("lines")


def visits(
    *,
    tenant: Tenant,
    customer: Customer | None = None,
    status: str | None = None,
    source: str | None = None,
    pet: uuid.UUID | None = None,
    after: dt.datetime | None = None,
    before: dt.datetime | None = None,
) -> QuerySet:
    """The tenant's visits with their customer, filtered by what is given."""
    rows = Visit.objects.filter(tenant=tenant)
    if customer is not None:
        rows = rows.filter(customer=customer)
    if status:
        rows = rows.filter(status=status)
    if source:
        rows = rows.filter(source=source.strip().lower())
    if pet is not None:
        rows = rows.filter(pet_uuid=pet)
    if after is not None:
        rows = rows.filter(occurred_at__gte=after)
    if before is not None:
        rows = rows.filter(occurred_at__lt=before)
    return rows.select_related("customer")


@dataclass(frozen=True)
class ActivityItem:
    """One order or visit in a customer's recent activity."""

    kind: str  # order or visit
    at: dt.datetime
    record: Any  # the Order or the Visit


@dataclass(frozen=True)
class ActivitySummary:
    """What a customer bought and when they came (seed 003's activity), in the tenant's currency.

    Money counts completed and partially refunded orders in the tenant's currency, net of
    refunds; orders in other currencies count in `orders_count` only.
    """

    code: str
    orders_count: int
    completed_orders: int
    total_spent_q: int
    refunded_q: int
    average_order_q: int
    currency: str
    first_order_at: dt.datetime | None
    last_order_at: dt.datetime | None
    visits_count: int
    completed_visits: int
    cancelled_visits: int
    no_show_visits: int
    last_visit_at: dt.datetime | None
    recent: list[ActivityItem]


def customer_activity(customer: Customer) -> ActivitySummary:
    """The customer's order and visit totals and their 20 latest orders and visits."""
    currency = customer.tenant.currency
    spending = Q(status__in=SPENDING)
    in_currency = Q(currency=currency)
    totals = Order.objects.filter(customer=customer).aggregate(
        orders_count=Count("id"),
        completed_orders=Count("id", filter=spending),
        counted=Count("id", filter=spending & in_currency),
        spent=Sum("total_q", filter=spending & in_currency),
        spent_refunded=Sum("refunded_q", filter=spending & in_currency),
        refunded=Sum("refunded_q", filter=in_currency),
        first_order_at=Min("placed_at", filter=spending),
        last_order_at=Max("placed_at", filter=spending),
    )
    visit_totals = Visit.objects.filter(customer=customer).aggregate(
        visits_count=Count("id"),
        completed_visits=Count("id", filter=Q(status=VisitStatus.COMPLETED)),
        cancelled_visits=Count("id", filter=Q(status=VisitStatus.CANCELLED)),
        no_show_visits=Count("id", filter=Q(status=VisitStatus.NO_SHOW)),
        last_visit_at=Max("completed_at", filter=Q(status=VisitStatus.COMPLETED)),
    )
    spent = (totals["spent"] or 0) - (totals["spent_refunded"] or 0)
    counted = totals["counted"]
    recent = [
        ActivityItem("order", order.placed_at, order)
        for order in Order.objects.filter(customer=customer).order_by("-placed_at", "-id")[:RECENT]
    ] + [
        ActivityItem("visit", visit.occurred_at, visit)
        for visit in Visit.objects.filter(customer=customer).order_by("-occurred_at", "-id")[
            :RECENT
        ]
    ]
    recent.sort(key=lambda item: item.at, reverse=True)
    return ActivitySummary(
        code=customer.code,
        orders_count=totals["orders_count"],
        completed_orders=totals["completed_orders"],
        total_spent_q=spent,
        refunded_q=totals["refunded"] or 0,
        average_order_q=spent // counted if counted else 0,
        currency=currency,
        first_order_at=totals["first_order_at"],
        last_order_at=totals["last_order_at"],
        visits_count=visit_totals["visits_count"],
        completed_visits=visit_totals["completed_visits"],
        cancelled_visits=visit_totals["cancelled_visits"],
        no_show_visits=visit_totals["no_show_visits"],
        last_visit_at=visit_totals["last_visit_at"],
        recent=recent[:RECENT],
    )
