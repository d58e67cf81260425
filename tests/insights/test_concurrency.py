"""Whole runs and single recalculations at once write each customer's insight once
(PostgreSQL, real threads)."""

import threading

import pytest
from django.db import connection, connections

from rapport.insights.models import CustomerInsight
from rapport.insights.services import InsightService

THREADS = 6
postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="threads share the in-memory SQLite test database"
)


@pytest.mark.postgres
@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_runs_and_single_recalculations_at_once_leave_one_insight_each(actor, make_customer, buy):
    # Given customers who bought and have no insight yet
    customers = [make_customer(code=f"C{number}") for number in range(THREADS)]
    for customer in customers:
        buy(customer, "2025-06-01", 1000)
        buy(customer, "2025-06-09", 2000)
    barrier = threading.Barrier(THREADS)
    errors = []

    def work(number: int) -> None:
        try:
            barrier.wait(timeout=20)
            if number % 2:
                InsightService.recalculate_all(actor=actor)
            else:
                InsightService.recalculate(actor=actor, customer_code=f"C{number}")
        except Exception as error:  # any failure is reported below
            errors.append(error)
        finally:
            connections.close_all()

    # When half the threads run whole recalculations and half recalculate one customer each
    threads = [threading.Thread(target=work, args=(number,)) for number in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    # Then nothing failed, and every customer has one insight with both orders
    assert errors == []
    assert sorted(CustomerInsight.objects.values_list("customer__code", "total_orders")) == [
        (f"C{number}", 2) for number in range(THREADS)
    ]
