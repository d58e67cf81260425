"""REST endpoints of insights: a customer's metrics and CLV, tenant analytics, recalculation.

Insights are worked out in batch (InsightService.recalculate_all) or one customer at a time;
these routes read what the last calculation wrote, and start new ones.
"""

import datetime as dt
from typing import Any, Literal
from uuid import UUID

from ninja import Query, Router, Schema, Status
from pydantic import Field, field_validator

from rapport.insights import conf, selectors
from rapport.insights.models import CustomerInsight, InsightRun, RunStatus
from rapport.insights.services import InsightService
from rapport.pagination import DATETIME, Page, Parser, paginate
from rapport.schemas import WRITE_ERRORS, InputSchema, PageQuery, Timestamp, responses
from rapport.tenancy.api import ADMIN, READ, WRITE, actor_of

router = Router(tags=["insights"], auth=READ)

InsightTypeValue = Literal[selectors.INSIGHT_TYPES]  # type: ignore[valid-type]
TimeUnitValue = Literal[tuple(conf.TIME_UNITS)]  # type: ignore[valid-type]
EARLIEST = dt.date(1970, 1, 1)
EARLIEST_AS_OF = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LATEST = dt.date(2999, 12, 31)


def _whole(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError("not a whole number")
    return value


def _number(value: Any) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ValueError("not a number")
    return float(value)


WHOLE: Parser = _whole
NUMBER: Parser = _number


# --- shapes -----------------------------------------------------------------------------------


class CustomerInsightOut(Schema):
    code: str = Field(description="The customer's code")
    total_orders: int = Field(description="Sold orders: completed, partially or wholly refunded")
    total_spent_q: int = Field(description="What they spent, net of refunds, in minor units")
    average_ticket_q: int
    currency: str = Field(examples=["NGN"])
    first_order_at: dt.datetime | None
    last_order_at: dt.datetime | None
    days_since_last_order: int | None = Field(description="As of `as_of`")
    mean_days_between_orders: float | None
    purchase_days: int = Field(description="Days with at least one order")
    preferred_weekday: int | None = Field(description="0 = Monday … 6 = Sunday, tenant time")
    preferred_hour: int | None = Field(description="0 to 23, in the tenant's timezone")
    preferred_products: list[str] = Field(description="Most bought first, at most 3")
    preferred_categories: list[str]
    channels: list[str] = Field(description="Order channels used", examples=[["pos"]])
    total_visits: int = Field(description="Completed visits")
    total_appointments: int
    cancelled_appointments: int
    no_show_count: int
    first_visit_at: dt.datetime | None
    last_visit_at: dt.datetime | None
    days_since_last_visit: int | None
    visit_pattern: str = Field(description="regular, seasonal, emergency_driven or empty")
    messages_sent: int
    messages_responded: int
    response_rate: float = Field(description="0 to 1")
    recency_score: int = Field(description="1 to 5; 0 without orders")
    frequency_score: int
    monetary_score: int
    rfm_code: str = Field(examples=["555"])
    rfm_segment: str = Field(examples=["champions"], description="Empty without orders")
    rfm_group: str = Field(examples=["champion"])
    p_alive: float | None = Field(description="Probability the customer still buys, 0 to 1")
    churn_risk: float | None = Field(description="1 - p_alive")
    predicted_purchases: float | None = Field(description="Expected orders over the horizon")
    predicted_ltv_q: int | None = Field(description="Expected spend over the horizon")
    method: str = Field(examples=["bgnbd_gamma_gamma"], description="Or heuristic")
    customer_score: int = Field(description="0 to 100")
    as_of: dt.datetime = Field(description="The history it was worked out from ended here")
    calculated_at: dt.datetime
    run_id: UUID | None = Field(description="The recalculation that wrote it, if a batch one")

    @staticmethod
    def resolve_code(insight: CustomerInsight) -> str:
        return insight.customer.code

    @staticmethod
    def resolve_run_id(insight: CustomerInsight) -> UUID | None:
        return insight.run.uuid if insight.run_id is not None else None


class CustomerLifetimeValueOut(Schema):
    code: str
    currency: str
    historical_value_q: int = Field(description="What they spent so far, net of refunds")
    total_orders: int
    average_ticket_q: int
    first_order_at: dt.datetime | None
    last_order_at: dt.datetime | None
    predicted_value_q: int | None = Field(description="Expected spend over the horizon")
    predicted_purchases: float | None = Field(description="Expected orders over the horizon")
    p_alive: float | None
    churn_risk: float | None
    horizon: int = Field(description="How far ahead, in `time_unit`s", examples=[52])
    time_unit: str = Field(examples=["week"])
    method: str = Field(examples=["bgnbd_gamma_gamma"])
    as_of: dt.datetime

    @staticmethod
    def resolve_code(insight: CustomerInsight) -> str:
        return insight.customer.code

    @staticmethod
    def resolve_historical_value_q(insight: CustomerInsight) -> int:
        return insight.total_spent_q

    @staticmethod
    def resolve_predicted_value_q(insight: CustomerInsight) -> int | None:
        return insight.predicted_ltv_q

    @staticmethod
    def resolve_horizon(insight: CustomerInsight) -> int:
        run = insight.run
        return run.horizon if run is not None else conf.horizon(conf.time_unit())

    @staticmethod
    def resolve_time_unit(insight: CustomerInsight) -> str:
        return insight.run.time_unit if insight.run is not None else conf.time_unit()


class InsightCustomerOut(Schema):
    """A customer in an insight list, with the metrics lists are ordered by."""

    code: str
    first_name: str
    last_name: str
    total_orders: int
    total_spent_q: int
    average_ticket_q: int
    currency: str
    first_order_at: dt.datetime | None
    last_order_at: dt.datetime | None
    days_since_last_order: int | None
    total_visits: int
    rfm_code: str
    rfm_segment: str
    rfm_group: str
    p_alive: float | None
    churn_risk: float | None
    predicted_ltv_q: int | None
    customer_score: int
    as_of: dt.datetime

    @staticmethod
    def resolve_code(insight: CustomerInsight) -> str:
        return insight.customer.code

    @staticmethod
    def resolve_first_name(insight: CustomerInsight) -> str:
        return insight.customer.first_name

    @staticmethod
    def resolve_last_name(insight: CustomerInsight) -> str:
        return insight.customer.last_name


class InsightCustomerPage(Schema):
    items: list[InsightCustomerOut]
    next_cursor: str | None


class InsightCustomersOut(Schema):
    insight_type: str = Field(examples=["top_customers"])
    items: list[InsightCustomerOut]


class RfmSegmentOut(Schema):
    slug: str = Field(examples=["champions"], description="For /insights/segments/{segment}")
    name: str = Field(examples=["Champions"])
    count: int
    percentage: float = Field(description="Of the customers with orders, 0 to 100")
    avgRevenue: int = Field(alias="avg_revenue_q", description="Minor units of `currency`")
    totalRevenue: int = Field(alias="total_revenue_q", description="Minor units of `currency`")


class RfmDistributionOut(Schema):
    recency: dict[str, int] = Field(examples=[{"1": 2, "2": 0, "3": 1, "4": 0, "5": 3}])
    frequency: dict[str, int]
    monetary: dict[str, int]


class RfmAnalysisOut(Schema):
    segments: list[RfmSegmentOut] = Field(description="All 11, in the seed's order")
    distribution: RfmDistributionOut = Field(description="Customers by each score, 1 to 5")
    customers: int = Field(description="Customers with orders")
    currency: str
    as_of: dt.datetime | None = Field(description="Of the last completed recalculation")


class CohortPeriodOut(Schema):
    offset: int = Field(description="Months after the cohort's month")
    month: dt.date
    customers: int = Field(description="Of the cohort, with a sold order this month")
    retention: float = Field(description="customers / size, 0 to 1")
    revenue_q: int = Field(description="The cohort's sales this month, net of refunds")


class CohortOut(Schema):
    month: dt.date = Field(description="First day of the month of the first orders")
    size: int
    revenue_q: int
    periods: list[CohortPeriodOut]


class CohortTableOut(Schema):
    since: dt.date
    until: dt.date
    timezone: str = Field(examples=["Africa/Lagos"], description="Months are in this timezone")
    currency: str
    cohorts: list[CohortOut]


class ValueFiguresOut(Schema):
    customers: int = Field(description="How many customers these figures are over")
    total_q: int
    average_q: int
    median_q: int | None
    p90_q: int | None
    p99_q: int | None


class LifetimeValueOut(Schema):
    customer_count: int = Field(description="Customers with an insight")
    currency: str
    historical: ValueFiguresOut = Field(description="Spend so far, of customers with orders")
    predicted: ValueFiguresOut = Field(description="Spend over the horizon, where predicted")
    time_unit: str
    horizon: int
    as_of: dt.datetime | None


class VisitCountOut(Schema):
    total_visits: int
    customer_count: int


class OrderCountOut(Schema):
    total_orders: int
    customer_count: int


class VisitDistributionOut(Schema):
    customer_count: int
    visits: list[VisitCountOut] = Field(description="Customers by completed visits, ascending")
    orders: list[OrderCountOut] = Field(description="Customers by sold orders, ascending")
    as_of: dt.datetime | None


class InsightRunOut(Schema):
    id: UUID = Field(alias="uuid")
    status: str = Field(examples=["running"], description="running, completed or failed")
    as_of: dt.datetime
    started_at: dt.datetime
    finished_at: dt.datetime | None
    customers_total: int
    customers_done: int
    chunks_total: int
    chunks_done: int
    progress: float = Field(description="Percent of customers done, 0 to 100")
    error: str
    method: str
    time_unit: str
    horizon: int

    @staticmethod
    def resolve_progress(run: InsightRun) -> float:
        if run.customers_total == 0:
            return 100.0 if run.status == RunStatus.COMPLETED else 0.0
        return round(100 * run.customers_done / run.customers_total, 1)


class InsightRunPage(Schema):
    items: list[InsightRunOut]
    next_cursor: str | None


class ModelCardOut(Schema):
    run_id: UUID = Field(alias="uuid")
    as_of: dt.datetime = Field(description="The history fitted ended here")
    fitted_at: dt.datetime | None
    method: str = Field(examples=["bgnbd_gamma_gamma"])
    method_reason: str
    time_unit: str
    horizon: int
    parameters: dict[str, Any]
    log_likelihood: dict[str, Any]
    customers_fitted: int


class RecalculationIn(InputSchema):
    as_of: Timestamp | None = Field(
        None, description="Work from the history before this moment; default now"
    )
    time_unit: TimeUnitValue | None = Field(None, description="day, week (default) or month")
    horizon: int | None = Field(
        None, ge=1, le=10_000, description="Time units to predict; default a year of them"
    )

    @field_validator("as_of")
    @classmethod
    def _from_1970(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is not None and value < EARLIEST_AS_OF:
            raise ValueError("Give a time from 1970 on")
        return value


class CohortQuery(Schema):
    months: int = Field(12, ge=1, le=selectors.MAX_COHORT_MONTHS, description="Cohorts shown")
    since: dt.date | None = Field(
        None, ge=EARLIEST, le=LATEST, description="The first cohort's month (default: months back)"
    )
    until: dt.date | None = Field(
        None, ge=EARLIEST, le=LATEST, description="The last month counted (default: this month)"
    )


class InsightLimitQuery(Schema):
    limit: int = Field(10, ge=1, le=selectors.MAX_INSIGHT_LIMIT, description="How many")


class AtRiskQuery(PageQuery):
    min_churn_risk: float = Field(
        conf.DEFAULT_AT_RISK, ge=0, le=1, description="Churn risk from which to list, 0 to 1"
    )


# --- endpoints --------------------------------------------------------------------------------


def _customers_page(request, customers, field: str, parser: Parser, query: PageQuery) -> Page:
    """A page of customers, highest insight `field` first, as their insights."""
    page = paginate(
        selectors.customers_by_insight(actor_of(request).tenant, customers, field),
        ordering=["-insight_value"],
        parsers={"insight_value": parser},
        cursor=query.cursor,
        limit=query.limit,
    )
    return Page(items=[customer.insight for customer in page.items], next_cursor=page.next_cursor)


def _insight(request, code: str) -> CustomerInsight | None:
    return InsightService.get_insight(tenant=actor_of(request).tenant, customer_code=code)


@router.get("/customers/{code}/insight", response=responses({200: CustomerInsightOut | None}, 404))
def get_customer_insight(request, code: str):
    """The customer's metrics, RFM, CLV and churn risk; null before their first calculation."""
    return _insight(request, code)


@router.get(
    "/customers/{code}/clv", response=responses({200: CustomerLifetimeValueOut | None}, 404)
)
def get_customer_clv(request, code: str):
    """The customer's lifetime value: spent so far and predicted; null before a calculation."""
    return _insight(request, code)


@router.post(
    "/customers/{code}/insight/recalculate",
    response=responses({200: CustomerInsightOut}, 404, *WRITE_ERRORS),
    auth=WRITE,
)
def recalculate_customer_insight(request, code: str):
    """Work the customer's insight out again from their history now, with the latest models."""
    return InsightService.recalculate(actor=actor_of(request), customer_code=code)


@router.get("/analytics/rfm", response=responses({200: RfmAnalysisOut}))
def rfm_analysis(request):
    """Customers with orders by RFM segment and by score, with their revenue (seed 003)."""
    return selectors.rfm_summary(actor_of(request).tenant)


@router.get("/analytics/cohorts", response=responses({200: CohortTableOut}))
def cohort_analysis(request, query: Query[CohortQuery]):
    """Monthly acquisition cohorts: size, and who bought again each month after, with revenue."""
    return selectors.cohorts(
        actor_of(request).tenant, since=query.since, until=query.until, months=query.months
    )


@router.get("/analytics/ltv", response=responses({200: LifetimeValueOut}))
def lifetime_value_stats(request):
    """Totals, averages and percentiles of historical and predicted lifetime value."""
    return selectors.ltv_stats(actor_of(request).tenant)


@router.get("/analytics/visits", response=responses({200: VisitDistributionOut}))
def visit_frequency(request):
    """How many customers have each number of visits, and of orders."""
    return selectors.visit_distribution(actor_of(request).tenant)


@router.get(
    "/analytics/insights/{insight_type}", response=responses({200: InsightCustomersOut}, 404)
)
def customer_insights(request, insight_type: InsightTypeValue, query: Query[InsightLimitQuery]):
    """The first customers of an insight type: top, at risk, new, lapsed or high value."""
    items = selectors.insight_customers(actor_of(request).tenant, insight_type, limit=query.limit)
    return {"insight_type": insight_type, "items": items}


@router.get(
    "/insights/segments/{segment}/customers",
    response=responses({200: InsightCustomerPage}, 404, 422),
)
def list_segment_customers(request, segment: str, query: Query[PageQuery]):
    """Customers of an RFM segment or group, highest spend first; paginated."""
    customers = InsightService.get_segment_customers(
        tenant=actor_of(request).tenant, segment=segment
    )
    return _customers_page(request, customers, "total_spent_q", WHOLE, query)


@router.get(
    "/insights/groups/{group}/customers", response=responses({200: InsightCustomerPage}, 404, 422)
)
def list_group_customers(request, group: str, query: Query[PageQuery]):
    """Customers of one of Guestman's six coarse groups, highest spend first; paginated."""
    customers = InsightService.get_group_customers(tenant=actor_of(request).tenant, group=group)
    return _customers_page(request, customers, "total_spent_q", WHOLE, query)


@router.get("/insights/at-risk", response=responses({200: InsightCustomerPage}))
def list_at_risk_customers(request, query: Query[AtRiskQuery]):
    """Customers whose churn risk is at least min_churn_risk, riskiest first; paginated."""
    customers = InsightService.get_at_risk_customers(
        tenant=actor_of(request).tenant, min_churn_risk=query.min_churn_risk
    )
    return _customers_page(request, customers, "churn_risk", NUMBER, query)


@router.post(
    "/insights/recalculate",
    response=responses({202: InsightRunOut}, *WRITE_ERRORS),
    auth=ADMIN,
)
def recalculate_insights(request, payload: RecalculationIn):
    """Recalculate every customer's insight in the background; 202 with the run to follow."""
    actor = actor_of(request)
    run = InsightService.recalculate_all(
        actor=actor,
        as_of=payload.as_of,
        background=True,
        time_unit=payload.time_unit,
        horizon=payload.horizon,
    )
    return Status(202, selectors.get_run(actor.tenant, run.uuid))


@router.get("/insights/runs", response=responses({200: InsightRunPage}))
def list_insight_runs(request, query: Query[PageQuery]):
    """The tenant's recalculations, newest first, with their status and progress; paginated."""
    return paginate(
        selectors.runs(actor_of(request).tenant),
        ordering=["-started_at"],
        parsers={"started_at": DATETIME},
        cursor=query.cursor,
        limit=query.limit,
    )


@router.get("/insights/runs/{run_id}", response=responses({200: InsightRunOut}, 404))
def get_insight_run(request, run_id: UUID):
    """One recalculation: its status, and customers_done of customers_total."""
    return selectors.get_run(actor_of(request).tenant, run_id)


@router.get("/insights/model", response=responses({200: ModelCardOut | None}))
def get_insight_model(request):
    """The model card of the last completed recalculation; null before the first one."""
    return selectors.latest_run(actor_of(request).tenant, status=RunStatus.COMPLETED)
