"""customers.hooks.publish_many writes what publish writes for each change, in bulk."""

import pytest
from django.db import transaction

from rapport.commerce.services import OrderService, changes
from rapport.customers import hooks
from rapport.events.models import OutboxEvent
from rapport.timeline.models import TimelineEvent
from tests.commerce.conftest import order_input

pytestmark = pytest.mark.django_db


def rows():
    timeline = TimelineEvent.objects.order_by("id").values(
        "tenant_id",
        "customer_id",
        "event_type",
        "title",
        "description",
        "reference",
        "metadata",
        "actor",
    )
    outbox = OutboxEvent.objects.order_by("id").values("tenant_id", "type", "data")
    return list(timeline), list(outbox)


def test_publish_many_writes_the_same_rows_as_publish_per_change(actor, ada, ben):
    # Given the changes of a few orders (commerce's own) and of core kinds the timeline titles
    orders = [
        OrderService.record_order(actor=actor, order=order_input(c, f"P-{n}", status=s)).order
        for n, (c, s) in enumerate([(ada, "completed"), (ben, "pending"), (ada, "cancelled")])
    ]
    published = [change for order in orders for change in changes.order_created(order, actor)]
    published.append(
        hooks.CustomerChange(kind="tagged", customer=ada, actor=actor, detail={"tags": ["VIP"]})
    )
    published.append(hooks.CustomerChange(kind="archived", customer=ben, actor=actor))
    TimelineEvent.objects.all().delete()
    OutboxEvent.objects.all().delete()

    # When published one by one, and then as a batch
    with transaction.atomic():
        for change in published:
            hooks.publish(change)
    one_by_one = rows()
    TimelineEvent.objects.all().delete()
    OutboxEvent.objects.all().delete()
    with transaction.atomic():
        hooks.publish_many(published)

    # Then the rows are the same
    assert rows() == one_by_one
    assert len(one_by_one[0]) == 5 and len(one_by_one[1]) == 7


def test_publish_many_of_nothing_writes_nothing():
    hooks.publish_many([])

    assert TimelineEvent.objects.count() == 0
