"""Refunds: partial, full, replayed by reference, never beyond what was paid."""

import pytest

from rapport.commerce.models import OrderRefund
from rapport.commerce.services import OrderService
from rapport.events.models import OutboxEvent
from rapport.exceptions import Conflict, InvalidInput
from rapport.timeline.models import TimelineEvent
from tests.commerce.conftest import order_input

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(actor, ada):
    return OrderService.record_order(actor=actor, order=order_input(ada)).order


def test_a_partial_then_the_rest(actor, order):
    part = OrderService.refund(
        actor=actor, order=order, amount_q=1000, reason="Cold", reference="r1"
    )
    rest = OrderService.refund(actor=actor, order=order, reference="r2")

    assert (part.created, part.order.status, part.order.refunded_q, part.order.net_q) == (
        True,
        "partially_refunded",
        1000,
        3500,
    )
    assert (rest.refund.amount_q, rest.order.status, rest.order.net_q) == (3500, "refunded", 0)
    events = OutboxEvent.objects.filter(type="order.refunded").order_by("id")
    assert [(e.data["amount_q"], e.data["refunded_q"], e.data["net_q"]) for e in events] == [
        (1000, 1000, 3500),
        (3500, 4500, 0),
    ]
    assert list(
        TimelineEvent.objects.filter(title__contains="refunded")
        .order_by("id")
        .values_list("title", flat=True)
    ) == ["Order 1043 refunded: 10.00 NGN", "Order 1043 fully refunded: 35.00 NGN"]


def test_the_same_reference_replays_the_first_refund(actor, order):
    first = OrderService.refund(actor=actor, order=order, amount_q=1000, reference="r1")

    again = OrderService.refund(actor=actor, order=order, amount_q=1000, reference="r1")
    bare = OrderService.refund(actor=actor, order=order, reference="r1")

    assert (again.created, again.refund.pk) == (False, first.refund.pk)
    assert bare.refund.pk == first.refund.pk
    assert again.order.refunded_q == 1000
    assert OrderRefund.objects.count() == 1
    assert OutboxEvent.objects.filter(type="order.refunded").count() == 1
    with pytest.raises(Conflict) as error:
        OrderService.refund(actor=actor, order=order, amount_q=5, reference="r1")
    assert set(error.value.fields) == {"amount_q"}


def test_no_refund_beyond_what_is_left(actor, order):
    OrderService.refund(actor=actor, order=order, amount_q=4000)

    with pytest.raises(InvalidInput) as error:
        OrderService.refund(actor=actor, order=order, amount_q=501)

    assert error.value.fields == {"amount_q": "At most 500"}
    assert OrderRefund.objects.count() == 1


def test_a_reference_is_generated_when_none_is_given(actor, order):
    refunded = OrderService.refund(actor=actor, order=order, amount_q=1)

    assert refunded.refund.reference.startswith("refund:")


@pytest.mark.parametrize("amount_q", [0, -1, 1.5, True])
def test_a_refund_amount_must_be_a_positive_whole_number(actor, order, amount_q):
    with pytest.raises(InvalidInput):
        OrderService.refund(actor=actor, order=order, amount_q=amount_q)
    assert OrderRefund.objects.count() == 0


@pytest.mark.parametrize("status", ["pending", "cancelled"])
def test_only_completed_orders_are_refunded(actor, ada, status):
    order = OrderService.record_order(actor=actor, order=order_input(ada, status=status)).order

    with pytest.raises(Conflict):
        OrderService.refund(actor=actor, order=order)

    assert OrderRefund.objects.count() == 0


def test_a_fully_refunded_order_cannot_be_refunded_again(actor, order):
    OrderService.refund(actor=actor, order=order)

    with pytest.raises(Conflict):
        OrderService.refund(actor=actor, order=order, amount_q=1)


def test_a_refund_of_a_stale_order_object_reads_the_locked_row(actor, order):
    # Given two refunds through the same in-memory object (the row moved on in between)
    OrderService.refund(actor=actor, order=order, amount_q=4000)

    with pytest.raises(InvalidInput):
        OrderService.refund(actor=actor, order=order, amount_q=1000)
