"""record_orders: many orders in a few queries, all checked before any is written."""

import dataclasses

import pytest

from rapport.commerce.models import Order, OrderLine
from rapport.commerce.services import LineInput, OrderService
from rapport.commerce.services.orders import BULK_LIMIT
from rapport.events.models import OutboxEvent
from rapport.exceptions import Conflict, InvalidInput
from rapport.timeline.models import TimelineEvent
from tests.commerce.conftest import order_input

pytestmark = pytest.mark.django_db


def batch(customers, count, start=0, **fields):
    return [
        order_input(customers[number % len(customers)], f"B-{number}", **fields)
        for number in range(start, start + count)
    ]


def test_three_hundred_orders_take_a_bounded_number_of_queries(
    actor, make_customer, django_assert_max_num_queries
):
    customers = [make_customer() for _ in range(5)]
    orders = batch(customers, 300)

    with django_assert_max_num_queries(25):
        recorded = OrderService.record_orders(actor=actor, orders=orders)

    assert [order.external_id for order in recorded.created] == [f"B-{n}" for n in range(300)]
    assert recorded.existing == []
    assert all(order.pk for order in recorded.created)
    assert Order.objects.count() == 300
    assert OrderLine.objects.count() == 600
    assert OutboxEvent.objects.filter(type="order.created").count() == 300
    assert OutboxEvent.objects.filter(type="order.completed").count() == 300
    assert TimelineEvent.objects.filter(event_type="order").count() == 300


def test_a_repeat_of_a_batch_writes_nothing_and_moves_pending_ones_on(
    actor, ada, ben, django_assert_max_num_queries
):
    first = batch([ada, ben], 10, status="pending")
    OrderService.record_orders(actor=actor, orders=first)
    outbox = OutboxEvent.objects.count()

    # When half come back completed, with five new ones after them
    repeat = [
        dataclasses.replace(order, status="completed") if n % 2 else order
        for n, order in enumerate(first)
    ] + batch([ada], 5, start=10)
    with django_assert_max_num_queries(25):
        recorded = OrderService.record_orders(actor=actor, orders=repeat)

    assert [o.external_id for o in recorded.existing] == [f"B-{n}" for n in range(10)]
    assert [o.external_id for o in recorded.created] == [f"B-{n}" for n in range(10, 15)]
    completed = set(Order.objects.filter(status="completed").values_list("external_id", flat=True))
    assert completed == {f"B-{n}" for n in range(1, 15, 2)} | {f"B-{n}" for n in range(10, 15)}
    # 5 moved on (order.completed), 5 new (created + completed)
    assert OutboxEvent.objects.count() - outbox == 15


def test_one_bad_order_refuses_the_whole_batch_naming_it(actor, ada):
    orders = batch([ada], 5)
    orders[3] = dataclasses.replace(orders[3], total_q=-5)
    orders[4] = dataclasses.replace(orders[4], lines=(LineInput("Tea", 5, quantity=0),))

    with pytest.raises(InvalidInput) as error:
        OrderService.record_orders(actor=actor, orders=orders)

    assert set(error.value.fields) == {"orders[3].total_q", "orders[4].lines[0].quantity"}
    assert Order.objects.count() == 0


def test_a_conflicting_repeat_refuses_the_whole_batch_naming_it(actor, ada):
    OrderService.record_orders(actor=actor, orders=batch([ada], 2))
    orders = batch([ada], 4)
    orders[1] = dataclasses.replace(orders[1], total_q=1)

    with pytest.raises(Conflict) as error:
        OrderService.record_orders(actor=actor, orders=orders)

    assert set(error.value.fields) == {"orders[1].total_q"}
    assert Order.objects.count() == 2


def test_an_order_twice_in_one_batch_is_refused(actor, ada):
    orders = batch([ada], 3)
    orders.append(orders[1])

    with pytest.raises(InvalidInput) as error:
        OrderService.record_orders(actor=actor, orders=orders)

    assert error.value.fields == {"orders[3].external_id": "Repeats orders[1]"}


def test_too_many_orders_are_refused(actor, ada):
    with pytest.raises(InvalidInput) as error:
        OrderService.record_orders(actor=actor, orders=[order_input(ada)] * (BULK_LIMIT + 1))

    assert set(error.value.fields) == {"orders"}


def test_without_publishing_only_the_rows_are_written(actor, ada):
    OrderService.record_orders(actor=actor, orders=batch([ada], 20), publish=False)

    assert Order.objects.count() == 20
    assert OutboxEvent.objects.filter(type__startswith="order.").count() == 0
    assert TimelineEvent.objects.filter(event_type="order").count() == 0


def test_an_empty_batch_does_nothing(actor):
    assert OrderService.record_orders(actor=actor, orders=[]) == type(
        OrderService.record_orders(actor=actor, orders=[])
    )(created=[], existing=[])
