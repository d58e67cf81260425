"""Two requests recording the same order at once store it once (PostgreSQL, real threads)."""

import threading

import pytest
from django.db import connection, connections

from rapport.commerce.models import Order, OrderLine
from rapport.commerce.services import OrderService, VisitInput, VisitService
from rapport.events.models import OutboxEvent
from tests.commerce.conftest import order_input

THREADS = 8
postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="threads share the in-memory SQLite test database"
)


def race(work):
    barrier = threading.Barrier(THREADS)
    results, errors = [], []

    def run():
        try:
            barrier.wait(timeout=20)
            results.append(work())
        except Exception as error:  # any failure is reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results, errors


@pytest.mark.postgres
@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_the_same_order_at_once_is_stored_once(actor, ada):
    results, errors = race(lambda: OrderService.record_order(actor=actor, order=order_input(ada)))

    assert errors == []
    assert sum(result.created for result in results) == 1
    assert len({result.order.pk for result in results}) == 1
    assert Order.objects.count() == 1
    assert OrderLine.objects.count() == 2
    assert OutboxEvent.objects.filter(type="order.created").count() == 1


@pytest.mark.postgres
@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_overlapping_batches_store_each_order_once(actor, ada):
    orders = [order_input(ada, f"B-{n}") for n in range(50)]

    results, errors = race(lambda: OrderService.record_orders(actor=actor, orders=orders))

    assert errors == []
    assert sum(len(result.created) for result in results) == 50
    assert Order.objects.count() == 50
    assert OutboxEvent.objects.filter(type="order.created").count() == 50


@pytest.mark.postgres
@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_the_same_visit_at_once_is_stored_once(actor, ada):
    visit = VisitInput(customer=ada, external_id="V-1", service="Bath")

    results, errors = race(lambda: VisitService.record_visit(actor=actor, visit=visit))

    assert errors == []
    assert sum(result.created for result in results) == 1
