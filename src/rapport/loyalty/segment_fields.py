"""Loyalty's fields for segment conditions: membership, tier and points.

A customer not enrolled counts as holding no points and no tier.
"""

from django.db.models import OuterRef

from rapport.customers import segment_fields
from rapport.customers.segment_fields import BOOLEAN, NUMBER, TEXT, SegmentField
from rapport.loyalty.models import LoyaltyAccount

MISSING = "loyalty_account__isnull"


def _accounts():
    return LoyaltyAccount.objects.filter(customer=OuterRef("pk"))


def register() -> None:
    """loyalty.is_enrolled, loyalty.tier, loyalty.points_balance, loyalty.lifetime_points."""
    segment_fields.register(
        SegmentField(
            "loyalty.is_enrolled",
            BOOLEAN,
            "Is a loyalty member",
            segment_fields.exists(_accounts),
            app="loyalty",
        ),
        SegmentField(
            "loyalty.tier",
            TEXT,
            "Loyalty tier",
            segment_fields.column("loyalty_account__tier", text=True),
            operators=("eq", "neq", "in", "not_in", "is_null"),
            nullable=True,
            app="loyalty",
            description="The tier's name, in any case (the program's tiers: Bronze, Silver…); "
            "is_null: in no tier, or not a member",
        ),
        SegmentField(
            "loyalty.points_balance",
            NUMBER,
            "Points balance",
            segment_fields.column("loyalty_account__points_balance", missing=MISSING, default=0),
            integer=True,
            app="loyalty",
        ),
        SegmentField(
            "loyalty.lifetime_points",
            NUMBER,
            "Points earned in all",
            segment_fields.column("loyalty_account__lifetime_points", missing=MISSING, default=0),
            integer=True,
            app="loyalty",
            description="Points earned, less reversals, since enrolling",
        ),
    )
