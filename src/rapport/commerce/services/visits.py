"""VisitService: visits and appointments recorded from booking tools and tills, and reads.

Unique by (tenant, source, external_id) like orders: the same visit again changes nothing,
a scheduled visit moves on to completed, cancelled or no_show, and a repeat that disagrees on
the customer, service, price or currency is a Conflict naming the fields.
"""

import datetime as dt
import uuid
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from rapport.commerce.models import Visit, VisitStatus
from rapport.commerce.services import changes, inputs
from rapport.commerce.services.inputs import CleanVisit, VisitInput
from rapport.commerce.services.orders import lock_customers, survivor_of
from rapport.customers import hooks
from rapport.customers.models import Customer
from rapport.exceptions import Conflict, InvalidInput, NotFound
from rapport.tenancy.actors import Actor
from rapport.tenancy.models import Tenant

ENDED = (VisitStatus.COMPLETED, VisitStatus.CANCELLED, VisitStatus.NO_SHOW)


@dataclass(frozen=True)
class VisitRecorded:
    """What record_visit did. `completed_now`: this call made the visit completed."""

    visit: Visit
    created: bool
    completed_now: bool


def _apply_status(visit: Visit, status: str, at: dt.datetime, now: dt.datetime) -> None:
    visit.status = status
    if status == VisitStatus.COMPLETED:
        visit.completed_at = at
        visit.occurred_at = at
    else:
        visit.cancelled_at = at
    visit.updated_at = now


def _differences(visit: Visit, clean: CleanVisit) -> dict[str, str]:
    found = {}
    if visit.customer_id != clean.customer.pk and visit.customer_id != survivor_of(clean.customer):
        found["customer"] = f"Visit {visit.external_id} belongs to customer {visit.customer.code}"
    if visit.service != clean.service:
        found["service"] = f"Stored as {visit.service!r}"
    if visit.price_q != clean.price_q:
        found["price_q"] = f"Stored as {visit.price_q}"
    if visit.currency != clean.currency:
        found["currency"] = f"Stored as {visit.currency}"
    wanted = clean.status
    if wanted != visit.status and wanted != VisitStatus.SCHEDULED and visit.status in ENDED:
        found["status"] = f"The visit is {visit.status}; it cannot become {wanted}"
    return found


def _locked(actor: Actor, visit: Visit) -> Visit:
    if not isinstance(visit, Visit) or visit.pk is None or visit.tenant_id != actor.tenant.pk:
        raise NotFound("No such visit", fields={"visit_id": "Unknown visit"})
    locked = (
        Visit.objects.select_for_update(of=("self",))
        .select_related("customer")
        .filter(pk=visit.pk)
        .first()
    )
    if locked is None:
        raise NotFound("No such visit", fields={"visit_id": "Unknown visit"})
    return locked


class VisitService:
    """Visits and appointments of customers the caller has found."""

    @staticmethod
    def record_visit(*, actor: Actor, visit: VisitInput) -> VisitRecorded:
        """Record a visit; the same (source, external_id) again changes nothing or moves it on."""
        errors: dict[str, str] = {}
        clean = inputs.check_visit(errors, visit, actor.tenant)
        if errors:
            raise InvalidInput("The visit is not valid", fields=errors)
        for _attempt in range(2):
            try:
                with transaction.atomic():
                    return _record(actor, clean)
            except IntegrityError:
                continue  # another writer stored the same visit first; the retry finds it
        raise Conflict(
            "The visit is being recorded by another request", fields={"external_id": "Retry"}
        )

    @staticmethod
    def set_status(
        *, actor: Actor, visit: Visit, status: str, at: dt.datetime | None = None
    ) -> Visit:
        """Complete, cancel or mark a no-show a scheduled visit; its own status is a no-op."""
        errors: dict[str, str] = {}
        inputs.choice(errors, "status", status, VisitStatus.values)
        at = inputs.moment(errors, "at", at)
        if errors:
            raise InvalidInput("The status change is not valid", fields=errors)
        with transaction.atomic():
            locked = _locked(actor, visit)
            if status == locked.status:
                return locked
            if locked.status != VisitStatus.SCHEDULED or status == VisitStatus.SCHEDULED:
                raise Conflict(
                    f"The visit is {locked.status}; it cannot become {status}",
                    fields={"status": "Only a scheduled visit changes status"},
                )
            now = timezone.now()
            _apply_status(locked, status, at or now, now)
            locked.save(
                update_fields=[
                    "status",
                    "completed_at",
                    "cancelled_at",
                    "occurred_at",
                    "updated_at",
                ]
            )
            hooks.publish(changes.visit_status_changed(locked, actor))
        return locked

    @staticmethod
    def get_visit(*, tenant: Tenant, visit_id: uuid.UUID | str) -> Visit:
        """The tenant's visit with this id; NotFound otherwise."""
        try:
            key = visit_id if isinstance(visit_id, uuid.UUID) else uuid.UUID(str(visit_id))
        except ValueError:
            raise NotFound("No such visit", fields={"visit_id": "Unknown visit"}) from None
        visit = Visit.objects.filter(tenant=tenant, uuid=key).select_related("customer").first()
        if visit is None:
            raise NotFound("No such visit", fields={"visit_id": "Unknown visit"})
        return visit

    @staticmethod
    def find_visit(*, tenant: Tenant, source: str, external_id: str) -> Visit | None:
        """The visit a sending system knows by this id, or None."""
        if not isinstance(source, str) or not isinstance(external_id, str):
            return None
        return (
            Visit.objects.filter(
                tenant=tenant, source=source.strip().lower(), external_id=external_id.strip()
            )
            .select_related("customer")
            .first()
        )

    @staticmethod
    def get_customer_visits(*, customer: Customer) -> QuerySet:
        """The customer's visits, most recent (or furthest booked) first."""
        return (
            Visit.objects.filter(customer=customer)
            .select_related("customer")
            .order_by("-occurred_at", "-id")
        )


def _record(actor: Actor, clean: CleanVisit) -> VisitRecorded:
    tenant = actor.tenant
    now = timezone.now()
    stored = (
        Visit.objects.select_for_update(of=("self",))
        .select_related("customer")
        .filter(tenant=tenant, source=clean.source, external_id=clean.external_id)
        .first()
    )
    if stored is not None:
        problems = _differences(stored, clean)
        if problems:
            raise Conflict("The visit was recorded before with other data", fields=problems)
        moved = stored.status == VisitStatus.SCHEDULED and clean.status in ENDED
        if moved:
            at = (clean.completed_at if clean.status == VisitStatus.COMPLETED else None) or now
            _apply_status(stored, clean.status, at, now)
            stored.save(
                update_fields=[
                    "status",
                    "completed_at",
                    "cancelled_at",
                    "occurred_at",
                    "updated_at",
                ]
            )
            hooks.publish(changes.visit_status_changed(stored, actor))
        return VisitRecorded(
            visit=stored,
            created=False,
            completed_now=moved and stored.status == VisitStatus.COMPLETED,
        )
    customer = lock_customers([clean.customer])[clean.customer.pk]
    completed_at = clean.completed_at
    if clean.status == VisitStatus.COMPLETED and completed_at is None:
        completed_at = (
            clean.scheduled_at if clean.scheduled_at and clean.scheduled_at <= now else now
        )
    visit = Visit(
        tenant=tenant,
        customer=customer,
        source=clean.source,
        external_id=clean.external_id,
        service=clean.service,
        status=clean.status,
        scheduled_at=clean.scheduled_at,
        completed_at=completed_at,
        cancelled_at=now if clean.status in (VisitStatus.CANCELLED, VisitStatus.NO_SHOW) else None,
        occurred_at=completed_at or clean.scheduled_at or now,
        staff=clean.staff,
        pet_uuid=clean.pet_uuid,
        pet_name=clean.pet_name,
        price_q=clean.price_q,
        currency=clean.currency,
        notes=clean.notes,
        metadata=clean.metadata,
        created_at=now,
        updated_at=now,
    )
    with transaction.atomic():  # a concurrent twin raises here; the caller retries
        visit.save(force_insert=True)
    for change in changes.visit_recorded(visit, actor):
        hooks.publish(change)
    return VisitRecorded(
        visit=visit, created=True, completed_now=visit.status == VisitStatus.COMPLETED
    )
