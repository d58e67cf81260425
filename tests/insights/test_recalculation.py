"""InsightService.recalculate_all and recalculate: every metric from orders, visits and messages."""

import datetime as dt
import zoneinfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from rapport.commerce.models import Order
from rapport.commerce.services import (
    OrderService,
    VisitInput,
    VisitService,
)
from rapport.exceptions import InvalidInput, NotFound
from rapport.insights.models import CustomerInsight, InsightRun, RunStatus
from rapport.insights.services import InsightService
from rapport.timeline.interactions import InteractionService
from tests.insights.conftest import AS_OF, at


def insight_of(customer) -> CustomerInsight:
    return CustomerInsight.objects.get(customer=customer)


def test_order_metrics_count_days_once_and_money_net_of_refunds(actor, make_customer, buy):
    # Given three orders on two days, one of them refunded in part, and one fully refunded
    ada = make_customer(code="ADA")
    buy(ada, "2025-06-02", 1000, name="Coffee", category="drinks")
    buy(ada, "2025-06-02", 3000, time="15:00", name="Cake", category="bakery", quantity=2)
    second_day = buy(ada, "2025-06-20", 2000, name="Coffee", category="drinks", quantity=3)
    OrderService.refund(actor=actor, order=second_day, amount_q=500, reference="R1")
    gone = buy(ada, "2025-06-25", 9000)
    OrderService.refund(actor=actor, order=gone, reference="R2")

    # When the tenant is recalculated now (the refunds were made now)
    run = InsightService.recalculate_all(actor=actor)

    # Then the fully refunded order is no purchase, the same-day orders are one purchase day
    insight = insight_of(ada)
    assert run.status == RunStatus.COMPLETED
    assert insight.total_orders == 3
    assert insight.total_spent_q == 1000 + 6000 + 5500
    assert insight.average_ticket_q == round(12500 / 3)
    assert insight.purchase_days == 2
    assert insight.first_order_at == at("2025-06-02")
    assert insight.last_order_at == at("2025-06-20")
    today = timezone.localdate(run.as_of, zoneinfo.ZoneInfo("Africa/Lagos"))
    assert insight.days_since_last_order == (today - dt.date(2025, 6, 20)).days
    assert insight.mean_days_between_orders == 18.0
    assert insight.preferred_weekday == 0  # both June 2 orders fell on a Monday
    assert insight.preferred_hour == 10  # 09:30 UTC is 10:30 in Lagos
    assert insight.preferred_products == ["Coffee", "Cake"]  # 4 coffees, 2 cakes
    assert insight.preferred_categories == ["drinks", "bakery"]
    assert insight.channels == ["pos"]
    assert insight.currency == "NGN"
    assert insight.as_of == run.as_of
    assert insight.run == run


def test_a_past_as_of_ignores_later_orders_and_later_refunds(actor, make_customer, buy):
    ada = make_customer(code="ADA")
    early = buy(ada, "2025-03-01", 4000)
    buy(ada, "2025-07-05", 7000)
    OrderService.refund(actor=actor, order=early, amount_q=1000, reference="later")

    # Refunded now, after the history's end: as of June the order was still worth 4000
    InsightService.recalculate_all(actor=actor, as_of=AS_OF)

    insight = insight_of(ada)
    assert (insight.total_orders, insight.total_spent_q) == (1, 4000)


def test_rfm_scores_follow_the_table(actor, make_customer, buy):
    # Given customers whose recency and frequency fall on known rows of the table
    regular = make_customer(code="REG")
    for day in range(1, 11):  # ten orders, the last 10 days before the history ends
        buy(regular, f"2025-06-{day + 10:02d}", 10_000)
    once = make_customer(code="ONCE")
    buy(once, "2024-12-01", 500)  # 211 days before: recency 1, one order: frequency 1
    for number in range(4):  # spends between theirs: the regular is the top fifth alone
        buy(make_customer(code=f"MID{number}"), "2025-06-01", 1000 * (number + 1))
    nothing = make_customer(code="NONE")

    InsightService.recalculate_all(actor=actor, as_of=AS_OF)

    best, lost, idle = insight_of(regular), insight_of(once), insight_of(nothing)
    assert (best.recency_score, best.frequency_score, best.monetary_score) == (5, 5, 5)
    assert best.rfm_code == "555" and best.rfm_segment == "champions"
    assert (lost.recency_score, lost.frequency_score, lost.monetary_score) == (1, 1, 1)
    assert lost.rfm_code == "111" and lost.rfm_segment == "lost"
    assert (idle.total_orders, idle.rfm_code, idle.rfm_segment) == (0, "", "")
    assert idle.churn_risk is None and idle.predicted_ltv_q is None and idle.method == ""


def test_churn_risk_and_lifetime_value_come_with_their_method(actor, make_customer, buy):
    ada = make_customer(code="ADA")
    for month in (1, 2, 3, 4, 5, 6):
        buy(ada, f"2025-{month:02d}-10", 5000)

    run = InsightService.recalculate_all(actor=actor, as_of=AS_OF)

    insight = insight_of(ada)
    assert insight.method == run.method != ""
    assert run.method_reason
    assert 0 <= insight.churn_risk <= 1
    assert insight.churn_risk == pytest.approx(1 - insight.p_alive)
    assert insight.predicted_ltv_q > 0
    assert insight.predicted_purchases > 0


def test_visits_and_messages(actor, make_customer):
    ada = make_customer(code="ADA")
    for number, (status, day) in enumerate(
        [
            ("completed", "2025-05-01"),
            ("completed", "2025-06-01"),
            ("cancelled", "2025-06-10"),
            ("no_show", "2025-06-15"),
            ("scheduled", "2025-07-10"),
        ]
    ):
        moment = at(day)
        VisitService.record_visit(
            actor=actor,
            visit=VisitInput(
                customer=ada,
                external_id=f"V-{number}",
                service="Check-up",
                status=status,
                scheduled_at=moment,
                completed_at=moment if status == "completed" else None,
            ),
        )
    log = InteractionService.log_interaction
    log(
        actor=actor,
        customer=ada,
        interaction_type="sms",
        channel="sms",
        direction="outbound",
        occurred_at=at("2025-06-01"),
    )
    log(
        actor=actor,
        customer=ada,
        interaction_type="call",
        channel="phone",
        direction="inbound",
        occurred_at=at("2025-06-03"),
    )  # answers within the week
    log(
        actor=actor,
        customer=ada,
        interaction_type="email",
        channel="email",
        direction="outbound",
        occurred_at=at("2025-06-10"),
    )  # never answered

    InsightService.recalculate_all(actor=actor, as_of=AS_OF)

    insight = insight_of(ada)
    assert insight.total_visits == 2
    assert insight.total_appointments == 4  # the one booked for July is after the history
    assert (insight.cancelled_appointments, insight.no_show_count) == (1, 1)
    assert insight.first_visit_at == at("2025-05-01")
    assert insight.last_visit_at == at("2025-06-01")
    assert insight.days_since_last_visit == 29
    assert (insight.messages_sent, insight.messages_responded) == (2, 1)
    assert insight.response_rate == 0.5
    assert insight.customer_score > 0  # visited within 30 days


@override_settings(RAPPORT_INSIGHTS_CHUNK_SIZE=2)
def test_chunks_cover_every_customer_and_complete_the_run(actor, make_customer, buy):
    customers = [make_customer(code=f"C{number}") for number in range(5)]
    for customer in customers[:3]:
        buy(customer, "2025-06-01", 1000)
    seen = []

    run = InsightService.recalculate_all(
        actor=actor, as_of=AS_OF, progress=lambda done, total: seen.append((done, total))
    )

    assert (run.chunks_total, run.chunks_done, run.customers_total) == (3, 3, 5)
    assert run.customers_done == 5
    assert run.finished_at is not None
    assert seen == [(2, 5), (4, 5), (5, 5)]
    assert CustomerInsight.objects.filter(tenant=actor.tenant).count() == 5


@override_settings(RAPPORT_INSIGHTS_CHUNK_SIZE=2)
def test_a_chunk_run_twice_counts_once(actor, make_customer, buy):
    from rapport.insights.recalculation import plan_chunks, recalculate_chunk

    for number in range(3):
        buy(make_customer(code=f"C{number}"), "2025-06-01", 1000)
    run = InsightService.recalculate_all(actor=actor, as_of=AS_OF, background=True)
    assert run.status == RunStatus.COMPLETED  # tests run tasks at once

    recalculate_chunk(run, plan_chunks(actor.tenant, 2)[0])

    run.refresh_from_db()
    assert (run.chunks_done, run.customers_done) == (2, 3)
    assert CustomerInsight.objects.filter(tenant=actor.tenant).count() == 3


def test_the_query_count_does_not_grow_with_customers(actor, make_customer, buy):
    def queries_for(count: int, prefix: str) -> int:
        for number in range(count):
            customer = make_customer(code=f"{prefix}{number}")
            buy(customer, "2025-06-01", 1000)
            buy(customer, "2025-06-05", 2000)
        with CaptureQueriesContext(connection) as captured:
            InsightService.recalculate_all(actor=actor, as_of=AS_OF)
        return len(captured)

    assert queries_for(3, "A") == queries_for(30, "B")


def test_merged_customers_get_no_insight(actor, make_customer, buy):
    ada = make_customer(code="ADA")
    twin = make_customer(code="TWIN")
    twin.merged_into = ada
    twin.save(update_fields=["merged_into"])

    run = InsightService.recalculate_all(actor=actor, as_of=AS_OF)

    assert run.customers_total == 1
    assert not CustomerInsight.objects.filter(customer=twin).exists()
    assert InsightService.get_insight(tenant=actor.tenant, customer_code="TWIN").customer == ada


def test_one_customer_is_recalculated_with_the_latest_models(actor, make_customer, buy):
    ada = make_customer(code="ADA")
    buy(ada, "2025-06-01", 1000)
    first = InsightService.recalculate_all(actor=actor)
    buy(ada, "2025-06-02", 2500)

    insight = InsightService.recalculate(actor=actor, customer_code="ADA")

    assert insight.total_spent_q == 3500
    assert insight.run == first
    assert InsightRun.objects.count() == 1


def test_one_customer_before_any_run_fits_the_models_first(actor, make_customer, buy):
    buy(make_customer(code="ADA"), "2025-06-01", 1000)

    insight = InsightService.recalculate(actor=actor, customer_code="ADA")

    assert insight.total_orders == 1
    assert (insight.run.status, insight.run.customers_total) == (RunStatus.COMPLETED, 1)


def test_bad_settings_and_unknown_customers_are_refused(actor):
    with pytest.raises(InvalidInput) as error:
        InsightService.recalculate_all(actor=actor, time_unit="fortnight", horizon=0)
    assert set(error.value.fields) == {"time_unit", "horizon"}
    with pytest.raises(InvalidInput):
        InsightService.recalculate_all(actor=actor, as_of=dt.datetime(2999, 1, 1, tzinfo=dt.UTC))
    with pytest.raises(NotFound):
        InsightService.recalculate(actor=actor, customer_code="NOBODY")
    with pytest.raises(InvalidInput):
        InsightService.get_segment_customers(tenant=actor.tenant, segment="royalty")
    assert not InsightRun.objects.exists()


def test_segment_and_at_risk_customers(actor, make_customer, buy):
    champion = make_customer(code="CHAMP")
    for day in range(1, 11):
        buy(champion, f"2025-06-{day + 10:02d}", 10_000)
    gone = make_customer(code="GONE")
    buy(gone, "2023-01-01", 100)
    buy(gone, "2023-01-08", 100)
    InsightService.recalculate_all(actor=actor, as_of=AS_OF)

    champions = InsightService.get_segment_customers(tenant=actor.tenant, segment="champions")
    group = InsightService.get_segment_customers(tenant=actor.tenant, segment="champion")
    at_risk = InsightService.get_at_risk_customers(tenant=actor.tenant, min_churn_risk=0.0)

    assert list(champions) == [champion] == list(group)
    assert next(iter(at_risk)).insight.churn_risk >= list(at_risk)[-1].insight.churn_risk
    assert set(at_risk) == {champion, gone}


class ListBackend:
    """An order history kept outside commerce: two orders of ADA."""

    def get_customer_orders(self, tenant, customer_code, *, since=None, until=None):
        return [order for order in self.iter_orders(tenant) if order.customer_code == customer_code]

    def iter_orders(self, tenant, *, until=None, batch_size=10_000):
        from rapport.commerce.history import OrderRecord

        for day, total in (("2025-05-01", 3000), ("2025-06-01", 4000)):
            yield OrderRecord("ADA", day, "erp", "online", "completed", at(day), total, 0, "NGN")


@override_settings(RAPPORT_ORDER_HISTORY_BACKEND="tests.insights.test_recalculation.ListBackend")
def test_a_project_backend_is_read_through_the_protocol(actor, make_customer, buy):
    ada = make_customer(code="ADA")
    buy(ada, "2025-06-10", 99_000)  # commerce's own orders are not the history here

    InsightService.recalculate_all(actor=actor, as_of=AS_OF)

    insight = insight_of(ada)
    assert (insight.total_orders, insight.total_spent_q, insight.channels) == (2, 7000, ["online"])
    assert Order.objects.count() == 1
