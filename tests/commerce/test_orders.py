"""Recording orders: idempotency, forward status moves, conflicts, validation, events."""

import dataclasses
import datetime as dt

import pytest
from django.utils import timezone

from rapport.commerce.models import Order, OrderLine
from rapport.commerce.services import LineInput, OrderService
from rapport.events.models import OutboxEvent
from rapport.exceptions import Conflict, InvalidInput, NotFound
from rapport.tenancy.actors import Actor
from rapport.timeline.models import TimelineEvent
from tests.commerce.conftest import PLACED, order_input

pytestmark = pytest.mark.django_db


def events_of(type_prefix="order."):
    return list(
        OutboxEvent.objects.filter(type__startswith=type_prefix)
        .order_by("id")
        .values_list("type", flat=True)
    )


def test_a_new_completed_order_is_stored_with_its_lines_and_published(actor, ada):
    recorded = OrderService.record_order(actor=actor, order=order_input(ada))

    order = recorded.order
    assert (recorded.created, recorded.completed_now) == (True, True)
    assert (order.total_q, order.currency, order.status, order.channel) == (
        4500,
        "NGN",
        "completed",
        "pos",
    )
    assert order.completed_at == PLACED
    assert order.net_q == 4500
    assert list(order.lines.values_list("position", "name", "quantity", "total_q")) == [
        (0, "Croissant", 2, 3000),
        (1, "Coffee", 1, 1500),
    ]
    assert events_of() == ["order.created", "order.completed"]
    created = OutboxEvent.objects.get(type="order.created")
    assert created.data["code"] == "ADA-1"
    assert created.data["total_q"] == 4500
    assert created.data["order"] == str(order.uuid)
    [entry] = TimelineEvent.objects.filter(customer=ada, event_type="order")
    assert entry.title == "Order 1043 completed: 45.00 NGN"


def test_the_same_order_again_changes_nothing(actor, ada):
    first = OrderService.record_order(actor=actor, order=order_input(ada))
    timeline, outbox = TimelineEvent.objects.count(), OutboxEvent.objects.count()

    again = OrderService.record_order(actor=actor, order=order_input(ada))

    assert (again.created, again.completed_now) == (False, False)
    assert again.order.pk == first.order.pk
    assert Order.objects.count() == 1
    assert OrderLine.objects.count() == 2
    assert (TimelineEvent.objects.count(), OutboxEvent.objects.count()) == (timeline, outbox)


def test_a_pending_order_completes_when_reported_again_and_only_once(actor, ada):
    pending = OrderService.record_order(actor=actor, order=order_input(ada, status="pending"))
    assert (pending.created, pending.completed_now) == (True, False)
    assert pending.order.completed_at is None
    done_at = PLACED + dt.timedelta(hours=2)

    completed = OrderService.record_order(
        actor=actor, order=order_input(ada, status="completed", completed_at=done_at)
    )
    replayed = OrderService.record_order(actor=actor, order=order_input(ada, status="completed"))
    stale = OrderService.record_order(actor=actor, order=order_input(ada, status="pending"))

    assert (completed.created, completed.completed_now) == (False, True)
    assert completed.order.status == "completed"
    assert completed.order.completed_at == done_at
    assert (replayed.completed_now, stale.completed_now) == (False, False)
    assert Order.objects.get().status == "completed"
    assert events_of() == ["order.created", "order.completed"]


def test_a_repeat_with_other_data_is_a_conflict_naming_the_fields(actor, ada, ben):
    OrderService.record_order(actor=actor, order=order_input(ada))

    with pytest.raises(Conflict) as error:
        OrderService.record_order(
            actor=actor,
            order=order_input(ben, total_q=9999, currency="USD", lines=(LineInput("Tea", 10),)),
        )

    assert set(error.value.fields) == {"customer", "total_q", "currency", "lines"}
    assert Order.objects.get().total_q == 4500


def test_a_cancelled_order_cannot_be_reported_completed(actor, ada):
    OrderService.record_order(actor=actor, order=order_input(ada, status="cancelled"))

    with pytest.raises(Conflict) as error:
        OrderService.record_order(actor=actor, order=order_input(ada))

    assert set(error.value.fields) == {"status"}
    assert events_of() == ["order.created", "order.cancelled"]


def test_the_same_external_id_from_another_source_is_another_order(actor, ada):
    OrderService.record_order(actor=actor, order=order_input(ada, source="pos"))
    other = OrderService.record_order(actor=actor, order=order_input(ada, source="Shopify"))

    assert other.created
    assert other.order.source == "shopify"
    assert OrderService.find_order(tenant=actor.tenant, source="SHOPIFY", external_id="1043")
    assert OrderService.find_order(tenant=actor.tenant, source="web", external_id="1043") is None


def test_a_total_without_lines_and_a_total_beside_lines(actor, ada):
    bare = OrderService.record_order(
        actor=actor, order=order_input(ada, "A", lines=(), total_q=700, currency="usd")
    )
    shipped = OrderService.record_order(actor=actor, order=order_input(ada, "B", total_q=5000))

    assert (bare.order.total_q, bare.order.currency) == (700, "USD")
    # The total may hold shipping or discounts beyond the lines: it is kept as given.
    assert shipped.order.total_q == 5000
    assert shipped.order.lines.count() == 2


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"lines": (), "total_q": None}, "total_q"),
        ({"total_q": -1}, "total_q"),
        ({"total_q": 2**63}, "total_q"),
        ({"total_q": True}, "total_q"),
        ({"currency": "XYZ"}, "currency"),
        ({"currency": "naira"}, "currency"),
        ({"channel": "fax"}, "channel"),
        ({"status": "refunded"}, "status"),
        ({"placed_at": dt.datetime(2025, 1, 1)}, "placed_at"),  # naive
        ({"placed_at": timezone.now() + dt.timedelta(days=3)}, "placed_at"),
        ({"external_id": " "}, "external_id"),
        ({"external_id": "x" * 101}, "external_id"),
        ({"source": ""}, "source"),
        ({"metadata": {"x": float("nan")}}, "metadata"),
        ({"metadata": ["not", "an", "object"]}, "metadata"),
        ({"lines": (LineInput("Tea", 10, quantity=0),)}, "lines[0].quantity"),
        ({"lines": (LineInput("Tea", -5),)}, "lines[0].unit_price_q"),
        ({"lines": (LineInput("", 5),)}, "lines[0].name"),
        ({"lines": (LineInput("Tea", 5, sku="s" * 101),)}, "lines[0].sku"),
        ({"completed_at": PLACED - dt.timedelta(days=1)}, "completed_at"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_writes_nothing(actor, ada, fields, named):
    with pytest.raises(InvalidInput) as error:
        OrderService.record_order(actor=actor, order=order_input(ada, **fields))

    assert named in error.value.fields
    assert Order.objects.count() == 0
    assert OutboxEvent.objects.filter(type__startswith="order.").count() == 0


def test_another_tenants_customer_and_an_erased_customer_are_refused(
    actor, ada, other_tenant, make_customer
):
    theirs = make_customer(tenant=other_tenant, first_name="Theirs")
    with pytest.raises(InvalidInput) as error:
        OrderService.record_order(actor=actor, order=order_input(theirs))
    assert set(error.value.fields) == {"customer"}

    ada.erased_at = timezone.now()
    with pytest.raises(InvalidInput) as erased:
        OrderService.record_order(actor=actor, order=order_input(ada))
    assert "erased" in erased.value.fields["customer"]
    assert Order.objects.count() == 0


def test_an_order_for_a_merged_away_record_lands_on_the_survivor(actor, ada, ben):
    # Given Ben's record merged into Ada's after the caller resolved it
    from rapport.customers.models import Customer

    Customer.objects.filter(pk=ben.pk).update(merged_into=ada)

    recorded = OrderService.record_order(actor=actor, order=order_input(ben))

    assert recorded.order.customer_id == ada.pk


def test_set_status_moves_pending_orders_on_and_refuses_the_rest(actor, ada, other_tenant):
    order = OrderService.record_order(actor=actor, order=order_input(ada, status="pending")).order

    same = OrderService.set_status(actor=actor, order=order, status="pending")
    done = OrderService.set_status(actor=actor, order=order, status="completed")

    assert (same.changed, same.previous) == (False, "pending")
    assert (done.changed, done.previous, done.order.status) == (True, "pending", "completed")
    with pytest.raises(Conflict):
        OrderService.set_status(actor=actor, order=order, status="cancelled")
    with pytest.raises(InvalidInput):
        OrderService.set_status(actor=actor, order=order, status="refunded")
    with pytest.raises(NotFound):
        OrderService.set_status(
            actor=Actor.for_system(other_tenant, "tests"),
            order=order,
            status="completed",
        )
    assert events_of() == ["order.created", "order.completed"]
    assert TimelineEvent.objects.filter(title="Order 1043 completed: 45.00 NGN").count() == 1


def test_get_order_and_customer_orders(actor, ada, other_tenant):
    first = OrderService.record_order(actor=actor, order=order_input(ada, "1")).order
    later = dataclasses.replace(order_input(ada, "2"), placed_at=PLACED + dt.timedelta(days=1))
    second = OrderService.record_order(actor=actor, order=later).order

    assert OrderService.get_order(tenant=actor.tenant, order_id=str(first.uuid)).pk == first.pk
    with pytest.raises(NotFound):
        OrderService.get_order(tenant=other_tenant, order_id=first.uuid)
    with pytest.raises(NotFound):
        OrderService.get_order(tenant=actor.tenant, order_id="not-a-uuid")
    assert [o.pk for o in OrderService.get_customer_orders(customer=ada)] == [second.pk, first.pk]
