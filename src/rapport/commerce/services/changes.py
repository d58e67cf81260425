"""How orders and visits reach the timeline and the outbox: CustomerChange descriptions.

Commerce cannot import the timeline or the events app; it describes each change and
`customers.hooks` hands it to whichever of them is installed, in the caller's transaction.
"""

from typing import Any

from rapport.commerce.models import Order, OrderRefund, Status, Visit, VisitStatus
from rapport.commerce.money import format_amount
from rapport.customers.hooks import CustomerChange
from rapport.tenancy.actors import Actor

TITLE_LIMIT = 200


def _time(value) -> str | None:
    return value.isoformat() if value is not None else None


def order_detail(order: Order) -> dict[str, Any]:
    """The order as events and timeline metadata carry it (no free text: it may be personal)."""
    return {
        "order": str(order.uuid),
        "source": order.source,
        "external_id": order.external_id,
        "channel": order.channel,
        "status": order.status,
        "total_q": order.total_q,
        "refunded_q": order.refunded_q,
        "net_q": order.net_q,
        "currency": order.currency,
        "placed_at": _time(order.placed_at),
        "completed_at": _time(order.completed_at),
        "cancelled_at": _time(order.cancelled_at),
    }


def _amount(order: Order) -> str:
    return format_amount(order.total_q, order.currency)


def order_created(order: Order, actor: Actor) -> list[CustomerChange]:
    """A new order: one timeline entry; order.created, then order.completed or .cancelled."""
    verb = {Status.PENDING: "placed", Status.COMPLETED: "completed"}.get(order.status, "cancelled")
    changes = [
        CustomerChange(
            kind="order_created",
            customer=order.customer,
            actor=actor,
            detail=order_detail(order),
            title=f"Order {order.external_id} {verb}: {_amount(order)}"[:TITLE_LIMIT],
            timeline_type="order",
            event="order.created",
        )
    ]
    if order.status != Status.PENDING:
        changes.append(status_changed(order, actor, title=""))
    return changes


def status_changed(order: Order, actor: Actor, *, title: str | None = None) -> CustomerChange:
    """order.completed or order.cancelled; the timeline entry unless `title` is ""."""
    if title is None:
        title = f"Order {order.external_id} {order.status}: {_amount(order)}"[:TITLE_LIMIT]
    return CustomerChange(
        kind=f"order_{order.status}",
        customer=order.customer,
        actor=actor,
        detail=order_detail(order),
        title=title,
        timeline_type="order",
        event=f"order.{order.status}",
    )


def refunded(order: Order, refund: OrderRefund, actor: Actor) -> CustomerChange:
    whole = "fully refunded" if order.status == Status.REFUNDED else "refunded"
    amount = format_amount(refund.amount_q, order.currency)
    return CustomerChange(
        kind="order_refunded",
        customer=order.customer,
        actor=actor,
        detail={
            **order_detail(order),
            "refund": str(refund.uuid),
            "amount_q": refund.amount_q,
            "reference": refund.reference,
        },
        title=f"Order {order.external_id} {whole}: {amount}"[:TITLE_LIMIT],
        timeline_type="order",
        event="order.refunded",
    )


def visit_detail(visit: Visit) -> dict[str, Any]:
    return {
        "visit": str(visit.uuid),
        "source": visit.source,
        "external_id": visit.external_id,
        "service": visit.service,
        "status": visit.status,
        "scheduled_at": _time(visit.scheduled_at),
        "completed_at": _time(visit.completed_at),
        "pet": str(visit.pet_uuid) if visit.pet_uuid else None,
        "price_q": visit.price_q,
        "currency": visit.currency,
    }


VISIT_TITLES = {
    VisitStatus.SCHEDULED: "Visit booked: {service}",
    VisitStatus.COMPLETED: "Visit: {service}",
    VisitStatus.CANCELLED: "Visit cancelled: {service}",
    VisitStatus.NO_SHOW: "Missed visit: {service}",
}


def _visit_title(visit: Visit) -> str:
    title = VISIT_TITLES[visit.status].format(service=visit.service)
    if visit.pet_name:
        title += f" ({visit.pet_name})"
    return title[:TITLE_LIMIT]


def visit_recorded(visit: Visit, actor: Actor) -> list[CustomerChange]:
    """A new visit: one timeline entry; visit.recorded, then visit.<status> unless scheduled."""
    changes = [
        CustomerChange(
            kind="visit_recorded",
            customer=visit.customer,
            actor=actor,
            detail=visit_detail(visit),
            title=_visit_title(visit),
            timeline_type="visit",
            event="visit.recorded",
        )
    ]
    if visit.status != VisitStatus.SCHEDULED:
        changes.append(visit_status_changed(visit, actor, title=""))
    return changes


def visit_status_changed(visit: Visit, actor: Actor, *, title: str | None = None) -> CustomerChange:
    return CustomerChange(
        kind=f"visit_{visit.status}",
        customer=visit.customer,
        actor=actor,
        detail=visit_detail(visit),
        title=_visit_title(visit) if title is None else title,
        timeline_type="visit",
        event=f"visit.{visit.status}",
    )
