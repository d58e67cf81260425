"""REST endpoints of commerce: reading orders, visits and a customer's activity.

Orders and visits are written through rapport.ingest, which finds or creates the customer
first; this router only reads.
"""

import datetime as dt
from typing import Literal
from uuid import UUID

from ninja import Query, Router, Schema
from pydantic import Field

from rapport.commerce import selectors
from rapport.commerce.models import Order, Visit
from rapport.commerce.selectors import ActivityItem
from rapport.commerce.services import OrderService, VisitService
from rapport.customers.services import CustomerService, find_customer
from rapport.pagination import DATETIME, Page, paginate, sort_order
from rapport.schemas import PageQuery, Timestamp, responses
from rapport.tenancy.api import READ, actor_of

router = Router(tags=["commerce"], auth=READ)

OrderStatusValue = Literal["pending", "completed", "cancelled", "refunded", "partially_refunded"]
ChannelValue = Literal["pos", "online", "marketplace", "phone"]
VisitStatusValue = Literal["scheduled", "completed", "cancelled", "no_show"]
ORDER_SORTS = {"placed_at": DATETIME, "created_at": DATETIME}
VISIT_SORTS = {"occurred_at": DATETIME, "created_at": DATETIME}


# --- shapes -----------------------------------------------------------------------------------


class OrderLineOut(Schema):
    position: int
    sku: str
    name: str
    category: str
    quantity: int
    unit_price_q: int
    total_q: int = Field(description="unit_price_q times quantity")


class OrderRefundOut(Schema):
    id: UUID = Field(alias="uuid")
    amount_q: int
    reason: str
    reference: str
    created_at: dt.datetime


class OrderOut(Schema):
    id: UUID = Field(alias="uuid")
    customer: str = Field(description="The customer's code")
    source: str = Field(description="The sending system", examples=["pos", "shopify"])
    external_id: str = Field(description="The order's id in its source", examples=["1043"])
    channel: str = Field(examples=["pos"])
    status: str = Field(examples=["completed"])
    placed_at: dt.datetime
    completed_at: dt.datetime | None
    cancelled_at: dt.datetime | None
    total_q: int = Field(description="What the customer paid, in minor units")
    refunded_q: int
    net_q: int = Field(description="total_q less refunds")
    currency: str = Field(examples=["NGN"])
    metadata: dict
    lines: list[OrderLineOut]
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_customer(order: Order) -> str:
        return order.customer.code

    @staticmethod
    def resolve_lines(order: Order) -> list:
        return list(order.lines.all())


class OrderDetailOut(OrderOut):
    refunds: list[OrderRefundOut] = Field(description="Oldest first")

    @staticmethod
    def resolve_refunds(order: Order) -> list:
        return list(order.refunds.all())


class OrderPage(Schema):
    items: list[OrderOut]
    next_cursor: str | None


class VisitOut(Schema):
    id: UUID = Field(alias="uuid")
    customer: str = Field(description="The customer's code")
    source: str
    external_id: str
    service: str = Field(examples=["Grooming"])
    status: str = Field(examples=["completed"])
    scheduled_at: dt.datetime | None
    completed_at: dt.datetime | None
    cancelled_at: dt.datetime | None = Field(description="When cancelled or marked a no-show")
    occurred_at: dt.datetime = Field(description="completed_at, else scheduled_at, else recorded")
    staff: str
    pet_id: UUID | None = Field(alias="pet_uuid", description="The pet seen, if any")
    pet_name: str
    price_q: int | None
    currency: str
    notes: str
    metadata: dict
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_customer(visit: Visit) -> str:
        return visit.customer.code


class VisitPage(Schema):
    items: list[VisitOut]
    next_cursor: str | None


class ActivityItemOut(Schema):
    kind: Literal["order", "visit"]
    at: dt.datetime = Field(description="An order's placed_at, a visit's occurred_at")
    id: UUID
    external_id: str
    status: str
    amount_q: int | None = Field(description="An order's total_q, a visit's price_q")
    currency: str
    service: str = Field(description="A visit's service; empty for orders")

    @staticmethod
    def resolve_id(item: ActivityItem):
        return item.record.uuid

    @staticmethod
    def resolve_external_id(item: ActivityItem) -> str:
        return item.record.external_id

    @staticmethod
    def resolve_status(item: ActivityItem) -> str:
        return item.record.status

    @staticmethod
    def resolve_amount_q(item: ActivityItem) -> int | None:
        return item.record.total_q if item.kind == "order" else item.record.price_q

    @staticmethod
    def resolve_currency(item: ActivityItem) -> str:
        return item.record.currency

    @staticmethod
    def resolve_service(item: ActivityItem) -> str:
        return item.record.service if item.kind == "visit" else ""


class ActivityOut(Schema):
    code: str
    orders_count: int = Field(description="Every order, whatever its status")
    completed_orders: int = Field(description="Completed and partially refunded orders")
    total_spent_q: int = Field(description="Their totals less refunds, in `currency`")
    refunded_q: int
    average_order_q: int
    currency: str = Field(description="The tenant's currency")
    first_order_at: dt.datetime | None
    last_order_at: dt.datetime | None
    visits_count: int
    completed_visits: int
    cancelled_visits: int
    no_show_visits: int
    last_visit_at: dt.datetime | None
    recent: list[ActivityItemOut] = Field(description="The 20 latest orders and visits")


class OrderQuery(PageQuery):
    customer: str | None = Field(None, max_length=40, description="A customer's code")
    status: OrderStatusValue | None = None
    channel: ChannelValue | None = None
    source: str | None = Field(None, max_length=50, examples=["shopify"])
    placed_after: Timestamp | None = Field(None, description="Placed at or after")
    placed_before: Timestamp | None = Field(None, description="Placed before")
    order_by: str = Field("-placed_at", description="placed_at or created_at; '-' descends")


class CustomerOrderQuery(PageQuery):
    status: OrderStatusValue | None = None
    channel: ChannelValue | None = None
    order_by: str = Field("-placed_at", description="placed_at or created_at; '-' descends")


class VisitQuery(PageQuery):
    customer: str | None = Field(None, max_length=40, description="A customer's code")
    status: VisitStatusValue | None = None
    source: str | None = Field(None, max_length=50)
    pet: UUID | None = Field(None, description="A pet's id")
    after: Timestamp | None = Field(None, description="occurred_at at or after")
    before: Timestamp | None = Field(None, description="occurred_at before")
    order_by: str = Field("-occurred_at", description="occurred_at or created_at; '-' descends")


class CustomerVisitQuery(PageQuery):
    status: VisitStatusValue | None = None
    pet: UUID | None = Field(None, description="A pet's id")
    order_by: str = Field("-occurred_at", description="occurred_at or created_at; '-' descends")


# --- endpoints --------------------------------------------------------------------------------


def _page(rows, query, sorts) -> Page:
    return paginate(
        rows,
        ordering=sort_order(query.order_by, sorts),
        parsers=sorts,
        cursor=query.cursor,
        limit=query.limit,
    )


@router.get("/orders", response=responses({200: OrderPage}))
def list_orders(request, query: Query[OrderQuery]):
    """The tenant's orders, newest first, with their lines; filtered by the query."""
    tenant = actor_of(request).tenant
    filters = query.model_dump(exclude={"limit", "cursor", "order_by", "customer"})
    customer = None
    if query.customer is not None:
        customer = find_customer(tenant, query.customer)
        if customer is None:
            return Page(items=[], next_cursor=None)
    return _page(selectors.orders(tenant=tenant, customer=customer, **filters), query, ORDER_SORTS)


@router.get("/orders/{order_id}", response=responses({200: OrderDetailOut}, 404))
def get_order(request, order_id: UUID):
    """One order with its lines and refunds."""
    return OrderService.get_order(tenant=actor_of(request).tenant, order_id=order_id)


@router.get("/visits", response=responses({200: VisitPage}))
def list_visits(request, query: Query[VisitQuery]):
    """The tenant's visits, latest first; filter by customer, status, source, pet, time."""
    tenant = actor_of(request).tenant
    filters = query.model_dump(exclude={"limit", "cursor", "order_by", "customer"})
    customer = None
    if query.customer is not None:
        customer = find_customer(tenant, query.customer)
        if customer is None:
            return Page(items=[], next_cursor=None)
    return _page(selectors.visits(tenant=tenant, customer=customer, **filters), query, VISIT_SORTS)


@router.get("/visits/{visit_id}", response=responses({200: VisitOut}, 404))
def get_visit(request, visit_id: UUID):
    """One visit."""
    return VisitService.get_visit(tenant=actor_of(request).tenant, visit_id=visit_id)


@router.get("/customers/{code}/orders", response=responses({200: OrderPage}, 404))
def list_customer_orders(request, code: str, query: Query[CustomerOrderQuery]):
    """The customer's orders, newest first, with their lines."""
    tenant = actor_of(request).tenant
    customer = CustomerService.get_customer(tenant=tenant, code=code)
    rows = selectors.orders(
        tenant=tenant, customer=customer, status=query.status, channel=query.channel
    )
    return _page(rows, query, ORDER_SORTS)


@router.get("/customers/{code}/visits", response=responses({200: VisitPage}, 404))
def list_customer_visits(request, code: str, query: Query[CustomerVisitQuery]):
    """The customer's visits and appointments, latest first."""
    tenant = actor_of(request).tenant
    customer = CustomerService.get_customer(tenant=tenant, code=code)
    rows = selectors.visits(tenant=tenant, customer=customer, status=query.status, pet=query.pet)
    return _page(rows, query, VISIT_SORTS)


@router.get("/customers/{code}/activity", response=responses({200: ActivityOut}, 404))
def get_customer_activity(request, code: str):
    """What the customer bought and when they came: totals and the 20 latest of each."""
    customer = CustomerService.get_customer(tenant=actor_of(request).tenant, code=code)
    return selectors.customer_activity(customer)
