"""REST endpoints of privacy: a customer's data export and erasure, and the request log."""

import datetime as dt
from typing import Any, Literal
from uuid import UUID

from ninja import Query, Router, Schema, Status
from pydantic import Field

from rapport.exceptions import InvalidInput
from rapport.pagination import DATETIME, paginate
from rapport.privacy.models import DataSubjectRequest, ErasureRecord
from rapport.privacy.services import DataSubjectRequestService, PrivacyService
from rapport.schemas import WRITE_ERRORS, InputSchema, PageQuery, Timestamp, responses
from rapport.tenancy.api import ADMIN, actor_of

router = Router(tags=["privacy"], auth=ADMIN)

KindValue = Literal["access", "rectification", "erasure", "portability", "restriction", "objection"]
StatusValue = Literal["received", "in_progress", "completed", "rejected"]


class ExportTenantOut(Schema):
    slug: str
    name: str
    country: str


class ExportOut(Schema):
    format: str = Field(examples=["rapport.customer-export"])
    format_version: int
    exported_at: dt.datetime
    tenant: ExportTenantOut
    customer: dict[str, Any] = Field(description="The profile as the customer row holds it")
    sections: dict[str, Any] = Field(
        description="One section per installed app that holds personal data, by app name"
    )


class ErasureIn(InputSchema):
    confirm: str = Field(description="The customer's code again, to confirm", max_length=40)
    request_id: UUID | None = Field(None, description="The erasure request this answers")


class ErasureOut(Schema):
    id: UUID = Field(alias="uuid")
    customer: str = Field(alias="customer_code", description="The customer's code")
    request_id: UUID | None = None
    erased_by: str
    counts: dict[str, int] = Field(description="Rows changed, per app")
    erased_at: dt.datetime

    @staticmethod
    def resolve_request_id(record: ErasureRecord) -> UUID | None:
        return record.request.uuid if record.request_id else None


class ErasurePage(Schema):
    items: list[ErasureOut]
    next_cursor: str | None


class DataSubjectRequestIn(InputSchema):
    kind: KindValue
    customer: str = Field(
        "", max_length=40, description="The customer's code; kept even if no customer has it"
    )
    channel: str = Field("", max_length=30, examples=["email", "phone", "in_person", "letter"])
    received_at: Timestamp | None = Field(None, description="Default: now")
    notes: str = Field("", max_length=10_000)


class DataSubjectRequestPatch(InputSchema):
    status: StatusValue | None = None
    notes: str | None = Field(None, max_length=10_000)


class DataSubjectRequestOut(Schema):
    id: UUID = Field(alias="uuid")
    kind: str
    status: str
    customer: str = Field(alias="customer_code", description="The customer's code as given")
    channel: str
    received_at: dt.datetime
    due_at: dt.datetime
    completed_at: dt.datetime | None
    is_overdue: bool
    handled_by: str
    notes: str
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_is_overdue(request: DataSubjectRequest) -> bool:
        return request.is_open and request.due_at < dt.datetime.now(dt.UTC)


class DataSubjectRequestPage(Schema):
    items: list[DataSubjectRequestOut]
    next_cursor: str | None


class DataSubjectRequestQuery(PageQuery):
    kind: KindValue | None = None
    status: StatusValue | None = None
    customer: str | None = Field(None, max_length=40, description="A customer's code")
    overdue: bool | None = Field(None, description="Open past the deadline (true) or not")


RECEIVED_SORTS = {"received_at": DATETIME}
ERASED_SORTS = {"erased_at": DATETIME}


@router.get("/customers/{code}/export", response=responses({200: ExportOut}, 404))
def export_customer(request, code: str):
    """Everything held on the customer in every app, as one JSON document (admin)."""
    return PrivacyService.export_customer(actor=actor_of(request), code=code)


@router.post("/customers/{code}/erase", response=responses({200: ErasureOut}, 404, *WRITE_ERRORS))
def erase_customer(request, code: str, payload: ErasureIn):
    """Erase the person's data everywhere; the code and the history's shape stay (admin)."""
    if payload.confirm != code:
        raise InvalidInput(
            "Confirm the erasure with the customer's code",
            fields={"confirm": "Send the customer's code exactly as in the path"},
        )
    return PrivacyService.erase_customer(
        actor=actor_of(request), code=code, request_id=payload.request_id
    )


@router.get("/erasures", response=responses({200: ErasurePage}))
def list_erasures(request, query: Query[PageQuery]):
    """The erasures done, newest first: who erased which customer, when and why (admin)."""
    return paginate(
        PrivacyService.list_erasures(actor=actor_of(request)),
        ordering=["-erased_at"],
        parsers=ERASED_SORTS,
        cursor=query.cursor,
        limit=query.limit,
    )


@router.get("/data-subject-requests", response=responses({200: DataSubjectRequestPage}))
def list_data_subject_requests(request, query: Query[DataSubjectRequestQuery]):
    """People's requests about their data, newest first; `overdue=true` for late ones (admin)."""
    requests = DataSubjectRequestService.list_requests(
        actor=actor_of(request),
        kind=query.kind,
        status=query.status,
        customer_code=query.customer,
        is_overdue=query.overdue,
    )
    return paginate(
        requests,
        ordering=["-received_at"],
        parsers=RECEIVED_SORTS,
        cursor=query.cursor,
        limit=query.limit,
    )


@router.post(
    "/data-subject-requests",
    response=responses({201: DataSubjectRequestOut}, *WRITE_ERRORS),
)
def open_data_subject_request(request, payload: DataSubjectRequestIn):
    """Log a request as it came in; its deadline follows the tenant's country (admin)."""
    fields = payload.model_dump()
    fields["customer_code"] = fields.pop("customer")
    created = DataSubjectRequestService.open_request(actor=actor_of(request), **fields)
    return Status(201, created)


@router.get(
    "/data-subject-requests/{request_id}",
    response=responses({200: DataSubjectRequestOut}, 404),
)
def get_data_subject_request(request, request_id: UUID):
    """One data-subject request (admin)."""
    return DataSubjectRequestService.get_request(actor=actor_of(request), request_id=request_id)


@router.patch(
    "/data-subject-requests/{request_id}",
    response=responses({200: DataSubjectRequestOut}, 400, 404),
)
def update_data_subject_request(request, request_id: UUID, payload: DataSubjectRequestPatch):
    """Move a request on (in_progress, completed, rejected) or change its notes (admin)."""
    return DataSubjectRequestService.update_request(
        actor=actor_of(request), request_id=request_id, **payload.model_dump(exclude_unset=True)
    )
