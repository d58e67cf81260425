"""Commerce's fields for segment conditions: where customers ordered, and what they bought.

Only sold orders count (completed, or refunded in part or whole), as in spend and history.
"""

from functools import reduce
from operator import or_

from django.db.models import OuterRef, Q, QuerySet

from rapport.commerce.models import SOLD, Channel, Order, OrderLine
from rapport.customers import segment_fields
from rapport.customers.segment_fields import CHOICE, TEXT, SegmentField


def _orders(channels: list | None) -> QuerySet:
    orders = Order.objects.filter(customer=OuterRef("pk"), status__in=SOLD)
    return orders if channels is None else orders.filter(channel__in=channels)


def _lines(categories: list | None) -> QuerySet:
    lines = OrderLine.objects.filter(order__customer=OuterRef("pk"), order__status__in=SOLD)
    if categories is None:
        return lines.exclude(category="")
    return lines.filter(reduce(or_, (Q(category__iexact=name) for name in categories)))


def register() -> None:
    """orders.channel and orders.category (registered in CommerceConfig.ready())."""
    segment_fields.register(
        SegmentField(
            "orders.channel",
            CHOICE,
            "Has ordered on a channel",
            segment_fields.related(_orders),
            operators=("eq", "in", "neq", "not_in", "is_null"),
            choices=tuple(Channel.values),
            app="commerce",
            description="eq, in: at least one sold order on the channel(s); neq, not_in: none "
            "there; is_null: no sold order at all",
        ),
        SegmentField(
            "orders.category",
            TEXT,
            "Has bought from a product category",
            segment_fields.related(_lines),
            operators=("eq", "in", "neq", "not_in"),
            app="commerce",
            description="A sold order line's category, in any case: eq, in: bought from it; "
            "neq, not_in: never bought from it",
        ),
    )
