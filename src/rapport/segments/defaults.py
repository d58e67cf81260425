"""The eight segments every tenant starts with (seed 004), in the condition language.

A default whose fields no installed app registers (no insights, no commerce) is left out:
without orders there is no VIP to find.
"""

from dataclasses import dataclass
from typing import Any

from rapport.commerce.money import scaled_amount_q
from rapport.customers import segment_fields
from rapport.segments import conditions as language

# Seed 004 writes the VIP threshold in naira; other currencies get about as much.
VIP_SPEND = (100_000, "NGN")


@dataclass(frozen=True)
class DefaultSegment:
    key: str
    name: str
    description: str
    conditions: dict[str, Any]


def default_segments(currency: str) -> list[DefaultSegment]:
    """The defaults for a tenant keeping its books in `currency`, those whose fields exist."""
    vip_q = scaled_amount_q(VIP_SPEND[0], VIP_SPEND[1], currency)
    every = [
        DefaultSegment(
            "vip-customers",
            "VIP Customers",
            "Spent more than ₦100,000, or about as much in the tenant's currency",
            {"all": [{"field": "total_spent_q", "operator": "gt", "value": vip_q}]},
        ),
        DefaultSegment(
            "active-customers",
            "Active Customers",
            "Ordered in the last 30 days",
            {"all": [{"field": "days_since_last_order", "operator": "lte", "value": 30}]},
        ),
        DefaultSegment(
            "at-risk-customers",
            "At-Risk Customers",
            "Last ordered 60 to 90 days ago",
            {"all": [{"field": "days_since_last_order", "operator": "between", "value": [60, 89]}]},
        ),
        DefaultSegment(
            "churned-customers",
            "Churned Customers",
            "No order for 90 days or more",
            {"all": [{"field": "days_since_last_order", "operator": "gte", "value": 90}]},
        ),
        DefaultSegment(
            "pos-customers",
            "POS Customers",
            "Have ordered in store, at a point of sale",
            {"all": [{"field": "orders.channel", "operator": "eq", "value": "pos"}]},
        ),
        DefaultSegment(
            "online-customers",
            "Online Customers",
            "Have ordered from the online store or on a marketplace",
            {
                "all": [
                    {
                        "field": "orders.channel",
                        "operator": "in",
                        "value": ["online", "marketplace"],
                    }
                ]
            },
        ),
        DefaultSegment(
            "new-customers",
            "New Customers",
            "Joined in the last 30 days",
            {"all": [{"field": "days_since_joined", "operator": "lte", "value": 30}]},
        ),
        DefaultSegment(
            "repeat-customers",
            "Repeat Customers",
            "Three orders or more",
            {"all": [{"field": "total_orders", "operator": "gte", "value": 3}]},
        ),
    ]
    return [
        segment
        for segment in every
        if all(segment_fields.get(name) for name in language.fields_of(segment.conditions))
    ]
