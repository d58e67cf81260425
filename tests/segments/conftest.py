"""Fixtures of the segment tests: an actor, and factories for the data segments ask about."""

import datetime as dt
import itertools

import pytest
from django.utils import timezone

from rapport.commerce.services import LineInput, OrderInput, OrderService
from rapport.insights.models import CustomerInsight
from rapport.segments.services import SegmentService
from rapport.tenancy.actors import Actor

_orders = itertools.count(1)


@pytest.fixture
def actor(tenant):
    return Actor.for_system(tenant, "tests")


@pytest.fixture
def make_order(actor):
    """make_order(customer, total_q=…, channel=…, days_ago=…, category=…) through OrderService."""

    def make(customer, total_q=1000, channel="pos", days_ago=1, category="", status="completed"):
        lines = (LineInput(name="Item", unit_price_q=total_q, category=category),)
        return OrderService.record_order(
            actor=actor,
            order=OrderInput(
                customer=customer,
                external_id=f"T-{next(_orders)}",
                placed_at=timezone.now() - dt.timedelta(days=days_ago),
                lines=lines,
                total_q=total_q,
                channel=channel,
                status=status,
            ),
        ).order

    return make


@pytest.fixture
def make_insight(tenant):
    """make_insight(customer, **metrics): a customer's insight row, as a recalculation writes it."""

    def make(customer, last_order_days=None, last_visit_days=None, **metrics):
        now = timezone.now()
        moments = {
            "last_order_at": last_order_days,
            "first_order_at": metrics.pop("first_order_days", last_order_days),
            "last_visit_at": last_visit_days,
        }
        for name, days in moments.items():
            if days is not None:
                metrics[name] = now - dt.timedelta(days=days, hours=1)
        return CustomerInsight.objects.create(
            tenant=customer.tenant,
            customer=customer,
            currency=customer.tenant.currency,
            as_of=now,
            calculated_at=now,
            **metrics,
        )

    return make


@pytest.fixture
def make_segment(actor):
    """make_segment(conditions, name=…, type=…) through SegmentService."""

    def make(conditions=None, name="Test segment", type="dynamic", **fields):
        return SegmentService.create_segment(
            actor=actor, name=name, type=type, conditions=conditions, **fields
        )

    return make
