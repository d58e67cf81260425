"""REST endpoints of segments: the segments, their customers, previews, refreshes, the fields."""

import datetime as dt
from typing import Annotated, Any, Literal
from uuid import UUID

from django.utils import timezone
from ninja import Query, Router, Schema, Status
from pydantic import Field, WithJsonSchema

from rapport.customers import segment_fields
from rapport.customers.models import Customer
from rapport.exceptions import InvalidInput
from rapport.pagination import DATETIME, TEXT, paginate, sort_order
from rapport.schemas import WRITE_ERRORS, InputSchema, PageQuery, responses
from rapport.segments import conditions as language
from rapport.segments.models import Segment
from rapport.segments.services import SegmentService, with_tags
from rapport.tenancy.api import READ, WRITE, actor_of

router = Router(tags=["segments"], auth=READ)

TypeValue = Literal["manual", "dynamic"]
# Any JSON: the service checks it and names the path of each problem (conditions.all.1.value),
# which a union type here would blur. Documented as an object or a list.
Conditions = Annotated[
    Any, WithJsonSchema({"anyOf": [{"type": "object"}, {"type": "array", "items": {}}]})
]
OptionalConditions = Annotated[
    Any,
    WithJsonSchema(
        {"anyOf": [{"type": "object"}, {"type": "array", "items": {}}, {"type": "null"}]}
    ),
]
SEGMENT_ORDER = ["name"]
SEGMENT_PARSERS = {"name": TEXT}
CUSTOMER_SORTS = {"code": TEXT, "created_at": DATETIME, "last_name": TEXT}
CONDITIONS_HELP = (
    'A condition {"field", "operator", "value"}, a group {"all": [...]}, {"any": [...]} or '
    '{"not": {...}}, a list (read as all), or shorthand keys such as {"min_spent": 500}. '
    "GET /api/v1/segments/fields lists the fields and operators."
)
KEY_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,59}$"


class SegmentOut(Schema):
    id: UUID = Field(alias="uuid")
    key: str
    name: str
    description: str
    type: str = Field(description="manual or dynamic")
    conditions: dict[str, Any] = Field(description="The canonical condition tree; {} if manual")
    summary: str = Field(description="The conditions as one line a person reads")
    is_active: bool
    is_default: bool = Field(description="One of the eight segments every tenant starts with")
    customer_count: int = Field(description="Members as of counted_at (the last refresh)")
    counted_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_summary(segment: Segment) -> str:
        if segment.type == "manual":
            return "chosen by hand"
        return language.describe(segment.conditions)


class SegmentPage(Schema):
    items: list[SegmentOut]
    next_cursor: str | None


class SegmentIn(InputSchema):
    name: str = Field(min_length=1, max_length=100, examples=["Dog owners"])
    key: str | None = Field(
        None,
        pattern=KEY_PATTERN,
        description="A stable URL-safe name; made from the name when omitted",
        examples=["dog-owners"],
    )
    description: str = Field("", max_length=2_000)
    type: TypeValue = Field("dynamic", description="Cannot change once created")
    conditions: OptionalConditions = Field(
        None,
        description=f"Dynamic segments only. {CONDITIONS_HELP}",
        examples=[{"all": [{"field": "pets.species", "operator": "eq", "value": "dog"}]}],
    )
    is_active: bool = True


class SegmentPatch(InputSchema):
    """Only the fields sent change; new conditions refresh the memberships at once."""

    name: str | None = Field(None, min_length=1, max_length=100)
    key: str | None = Field(None, pattern=KEY_PATTERN)
    description: str | None = Field(None, max_length=2_000)
    conditions: OptionalConditions = Field(None, description=CONDITIONS_HELP)
    is_active: bool | None = None


class SegmentQuery(PageQuery):
    type: TypeValue | None = None
    is_active: bool | None = None


class SegmentCustomerOut(Schema):
    code: str
    first_name: str
    last_name: str
    display_name: str
    email: str
    phone: str
    tags: list[str]
    created_at: dt.datetime

    @staticmethod
    def resolve_tags(customer: Customer) -> list[str]:
        return [link.tag.name for link in customer.customer_tags.all()]


class SegmentCustomerPage(Schema):
    items: list[SegmentCustomerOut]
    next_cursor: str | None


class SegmentCustomerQuery(PageQuery):
    order_by: str = Field("code", description="code, created_at or last_name; '-' descends")


class SegmentCountOut(Schema):
    count: int = Field(description="The segment's customers now")
    counted_at: dt.datetime


class SegmentPreviewIn(InputSchema):
    conditions: Conditions = Field(description=CONDITIONS_HELP)
    sample_size: int = Field(10, ge=0, le=50, description="How many customers to show")


class SegmentPreviewOut(Schema):
    count: int
    sample: list[SegmentCustomerOut] = Field(description="The newest customers selected")
    conditions: dict[str, Any] = Field(description="The canonical form a segment would store")
    summary: str


class SegmentRefreshOut(Schema):
    entered: int = Field(description="Customers who joined; each got customer.segment_changed")
    left: int
    customer_count: int
    counted_at: dt.datetime | None


class SegmentMembersIn(InputSchema):
    codes: list[str] = Field(min_length=1, max_length=1_000, examples=[["ADA-1", "BEN-2"]])


class SegmentMembersOut(Schema):
    added: list[str] = Field(description="Codes newly added; those already members are left out")
    customer_count: int


class SegmentFieldOut(Schema):
    name: str
    type: str
    label: str
    operators: list[str]
    choices: list[str]
    nullable: bool = Field(description="Some customers have no value: is_null finds them")
    app: str = Field(description="The app that provides it")
    description: str


class SegmentOperatorOut(Schema):
    name: str
    description: str


class SegmentShorthandOut(Schema):
    key: str
    field: str
    operator: str
    description: str


class SegmentFieldsOut(Schema):
    fields: list[SegmentFieldOut]
    operators: list[SegmentOperatorOut]
    shorthands: list[SegmentShorthandOut]


def _segment(request, segment_id: UUID) -> Segment:
    return SegmentService.get_segment(tenant=actor_of(request).tenant, segment_id=segment_id)


@router.get("/segments", response=responses({200: SegmentPage}))
def list_segments(request, query: Query[SegmentQuery]):
    """The tenant's segments by name, with their counts as of the last refresh."""
    segments = SegmentService.list_segments(
        tenant=actor_of(request).tenant, type=query.type, is_active=query.is_active
    )
    return paginate(
        segments,
        ordering=SEGMENT_ORDER,
        parsers=SEGMENT_PARSERS,
        cursor=query.cursor,
        limit=query.limit,
    )


@router.post("/segments", response=responses({201: SegmentOut}, *WRITE_ERRORS), auth=WRITE)
def create_segment(request, payload: SegmentIn):
    """Create a segment; a dynamic one is filled at once, each member getting an event."""
    fields = payload.model_dump(exclude_none=True)
    segment = SegmentService.create_segment(actor=actor_of(request), **fields)
    return Status(201, segment)


@router.get("/segments/fields", response=responses({200: SegmentFieldsOut}))
def list_segment_fields(request):
    """The fields conditions can name, with their types and operators, and the shorthands."""
    fields = segment_fields.all_fields()
    return {
        "fields": [
            {name: getattr(f, name) for name in SegmentFieldOut.model_fields} for f in fields
        ],
        "operators": [
            {"name": name, "description": text} for name, text in segment_fields.OPERATORS.items()
        ],
        "shorthands": [
            {
                "key": s.key,
                "field": s.field,
                "operator": s.operator,
                "description": s.description,
            }
            for s in language.SHORTHANDS.values()
            if segment_fields.get(s.field) is not None
        ],
    }


@router.post(
    "/segments/preview", response=responses({200: SegmentPreviewOut}, *WRITE_ERRORS), auth=READ
)
def preview_segment(request, payload: SegmentPreviewIn):
    """How many customers conditions select now, and a sample of them; writes nothing."""
    preview = SegmentService.preview(
        tenant=actor_of(request).tenant,
        conditions=payload.conditions,
        sample_size=payload.sample_size,
    )
    return {
        "count": preview.count,
        "sample": preview.sample,
        "conditions": preview.conditions,
        "summary": language.describe(preview.conditions),
    }


@router.get("/segments/{segment_id}", response=responses({200: SegmentOut}, 404))
def get_segment(request, segment_id: UUID):
    """One segment."""
    return _segment(request, segment_id)


@router.put(
    "/segments/{segment_id}", response=responses({200: SegmentOut}, 400, 404, 409), auth=WRITE
)
def replace_segment(request, segment_id: UUID, payload: SegmentIn):
    """Replace a segment's name, description, conditions and state; its type cannot change."""
    segment = _segment(request, segment_id)
    fields = payload.model_dump(exclude={"key"} if payload.key is None else set())
    return SegmentService.update_segment(actor=actor_of(request), segment=segment, **fields)


@router.patch(
    "/segments/{segment_id}", response=responses({200: SegmentOut}, 400, 404, 409), auth=WRITE
)
def update_segment(request, segment_id: UUID, payload: SegmentPatch):
    """Change the fields sent; new conditions refresh the memberships at once."""
    segment = _segment(request, segment_id)
    changes = payload.model_dump(exclude_unset=True)
    refused = {name: "Cannot be null" for name, value in changes.items() if value is None}
    if refused:
        raise InvalidInput("Some segment fields cannot be cleared", fields=refused)
    return SegmentService.update_segment(actor=actor_of(request), segment=segment, **changes)


@router.delete("/segments/{segment_id}", response=responses({204: None}, 404), auth=WRITE)
def delete_segment(request, segment_id: UUID):
    """Delete a segment and its memberships."""
    SegmentService.delete_segment(actor=actor_of(request), segment=_segment(request, segment_id))
    return Status(204, None)


@router.get("/segments/{segment_id}/customers", response=responses({200: SegmentCustomerPage}, 404))
def get_segment_customers(request, segment_id: UUID, query: Query[SegmentCustomerQuery]):
    """The segment's customers now (a dynamic one's by its conditions), a page at a time."""
    customers = SegmentService.get_segment_customers(segment=_segment(request, segment_id))
    return paginate(
        with_tags(customers),
        ordering=sort_order(query.order_by, CUSTOMER_SORTS),
        parsers=CUSTOMER_SORTS,
        cursor=query.cursor,
        limit=query.limit,
    )


@router.get("/segments/{segment_id}/count", response=responses({200: SegmentCountOut}, 404))
def count_segment(request, segment_id: UUID):
    """How many customers the segment holds now (not as of the last refresh)."""
    segment = _segment(request, segment_id)
    return {"count": SegmentService.count(segment=segment), "counted_at": timezone.now()}


@router.post(
    "/segments/{segment_id}/refresh",
    response=responses({200: SegmentRefreshOut}, 404, *WRITE_ERRORS),
    auth=WRITE,
)
def refresh_segment(request, segment_id: UUID):
    """Bring the memberships up to date now; each customer who entered or left gets an event."""
    result = SegmentService.refresh_memberships(
        actor=actor_of(request), segment=_segment(request, segment_id)
    )
    return {
        "entered": result.entered,
        "left": result.left,
        "customer_count": result.customer_count,
        "counted_at": result.segment.counted_at,
    }


@router.post(
    "/segments/{segment_id}/customers",
    response=responses({200: SegmentMembersOut}, 404, *WRITE_ERRORS),
    auth=WRITE,
)
def add_segment_customers(request, segment_id: UUID, payload: SegmentMembersIn):
    """Add customers to a manual segment by code (409 for a dynamic one)."""
    change = SegmentService.add_customers(
        actor=actor_of(request), segment=_segment(request, segment_id), codes=payload.codes
    )
    return {
        "added": [customer.code for customer in change.customers],
        "customer_count": change.segment.customer_count,
    }


@router.delete(
    "/segments/{segment_id}/customers/{code}",
    response=responses({204: None}, 404, 409),
    auth=WRITE,
)
def remove_segment_customer(request, segment_id: UUID, code: str):
    """Take a customer out of a manual segment (404 if not in it, 409 for a dynamic one)."""
    segment = _segment(request, segment_id)
    SegmentService.remove_customers(actor=actor_of(request), segment=segment, codes=[code])
    return Status(204, None)
