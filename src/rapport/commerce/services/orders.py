"""OrderService: recording orders one at a time or in bulk, their status, refunds, and reads.

An order is unique by (tenant, source, external_id): the sending system's own id. Recording
it again is harmless: the same data changes nothing, a status that moves forward (pending to
completed or cancelled) is applied, and different data (customer, total, currency or lines)
is a Conflict naming the fields. Every write publishes its timeline entry and outbox event
through customers.hooks in the same transaction.
"""

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from rapport.commerce.models import SOLD, Order, OrderLine, OrderRefund, Status
from rapport.commerce.services import changes, inputs
from rapport.commerce.services.inputs import CleanOrder, OrderInput
from rapport.customers import hooks
from rapport.customers.models import Customer
from rapport.exceptions import Conflict, InvalidInput, NotFound
from rapport.tenancy.actors import Actor
from rapport.tenancy.models import Tenant

BULK_LIMIT = 10_000
BATCH_SIZE = 1000
REASON_LIMIT = 200
REFERENCE_LIMIT = 200
# Where a status may go from, as an order's sending system or staff move it on.
FORWARD = {Status.PENDING: {Status.COMPLETED, Status.CANCELLED}}


@dataclass(frozen=True)
class OrderRecorded:
    """What record_order did. `completed_now`: this call made the order completed."""

    order: Order
    created: bool
    completed_now: bool


@dataclass(frozen=True)
class BulkRecorded:
    """What record_orders did: new orders and ones already stored, each in input order."""

    created: list[Order]
    existing: list[Order]


@dataclass(frozen=True)
class StatusChanged:
    order: Order
    previous: str
    changed: bool


@dataclass(frozen=True)
class Refunded:
    """A refund and the order after it; `created` False when the reference was used before."""

    order: Order
    refund: OrderRefund
    created: bool


# --- steps shared by the single and the bulk path ---------------------------------------------


def lock_customers(customers: list[Customer]) -> dict[int, Customer]:
    """Lock the customers' rows in key order; each maps to itself or to its merge survivor."""
    pks = sorted({customer.pk for customer in customers})
    rows = Customer.objects.select_for_update(no_key=True, of=("self",))
    locked = {row.pk: row for row in rows.filter(pk__in=pks).order_by("pk")}
    survivors = {row.merged_into_id for row in locked.values() if row.merged_into_id}
    if survivors:
        locked.update({row.pk: row for row in rows.filter(pk__in=survivors).order_by("pk")})
    resolved = {}
    for pk in pks:
        row = locked.get(pk)
        if row is None:
            raise InvalidInput("The customer no longer exists", fields={"customer": "Unknown"})
        resolved[pk] = locked.get(row.merged_into_id, row) if row.merged_into_id else row
    return resolved


def _new_order(clean: CleanOrder, customer: Customer, tenant: Tenant, now: dt.datetime) -> Order:
    completed_at = cancelled_at = None
    if clean.status == Status.COMPLETED:
        completed_at = clean.completed_at or clean.placed_at
    elif clean.status == Status.CANCELLED:
        cancelled_at = now
    return Order(
        tenant=tenant,
        customer=customer,
        source=clean.source,
        external_id=clean.external_id,
        channel=clean.channel,
        status=clean.status,
        placed_at=clean.placed_at,
        completed_at=completed_at,
        cancelled_at=cancelled_at,
        total_q=clean.total_q,
        currency=clean.currency,
        metadata=clean.metadata,
        created_at=now,
        updated_at=now,
    )


def _new_lines(order: Order, clean: CleanOrder) -> list[OrderLine]:
    return [
        OrderLine(
            order=order,
            position=line.position,
            sku=line.sku,
            name=line.name,
            category=line.category,
            quantity=line.quantity,
            unit_price_q=line.unit_price_q,
            total_q=line.total_q,
        )
        for line in clean.lines
    ]


def _line_keys(lines) -> list[tuple]:
    return [
        (line.sku, line.name, line.category, line.quantity, line.unit_price_q) for line in lines
    ]


def _differences(order: Order, clean: CleanOrder, stored_lines) -> dict[str, str]:
    """The fields in which a repeat disagrees with the stored order."""
    found = {}
    if order.customer_id != clean.customer.pk and order.customer_id != survivor_of(clean.customer):
        found["customer"] = f"Order {order.external_id} belongs to customer {order.customer.code}"
    if order.total_q != clean.total_q:
        found["total_q"] = f"Stored as {order.total_q}"
    if order.currency != clean.currency:
        found["currency"] = f"Stored as {order.currency}"
    if _line_keys(stored_lines) != [line.key() for line in clean.lines]:
        found["lines"] = "Differ from the stored lines"
    status = _status_problem(order.status, clean.status)
    if status:
        found["status"] = status
    return found


def survivor_of(customer: Customer) -> int | None:
    """The record the customer was merged into, read afresh (the caller's copy may be stale)."""
    return Customer.objects.filter(pk=customer.pk).values_list("merged_into_id", flat=True).first()


def _status_problem(stored: str, wanted: str) -> str:
    """Why a repeat's status cannot apply, or "" (it applies, or changes nothing)."""
    if wanted == Status.PENDING or wanted == stored or wanted in FORWARD.get(stored, ()):
        return ""
    if wanted == Status.COMPLETED and stored in SOLD:
        return ""  # refunded since: the report is older than what we know
    return f"The order is {stored}; it cannot become {wanted}"


def _move_status(order: Order, wanted: str, at: dt.datetime, now: dt.datetime) -> bool:
    """Apply a forward move in memory; whether one happened."""
    if wanted not in FORWARD.get(order.status, ()):
        return False
    order.status = wanted
    if wanted == Status.COMPLETED:
        order.completed_at = at
    else:
        order.cancelled_at = at
    order.updated_at = now
    return True


def _conflict(fields: dict[str, str]) -> Conflict:
    return Conflict("The order was recorded before with other data", fields=fields)


# --- the service -------------------------------------------------------------------------------


class OrderService:
    """Orders of customers the caller has found: recorded, completed, cancelled, refunded."""

    @staticmethod
    def record_order(*, actor: Actor, order: OrderInput) -> OrderRecorded:
        """Record an order; the same (source, external_id) again changes nothing or moves it on."""
        errors: dict[str, str] = {}
        clean = inputs.check_order(errors, order, actor.tenant)
        if errors:
            raise InvalidInput("The order is not valid", fields=errors)
        for _attempt in range(2):
            try:
                with transaction.atomic():
                    return _record_one(actor, clean)
            except IntegrityError:
                # Another writer stored the same order first; the retry finds it.
                continue
        raise Conflict(
            "The order is being recorded by another request", fields={"external_id": "Retry"}
        )

    @staticmethod
    def record_orders(
        *, actor: Actor, orders: Sequence[OrderInput], publish: bool = True
    ) -> BulkRecorded:
        """Record up to 10,000 orders in a few queries; all are checked before any is written.

        `publish` False (history imports) writes the orders alone: no timeline entries, no
        events.
        """
        orders = list(orders) if isinstance(orders, Sequence) else orders
        if not isinstance(orders, list):
            raise InvalidInput("Give a list of orders", fields={"orders": "Must be a list"})
        if len(orders) > BULK_LIMIT:
            raise InvalidInput(
                "Too many orders in one call", fields={"orders": f"At most {BULK_LIMIT:,}"}
            )
        errors: dict[str, str] = {}
        cleaned = [
            inputs.check_order(errors, item, actor.tenant, prefix=f"orders[{index}].")
            for index, item in enumerate(orders)
        ]
        seen: dict[tuple[str, str], int] = {}
        for index, clean in enumerate(cleaned):
            if clean is None:
                continue
            key = (clean.source, clean.external_id)
            if key in seen:
                errors[f"orders[{index}].external_id"] = f"Repeats orders[{seen[key]}]"
            seen.setdefault(key, index)
        if errors:
            raise InvalidInput("Some orders are not valid", fields=errors)
        if not cleaned:
            return BulkRecorded(created=[], existing=[])
        for _attempt in range(2):
            try:
                with transaction.atomic():
                    return _record_many(actor, cleaned, publish=publish)
            except IntegrityError:
                continue
        raise Conflict(
            "The orders are being recorded by another request", fields={"orders": "Retry"}
        )

    @staticmethod
    def set_status(
        *, actor: Actor, order: Order, status: str, at: dt.datetime | None = None
    ) -> StatusChanged:
        """Complete or cancel a pending order; the status it has already changes nothing."""
        errors: dict[str, str] = {}
        inputs.choice(
            errors, "status", status, (Status.COMPLETED, Status.CANCELLED, Status.PENDING)
        )
        at = inputs.moment(errors, "at", at)
        if errors:
            raise InvalidInput("The status change is not valid", fields=errors)
        with transaction.atomic():
            locked = _locked(actor, order)
            previous = locked.status
            if status == previous:
                return StatusChanged(order=locked, previous=previous, changed=False)
            now = timezone.now()
            if not _move_status(locked, status, at or now, now):
                raise Conflict(
                    f"Order {locked.external_id} is {previous}; it cannot become {status}",
                    fields={"status": f"From {previous} only {_forward_text(previous)}"},
                )
            locked.save(update_fields=["status", "completed_at", "cancelled_at", "updated_at"])
            hooks.publish(changes.status_changed(locked, actor))
        return StatusChanged(order=locked, previous=previous, changed=True)

    @staticmethod
    def refund(
        *,
        actor: Actor,
        order: Order,
        amount_q: int | None = None,
        reason: str = "",
        reference: str = "",
    ) -> Refunded:
        """Give back part or all (None: the rest) of a completed order; a reference replays."""
        errors: dict[str, str] = {}
        if amount_q is not None:
            inputs.whole(errors, "amount_q", amount_q, minimum=1)
        reason = inputs.text(errors, "reason", reason, limit=REASON_LIMIT)
        reference = inputs.text(errors, "reference", reference, limit=REFERENCE_LIMIT)
        if errors:
            raise InvalidInput("The refund is not valid", fields=errors)
        with transaction.atomic():
            locked = _locked(actor, order)
            if reference:
                earlier = OrderRefund.objects.filter(order=locked, reference=reference).first()
                if earlier is not None:
                    if amount_q is not None and amount_q != earlier.amount_q:
                        raise Conflict(
                            f"Refund {reference!r} was for another amount",
                            fields={"amount_q": f"Stored as {earlier.amount_q}"},
                        )
                    return Refunded(order=locked, refund=earlier, created=False)
            if locked.status not in (Status.COMPLETED, Status.PARTIALLY_REFUNDED):
                raise Conflict(
                    f"Order {locked.external_id} is {locked.status}: only completed orders "
                    "are refunded",
                    fields={"status": locked.status},
                )
            left = locked.net_q
            amount = left if amount_q is None else amount_q
            if amount > left or amount < 1:
                raise InvalidInput(
                    "The refund is more than what is left to refund",
                    fields={"amount_q": f"At most {left:,}"},
                )
            now = timezone.now()
            refund = OrderRefund.objects.create(
                order=locked,
                amount_q=amount,
                reason=reason,
                reference=reference or f"refund:{uuid.uuid4()}",
                actor=actor.label[:200],
                created_at=now,
            )
            locked.refunded_q += amount
            locked.status = (
                Status.REFUNDED
                if locked.refunded_q == locked.total_q
                else Status.PARTIALLY_REFUNDED
            )
            locked.updated_at = now
            locked.save(update_fields=["refunded_q", "status", "updated_at"])
            hooks.publish(changes.refunded(locked, refund, actor))
        return Refunded(order=locked, refund=refund, created=True)

    @staticmethod
    def get_order(*, tenant: Tenant, order_id: uuid.UUID | str) -> Order:
        """The tenant's order with this id; NotFound otherwise."""
        try:
            key = order_id if isinstance(order_id, uuid.UUID) else uuid.UUID(str(order_id))
        except ValueError:
            raise NotFound("No such order", fields={"order_id": "Unknown order"}) from None
        order = (
            Order.objects.filter(tenant=tenant, uuid=key)
            .select_related("customer")
            .prefetch_related("lines", "refunds")
            .first()
        )
        if order is None:
            raise NotFound("No such order", fields={"order_id": "Unknown order"})
        return order

    @staticmethod
    def find_order(*, tenant: Tenant, source: str, external_id: str) -> Order | None:
        """The order a sending system knows by this id, or None."""
        if not isinstance(source, str) or not isinstance(external_id, str):
            return None
        return (
            Order.objects.filter(
                tenant=tenant, source=source.strip().lower(), external_id=external_id.strip()
            )
            .select_related("customer")
            .first()
        )

    @staticmethod
    def get_customer_orders(*, customer: Customer) -> QuerySet:
        """The customer's orders, newest first, with their lines."""
        return (
            Order.objects.filter(customer=customer)
            .select_related("customer")
            .prefetch_related("lines")
            .order_by("-placed_at", "-id")
        )


def _forward_text(status: str) -> str:
    allowed = sorted(FORWARD.get(status, ()))
    return " or ".join(allowed) if allowed else "nothing: refund it instead"


def _locked(actor: Actor, order: Order) -> Order:
    """The order's row locked, or NotFound when it is not the acting tenant's."""
    if not isinstance(order, Order) or order.pk is None or order.tenant_id != actor.tenant.pk:
        raise NotFound("No such order", fields={"order_id": "Unknown order"})
    locked = (
        Order.objects.select_for_update(of=("self",))
        .select_related("customer")
        .filter(pk=order.pk)
        .first()
    )
    if locked is None:
        raise NotFound("No such order", fields={"order_id": "Unknown order"})
    return locked


def _record_one(actor: Actor, clean: CleanOrder) -> OrderRecorded:
    tenant = actor.tenant
    now = timezone.now()
    stored = (
        Order.objects.select_for_update(of=("self",))
        .select_related("customer")
        .filter(tenant=tenant, source=clean.source, external_id=clean.external_id)
        .first()
    )
    if stored is not None:
        return _repeat(actor, stored, clean, now)
    customer = lock_customers([clean.customer])[clean.customer.pk]
    order = _new_order(clean, customer, tenant, now)
    with transaction.atomic():  # a concurrent twin raises here; the caller retries
        order.save(force_insert=True)
    OrderLine.objects.bulk_create(_new_lines(order, clean))
    for change in changes.order_created(order, actor):
        hooks.publish(change)
    return OrderRecorded(order=order, created=True, completed_now=order.status == Status.COMPLETED)


def _repeat(actor: Actor, stored: Order, clean: CleanOrder, now: dt.datetime) -> OrderRecorded:
    problems = _differences(stored, clean, stored.lines.order_by("position"))
    if problems:
        raise _conflict(problems)
    moved = _move_status(stored, clean.status, clean.completed_at or now, now)
    if moved:
        stored.save(update_fields=["status", "completed_at", "cancelled_at", "updated_at"])
        hooks.publish(changes.status_changed(stored, actor))
    return OrderRecorded(
        order=stored, created=False, completed_now=moved and stored.status == Status.COMPLETED
    )


def _record_many(actor: Actor, cleaned: list[CleanOrder], *, publish: bool) -> BulkRecorded:
    tenant = actor.tenant
    now = timezone.now()
    # The stored ones, in a query per source.
    by_source: dict[str, list[str]] = {}
    for clean in cleaned:
        by_source.setdefault(clean.source, []).append(clean.external_id)
    stored: dict[tuple[str, str], Order] = {}
    for source, external_ids in by_source.items():
        for start in range(0, len(external_ids), BATCH_SIZE):
            rows = (
                Order.objects.select_for_update(of=("self",))
                .select_related("customer")
                .filter(
                    tenant=tenant,
                    source=source,
                    external_id__in=external_ids[start : start + BATCH_SIZE],
                )
            )
            stored.update({(row.source, row.external_id): row for row in rows})
    stored_lines: dict[int, list[OrderLine]] = {order.pk: [] for order in stored.values()}
    if stored:
        for line in OrderLine.objects.filter(order_id__in=list(stored_lines)).order_by(
            "order_id", "position"
        ):
            stored_lines[line.order_id].append(line)
    # Repeats: check every one first, then move statuses on.
    problems: dict[str, str] = {}
    for index, clean in enumerate(cleaned):
        order = stored.get((clean.source, clean.external_id))
        if order is not None:
            for name, message in _differences(order, clean, stored_lines[order.pk]).items():
                problems[f"orders[{index}].{name}"] = message
    if problems:
        raise _conflict(problems)
    existing, moved, created = [], [], []
    new = [clean for clean in cleaned if (clean.source, clean.external_id) not in stored]
    customers = lock_customers([clean.customer for clean in new]) if new else {}
    for clean in cleaned:
        order = stored.get((clean.source, clean.external_id))
        if order is None:
            created.append(_new_order(clean, customers[clean.customer.pk], tenant, now))
            continue
        existing.append(order)
        if _move_status(order, clean.status, clean.completed_at or now, now):
            moved.append(order)
    if moved:
        Order.objects.bulk_update(
            moved, ["status", "completed_at", "cancelled_at", "updated_at"], batch_size=BATCH_SIZE
        )
    if created:
        with transaction.atomic():  # a concurrent twin raises here; the caller retries
            Order.objects.bulk_create(created, batch_size=BATCH_SIZE)
        lines = [
            line
            for order, clean in zip(created, new, strict=True)
            for line in _new_lines(order, clean)
        ]
        OrderLine.objects.bulk_create(lines, batch_size=BATCH_SIZE)
    if publish:
        published = [change for order in created for change in changes.order_created(order, actor)]
        published += [changes.status_changed(order, actor) for order in moved]
        hooks.publish_many(published)
    return BulkRecorded(created=created, existing=existing)
