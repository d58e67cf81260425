"""The order history backend: what analytics read, as of a time, and how it is configured."""

import datetime as dt

import pytest
from django.core.exceptions import ImproperlyConfigured

from rapport.commerce.history import (
    CommerceOrderHistoryBackend,
    ItemRecord,
    OrderHistoryBackend,
    get_order_history_backend,
)
from rapport.commerce.models import OrderRefund
from rapport.commerce.services import OrderService
from tests.commerce.conftest import PLACED, order_input

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)


class ListBackend:
    """A backend of a project whose orders live elsewhere."""

    def get_customer_orders(self, tenant, customer_code, *, since=None, until=None):
        return []

    def iter_orders(self, tenant, *, until=None, batch_size=10_000):
        return iter([])


class NotABackend:
    pass


@pytest.fixture
def orders(actor, ada, ben):
    """Ada: a sale on day 0 refunded in part on day 2 (refund time set), a pending and a
    cancelled order; Ben: a sale on day 1 and one on day 3."""
    sale = OrderService.record_order(actor=actor, order=order_input(ada, "A-1")).order
    refund = OrderService.refund(actor=actor, order=sale, amount_q=1000).refund
    OrderRefund.objects.filter(pk=refund.pk).update(created_at=PLACED + 2 * DAY)
    OrderService.record_order(actor=actor, order=order_input(ada, "A-2", status="pending"))
    OrderService.record_order(actor=actor, order=order_input(ada, "A-3", status="cancelled"))
    for n in (1, 3):
        OrderService.record_order(
            actor=actor, order=order_input(ben, f"B-{n}", placed_at=PLACED + n * DAY)
        )


def test_iter_orders_reports_every_sold_order_with_its_items(tenant, orders):
    records = list(CommerceOrderHistoryBackend().iter_orders(tenant, batch_size=2))

    assert [(r.customer_code, r.external_id, r.status, r.net_q) for r in records] == [
        ("ADA-1", "A-1", "partially_refunded", 3500),
        ("BEN-2", "B-1", "completed", 4500),
        ("BEN-2", "B-3", "completed", 4500),
    ]
    assert records[0].items[0] == ItemRecord("CR-1", "Croissant", "bakery", 2, 1500, 3000)


def test_until_reads_history_as_it_stood(tenant, orders):
    backend = CommerceOrderHistoryBackend()

    before_refund = list(
        backend.iter_orders(tenant, until=PLACED + 2 * DAY - dt.timedelta(seconds=1))
    )
    after_refund = list(
        backend.iter_orders(tenant, until=PLACED + 2 * DAY + dt.timedelta(seconds=1))
    )

    assert [(r.external_id, r.status, r.refunded_q) for r in before_refund] == [
        ("A-1", "completed", 0),
        ("B-1", "completed", 0),
    ]
    assert [(r.external_id, r.status, r.refunded_q) for r in after_refund] == [
        ("A-1", "partially_refunded", 1000),
        ("B-1", "completed", 0),
    ]


def test_a_customers_orders_between_since_and_until(tenant, orders):
    backend = CommerceOrderHistoryBackend()

    assert [r.external_id for r in backend.get_customer_orders(tenant, "BEN-2")] == ["B-1", "B-3"]
    assert [
        r.external_id for r in backend.get_customer_orders(tenant, "BEN-2", since=PLACED + 2 * DAY)
    ] == ["B-3"]
    assert [
        r.external_id for r in backend.get_customer_orders(tenant, "BEN-2", until=PLACED + 2 * DAY)
    ] == ["B-1"]
    assert backend.get_customer_orders(tenant, "NOBODY") == []


def test_another_tenant_reads_none(other_tenant, orders):
    assert list(CommerceOrderHistoryBackend().iter_orders(other_tenant)) == []
    assert CommerceOrderHistoryBackend().get_customer_orders(other_tenant, "ADA-1") == []


def test_iterating_reads_in_chunks(tenant, orders, django_assert_num_queries):
    # Three sold orders in chunks of two: two queries (orders, lines) per chunk
    with django_assert_num_queries(4):
        assert len(list(CommerceOrderHistoryBackend().iter_orders(tenant, batch_size=2))) == 3


def test_the_default_backend_and_a_configured_one(settings):
    assert isinstance(get_order_history_backend(), CommerceOrderHistoryBackend)
    assert isinstance(get_order_history_backend(), OrderHistoryBackend)

    settings.RAPPORT_ORDER_HISTORY_BACKEND = "tests.commerce.test_history.ListBackend"
    assert isinstance(get_order_history_backend(), ListBackend)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("tests.commerce.test_history.Missing", "cannot be imported"),
        ("no_such_module.Backend", "cannot be imported"),
        ("nodots", "cannot be imported"),
        ("tests.commerce.test_history.NotABackend", "lacks get_customer_orders, iter_orders"),
    ],
)
def test_a_bad_backend_path_says_what_is_wrong(settings, path, message):
    settings.RAPPORT_ORDER_HISTORY_BACKEND = path

    with pytest.raises(ImproperlyConfigured) as error:
        get_order_history_backend()

    assert message in str(error.value)
    assert "RAPPORT_ORDER_HISTORY_BACKEND" in str(error.value)
