"""REST endpoints of identity: merges of duplicate customers, their preview and their undo."""

import datetime as dt
from typing import Any
from uuid import UUID

from ninja import Query, Router, Schema, Status
from pydantic import Field

from rapport.identity.models import CustomerMerge
from rapport.identity.services import MergeService
from rapport.pagination import DATETIME, paginate
from rapport.schemas import WRITE_ERRORS, InputSchema, PageQuery, responses
from rapport.tenancy.api import READ, WRITE, actor_of

router = Router(tags=["identity"], auth=READ)

ORDER = ["-merged_at"]
PARSERS = {"merged_at": DATETIME}
CODE = Field(min_length=1, max_length=40, examples=["C7K2M9QX4P"])


class MergePreviewIn(InputSchema):
    survivor: str = CODE
    duplicate: str = CODE


class MergeIn(MergePreviewIn):
    override_reason: str = Field(
        "",
        max_length=2000,
        description="Needed below the evidence threshold, and only an admin key may give it",
    )


class MergeStepOut(Schema):
    app: str = Field(examples=["customers"])
    what: str = Field(examples=["3 notes"])
    action: str = Field(examples=["move"])
    reason: str
    detail: dict[str, Any]


class MergePreviewOut(Schema):
    survivor: str = Field(description="The code of the customer that stays")
    duplicate: str = Field(description="The code of the customer merged into it")
    score: float = Field(description="How alike the two are, 0 to 1")
    reasons: list[str] = Field(description="The evidence the score rests on")
    threshold: float = Field(description="The score from which no admin override is needed")
    has_enough_evidence: bool
    plan: list[MergeStepOut]

    @staticmethod
    def resolve_survivor(preview) -> str:
        return preview.survivor.code

    @staticmethod
    def resolve_duplicate(preview) -> str:
        return preview.duplicate.code


class MergeOut(Schema):
    id: UUID = Field(alias="uuid")
    survivor: str = Field(description="The code of the customer that stayed")
    duplicate: str = Field(description="The code of the customer merged into it")
    score: float
    reasons: list[str]
    override_reason: str
    plan: list[MergeStepOut]
    merged_by: str
    merged_at: dt.datetime
    undone_by: str
    undone_at: dt.datetime | None

    @staticmethod
    def resolve_survivor(merge: CustomerMerge) -> str:
        return merge.survivor.code

    @staticmethod
    def resolve_duplicate(merge: CustomerMerge) -> str:
        return merge.duplicate.code


class MergePage(Schema):
    items: list[MergeOut]
    next_cursor: str | None


class MergeQuery(PageQuery):
    customer: str | None = Field(None, description="Only merges this customer code took part in")


@router.post(
    "/merges/preview",
    response=responses({200: MergePreviewOut}, 404, *WRITE_ERRORS),
    auth=WRITE,
)
def preview_merge(request, payload: MergePreviewIn):
    """What merging two customers would do, and the evidence they are one person; writes nothing."""
    return MergeService.preview(actor=actor_of(request), **payload.model_dump())


@router.post("/merges", response=responses({201: MergeOut}, 404, *WRITE_ERRORS), auth=WRITE)
def merge_customers(request, payload: MergeIn):
    """Merge a duplicate into a survivor; the duplicate's code then finds the survivor."""
    merge = MergeService.merge(actor=actor_of(request), **payload.model_dump())
    return Status(201, merge)


@router.get("/merges", response=responses({200: MergePage}))
def list_merges(request, query: Query[MergeQuery]):
    """Merges, newest first, a page at a time; `customer` narrows to one customer's."""
    merges = MergeService.list_merges(tenant=actor_of(request).tenant, customer=query.customer)
    return paginate(merges, ordering=ORDER, parsers=PARSERS, cursor=query.cursor, limit=query.limit)


@router.get("/merges/{merge_id}", response=responses({200: MergeOut}, 404))
def get_merge(request, merge_id: UUID):
    """One merge: the evidence, the plan shown before it, who merged and whether it was undone."""
    return MergeService.get_merge(tenant=actor_of(request).tenant, merge_id=merge_id)


@router.post(
    "/merges/{merge_id}/undo",
    response=responses({200: MergeOut}, 404, *WRITE_ERRORS),
    auth=WRITE,
)
def undo_merge(request, merge_id: UUID):
    """Separate the two customers again; 409 lists what changed since that prevents it."""
    return MergeService.undo(actor=actor_of(request), merge_id=merge_id)
