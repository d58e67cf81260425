"""Orders and visits from outside: find the customer, record the sale or visit, earn points.

Every door that takes orders in (the REST API, inbound events, the broker, CSV import) calls
these functions, so an order earns the same points however it arrives. Each runs in one
transaction: the customer found or created, the commerce write and the loyalty entry commit
together or not at all.
"""

import contextlib
import datetime as dt
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import transaction
from django.db.models import Sum

from rapport.commerce.models import Order, Visit
from rapport.commerce.services import (
    LineInput,
    OrderInput,
    OrderService,
    VisitInput,
    VisitService,
)
from rapport.customers.models import Customer
from rapport.customers.services import (
    CustomerService,
    ExternalIdentityService,
    find_customer,
)
from rapport.exceptions import Conflict, InvalidInput, NotFound, RapportError
from rapport.tenancy.actors import Actor

# Loyalty takes order amounts up to this; a larger (absurd) total records but earns nothing.
EARN_AMOUNT_LIMIT = 10**15
EARN_LINES_LIMIT = 500
LABEL_LIMIT = 100  # loyalty's limit on a line's category and product
DESCRIPTION_LIMIT = 200


def is_installed(app: str) -> bool:
    return apps.is_installed(f"rapport.{app}")


# --- what the doors hand in -------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerRef:
    """Who an order or visit is for: an existing customer's code, or identifiers to find or
    create them by (external ids first, then email, then phone)."""

    code: str | None = None
    email: str | None = None
    phone: str | None = None
    external_ids: Mapping[str, str] = field(default_factory=dict)
    first_name: str | None = None
    last_name: str | None = None

    def key(self) -> tuple:
        """Equal for two references that name the same customer the same way."""
        return (
            self.code,
            self.email,
            self.phone,
            tuple(sorted((self.external_ids or {}).items())),
            self.first_name,
            self.last_name,
        )


@dataclass(frozen=True)
class OrderRequest:
    """An order as a door receives it: the customer by reference, the rest as commerce takes it."""

    customer: CustomerRef
    external_id: str
    placed_at: dt.datetime | None
    lines: tuple[LineInput, ...] = ()
    total_q: int | None = None
    currency: str = ""
    channel: str = "pos"
    status: str = "completed"
    source: str = "api"
    completed_at: dt.datetime | None = None
    metadata: dict = field(default_factory=dict)

    def for_customer(self, customer: Customer) -> OrderInput:
        return OrderInput(
            customer=customer,
            external_id=self.external_id,
            placed_at=self.placed_at,
            lines=tuple(self.lines),
            total_q=self.total_q,
            currency=self.currency or "",
            channel=self.channel,
            status=self.status,
            source=self.source,
            completed_at=self.completed_at,
            metadata=self.metadata,
        )


@dataclass(frozen=True)
class PetRef:
    """The pet a visit was for: a registered pet's id, or a name."""

    id: uuid.UUID | None = None
    name: str = ""


@dataclass(frozen=True)
class VisitRequest:
    customer: CustomerRef
    external_id: str
    service: str
    status: str = "completed"
    scheduled_at: dt.datetime | None = None
    completed_at: dt.datetime | None = None
    staff: str = ""
    pet: PetRef | None = None
    price_q: int | None = None
    currency: str = ""
    source: str = "api"
    notes: str = ""
    metadata: dict = field(default_factory=dict)


# --- what they get back -----------------------------------------------------------------------


@dataclass(frozen=True)
class OrderOutcome:
    """What recording or changing an order did, with the points it earned or gave back."""

    order: Order
    created: bool = False
    changed: bool = False
    customer_created: bool = False
    points_earned: int | None = None  # None: the order earned nothing on this call
    points_reversed: int | None = None
    refund: Any = None


@dataclass(frozen=True)
class BulkOutcome:
    """Each input's order in input order, whether it was new, and the customers made."""

    orders: list[Order]
    created: list[bool]
    customers_created: int
    points_earned: int


@dataclass(frozen=True)
class VisitOutcome:
    visit: Visit
    created: bool = False
    changed: bool = False
    customer_created: bool = False


# --- errors under the caller's field names ----------------------------------------------------


def _renamed(error: RapportError, rename: Callable[[str], str]) -> RapportError:
    """The same error with its fields named as the caller's input names them."""
    return type(error)(
        error.message, code=error.code, fields={rename(k): v for k, v in error.fields.items()}
    )


def _under(prefix: str) -> Callable[[str], str]:
    return lambda name: f"{prefix}{name}" if prefix else name


# --- customers --------------------------------------------------------------------------------


def _not_found(prefix: str, code: str) -> InvalidInput:
    return InvalidInput(
        f"No customer with code {code!r}", fields={f"{prefix}.code": "No customer has this code"}
    )


def customers_by_code(tenant, codes: set[str]) -> dict[str, Customer]:
    """The tenant's customers with these codes (a merged one gives its survivor), in two queries."""
    if not codes:
        return {}
    rows = {c.code: c for c in Customer.objects.filter(tenant=tenant, code__in=sorted(codes))}
    survivors_needed = {c.merged_into_id for c in rows.values() if c.merged_into_id}
    survivors = {
        c.pk: c for c in Customer.objects.filter(tenant=tenant, pk__in=sorted(survivors_needed))
    }
    found = {}
    for code, customer in rows.items():
        if customer.merged_into_id:
            customer = survivors.get(customer.merged_into_id)
        if customer is not None:
            found[code] = customer
    return found


def _identifier_lookup(tenant, type: str, value: str, prefix: str) -> Customer | None:
    from rapport.identity.services import IdentifierService

    try:
        return IdentifierService.find_by_identifier(tenant=tenant, type=type, value=value)
    except InvalidInput as error:
        raise _renamed(error, lambda name: f"{prefix}.{type}") from None


def _by_external_ids(tenant, external_ids: Mapping[str, str]):
    """(the first customer an external id finds, the ids linked to nobody)."""
    found, unlinked = None, []
    for provider, external_id in external_ids.items():
        try:
            customer = ExternalIdentityService.find_customer(
                tenant=tenant, provider=provider, external_id=external_id
            )
        except NotFound:
            unlinked.append((provider, external_id))
            continue
        found = found or customer
    return found, unlinked


def _profile_rename(prefix: str, type: str = "") -> Callable[[str], str]:
    def rename(name: str) -> str:
        if name == "value" and type:
            return f"{prefix}.{type}"
        if name in ("defaults", "customer"):
            return prefix
        return f"{prefix}.{name}"

    return rename


def _create_customer(
    actor: Actor, ref: CustomerRef, profile: Mapping[str, Any], prefix: str, source: str
) -> Customer:
    from rapport.identity.services import IdentifierService

    defaults = {
        name: value
        for name, value in {
            "first_name": ref.first_name,
            "last_name": ref.last_name,
            **profile,
        }.items()
        if value not in (None, "")
    }
    source = source[:50]
    if ref.phone or ref.email:
        # Phone first: the identifier most customers of a till are known by.
        type, value = ("phone", ref.phone) if ref.phone else ("email", ref.email)
        if ref.phone and ref.email:
            defaults["email"] = ref.email
        try:
            customer, _ = IdentifierService.find_or_create_customer(
                actor=actor, type=type, value=value, defaults=defaults, source=source
            )
        except InvalidInput as error:
            raise _renamed(error, _profile_rename(prefix, type)) from None
        return customer
    if not any(defaults.get(name) for name in ("first_name", "last_name")):
        raise InvalidInput(
            "A new customer needs a name, an email or a phone number",
            fields={prefix: "No customer has these external ids: give a name, email or phone"},
        )
    try:
        return CustomerService.create_customer(actor=actor, source=source, **defaults)
    except InvalidInput as error:
        raise _renamed(error, _profile_rename(prefix)) from None


def _link(actor: Actor, customer: Customer, provider: str, external_id: str, prefix: str) -> None:
    try:
        ExternalIdentityService.link(
            actor=actor, code=customer.code, provider=provider, external_id=external_id
        )
    except InvalidInput as error:
        raise _renamed(error, lambda name: f"{prefix}.external_ids.{provider}") from None


def resolve_customer(
    actor: Actor,
    ref: CustomerRef,
    *,
    prefix: str = "customer",
    source: str = "",
    profile: Mapping[str, Any] | None = None,
) -> tuple[Customer, bool]:
    """The customer a reference names, created if identifiers find nobody: (customer, created).

    External ids the customer is not linked to yet are linked. Errors name fields under
    `prefix` (customer.email, orders[3].customer.code).
    """
    tenant = actor.tenant
    if ref.code:
        customer = find_customer(tenant, ref.code)
        if customer is None:
            raise _not_found(prefix, ref.code)
        return customer, False
    if not is_installed("identity"):
        raise InvalidInput(
            "Customers are named by code: finding them by email, phone or external ids needs "
            "the identity app",
            fields={prefix: "Give the customer's code (rapport.identity is not installed)"},
        )
    external_ids = dict(ref.external_ids or {})
    found, unlinked = _by_external_ids(tenant, external_ids)
    for type, value in (("email", ref.email), ("phone", ref.phone)):
        if found is None and value:
            found = _identifier_lookup(tenant, type, value, prefix)
    if found is not None:
        for provider, external_id in unlinked:
            with contextlib.suppress(Conflict):  # linked to someone meanwhile: theirs stands
                _link(actor, found, provider, external_id, prefix)
        return found, False
    try:
        with transaction.atomic():
            customer = _create_customer(actor, ref, profile or {}, prefix, source)
            for provider, external_id in unlinked:
                _link(actor, customer, provider, external_id, prefix)
    except Conflict:
        # A concurrent request made this customer and linked the id first: theirs is the one.
        winner, _ = _by_external_ids(tenant, external_ids)
        if winner is None:
            raise
        return winner, False
    return customer, True


def resolve_customers(
    actor: Actor, refs: Sequence[CustomerRef], *, prefix: Callable[[int], str], source: str = ""
) -> list[tuple[Customer, bool]]:
    """resolve_customer for many: codes in two queries, each other reference once."""
    codes = {ref.code for ref in refs if ref.code}
    by_code = customers_by_code(actor.tenant, codes)
    errors = {
        f"{prefix(index)}.code": "No customer has this code"
        for index, ref in enumerate(refs)
        if ref.code and ref.code not in by_code
    }
    if errors:
        raise InvalidInput("Some customers are not known", fields=errors)
    resolved: dict[tuple, tuple[Customer, bool]] = {}
    answers = []
    for index, ref in enumerate(refs):
        if ref.code:
            answers.append((by_code[ref.code], False))
            continue
        key = ref.key()
        if key not in resolved:
            resolved[key] = resolve_customer(actor, ref, prefix=prefix(index), source=source)
            answers.append(resolved[key])
        else:
            answers.append((resolved[key][0], False))
    return answers


# --- loyalty ----------------------------------------------------------------------------------


def _program(tenant):
    """The tenant's loyalty program when it keeps points, else None; never creates one.

    A program exists once the tenant set it up (or used loyalty at all); until then orders
    earn nothing.
    """
    if not is_installed("loyalty"):
        return None
    from rapport.loyalty.models import LoyaltyProgram

    program = LoyaltyProgram.objects.filter(tenant=tenant).first()
    return program if program is not None and program.keeps_points else None


def _earn_lines(order: Order) -> list[dict] | None:
    lines = list(order.lines.all())
    if not lines or len(lines) > EARN_LINES_LIMIT:
        return None
    if sum(line.total_q for line in lines) != order.total_q:
        return None  # shipping, discounts or tips: the rules see the total alone
    return [
        {
            "amount_q": line.total_q,
            "category": line.category[:LABEL_LIMIT],
            "product": (line.sku or line.name)[:LABEL_LIMIT],
        }
        for line in lines
    ]


def earn_for_order(actor: Actor, order: Order) -> int | None:
    """Earn what a completed order is worth in the tenant's program; None when it earns nothing.

    The reference `order:<uuid>` makes it once per order, however often it is asked.
    """
    program = _program(actor.tenant)
    if program is None or not 0 < order.total_q <= EARN_AMOUNT_LIMIT:
        return None
    if order.currency != program.currency:
        return None  # the program counts in another currency: nothing comparable to earn
    from rapport.loyalty.services import LoyaltyService

    result = LoyaltyService.earn_points(
        actor=actor,
        code=order.customer.code,
        reference=f"order:{order.uuid}",
        amount_q=order.total_q,
        lines=_earn_lines(order),
        currency=order.currency,
        description=f"Order {order.external_id}"[:DESCRIPTION_LIMIT],
        occurred_at=order.completed_at,
    )
    return result.transaction.points


def reverse_for_refund(actor: Actor, order: Order, refund) -> int | None:
    """Take back the share of the order's points its refunds now cover; None when none is due.

    Counted on the refunded total, so partial refunds that add up to the whole order take back
    every point: due = floor(earned * refunded_q / total_q) less what was taken back before.
    """
    if not is_installed("loyalty") or order.total_q <= 0:
        return None
    from rapport.loyalty.services import LoyaltyService

    earn = (
        LoyaltyService.get_transactions(
            tenant=actor.tenant, code=order.customer.code, transaction_type="earn"
        )
        .filter(reference=f"order:{order.uuid}")
        .first()
    )
    if earn is None or earn.points <= 0:
        return None
    taken_back = -(earn.reversals.aggregate(total=Sum("qualifying_points"))["total"] or 0)
    due = earn.points * min(order.refunded_q, order.total_q) // order.total_q - taken_back
    if due <= 0:
        return None
    result = LoyaltyService.reverse_transaction(
        actor=actor,
        code=order.customer.code,
        transaction_id=earn.uuid,
        reference=f"refund:{refund.uuid}",
        points=due,
        description=f"Refund on order {order.external_id}"[:DESCRIPTION_LIMIT],
    )
    return -result.transaction.qualifying_points


# --- orders -----------------------------------------------------------------------------------


def record_order(*, actor: Actor, request: OrderRequest, prefix: str = "") -> OrderOutcome:
    """Find or create the customer, record the order, and earn if this call completed it."""
    with transaction.atomic():
        customer, customer_created = resolve_customer(
            actor, request.customer, prefix=f"{prefix}customer", source=request.source
        )
        try:
            recorded = OrderService.record_order(actor=actor, order=request.for_customer(customer))
        except RapportError as error:
            raise _renamed(error, _under(prefix)) from None
        earned = earn_for_order(actor, recorded.order) if recorded.completed_now else None
    return OrderOutcome(
        order=recorded.order,
        created=recorded.created,
        changed=recorded.created or recorded.completed_now,
        customer_created=customer_created,
        points_earned=earned,
    )


def record_orders(
    *, actor: Actor, requests: Sequence[OrderRequest], earn_points: bool = False
) -> BulkOutcome:
    """Record many orders in one transaction, all or none; errors name orders[i].field.

    With `earn_points`, completed orders new to rapport earn as one recorded alone would.
    """
    if not requests:
        raise InvalidInput("Give at least one order", fields={"orders": "Empty"})
    with transaction.atomic():
        customers = resolve_customers(
            actor,
            [request.customer for request in requests],
            prefix=lambda index: f"orders[{index}].customer",
            source=requests[0].source,
        )
        inputs = [
            request.for_customer(customer)
            for request, (customer, _) in zip(requests, customers, strict=True)
        ]
        bulk = OrderService.record_orders(actor=actor, orders=inputs)
        stored = {(order.source, order.external_id): order for order in bulk.existing}
        new = {(order.source, order.external_id): order for order in bulk.created}
        orders, created = [], []
        for request in requests:
            key = (request.source.strip().lower(), request.external_id.strip())
            orders.append(new.get(key) or stored[key])
            created.append(key in new)
        points = 0
        if earn_points:
            for order in bulk.created:
                if order.status == "completed":
                    points += earn_for_order(actor, order) or 0
    return BulkOutcome(
        orders=orders,
        created=created,
        customers_created=sum(1 for _, made in customers if made),
        points_earned=points,
    )


def set_order_status(
    *, actor: Actor, order_id, status: str, at: dt.datetime | None = None
) -> OrderOutcome:
    """Complete or cancel a pending order; completing it earns its points."""
    with transaction.atomic():
        order = OrderService.get_order(tenant=actor.tenant, order_id=order_id)
        changed = OrderService.set_status(actor=actor, order=order, status=status, at=at)
        completed_now = changed.changed and changed.order.status == "completed"
        earned = earn_for_order(actor, changed.order) if completed_now else None
    return OrderOutcome(order=changed.order, changed=changed.changed, points_earned=earned)


def refund_order(
    *,
    actor: Actor,
    order: Order,
    amount_q: int | None = None,
    reason: str = "",
    reference: str = "",
) -> OrderOutcome:
    """Refund part or all of a completed order and take back the points the refund covers."""
    with transaction.atomic():
        refunded = OrderService.refund(
            actor=actor, order=order, amount_q=amount_q, reason=reason, reference=reference
        )
        reversed_points = None
        if refunded.created:
            reversed_points = reverse_for_refund(actor, refunded.order, refunded.refund)
    return OrderOutcome(
        order=refunded.order,
        changed=refunded.created,
        points_reversed=reversed_points,
        refund=refunded.refund,
    )


def refund_order_by_id(*, actor: Actor, order_id, **refund: Any) -> OrderOutcome:
    """refund_order for the tenant's order with this id; NotFound for anyone else's."""
    with transaction.atomic():
        order = OrderService.get_order(tenant=actor.tenant, order_id=order_id)
        return refund_order(actor=actor, order=order, **refund)


# --- visits -----------------------------------------------------------------------------------


def _pet(actor: Actor, customer: Customer, pet: PetRef | None, prefix: str):
    """(pet uuid, pet name) for the visit: a registered pet of the customer's when pets is
    installed, else the name as given."""
    if pet is None:
        return None, ""
    if not is_installed("pets"):
        if pet.id is not None:
            raise InvalidInput(
                "Pets are not kept here: name the pet instead",
                fields={f"{prefix}pet.id": "The pets app is not installed; give the pet's name"},
            )
        return None, pet.name
    from rapport.pets.services import PetService, name_key

    if pet.id is not None:
        try:
            found = PetService.pet_of_customer(customer=customer, pet_id=pet.id)
        except NotFound:
            raise InvalidInput(
                "The customer has no such pet",
                fields={f"{prefix}pet.id": f"Not a pet of customer {customer.code}"},
            ) from None
        return found.uuid, found.name
    wanted = name_key(pet.name)
    matches = [p for p in PetService.get_customer_pets(customer=customer) if p.name_key == wanted]
    if len(matches) == 1:
        return matches[0].uuid, matches[0].name
    return None, pet.name  # not registered, or two of that name: the visit keeps the name


def record_visit(*, actor: Actor, request: VisitRequest, prefix: str = "") -> VisitOutcome:
    """Find or create the customer, check the pet, and record the visit."""
    with transaction.atomic():
        customer, customer_created = resolve_customer(
            actor, request.customer, prefix=f"{prefix}customer", source=request.source
        )
        pet_uuid, pet_name = _pet(actor, customer, request.pet, prefix)
        visit = VisitInput(
            customer=customer,
            external_id=request.external_id,
            service=request.service,
            status=request.status,
            scheduled_at=request.scheduled_at,
            completed_at=request.completed_at,
            staff=request.staff,
            pet_uuid=pet_uuid,
            pet_name=pet_name,
            price_q=request.price_q,
            currency=request.currency or "",
            source=request.source,
            notes=request.notes,
            metadata=request.metadata,
        )
        try:
            recorded = VisitService.record_visit(actor=actor, visit=visit)
        except RapportError as error:
            raise _renamed(error, _under(prefix)) from None
    return VisitOutcome(
        visit=recorded.visit,
        created=recorded.created,
        changed=recorded.created or recorded.completed_now,
        customer_created=customer_created,
    )


def set_visit_status(
    *, actor: Actor, visit_id, status: str, at: dt.datetime | None = None
) -> VisitOutcome:
    """Complete, cancel or mark a no-show a scheduled visit."""
    with transaction.atomic():
        visit = VisitService.get_visit(tenant=actor.tenant, visit_id=visit_id)
        previous = visit.status
        visit = VisitService.set_status(actor=actor, visit=visit, status=status, at=at)
    return VisitOutcome(visit=visit, changed=visit.status != previous)
