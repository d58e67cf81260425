"""CSV import jobs (upload, progress, errors by row), and the customers and segment exports."""

import datetime as dt
from typing import Any, Literal
from uuid import UUID

import orjson
from django.apps import apps
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, StreamingHttpResponse
from ninja import Query, Router, Schema, Status
from pydantic import Field

from rapport.exceptions import InvalidInput
from rapport.ingest.csv.exports import ExportFilters, export_lines
from rapport.ingest.csv.jobs import KINDS, ImportService
from rapport.ingest.models import ImportJob
from rapport.pagination import DATETIME, paginate
from rapport.schemas import WRITE_ERRORS, PageQuery, Timestamp, responses
from rapport.tenancy.api import READ, WRITE, actor_of

router = Router(tags=["imports"], auth=WRITE)

KindValue = Literal["customers", "orders"]
NEWEST_FIRST = ["-created_at"]
PARSERS = {"created_at": DATETIME}
YES = {"true", "1", "yes", "on"}
NO = {"false", "0", "no", "off", ""}


class RowErrorOut(Schema):
    row: int = Field(description="As a spreadsheet numbers it: the header is row 1")
    field: str = Field(description="The rapport field, or empty for the row as a whole")
    message: str


class ImportJobOut(Schema):
    id: UUID = Field(alias="uuid")
    kind: str = Field(examples=["orders"])
    status: str = Field(description="pending, running, completed or failed")
    dry_run: bool
    filename: str
    mapping: dict[str, str] = Field(description="rapport field -> CSV column, as used")
    total_rows: int = Field(description="Data rows in the file, once counted")
    processed_rows: int
    progress: float = Field(description="Percent of the rows processed, 0 to 100")
    created_count: int
    updated_count: int
    unchanged_count: int
    error_count: int = Field(description="Rows not imported because of an error")
    message: str = Field(description="Why a failed import failed")
    created_by: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None

    @staticmethod
    def resolve_progress(job: ImportJob) -> float:
        if job.status == ImportJob.Status.COMPLETED:
            return 100.0
        if not job.total_rows:
            return 0.0
        return round(min(job.processed_rows / job.total_rows, 1) * 100, 1)


class ImportJobDetailOut(ImportJobOut):
    errors: list[RowErrorOut] = Field(description="The first 1,000 row errors, by row")


class ImportJobPage(Schema):
    items: list[ImportJobOut]
    next_cursor: str | None


class ExportQuery(Schema):
    tag: str | None = Field(None, max_length=50, description="Only customers with this tag")
    since: Timestamp | None = Field(None, description="Only customers created at or after")
    include_archived: bool = Field(False, description="Archived customers too")


MULTIPART = {
    "type": "object",
    "additionalProperties": False,
    "required": ["file", "kind"],
    "properties": {
        "file": {"type": "string", "format": "binary", "description": "The CSV file"},
        "kind": {"type": "string", "enum": list(KINDS)},
        "mapping": {
            "type": "string",
            "description": "A JSON object, rapport field -> CSV column",
            "examples": ['{"email": "E-mail address"}'],
        },
        "dry_run": {"type": "boolean", "default": False},
    },
}
UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {"schema": MULTIPART},
        },
    }
}


def _form_flag(text: str) -> bool:
    value = text.strip().lower()
    if value in YES:
        return True
    if value in NO:
        return False
    raise InvalidInput("The upload is not valid", fields={"dry_run": "Use true or false"})


def _form_mapping(text: str) -> dict[str, Any]:
    if not text.strip():
        return {}
    try:
        mapping = orjson.loads(text)
    except orjson.JSONDecodeError:
        mapping = None
    if not isinstance(mapping, dict) or not all(
        isinstance(value, str) and "\x00" not in key + value for key, value in mapping.items()
    ):
        raise InvalidInput(
            "The upload is not valid",
            fields={"mapping": 'A JSON object of field names to column names, {"email": "Mail"}'},
        )
    return mapping


def _upload(request: HttpRequest) -> tuple[str, UploadedFile, dict[str, Any], bool]:
    """(kind, file, mapping, dry_run) from the multipart form."""
    if request.content_type != "multipart/form-data":
        raise InvalidInput(
            "Send the file as multipart/form-data",
            fields={"file": "Attach the CSV file as the form field 'file'"},
        )
    form = request.POST
    upload = request.FILES.get("file")
    errors = {}
    if upload is None:
        errors["file"] = "Attach the CSV file as the form field 'file'"
    kind = form.get("kind", "")
    if kind not in KINDS:
        errors["kind"] = f"Use one of {', '.join(KINDS)}"
    unknown = (set(form) | set(request.FILES)) - {"file", "kind", "mapping", "dry_run"}
    for name in unknown:
        errors[name.replace("\x00", "")[:100]] = "Not a field of an upload"
    if errors:
        raise InvalidInput("The upload is not valid", fields=errors)
    mapping = _form_mapping(form.get("mapping", ""))
    return kind, upload, mapping, _form_flag(form.get("dry_run", ""))


@router.post(
    "/imports",
    response=responses({202: ImportJobDetailOut}, *WRITE_ERRORS, 413),
    openapi_extra=UPLOAD_BODY,
)
def create_import(request):
    """Upload a CSV file of customers or orders; it is checked and imported in the background.

    Send it as multipart/form-data: `file`, `kind`, and optionally `mapping` (a JSON object as
    text) and `dry_run`. The header and the mapping are checked at once (422 naming the
    problem); the rows are imported by a worker: follow `GET /imports/{id}`.
    """
    kind, upload, mapping, dry_run = _upload(request)
    job = ImportService.create_job(
        actor=actor_of(request), kind=kind, upload=upload, mapping=mapping, dry_run=dry_run
    )
    return Status(202, job)


@router.get("/imports", response=responses({200: ImportJobPage}))
def list_imports(request, query: Query[PageQuery]):
    """The tenant's imports, newest first, with their counts and progress."""
    jobs = ImportService.list_jobs(tenant=actor_of(request).tenant)
    return paginate(
        jobs, ordering=NEWEST_FIRST, parsers=PARSERS, cursor=query.cursor, limit=query.limit
    )


@router.get("/imports/{import_id}", response=responses({200: ImportJobDetailOut}, 404))
def get_import(request, import_id: UUID):
    """One import: its status, counts, progress and the first 1,000 row errors."""
    return ImportService.get_job(tenant=actor_of(request).tenant, job_id=import_id)


@router.get(
    "/exports/customers.csv",
    response=responses({200: None}),
    openapi_extra={
        "responses": {
            200: {
                "description": "The customers as CSV (UTF-8 with a BOM), streamed",
                "content": {"text/csv": {"schema": {"type": "string"}}},
            }
        }
    },
)
def export_customers(request, query: Query[ExportQuery]):
    """The tenant's customers as CSV: code, names, email, phone, tags, consent and loyalty.

    Streamed as it is read, a chunk of customers at a time; the file reads back with
    `POST /imports` (kind customers).
    """
    filters = ExportFilters(
        tag=query.tag, since=query.since, include_archived=query.include_archived
    )
    tenant = actor_of(request).tenant
    lines = export_lines(tenant=tenant, filters=filters)
    first = next(lines)  # the header, after the filters were checked (an unknown tag: 422)
    response = StreamingHttpResponse(_chain(first, lines), content_type="text/csv; charset=utf-8")
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="customers-{stamp}.csv"'
    return response


# A segment's export, when segments is installed: the door reuses the customers' CSV writer.
if apps.is_installed("rapport.segments"):

    @router.get(
        "/segments/{segment_id}/export.csv",
        response=responses({200: None}, 404),
        auth=READ,
        tags=["segments"],
        openapi_extra={
            "responses": {
                200: {
                    "description": "The segment's customers as CSV (UTF-8 with a BOM), streamed",
                    "content": {"text/csv": {"schema": {"type": "string"}}},
                }
            }
        },
    )
    def export_segment(request, segment_id: UUID):
        """A segment's customers now as CSV: the customers export's columns, plus insights.

        Code, names, email, phone, tags, consent per channel, loyalty balance and tier, and the
        orders, spend, last order, RFM segment and churn risk when insights is installed.
        """
        from rapport.segments.services import SegmentService

        tenant = actor_of(request).tenant
        segment = SegmentService.get_segment(tenant=tenant, segment_id=segment_id)
        lines = export_lines(
            tenant=tenant,
            filters=ExportFilters(),
            customers=SegmentService.get_segment_customers(segment=segment),
            with_insights=True,
        )
        first = next(lines)
        response = StreamingHttpResponse(
            _chain(first, lines), content_type="text/csv; charset=utf-8"
        )
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
        response["Content-Disposition"] = (
            f'attachment; filename="segment-{segment.key}-{stamp}.csv"'
        )
        return response


def _chain(first: str, rest):
    yield first
    yield from rest
