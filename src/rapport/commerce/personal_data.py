"""Commerce in a customer's export, erasure and merges (registered in CommerceConfig.ready).

Export: every order with its lines and refunds, and every visit. Erasure: the records stay,
with their amounts, dates, statuses, SKUs and categories, because the books must still add
up; what may name the person goes: visit notes and pet names are blanked (a pet's name beside
its owner's history identifies them), metadata, refund reasons and line names are scrubbed of
the person's names, emails and phones, and an external id or refund reference that names them
is scrubbed and made unique again with the record's own id. Merge: the duplicate's orders and
visits move to the survivor; undo moves the same rows back.
"""

import datetime as dt
from typing import Any

from rapport.commerce.models import Order, OrderLine, OrderRefund, Visit
from rapport.customers.data_rights import scrub_json
from rapport.customers.models import Customer
from rapport.customers.personal_data import Erasure, MergeStep
from rapport.tenancy.actors import Actor

NAME = "commerce"
FETCH_SIZE = 500


def _time(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _order_data(order: Order) -> dict[str, Any]:
    return {
        "id": str(order.uuid),
        "source": order.source,
        "external_id": order.external_id,
        "channel": order.channel,
        "status": order.status,
        "placed_at": _time(order.placed_at),
        "completed_at": _time(order.completed_at),
        "cancelled_at": _time(order.cancelled_at),
        "total_q": order.total_q,
        "refunded_q": order.refunded_q,
        "net_q": order.net_q,
        "currency": order.currency,
        "metadata": order.metadata,
        "lines": [
            {
                "position": line.position,
                "sku": line.sku,
                "name": line.name,
                "category": line.category,
                "quantity": line.quantity,
                "unit_price_q": line.unit_price_q,
                "total_q": line.total_q,
            }
            for line in order.lines.all()
        ],
        "refunds": [
            {
                "id": str(refund.uuid),
                "amount_q": refund.amount_q,
                "reason": refund.reason,
                "reference": refund.reference,
                "created_at": _time(refund.created_at),
            }
            for refund in order.refunds.all()
        ],
        "created_at": _time(order.created_at),
    }


def _visit_data(visit: Visit) -> dict[str, Any]:
    return {
        "id": str(visit.uuid),
        "source": visit.source,
        "external_id": visit.external_id,
        "service": visit.service,
        "status": visit.status,
        "scheduled_at": _time(visit.scheduled_at),
        "completed_at": _time(visit.completed_at),
        "cancelled_at": _time(visit.cancelled_at),
        "staff": visit.staff,
        "pet_id": str(visit.pet_uuid) if visit.pet_uuid else None,
        "pet_name": visit.pet_name,
        "price_q": visit.price_q,
        "currency": visit.currency,
        "notes": visit.notes,
        "metadata": visit.metadata,
        "created_at": _time(visit.created_at),
    }


def _unique_scrub(erasure: Erasure, value: str, record_uuid, limit: int) -> str:
    """`value` scrubbed; when that changed it, kept unique by the record's own id."""
    cleaned = erasure.scrub(value)
    if cleaned == value:
        return value
    suffix = f" {record_uuid.hex}"
    return cleaned[: limit - len(suffix)] + suffix


class CommerceData:
    """Orders and visits: exported, erased of what names the person, merged, unmerged."""

    name = NAME

    def export(self, customer: Customer) -> dict[str, Any]:
        """The customer's orders (oldest first, with lines and refunds) and visits."""
        orders = (
            Order.objects.filter(customer=customer)
            .prefetch_related("lines", "refunds")
            .order_by("placed_at", "id")
        )
        visits = Visit.objects.filter(customer=customer).order_by("occurred_at", "id")
        return {
            "orders": [_order_data(order) for order in orders],
            "visits": [_visit_data(visit) for visit in visits],
        }

    def erase(self, customer: Customer, erasure: Erasure) -> int:
        """Scrub or blank what may name the person; amounts, dates and SKUs stay."""
        changed = 0
        orders = []
        for order in Order.objects.filter(customer=customer).order_by("pk").iterator(FETCH_SIZE):
            scrubbed = (
                _unique_scrub(erasure, order.external_id, order.uuid, 100),
                scrub_json(order.metadata, erasure),
            )
            if scrubbed != (order.external_id, order.metadata):
                order.external_id, order.metadata = scrubbed
                orders.append(order)
        Order.objects.bulk_update(orders, ["external_id", "metadata"], batch_size=FETCH_SIZE)
        changed += len(orders)
        lines = []
        for line in OrderLine.objects.filter(order__customer=customer).only("pk", "name"):
            cleaned = erasure.scrub(line.name)
            if cleaned != line.name:
                line.name = cleaned
                lines.append(line)
        OrderLine.objects.bulk_update(lines, ["name"], batch_size=FETCH_SIZE)
        changed += len(lines)
        # Refunds are append-only records: their words are rewritten in place, never re-saved.
        for refund in OrderRefund.objects.filter(order__customer=customer).only(
            "pk", "uuid", "reason", "reference"
        ):
            scrubbed = (
                erasure.scrub(refund.reason),
                _unique_scrub(erasure, refund.reference, refund.uuid, 200),
            )
            if scrubbed != (refund.reason, refund.reference):
                OrderRefund.objects.filter(pk=refund.pk).update(
                    reason=scrubbed[0], reference=scrubbed[1]
                )
                changed += 1
        visits = []
        for visit in Visit.objects.filter(customer=customer).order_by("pk").iterator(FETCH_SIZE):
            scrubbed = (
                _unique_scrub(erasure, visit.external_id, visit.uuid, 100),
                "",
                "",
                scrub_json(visit.metadata, erasure),
            )
            if scrubbed != (visit.external_id, visit.notes, visit.pet_name, visit.metadata):
                visit.external_id, visit.notes, visit.pet_name, visit.metadata = scrubbed
                visits.append(visit)
        Visit.objects.bulk_update(
            visits, ["external_id", "notes", "pet_name", "metadata"], batch_size=FETCH_SIZE
        )
        return changed + len(visits)

    def plan_merge(self, duplicate: Customer, survivor: Customer) -> list[MergeStep]:
        """How many orders and visits join the survivor's; writes nothing."""
        steps = []
        orders = Order.objects.filter(customer=duplicate).count()
        if orders:
            steps.append(
                MergeStep(
                    NAME,
                    f"{orders} order{'s' if orders != 1 else ''}",
                    "move",
                    "The survivor's history and spend include the duplicate's orders",
                    {"orders": orders},
                )
            )
        visits = Visit.objects.filter(customer=duplicate).count()
        if visits:
            steps.append(
                MergeStep(
                    NAME,
                    f"{visits} visit{'s' if visits != 1 else ''}",
                    "move",
                    "The survivor's history includes the duplicate's visits",
                    {"visits": visits},
                )
            )
        return steps

    def merge(self, duplicate: Customer, survivor: Customer, actor: Actor) -> dict[str, Any]:
        """Move the duplicate's orders and visits to the survivor; the journal lists them."""
        orders = list(
            Order.objects.filter(customer=duplicate).order_by("pk").values_list("pk", flat=True)
        )
        visits = list(
            Visit.objects.filter(customer=duplicate).order_by("pk").values_list("pk", flat=True)
        )
        Order.objects.filter(pk__in=orders).update(customer=survivor)
        Visit.objects.filter(pk__in=visits).update(customer=survivor)
        return {"orders": orders, "visits": visits}

    def blockers_to_undo(
        self, duplicate: Customer, survivor: Customer, journal: dict[str, Any]
    ) -> list[str]:
        """Orders and visits stand alone: nothing newer depends on whose they are."""
        return []

    def undo_merge(
        self, duplicate: Customer, survivor: Customer, journal: dict[str, Any], actor: Actor
    ) -> None:
        """Give the moved orders and visits back to the duplicate."""
        Order.objects.filter(pk__in=journal.get("orders", []), customer=survivor).update(
            customer=duplicate
        )
        Visit.objects.filter(pk__in=journal.get("visits", []), customer=survivor).update(
            customer=duplicate
        )
