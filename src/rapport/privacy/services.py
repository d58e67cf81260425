"""Export and erasure of a person's data, and the log of their requests about it."""

import calendar
import datetime as dt
import json
import uuid
import zoneinfo
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from rapport.customers import hooks, personal_data
from rapport.customers.data_rights import anonymize_customer, originals_of, scrub_json
from rapport.customers.hooks import CustomerChange
from rapport.customers.models import Customer
from rapport.customers.personal_data import Erasure
from rapport.customers.selectors import customer_payload
from rapport.customers.services import find_customer
from rapport.exceptions import Conflict, InvalidInput, NotFound
from rapport.privacy import conf
from rapport.privacy.models import DataSubjectRequest, ErasureRecord
from rapport.tenancy.actors import Actor
from rapport.tenancy.models import IdempotencyRecord, Tenant

Kind = DataSubjectRequest.Kind
Status = DataSubjectRequest.Status

# Where a request may go from each status; completed and rejected are final.
TRANSITIONS = {
    Status.RECEIVED: {Status.IN_PROGRESS, Status.COMPLETED, Status.REJECTED},
    Status.IN_PROGRESS: {Status.COMPLETED, Status.REJECTED},
    Status.COMPLETED: set(),
    Status.REJECTED: set(),
}
CUSTOMER_CODE_LIMIT = 40
CHANNEL_LIMIT = 30
NOTES_LIMIT = 10_000
REPLAY_FETCH_SIZE = 200


def _customer(actor: Actor, code: str, *, for_update: bool = False) -> Customer:
    customer = find_customer(actor.tenant, code, for_update=for_update)
    if customer is None:
        raise NotFound(f"No customer with code {code!r}")
    return customer


class _ExportEncoder(DjangoJSONEncoder):
    def default(self, o: Any) -> Any:
        # Every time in the document as the apps' sections write them: ISO 8601, to the
        # microsecond, with its offset (Django's encoder would cut to milliseconds and say Z).
        if isinstance(o, dt.datetime):
            return o.isoformat()
        return super().default(o)


def _plain(document: Any) -> Any:
    """The document as JSON text would give it back: dates, UUIDs and Decimals become text."""
    return json.loads(_ExportEncoder().encode(document))


def _mentions(body: bytes, erasure: Erasure) -> bool:
    """Whether a stored response holds an original value, escaped for JSON or not."""
    text = bytes(body).decode("utf-8", "replace")
    if erasure.scrub(text) != text:
        return True
    try:
        unescaped = json.dumps(json.loads(text), ensure_ascii=False)
    except ValueError:
        return False
    return erasure.scrub(unescaped) != unescaped


def _forget_replays(tenant: Tenant, erasure: Erasure) -> int:
    """Delete the tenant's stored idempotent responses that hold an original value."""
    records = IdempotencyRecord.objects.filter(tenant=tenant, response_body__isnull=False)
    doomed = [
        pk
        for pk, body in records.values_list("pk", "response_body").iterator(
            chunk_size=REPLAY_FETCH_SIZE
        )
        if _mentions(body, erasure)
    ]
    return IdempotencyRecord.objects.filter(pk__in=doomed).delete()[0]


def _erasure_request(
    tenant: Tenant, request_id: uuid.UUID | str | None, customer: Customer
) -> DataSubjectRequest | None:
    """The open erasure request an erasure answers, checked against the customer."""
    if request_id is None:
        return None
    try:
        request_uuid = uuid.UUID(str(request_id))
    except ValueError:
        raise InvalidInput(
            "The request id is not valid", fields={"request_id": "Use a request's id"}
        ) from None
    request = (
        DataSubjectRequest.objects.select_for_update()
        .filter(tenant=tenant, uuid=request_uuid)
        .first()
    )
    if request is None:
        raise InvalidInput(
            "Unknown data-subject request", fields={"request_id": "No request with that id"}
        )
    problem = ""
    if request.kind != Kind.ERASURE:
        problem = f"It is a request for {request.get_kind_display().lower()}, not erasure"
    elif not request.is_open:
        problem = f"The request is already {request.status}"
    elif request.customer_id not in (None, customer.pk) or (
        request.customer_id is None and request.customer_code != customer.code
    ):
        problem = "The request is about another customer"
    if problem:
        raise InvalidInput(
            "The request cannot be answered by this erasure", fields={"request_id": problem}
        )
    return request


class PrivacyService:
    """A person's rights over their data: a copy of everything (export), and erasure."""

    @staticmethod
    def export_customer(*, actor: Actor, code: str) -> dict[str, Any]:
        """Everything every installed app holds on the customer, as one JSON document."""
        actor.require_operator("export a customer's data")
        with transaction.atomic():
            customer = _customer(actor, code)
            sections = {
                handler.name: handler.export(customer)
                for handler in personal_data.handlers("export")
            }
            merged = list(customer.merged_customers.order_by("pk").values_list("code", flat=True))
        tenant = actor.tenant
        return _plain(
            {
                "format": "rapport.customer-export",
                "format_version": conf.EXPORT_FORMAT_VERSION,
                "exported_at": timezone.now(),
                "tenant": {"slug": tenant.slug, "name": tenant.name, "country": tenant.country},
                "customer": {
                    **customer_payload(customer),
                    "erased_at": customer.erased_at,
                    "merged_codes": merged,
                },
                "sections": sections,
            }
        )

    @staticmethod
    def erase_customer(
        *, actor: Actor, code: str, request_id: uuid.UUID | str | None = None
    ) -> ErasureRecord:
        """Anonymize a person everywhere, keeping their code and the shape of their history."""
        actor.require_operator("erase a customer's data")
        tenant = actor.tenant
        with transaction.atomic():
            customer = _customer(actor, code, for_update=True)
            if customer.erased_at is not None:
                raise Conflict(
                    f"The data of customer {customer.code!r} was already erased",
                    fields={"code": "Already erased"},
                )
            request = _erasure_request(tenant, request_id, customer)
            # Records merged into this one are the same person: their rows go too.
            people = [
                customer,
                *Customer.objects.select_for_update(of=("self",))
                .filter(merged_into=customer)
                .order_by("pk"),
            ]
            originals = {value: None for person in people for value in originals_of(person)}
            erasure = Erasure(actor=actor, originals=list(originals))
            counts: dict[str, int] = {}
            for handler in personal_data.handlers("erase"):
                changed = sum(handler.erase(person, erasure) for person in people)
                counts[handler.name] = counts.get(handler.name, 0) + changed
            counts["idempotency"] = _forget_replays(tenant, erasure)
            for person in people:
                anonymize_customer(person, erasure)
            counts["profile"] = len(people)
            record = ErasureRecord.objects.create(
                tenant=tenant,
                customer=customer,
                customer_code=customer.code,
                request=request,
                erased_by=actor.label[:150],
                counts=counts,
            )
            if request is not None:
                _set_status(request, actor, Status.COMPLETED)
            hooks.publish(
                CustomerChange(
                    kind="erased",
                    customer=customer,
                    actor=actor,
                    title="Personal data erased",
                    timeline_type="system",
                    event="customer.erased",
                    detail={},
                )
            )
            if request is not None:
                _request_change(
                    request, actor, "updated", "Data-subject request completed: erasure"
                )
        return record

    @staticmethod
    def list_erasures(*, actor: Actor) -> QuerySet:
        """The tenant's erasures, newest first, with the request each answered."""
        return ErasureRecord.objects.filter(tenant=actor.tenant).select_related("request")


# --- data-subject requests ----------------------------------------------------------------


def _add_months(moment: dt.datetime, months: int) -> dt.datetime:
    """The same day and time `months` later; the month's last day when it is shorter."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def due_date(tenant: Tenant, received_at: dt.datetime) -> dt.datetime:
    """The answer's legal deadline for a request the tenant received at `received_at`."""
    allowed = conf.response_time(tenant.country)
    # "One month" is counted on the calendar where the business is, not in UTC.
    local = received_at.astimezone(zoneinfo.ZoneInfo(tenant.timezone))
    due = _add_months(local, allowed.get("months", 0))
    due += dt.timedelta(days=allowed.get("days", 0))
    return due.astimezone(dt.UTC)


def _set_status(request: DataSubjectRequest, actor: Actor, status: str) -> None:
    request.status = status
    request.handled_by = actor.label[:150]
    if status in (Status.COMPLETED, Status.REJECTED):
        request.completed_at = timezone.now()
    request.save()


def _request_change(request: DataSubjectRequest, actor: Actor, verb: str, title: str) -> None:
    """Log a request about a known customer on their timeline and in the outbox."""
    if request.customer_id is None:
        return
    hooks.publish(
        CustomerChange(
            kind=f"data_subject_request_{verb}",
            customer=request.customer,
            actor=actor,
            title=title,
            timeline_type="system",
            event=f"data_subject_request.{verb}",
            detail={
                "request": str(request.uuid),
                "request_kind": request.kind,
                "status": request.status,
            },
        )
    )


def _clean_text(errors: dict[str, str], name: str, value: str, limit: int) -> str:
    if "\x00" in value:
        errors[name] = "Text without NUL characters"
    elif len(value) > limit:
        errors[name] = f"At most {limit} characters"
    return value.strip()


class DataSubjectRequestService:
    """The log of people's requests about their data, each with its legal deadline."""

    @staticmethod
    def open_request(
        *,
        actor: Actor,
        kind: str,
        customer_code: str = "",
        channel: str = "",
        received_at: dt.datetime | None = None,
        notes: str = "",
    ) -> DataSubjectRequest:
        """Log a request as it came in; its deadline follows the tenant's country."""
        errors: dict[str, str] = {}
        if kind not in Kind.values:
            errors["kind"] = f"Use one of {', '.join(Kind.values)}"
        customer_code = _clean_text(errors, "customer_code", customer_code, CUSTOMER_CODE_LIMIT)
        channel = _clean_text(errors, "channel", channel, CHANNEL_LIMIT)
        notes = _clean_text(errors, "notes", notes, NOTES_LIMIT)
        now = timezone.now()
        if received_at is None:
            received_at = now
        elif received_at.tzinfo is None:
            received_at = received_at.replace(tzinfo=dt.UTC)
        if received_at > now + dt.timedelta(minutes=5):
            errors["received_at"] = "A request cannot be received in the future"
        if errors:
            raise InvalidInput("The data-subject request is not valid", fields=errors)
        tenant = actor.tenant
        with transaction.atomic():
            customer = find_customer(tenant, customer_code) if customer_code else None
            request = DataSubjectRequest.objects.create(
                tenant=tenant,
                kind=kind,
                customer=customer,
                customer_code=customer_code,
                channel=channel,
                received_at=received_at,
                due_at=due_date(tenant, received_at),
                handled_by=actor.label[:150],
                notes=notes,
            )
            _request_change(
                request,
                actor,
                "received",
                f"Data-subject request received: {request.get_kind_display().lower()}",
            )
        return request

    @staticmethod
    def get_request(*, actor: Actor, request_id: uuid.UUID | str) -> DataSubjectRequest:
        """One of the tenant's requests; NotFound otherwise (also for other tenants)."""
        try:
            request_uuid = uuid.UUID(str(request_id))
        except ValueError:
            raise NotFound("No data-subject request with that id") from None
        request = DataSubjectRequest.objects.filter(tenant=actor.tenant, uuid=request_uuid).first()
        if request is None:
            raise NotFound("No data-subject request with that id")
        return request

    @staticmethod
    def update_request(
        *,
        actor: Actor,
        request_id: uuid.UUID | str,
        status: str | None = None,
        notes: str | None = None,
    ) -> DataSubjectRequest:
        """Move a request on (received, in progress, completed or rejected) or change its notes."""
        errors: dict[str, str] = {}
        if status is not None and status not in Status.values:
            errors["status"] = f"Use one of {', '.join(Status.values)}"
        if notes is not None:
            notes = _clean_text(errors, "notes", notes, NOTES_LIMIT)
        if errors:
            raise InvalidInput("The change is not valid", fields=errors)
        with transaction.atomic():
            request = DataSubjectRequestService.get_request(actor=actor, request_id=request_id)
            request = DataSubjectRequest.objects.select_for_update().get(pk=request.pk)
            if notes is not None:
                request.notes = notes
            changes_status = status is not None and status != request.status
            if changes_status:
                allowed = TRANSITIONS[Status(request.status)]
                if status not in allowed:
                    choices = ", ".join(sorted(allowed)) or "nothing: it is final"
                    raise InvalidInput(
                        f"A {request.status} request cannot become {status}",
                        fields={"status": f"From {request.status}, use {choices}"},
                    )
                if status == Status.REJECTED and not request.notes:
                    raise InvalidInput(
                        "Say why the request is rejected",
                        fields={"notes": "The reason for the rejection is required"},
                    )
                erased = request.customer is None or request.customer.erased_at is not None
                if status == Status.COMPLETED and request.kind == Kind.ERASURE and not erased:
                    raise InvalidInput(
                        "An erasure request is completed by erasing the customer",
                        fields={
                            "status": "Erase the customer with this request's id to complete it"
                        },
                    )
                _set_status(request, actor, status)
                _request_change(
                    request,
                    actor,
                    "updated",
                    f"Data-subject request {request.get_status_display().lower()}: "
                    f"{request.get_kind_display().lower()}",
                )
            elif notes is not None:
                request.save(update_fields=["notes", "updated_at"])
        return request

    @staticmethod
    def list_requests(
        *,
        actor: Actor,
        kind: str | None = None,
        status: str | None = None,
        customer_code: str | None = None,
        is_overdue: bool | None = None,
    ) -> QuerySet:
        """The tenant's requests, newest first; overdue ones are open past their deadline."""
        requests = DataSubjectRequest.objects.filter(tenant=actor.tenant)
        if kind:
            requests = requests.filter(kind=kind)
        if status:
            requests = requests.filter(status=status)
        if customer_code:
            requests = requests.filter(customer_code=customer_code)
        if is_overdue is not None:
            overdue = {
                "status__in": [Status.RECEIVED, Status.IN_PROGRESS],
                "due_at__lt": timezone.now(),
            }
            requests = requests.filter(**overdue) if is_overdue else requests.exclude(**overdue)
        return requests

    @staticmethod
    def complete_erasure(*, actor: Actor, request_id: uuid.UUID | str) -> ErasureRecord:
        """Answer an erasure request by erasing the customer it is about."""
        request = DataSubjectRequestService.get_request(actor=actor, request_id=request_id)
        if not request.customer_code:
            raise InvalidInput(
                "The request names no customer",
                fields={"request_id": "Complete or reject it with the reason instead"},
            )
        code = request.customer.code if request.customer_id else request.customer_code
        return PrivacyService.erase_customer(actor=actor, code=code, request_id=request.uuid)


class PrivacyData:
    """The privacy app's own handler: the person's requests, and their notes on erasure."""

    name = "privacy"

    def export(self, customer: Customer) -> dict[str, Any]:
        """The person's data-subject requests and past erasures."""
        about = Q(customer=customer) | Q(tenant_id=customer.tenant_id, customer_code=customer.code)
        requests = DataSubjectRequest.objects.filter(about).order_by("received_at", "pk")
        return {
            "data_subject_requests": [
                {
                    "id": str(request.uuid),
                    "kind": request.kind,
                    "status": request.status,
                    "channel": request.channel,
                    "received_at": request.received_at,
                    "due_at": request.due_at,
                    "completed_at": request.completed_at,
                    "notes": request.notes,
                }
                for request in requests
            ],
        }

    def erase(self, customer: Customer, erasure: Erasure) -> int:
        """Scrub the person's name and contacts from the notes of their requests."""
        changed = 0
        about = Q(customer=customer) | Q(tenant_id=customer.tenant_id, customer_code=customer.code)
        for request in DataSubjectRequest.objects.filter(about):
            notes = scrub_json(request.notes, erasure)
            if notes != request.notes:
                request.notes = notes
                request.save(update_fields=["notes", "updated_at"])
                changed += 1
        return changed
