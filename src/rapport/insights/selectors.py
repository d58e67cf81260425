"""Reads of insights worth a name: runs, RFM, cohorts, lifetime value, visit counts, top lists.

Every figure is one or a few aggregate queries in the database, over CustomerInsight (using
its indexes) or, for cohorts, over commerce's sold orders; nothing loops over customers, so
the cost stays a few queries whether a tenant has a hundred customers or a million.
"""

import datetime as dt
import math
import uuid
import zoneinfo
from dataclasses import dataclass

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from rapport.commerce.models import SOLD, Order
from rapport.exceptions import InvalidInput, NotFound
from rapport.insights import conf
from rapport.insights.models import CustomerInsight, InsightRun, RfmSegment, RunStatus
from rapport.tenancy.models import Tenant

SCORES = ("1", "2", "3", "4", "5")
PERCENTILES = (50, 90, 99)
MAX_COHORT_MONTHS = 60
# Seed 002's insight types (get_customer_insights), defined in docs/insights.md.
INSIGHT_TYPES = ("top_customers", "at_risk", "new_customers", "lapsed", "high_value")
NEW_CUSTOMER_DAYS = 30
LAPSED_DAYS = 90
LAPSED_MIN_ORDERS = 2
MAX_INSIGHT_LIMIT = 100


# --- runs -------------------------------------------------------------------------------------


def runs(tenant: Tenant) -> QuerySet:
    """The tenant's recalculations, newest first."""
    return InsightRun.objects.filter(tenant=tenant).order_by("-started_at", "-id")


def latest_run(tenant: Tenant, *, status: str | None = None) -> InsightRun | None:
    """The tenant's newest recalculation (of that status, when given), or None."""
    rows = runs(tenant)
    if status is not None:
        rows = rows.filter(status=status)
    return rows.first()


def get_run(tenant: Tenant, run_id: uuid.UUID) -> InsightRun:
    """The tenant's recalculation with this id; NotFound otherwise (also for other tenants)."""
    run = InsightRun.objects.filter(tenant=tenant, uuid=run_id).first()
    if run is None:
        raise NotFound("No such insight run", fields={"run_id": "Unknown run"})
    return run


def _as_of(tenant: Tenant) -> dt.datetime | None:
    run = latest_run(tenant, status=RunStatus.COMPLETED)
    return run.as_of if run is not None else None


def customers_by_insight(tenant: Tenant, customers: QuerySet, field: str) -> QuerySet:
    """The customers with their insight, annotated `insight_value` (that insight field) to page by.

    Naming the insight's tenant too lets the database walk the (tenant, field) index.
    """
    return (
        customers.filter(insight__tenant=tenant)
        .select_related("insight")
        .annotate(insight_value=F(f"insight__{field}"))
    )


# --- RFM --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RfmSegmentCount:
    slug: str
    name: str
    count: int
    percentage: float  # of the customers with orders, 0 to 100
    avg_revenue_q: int
    total_revenue_q: int


@dataclass(frozen=True)
class RfmSummary:
    """Seed 003's `/analytics/rfm`: customers and revenue by segment, and each score's counts."""

    segments: list[RfmSegmentCount]
    distribution: dict[str, dict[str, int]]
    customers: int  # with orders: what the percentages are of
    currency: str
    as_of: dt.datetime | None


def rfm_summary(tenant: Tenant) -> RfmSummary:
    """The 11 RFM segments (empty ones too) and the counts of each score, in one query."""
    rows = (
        CustomerInsight.objects.filter(tenant=tenant, total_orders__gt=0)
        .values("rfm_segment", "recency_score", "frequency_score", "monetary_score")
        .annotate(customers=Count("id"), revenue=Sum("total_spent_q"))
        .order_by()
    )
    by_segment: dict[str, list[int]] = {slug: [0, 0] for slug in RfmSegment.values}
    distribution = {axis: dict.fromkeys(SCORES, 0) for axis in ("recency", "frequency", "monetary")}
    total = 0
    for row in rows:
        total += row["customers"]
        if row["rfm_segment"] in by_segment:
            by_segment[row["rfm_segment"]][0] += row["customers"]
            by_segment[row["rfm_segment"]][1] += row["revenue"] or 0
        for axis in distribution:
            score = str(row[f"{axis}_score"])
            if score in distribution[axis]:
                distribution[axis][score] += row["customers"]
    segments = [
        RfmSegmentCount(
            slug=segment.value,
            name=segment.label,
            count=count,
            percentage=round(100 * count / total, 2) if total else 0.0,
            avg_revenue_q=revenue // count if count else 0,
            total_revenue_q=revenue,
        )
        for segment in RfmSegment
        for count, revenue in [by_segment[segment.value]]
    ]
    return RfmSummary(
        segments=segments,
        distribution=distribution,
        customers=total,
        currency=tenant.currency,
        as_of=_as_of(tenant),
    )


# --- cohorts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CohortPeriod:
    offset: int  # months after the cohort's month; 0 is the month itself
    month: dt.date
    customers: int  # of the cohort, with a sold order in this month
    retention: float  # customers / the cohort's size, 0 to 1
    revenue_q: int  # the cohort's sold orders of the month, net of refunds


@dataclass(frozen=True)
class Cohort:
    month: dt.date  # first day of the month of the cohort's first sold orders
    size: int
    revenue_q: int
    periods: list[CohortPeriod]


@dataclass(frozen=True)
class CohortTable:
    since: dt.date  # first day of the first cohort's month
    until: dt.date  # first day of the last month counted
    timezone: str
    currency: str
    cohorts: list[Cohort]


def _month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _add_months(month: dt.date, count: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


def _months_between(first: dt.date, last: dt.date) -> int:
    return (last.year - first.year) * 12 + last.month - first.month


def _local_month(value: dt.datetime, zone: zoneinfo.ZoneInfo) -> dt.date:
    return _month_start(timezone.localtime(value, zone).date())


def cohorts(
    tenant: Tenant,
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
    months: int = 12,
    now: dt.datetime | None = None,
) -> CohortTable:
    """Monthly acquisition cohorts and how many of each bought again each month after.

    A customer's cohort is the month (in the tenant's timezone) of their first sold order,
    ever. The cohorts shown run from `since`'s month (default: `months` - 1 months before
    `until`'s) to `until`'s month (default: this month); orders after that are not counted.
    One aggregate query over sold orders (commerce.models.SOLD), grouped by cohort and month.
    """
    if not 1 <= months <= MAX_COHORT_MONTHS:
        raise InvalidInput(
            "Too many or too few months", fields={"months": f"From 1 to {MAX_COHORT_MONTHS}"}
        )
    zone = zoneinfo.ZoneInfo(tenant.timezone)
    last = _month_start(until or timezone.localdate(now or timezone.now(), zone))
    first = _month_start(since) if since is not None else _add_months(last, 1 - months)
    if first > last:
        raise InvalidInput("The months run backwards", fields={"since": "On or before until"})
    if _months_between(first, last) >= MAX_COHORT_MONTHS:
        raise InvalidInput(
            "Too many months", fields={"since": f"At most {MAX_COHORT_MONTHS} months to until"}
        )
    start = dt.datetime(first.year, first.month, 1, tzinfo=zone)
    after = _add_months(last, 1)
    end = dt.datetime(after.year, after.month, 1, tzinfo=zone)

    sold = Order.objects.filter(tenant=tenant, status__in=SOLD)
    # The customer's first sold order ever: the (customer, placed_at) index finds it (the
    # customer fixes the tenant, so the probe need not read it).
    first_order = (
        Order.objects.filter(customer_id=OuterRef("customer_id"), status__in=SOLD)
        .order_by("placed_at")
        .values("placed_at")
    )
    # Customers who first bought before the window come out as older cohorts, which are
    # dropped below: filtering them here would run the subquery twice per order.
    rows = (
        sold.filter(placed_at__gte=start, placed_at__lt=end)
        .annotate(
            cohort=TruncMonth(Subquery(first_order[:1]), tzinfo=zone),
            month=TruncMonth("placed_at", tzinfo=zone),
        )
        .values("cohort", "month")
        .annotate(
            customers=Count("customer_id", distinct=True),
            revenue=Sum(F("total_q") - F("refunded_q"), filter=Q(currency=tenant.currency)),
        )
        .order_by()
    )
    cells: dict[tuple[dt.date, dt.date], tuple[int, int]] = {
        (_local_month(row["cohort"], zone), _local_month(row["month"], zone)): (
            row["customers"],
            row["revenue"] or 0,
        )
        for row in rows
    }
    table = []
    for index in range(_months_between(first, last) + 1):
        month = _add_months(first, index)
        size = cells.get((month, month), (0, 0))[0]
        periods = []
        for offset in range(_months_between(month, last) + 1):
            later = _add_months(month, offset)
            customers, revenue = cells.get((month, later), (0, 0))
            periods.append(
                CohortPeriod(
                    offset=offset,
                    month=later,
                    customers=customers,
                    retention=round(customers / size, 4) if size else 0.0,
                    revenue_q=revenue,
                )
            )
        table.append(
            Cohort(
                month=month,
                size=size,
                revenue_q=sum(period.revenue_q for period in periods),
                periods=periods,
            )
        )
    return CohortTable(
        since=first,
        until=last,
        timezone=tenant.timezone,
        currency=tenant.currency,
        cohorts=table,
    )


# --- lifetime value ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ValueFigures:
    customers: int  # how many customers the figures are over
    total_q: int
    average_q: int
    median_q: int | None
    p90_q: int | None
    p99_q: int | None


@dataclass(frozen=True)
class LifetimeValueStats:
    """Seed 001's lifetime-value stats: what customers spent, and what they are expected to."""

    customer_count: int  # customers with an insight
    currency: str
    historical: ValueFigures  # total_spent_q of the customers with orders
    predicted: ValueFigures  # predicted_ltv_q of the customers with a prediction
    time_unit: str
    horizon: int
    as_of: dt.datetime | None


def _percentiles(rows: QuerySet, field: str, count: int) -> dict[int, int | None]:
    """Nearest-rank percentiles of `field` over `count` rows: one indexed OFFSET read each."""
    values: dict[int, int | None] = dict.fromkeys(PERCENTILES)
    for percentile in PERCENTILES if count else ():
        from_top = count - math.ceil(percentile * count / 100)
        found = list(rows.order_by(f"-{field}").values_list(field, flat=True)[from_top:][:1])
        values[percentile] = found[0] if found else None
    return values


def _figures(customers: int, total: int, percentiles: dict[int, int | None]) -> ValueFigures:
    return ValueFigures(
        customers=customers,
        total_q=total,
        average_q=total // customers if customers else 0,
        median_q=percentiles[50],
        p90_q=percentiles[90],
        p99_q=percentiles[99],
    )


def ltv_stats(tenant: Tenant) -> LifetimeValueStats:
    """Totals, averages and percentiles of historical and predicted lifetime value."""
    rows = CustomerInsight.objects.filter(tenant=tenant)
    with_orders = Q(total_orders__gt=0)
    predicted = Q(predicted_ltv_q__isnull=False)
    totals = rows.aggregate(
        customers=Count("id"),
        buyers=Count("id", filter=with_orders),
        spent=Sum("total_spent_q", filter=with_orders),
        predicted_customers=Count("id", filter=predicted),
        predicted=Sum("predicted_ltv_q", filter=predicted),
    )
    # Customers without orders have spent 0, so they sort after every positive spend: the
    # value at an offset among buyers is the value at that offset among all, which the
    # (tenant, -total_spent_q) index reads without looking at total_orders.
    spent_percentiles = _percentiles(rows, "total_spent_q", totals["buyers"])
    predicted_percentiles = _percentiles(
        rows.filter(predicted), "predicted_ltv_q", totals["predicted_customers"]
    )
    run = latest_run(tenant, status=RunStatus.COMPLETED)
    time_unit = run.time_unit if run is not None else conf.time_unit()
    return LifetimeValueStats(
        customer_count=totals["customers"],
        currency=tenant.currency,
        historical=_figures(totals["buyers"], totals["spent"] or 0, spent_percentiles),
        predicted=_figures(
            totals["predicted_customers"], totals["predicted"] or 0, predicted_percentiles
        ),
        time_unit=time_unit,
        horizon=run.horizon if run is not None else conf.horizon(time_unit),
        as_of=run.as_of if run is not None else None,
    )


# --- visit and order frequency ----------------------------------------------------------------


@dataclass(frozen=True)
class VisitCount:
    total_visits: int
    customer_count: int


@dataclass(frozen=True)
class OrderCount:
    total_orders: int
    customer_count: int


@dataclass(frozen=True)
class VisitDistribution:
    """Seed 001's visit frequency distribution, and the same for orders."""

    customer_count: int
    visits: list[VisitCount]
    orders: list[OrderCount]
    as_of: dt.datetime | None


def visit_distribution(tenant: Tenant) -> VisitDistribution:
    """How many customers have each number of completed visits, and of sold orders.

    One scan: customers are counted by (visits, orders) pairs, then summed each way.
    """
    pairs = (
        CustomerInsight.objects.filter(tenant=tenant)
        .values("total_visits", "total_orders")
        .annotate(customers=Count("id"))
        .order_by()
    )
    by_visits: dict[int, int] = {}
    by_orders: dict[int, int] = {}
    for row in pairs:
        visits, orders = row["total_visits"], row["total_orders"]
        by_visits[visits] = by_visits.get(visits, 0) + row["customers"]
        by_orders[orders] = by_orders.get(orders, 0) + row["customers"]
    return VisitDistribution(
        customer_count=sum(by_visits.values()),
        visits=[VisitCount(count, customers) for count, customers in sorted(by_visits.items())],
        orders=[OrderCount(count, customers) for count, customers in sorted(by_orders.items())],
        as_of=_as_of(tenant),
    )


# --- seed 002's insight lists -----------------------------------------------------------------


def insight_customers(
    tenant: Tenant, insight_type: str, *, limit: int = 10, now: dt.datetime | None = None
) -> list[CustomerInsight]:
    """The first `limit` customers of one of seed 002's insight types, with their insights.

    top_customers: highest total_spent_q. at_risk: churn risk at or above the at-risk
    threshold (0.7), highest predicted value first. new_customers: first order within the last
    30 days, newest first. lapsed: two or more orders and none in the last 90 days, highest
    spend first. high_value: highest predicted_ltv_q.
    """
    if insight_type not in INSIGHT_TYPES:
        raise InvalidInput(
            "Unknown insight type", fields={"insight_type": f"One of {', '.join(INSIGHT_TYPES)}"}
        )
    if not 1 <= limit <= MAX_INSIGHT_LIMIT:
        raise InvalidInput(
            "The limit is out of range", fields={"limit": f"From 1 to {MAX_INSIGHT_LIMIT}"}
        )
    now = now or timezone.now()
    rows = CustomerInsight.objects.filter(tenant=tenant)
    if insight_type == "top_customers":
        rows = rows.filter(total_orders__gt=0).order_by("-total_spent_q", "-id")
    elif insight_type == "at_risk":
        rows = rows.filter(churn_risk__gte=conf.at_risk_threshold()).order_by(
            F("predicted_ltv_q").desc(nulls_last=True), "-total_spent_q", "-id"
        )
    elif insight_type == "new_customers":
        since = now - dt.timedelta(days=NEW_CUSTOMER_DAYS)
        # A first order since then means a last one too: the last-order index narrows it.
        rows = rows.filter(first_order_at__gte=since, last_order_at__gte=since).order_by(
            "-first_order_at", "-id"
        )
    elif insight_type == "lapsed":
        rows = rows.filter(
            total_orders__gte=LAPSED_MIN_ORDERS,
            last_order_at__lt=now - dt.timedelta(days=LAPSED_DAYS),
        ).order_by("-total_spent_q", "-id")
    else:  # high_value
        rows = rows.filter(predicted_ltv_q__isnull=False).order_by("-predicted_ltv_q", "-id")
    # The first `limit` ids are picked from the narrow index columns alone; only those rows
    # are then read whole, with their customers.
    first = rows.values("id")[:limit]
    return list(
        CustomerInsight.objects.filter(pk__in=Subquery(first))
        .select_related("customer")
        .order_by(*rows.query.order_by)
    )
