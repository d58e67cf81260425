"""Orders and visits sent in over the API: one or thousands at a time, their status, refunds.

Each call finds (or creates) the customer, records through commerce and, when an order is
completed, earns its loyalty points: all in one transaction.
"""

import datetime as dt
from uuid import UUID

from ninja import Router, Schema, Status
from pydantic import Field

from rapport.commerce.models import Order, Visit
from rapport.ingest import orders
from rapport.ingest.inbound import customer_ref, line_inputs
from rapport.ingest.orders import OrderOutcome, OrderRequest, PetRef, VisitOutcome, VisitRequest
from rapport.ingest.payloads import (
    OrderBulkIn,
    OrderIn,
    RefundIn,
    VisitIn,
)
from rapport.schemas import WRITE_ERRORS, responses
from rapport.tenancy.api import WRITE, actor_of

router = Router(tags=["orders in"], auth=WRITE)


class RecordedLineOut(Schema):
    sku: str
    name: str
    category: str
    quantity: int
    unit_price_q: int
    total_q: int


class OrderRecordedOut(Schema):
    id: UUID
    external_id: str
    source: str
    customer: str = Field(description="The customer's code")
    channel: str
    status: str
    placed_at: dt.datetime
    completed_at: dt.datetime | None
    cancelled_at: dt.datetime | None
    total_q: int
    refunded_q: int
    currency: str
    lines: list[RecordedLineOut]
    created: bool = Field(description="true: new to rapport; false: it was recorded before")
    changed: bool = Field(description="Whether this call changed anything")
    customer_created: bool = Field(description="Whether the customer was created by this call")
    points_earned: int | None = Field(
        description="Loyalty points this call earned the customer; null when none"
    )


class OrderRefundedOut(OrderRecordedOut):
    refund_id: UUID
    amount_q: int = Field(description="What this refund gave back")
    reference: str
    points_reversed: int | None = Field(description="Loyalty points taken back; null when none")


class BulkItemOut(Schema):
    id: UUID
    external_id: str
    source: str
    customer: str
    status: str
    created: bool


class OrderBulkOut(Schema):
    created: int = Field(description="Orders new to rapport")
    existing: int = Field(description="Orders recorded before (unchanged, or moved forward)")
    customers_created: int
    points_earned: int
    orders: list[BulkItemOut] = Field(description="One per order sent, in the same order")


class VisitRecordedOut(Schema):
    id: UUID
    external_id: str
    source: str
    customer: str
    service: str
    status: str
    scheduled_at: dt.datetime | None
    completed_at: dt.datetime | None
    cancelled_at: dt.datetime | None
    staff: str
    pet_id: UUID | None
    pet_name: str
    price_q: int | None
    currency: str
    created: bool
    changed: bool
    customer_created: bool


def _order(order: Order, outcome: OrderOutcome) -> dict:
    return {
        "id": order.uuid,
        "external_id": order.external_id,
        "source": order.source,
        "customer": order.customer.code,
        "channel": order.channel,
        "status": order.status,
        "placed_at": order.placed_at,
        "completed_at": order.completed_at,
        "cancelled_at": order.cancelled_at,
        "total_q": order.total_q,
        "refunded_q": order.refunded_q,
        "currency": order.currency,
        "lines": list(order.lines.all()),
        "created": outcome.created,
        "changed": outcome.changed,
        "customer_created": outcome.customer_created,
        "points_earned": outcome.points_earned,
    }


def _visit(visit: Visit, outcome: VisitOutcome) -> dict:
    return {
        "id": visit.uuid,
        "external_id": visit.external_id,
        "source": visit.source,
        "customer": visit.customer.code,
        "service": visit.service,
        "status": visit.status,
        "scheduled_at": visit.scheduled_at,
        "completed_at": visit.completed_at,
        "cancelled_at": visit.cancelled_at,
        "staff": visit.staff,
        "pet_id": visit.pet_uuid,
        "pet_name": visit.pet_name,
        "price_q": visit.price_q,
        "currency": visit.currency,
        "created": outcome.created,
        "changed": outcome.changed,
        "customer_created": outcome.customer_created,
    }


def order_request(payload: OrderIn) -> OrderRequest:
    return OrderRequest(
        customer=customer_ref(payload.customer),
        external_id=payload.external_id,
        placed_at=payload.placed_at,
        lines=line_inputs(payload.lines),
        total_q=payload.total_q,
        currency=payload.currency or "",
        channel=payload.channel,
        status=payload.status,
        source=payload.source,
        completed_at=payload.completed_at,
        metadata=payload.metadata,
    )


ORDER_WRITE = responses({200: OrderRecordedOut}, 404, *WRITE_ERRORS)
VISIT_WRITE = responses({200: VisitRecordedOut}, 404, *WRITE_ERRORS)


@router.post(
    "/orders", response=responses({201: OrderRecordedOut, 200: OrderRecordedOut}, *WRITE_ERRORS)
)
def record_order(request, payload: OrderIn):
    """Record an order for a customer named by code or identifiers: 201 when new, 200 when it
    was recorded before (a status that moves forward is applied). Completing earns points."""
    outcome = orders.record_order(actor=actor_of(request), request=order_request(payload))
    return Status(201 if outcome.created else 200, _order(outcome.order, outcome))


@router.post("/orders/bulk", response=responses({200: OrderBulkOut}, *WRITE_ERRORS))
def record_orders(request, payload: OrderBulkIn):
    """Record 1 to 10,000 orders in one transaction; errors name `orders[i].field` and then
    nothing is written. Sending the same orders again changes nothing."""
    outcome = orders.record_orders(
        actor=actor_of(request),
        requests=[order_request(item) for item in payload.orders],
        earn_points=payload.earn_points,
    )
    items = [
        {
            "id": order.uuid,
            "external_id": order.external_id,
            "source": order.source,
            "customer": order.customer.code,
            "status": order.status,
            "created": created,
        }
        for order, created in zip(outcome.orders, outcome.created, strict=True)
    ]
    created = sum(outcome.created)
    return {
        "created": created,
        "existing": len(items) - created,
        "customers_created": outcome.customers_created,
        "points_earned": outcome.points_earned,
        "orders": items,
    }


def _status(request, order_id: UUID, status: str) -> dict:
    outcome = orders.set_order_status(actor=actor_of(request), order_id=order_id, status=status)
    return _order(outcome.order, outcome)


@router.post("/orders/{order_id}/complete", response=ORDER_WRITE)
def complete_order(request, order_id: UUID):
    """Complete a pending order (and earn its points); a completed one is returned unchanged."""
    return _status(request, order_id, "completed")


@router.post("/orders/{order_id}/cancel", response=ORDER_WRITE)
def cancel_order(request, order_id: UUID):
    """Cancel a pending order; a cancelled one is returned unchanged."""
    return _status(request, order_id, "cancelled")


@router.post(
    "/orders/{order_id}/refund", response=responses({200: OrderRefundedOut}, 404, *WRITE_ERRORS)
)
def refund_order(request, order_id: UUID, payload: RefundIn):
    """Give back part or all of a completed order and take back the points it covers. The same
    `reference` again refunds once."""
    outcome = orders.refund_order_by_id(
        actor=actor_of(request),
        order_id=order_id,
        amount_q=payload.amount_q,
        reason=payload.reason,
        reference=payload.reference or "",
    )
    refund = outcome.refund
    return {
        **_order(outcome.order, outcome),
        "refund_id": refund.uuid,
        "amount_q": refund.amount_q,
        "reference": refund.reference,
        "points_reversed": outcome.points_reversed,
    }


@router.post(
    "/visits", response=responses({201: VisitRecordedOut, 200: VisitRecordedOut}, *WRITE_ERRORS)
)
def record_visit(request, payload: VisitIn):
    """Record a visit or appointment: 201 when new, 200 when recorded before (a scheduled one
    moves on to the status sent). A pet is matched among the customer's pets."""
    pet = PetRef(id=payload.pet.id, name=payload.pet.name or "") if payload.pet else None
    visit_request = VisitRequest(
        customer=customer_ref(payload.customer),
        external_id=payload.external_id,
        service=payload.service,
        status=payload.status,
        scheduled_at=payload.scheduled_at,
        completed_at=payload.completed_at,
        staff=payload.staff,
        pet=pet,
        price_q=payload.price_q,
        currency=payload.currency or "",
        source=payload.source,
        notes=payload.notes,
        metadata=payload.metadata,
    )
    outcome = orders.record_visit(actor=actor_of(request), request=visit_request)
    return Status(201 if outcome.created else 200, _visit(outcome.visit, outcome))


def _visit_status(request, visit_id: UUID, status: str) -> dict:
    outcome = orders.set_visit_status(actor=actor_of(request), visit_id=visit_id, status=status)
    return _visit(outcome.visit, outcome)


@router.post("/visits/{visit_id}/complete", response=VISIT_WRITE)
def complete_visit(request, visit_id: UUID):
    """Mark a scheduled visit completed."""
    return _visit_status(request, visit_id, "completed")


@router.post("/visits/{visit_id}/cancel", response=VISIT_WRITE)
def cancel_visit(request, visit_id: UUID):
    """Cancel a scheduled visit."""
    return _visit_status(request, visit_id, "cancelled")


@router.post("/visits/{visit_id}/no-show", response=VISIT_WRITE)
def mark_no_show(request, visit_id: UUID):
    """Mark a scheduled visit a no-show: the customer did not come."""
    return _visit_status(request, visit_id, "no_show")
