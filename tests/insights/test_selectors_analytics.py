"""The analytics selectors: RFM summary, cohorts, lifetime value, visit counts, insight lists."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from rapport.commerce.services import OrderService
from rapport.exceptions import InvalidInput
from rapport.insights import selectors
from rapport.insights.models import CustomerInsight, RfmSegment
from tests.insights.conftest import AS_OF, at

pytestmark = pytest.mark.django_db


def codes(insights) -> list[str]:
    return [insight.customer.code for insight in insights]


# --- RFM --------------------------------------------------------------------------------------


def test_rfm_summary_counts_every_segment_and_score(calculated, tenant):
    summary = selectors.rfm_summary(tenant)

    # Then the five buyers fall in five segments, and the six others are listed, empty
    counts = {segment.slug: segment.count for segment in summary.segments}
    assert [segment.slug for segment in summary.segments] == RfmSegment.values
    assert counts == {
        "champions": 1,
        "loyal_customers": 1,
        "potential_loyalists": 0,
        "new_customers": 1,
        "promising": 0,
        "need_attention": 0,
        "about_to_sleep": 1,
        "at_risk": 0,
        "cant_lose_them": 0,
        "hibernating": 1,
        "lost": 0,
    }
    champions = summary.segments[0]
    assert (champions.name, champions.percentage) == ("Champions", 20.0)
    assert (champions.avg_revenue_q, champions.total_revenue_q) == (100_000, 100_000)
    revenue = {segment.slug: segment.total_revenue_q for segment in summary.segments}
    assert (revenue["loyal_customers"], revenue["hibernating"], revenue["about_to_sleep"]) == (
        40_000,
        30_000,
        15_000,
    )
    assert summary.segments[2].percentage == 0.0
    # And each score counts the customers with orders only (BROWSER has none)
    assert summary.distribution == {
        "recency": {"1": 1, "2": 1, "3": 0, "4": 1, "5": 2},
        "frequency": {"1": 1, "2": 1, "3": 1, "4": 1, "5": 1},
        "monetary": {"1": 1, "2": 1, "3": 1, "4": 1, "5": 1},
    }
    assert (summary.customers, summary.currency, summary.as_of) == (5, "NGN", AS_OF)


def test_rfm_summary_before_any_calculation_lists_empty_segments(tenant):
    summary = selectors.rfm_summary(tenant)

    assert len(summary.segments) == 11
    assert {
        (s.count, s.percentage, s.avg_revenue_q, s.total_revenue_q) for s in summary.segments
    } == {(0, 0.0, 0, 0)}
    assert summary.distribution["recency"] == {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0}
    assert (summary.customers, summary.as_of) == (0, None)


def test_rfm_summary_averages_in_whole_minor_units(tenant, make_customer):
    # Given two champions (written by hand: only the aggregate is under test)
    for spent in (1_000, 1_001):
        customer = make_customer()
        CustomerInsight.objects.create(
            tenant=tenant,
            customer=customer,
            total_orders=12,
            total_spent_q=spent,
            recency_score=5,
            frequency_score=5,
            monetary_score=5,
            rfm_code="555",
            rfm_segment="champions",
            rfm_group="champion",
            as_of=AS_OF,
            calculated_at=AS_OF,
        )

    champions = selectors.rfm_summary(tenant).segments[0]

    # Then the average is floored, as commerce's average order is
    assert (champions.count, champions.total_revenue_q, champions.avg_revenue_q) == (2, 2001, 1000)
    assert champions.percentage == 100.0


# --- cohorts ----------------------------------------------------------------------------------


def cells(cohort) -> list[tuple[int, int, float, int]]:
    return [(p.offset, p.customers, p.retention, p.revenue_q) for p in cohort.periods]


def test_cohorts_follow_each_months_new_customers(shop, tenant):
    table = selectors.cohorts(tenant, since=dt.date(2024, 12, 1), until=dt.date(2025, 6, 30))

    assert (table.since, table.until) == (dt.date(2024, 12, 1), dt.date(2025, 6, 1))
    assert (table.timezone, table.currency) == ("Africa/Lagos", "NGN")
    by_month = {cohort.month: cohort for cohort in table.cohorts}
    assert list(by_month) == [dt.date(2024, 12, 1), *(dt.date(2025, m, 1) for m in range(1, 7))]
    assert {month.isoformat(): cohort.size for month, cohort in by_month.items()} == {
        "2024-12-01": 1,  # GONE
        "2025-01-01": 2,  # CHAMP, LOYAL
        "2025-02-01": 1,  # SLEEPY
        "2025-03-01": 0,
        "2025-04-01": 0,
        "2025-05-01": 0,
        "2025-06-01": 1,  # NEWBIE
    }
    assert cells(by_month[dt.date(2024, 12, 1)]) == [(0, 1, 1.0, 30_000)] + [
        (offset, 0, 0.0, 0) for offset in range(1, 7)
    ]
    january = by_month[dt.date(2025, 1, 1)]
    assert cells(january) == [
        (0, 2, 1.0, 28_000),
        (1, 2, 1.0, 28_000),
        (2, 2, 1.0, 18_000),
        (3, 2, 1.0, 18_000),
        (4, 2, 1.0, 18_000),
        (5, 1, 0.5, 30_000),  # LOYAL bought nothing in June
    ]
    assert january.revenue_q == 140_000
    assert [p.month for p in january.periods][-1] == dt.date(2025, 6, 1)
    assert cells(by_month[dt.date(2025, 2, 1)]) == [
        (0, 1, 1.0, 5_000),
        (1, 1, 1.0, 10_000),
        (2, 0, 0.0, 0),
        (3, 0, 0.0, 0),
        (4, 0, 0.0, 0),
    ]
    assert cells(by_month[dt.date(2025, 3, 1)]) == [(offset, 0, 0.0, 0) for offset in range(4)]
    assert cells(by_month[dt.date(2025, 6, 1)]) == [(0, 1, 1.0, 5_000)]


def test_a_cohort_is_the_first_sold_order_ever_in_the_tenants_month(
    tenant, actor, make_customer, buy
):
    # Given a first order at 23:30 UTC on 31 January, already 1 February in Lagos
    late = make_customer(code="LATE")
    buy(late, "2025-01-31", 4_000, time="23:30")
    # and a customer who first bought before the window, then again inside it
    old = make_customer(code="OLD")
    buy(old, "2024-06-01", 1_000)
    buy(old, "2025-02-10", 1_000)
    # and orders that were never sold: pending, cancelled
    never = make_customer(code="NEVER")
    buy(never, "2025-02-03", 9_000, status="pending")
    buy(never, "2025-02-04", 9_000, status="cancelled")

    table = selectors.cohorts(tenant, since=dt.date(2025, 1, 1), until=dt.date(2025, 2, 1))

    # Then LATE is February's, OLD belongs to no cohort shown, NEVER to none at all
    assert [(c.month, c.size) for c in table.cohorts] == [
        (dt.date(2025, 1, 1), 0),
        (dt.date(2025, 2, 1), 1),
    ]
    assert cells(table.cohorts[1]) == [(0, 1, 1.0, 4_000)]


def test_cohort_revenue_is_net_of_refunds_and_in_the_tenants_currency(
    tenant, actor, make_customer, buy
):
    # Given a customer with a partly refunded order, a wholly refunded one, and one in dollars
    ada = make_customer(code="ADA")
    part = buy(ada, "2025-03-02", 6_000)
    OrderService.refund(actor=actor, order=part, amount_q=1_000, reference="R1")
    whole = buy(ada, "2025-04-02", 3_000)
    OrderService.refund(actor=actor, order=whole, reference="R2")
    buy(ada, "2025-04-03", 700, currency="USD")

    table = selectors.cohorts(tenant, since=dt.date(2025, 3, 1), until=dt.date(2025, 4, 1))

    # Then March counts what is left of the refund; April's refunded order still counts as
    # buying (it was sold), and neither it nor the dollar order adds naira
    march = table.cohorts[0]
    assert (march.size, march.revenue_q) == (1, 5_000)
    assert cells(march) == [(0, 1, 1.0, 5_000), (1, 1, 1.0, 0)]


def test_cohorts_default_to_the_last_months_up_to_this_one(tenant, make_customer, buy):
    ada = make_customer(code="ADA")
    buy(ada, "2025-05-20", 2_000)
    now = at("2025-06-15")

    table = selectors.cohorts(tenant, months=3, now=now)

    assert (table.since, table.until) == (dt.date(2025, 4, 1), dt.date(2025, 6, 1))
    assert [(c.month.month, c.size, len(c.periods)) for c in table.cohorts] == [
        (4, 0, 3),
        (5, 1, 2),
        (6, 0, 1),
    ]


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"months": 0}, "months"),
        ({"months": 61}, "months"),
        ({"since": dt.date(2025, 7, 1), "until": dt.date(2025, 6, 1)}, "since"),
        ({"since": dt.date(2020, 1, 1), "until": dt.date(2025, 1, 1)}, "since"),
    ],
)
def test_bad_cohort_windows_are_refused(tenant, arguments, field):
    with pytest.raises(InvalidInput) as refused:
        selectors.cohorts(tenant, **arguments)

    assert set(refused.value.fields) == {field}


def test_cohorts_cost_one_query_whatever_the_orders(tenant, make_customer, buy):
    def grow(count: int) -> int:
        for _ in range(count):
            customer = make_customer()
            buy(customer, "2025-02-01", 1_000)
            buy(customer, "2025-03-01", 1_000)
        with CaptureQueriesContext(connection) as context:
            selectors.cohorts(tenant, since=dt.date(2025, 1, 1), until=dt.date(2025, 6, 1))
        return len(context.captured_queries)

    assert grow(2) == grow(10) == 1


# --- lifetime value and visits ----------------------------------------------------------------


def test_ltv_stats_sum_and_rank_the_stored_values(calculated, tenant):
    stats = selectors.ltv_stats(tenant)

    # Historical: the five buyers' spend, 5,000 15,000 30,000 40,000 100,000
    assert stats.customer_count == 6
    assert stats.currency == "NGN"
    historical = stats.historical
    assert (historical.customers, historical.total_q, historical.average_q) == (5, 190_000, 38_000)
    assert (historical.median_q, historical.p90_q, historical.p99_q) == (30_000, 100_000, 100_000)
    # Predicted: whatever the models said, summed and ranked the same way
    values = sorted(
        CustomerInsight.objects.filter(predicted_ltv_q__isnull=False).values_list(
            "predicted_ltv_q", flat=True
        )
    )
    predicted = stats.predicted
    assert predicted.customers == len(values) == 5
    assert predicted.total_q == sum(values)
    assert predicted.average_q == sum(values) // 5
    assert (predicted.median_q, predicted.p90_q, predicted.p99_q) == (
        values[2],
        values[4],
        values[4],
    )
    assert (stats.time_unit, stats.horizon, stats.as_of) == ("week", 52, AS_OF)


def test_ltv_stats_of_a_tenant_without_insights(tenant):
    stats = selectors.ltv_stats(tenant)

    assert stats.customer_count == 0
    assert stats.historical == selectors.ValueFigures(0, 0, 0, None, None, None)
    assert stats.predicted == selectors.ValueFigures(0, 0, 0, None, None, None)
    assert stats.as_of is None


def test_percentiles_are_nearest_rank(tenant, make_customer):
    # Given ten customers who spent 1 … 10 (hand-written: only the ranking is under test)
    for spent in range(1, 11):
        CustomerInsight.objects.create(
            tenant=tenant,
            customer=make_customer(),
            total_orders=1,
            total_spent_q=spent,
            as_of=AS_OF,
            calculated_at=AS_OF,
        )
    # and one who never bought
    CustomerInsight.objects.create(
        tenant=tenant, customer=make_customer(), as_of=AS_OF, calculated_at=AS_OF
    )

    historical = selectors.ltv_stats(tenant).historical

    assert (historical.customers, historical.total_q, historical.average_q) == (10, 55, 5)
    assert (historical.median_q, historical.p90_q, historical.p99_q) == (5, 9, 10)


def test_visit_distribution_counts_customers_by_visits_and_orders(calculated, tenant):
    distribution = selectors.visit_distribution(tenant)

    # The cancelled visit of NEWBIE is no visit
    assert distribution.customer_count == 6
    assert [(v.total_visits, v.customer_count) for v in distribution.visits] == [
        (0, 4),
        (1, 1),
        (2, 1),
    ]
    assert [(o.total_orders, o.customer_count) for o in distribution.orders] == [
        (0, 1),
        (1, 1),
        (2, 1),
        (3, 1),
        (5, 1),
        (10, 1),
    ]
    assert distribution.as_of == AS_OF


# --- seed 002's insight lists -----------------------------------------------------------------


def test_top_customers_spent_the_most(calculated, tenant):
    assert codes(selectors.insight_customers(tenant, "top_customers", limit=3)) == [
        "CHAMP",
        "LOYAL",
        "GONE",
    ]
    assert codes(selectors.insight_customers(tenant, "top_customers")) == [
        "CHAMP",
        "LOYAL",
        "GONE",
        "SLEEPY",
        "NEWBIE",
    ]


def test_new_and_lapsed_customers_count_from_now(calculated, tenant):
    # As of the end of June, NEWBIE bought first 10 days before; GONE and SLEEPY, with two or
    # more orders, last bought 200 and 100 days before
    assert codes(selectors.insight_customers(tenant, "new_customers", now=AS_OF)) == ["NEWBIE"]
    assert codes(selectors.insight_customers(tenant, "lapsed", now=AS_OF)) == ["GONE", "SLEEPY"]
    # A month later NEWBIE is no longer new, and LOYAL (last order 21 May) has not lapsed yet
    later = AS_OF + dt.timedelta(days=31)
    assert codes(selectors.insight_customers(tenant, "new_customers", now=later)) == []
    assert codes(selectors.insight_customers(tenant, "lapsed", now=later)) == ["GONE", "SLEEPY"]
    # Today, long after, every repeat customer has lapsed; the one-order NEWBIE never does
    assert codes(selectors.insight_customers(tenant, "lapsed")) == [
        "CHAMP",
        "LOYAL",
        "GONE",
        "SLEEPY",
    ]


def test_high_value_and_at_risk_follow_the_predictions(calculated, tenant):
    stored = list(CustomerInsight.objects.select_related("customer"))
    by_value = sorted(
        (i for i in stored if i.predicted_ltv_q is not None),
        key=lambda i: (-i.predicted_ltv_q, -i.pk),
    )
    at_risk = [i for i in by_value if i.churn_risk >= 0.7]

    assert codes(selectors.insight_customers(tenant, "high_value")) == codes(by_value)
    assert len(by_value) == 5
    assert codes(selectors.insight_customers(tenant, "at_risk")) == codes(at_risk)


def test_at_risk_puts_customers_without_a_prediction_last(tenant, make_customer):
    # Given three risky customers, one without a prediction (hand-written: an edge of ordering)
    for code, churn, value in [("A", 0.9, None), ("B", 0.7, 500), ("C", 0.8, 900), ("D", 0.69, 5)]:
        CustomerInsight.objects.create(
            tenant=tenant,
            customer=make_customer(code=code),
            total_orders=1,
            churn_risk=churn,
            p_alive=1 - churn,
            predicted_ltv_q=value,
            as_of=AS_OF,
            calculated_at=AS_OF,
        )

    assert codes(selectors.insight_customers(tenant, "at_risk")) == ["C", "B", "A"]


@pytest.mark.parametrize(
    ("insight_type", "limit", "field"),
    [("best", 10, "insight_type"), ("top_customers", 0, "limit"), ("lapsed", 101, "limit")],
)
def test_bad_insight_requests_are_refused(tenant, insight_type, limit, field):
    with pytest.raises(InvalidInput) as refused:
        selectors.insight_customers(tenant, insight_type, limit=limit)

    assert set(refused.value.fields) == {field}


def test_insight_lists_never_reach_another_tenant(calculated, other_tenant):
    for insight_type in selectors.INSIGHT_TYPES:
        assert selectors.insight_customers(other_tenant, insight_type, now=timezone.now()) == []
    assert selectors.rfm_summary(other_tenant).customers == 0
    assert selectors.ltv_stats(other_tenant).customer_count == 0
    assert selectors.visit_distribution(other_tenant).visits == []
    assert selectors.latest_run(other_tenant) is None
