"""REST endpoints of identity: duplicates."""

from ninja import Field, Query, Router, Schema

from rapport.identity import conf
from rapport.identity.api.identifiers import IdentifiedCustomerOut
from rapport.identity.services import DuplicateReport, DuplicateService
from rapport.schemas import responses
from rapport.tenancy.api import READ, actor_of

router = Router(tags=["identity"], auth=READ)


class DuplicatePairOut(Schema):
    first: IdentifiedCustomerOut
    second: IdentifiedCustomerOut
    score: float = Field(description="0 to 1: how likely the two are one person")
    reasons: list[str] = Field(examples=[["Same phone +2348031234567"]])
    can_merge: bool = Field(description="Whether the score is enough to merge without override")


class OversizedBlockOut(Schema):
    key: str = Field(description="The key too many customers share, e.g. 'phone +234…'")
    size: int


class DuplicatesOut(Schema):
    items: list[DuplicatePairOut]
    oversized_blocks: list[OversizedBlockOut] = Field(
        description="Keys shared by too many customers to compare pair by pair"
    )
    compared: int = Field(description="How many candidate pairs were scored")


class DuplicatesQuery(Schema):
    min_score: float = Field(conf.DEFAULT_MIN_SCORE, ge=0, le=1)
    limit: int = Field(100, ge=1, le=conf.DUPLICATES_LIMIT)


def _out(report: DuplicateReport) -> dict:
    return {
        "items": [
            {
                "first": pair.first,
                "second": pair.second,
                "score": pair.score,
                "reasons": pair.reasons,
                "can_merge": pair.score >= conf.MERGE_THRESHOLD,
            }
            for pair in report.pairs
        ],
        "oversized_blocks": report.oversized,
        "compared": report.compared,
    }


@router.get("/duplicates", response=responses({200: DuplicatesOut}))
def list_duplicates(request, query: Query[DuplicatesQuery]):
    """Pairs of customers that look like one person, best first, with the evidence."""
    report = DuplicateService.find_duplicates(
        tenant=actor_of(request).tenant, min_score=query.min_score, limit=query.limit
    )
    return _out(report)


@router.get("/customers/{code}/duplicates", response=responses({200: DuplicatesOut}, 404))
def customer_duplicates(request, code: str, query: Query[DuplicatesQuery]):
    """The customers that look like this one, best first, with the evidence."""
    report = DuplicateService.duplicates_of(
        tenant=actor_of(request).tenant, code=code, min_score=query.min_score, limit=query.limit
    )
    return _out(report)
