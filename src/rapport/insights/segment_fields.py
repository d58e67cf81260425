"""Insights' fields for segment conditions: each customer's metrics, scores and predictions.

They read CustomerInsight as of its last recalculation, except the "days since" fields, which
count from the stored moments to now (the stored day counts go stale between runs). A customer
not recalculated yet has no insight row and counts as having no orders, visits or score.
"""

from rapport.customers import segment_fields
from rapport.customers.segment_fields import (
    CHOICE,
    DAYS_AGO,
    MONEY,
    NUMBER,
    SegmentField,
    column,
    days_since,
)
from rapport.insights.models import RfmGroup, RfmSegment, VisitPattern

MISSING = "insight__isnull"


def _count(name: str, label: str, description: str = "", **options) -> SegmentField:
    return SegmentField(
        name,
        NUMBER,
        label,
        column(f"insight__{name}", missing=MISSING, default=0),
        integer=True,
        app="insights",
        description=description,
        **options,
    )


def _money(name: str, label: str, description: str = "", *, nullable: bool = False):
    compile = (
        column(f"insight__{name}")
        if nullable
        else column(f"insight__{name}", missing=MISSING, default=0)
    )
    return SegmentField(
        name, MONEY, label, compile, nullable=nullable, app="insights", description=description
    )


def _choice(name: str, label: str, choices) -> SegmentField:
    return SegmentField(
        name,
        CHOICE,
        label,
        column(f"insight__{name}", blank=True),
        choices=tuple(value for value in choices.values if value),
        nullable=True,
        app="insights",
    )


def _days(name: str, moment: str, label: str, description: str) -> SegmentField:
    return SegmentField(
        name,
        DAYS_AGO,
        label,
        days_since(f"insight__{moment}"),
        nullable=True,
        app="insights",
        description=description,
    )


FIELDS = (
    _count("total_orders", "Orders", "Sold orders: completed, or refunded in part or whole"),
    _money("total_spent_q", "Total spent", "Minor units of the tenant's currency, net of refunds"),
    _money("average_ticket_q", "Average order value", "Minor units, net of refunds"),
    _days(
        "days_since_last_order",
        "last_order_at",
        "Days since the last order",
        "Whole days since the last sold order, counted back from now; is_null: never ordered",
    ),
    _days(
        "days_since_first_order",
        "first_order_at",
        "Days since the first order",
        "Whole days since the first sold order; is_null: never ordered",
    ),
    _count("total_visits", "Visits", "Completed visits and appointments"),
    _count("total_appointments", "Appointments", "Appointments booked"),
    _count("cancelled_appointments", "Cancelled appointments"),
    _count("no_show_count", "No-shows"),
    _days(
        "days_since_last_visit",
        "last_visit_at",
        "Days since the last visit",
        "Whole days since the last completed visit; is_null: never visited",
    ),
    _choice("visit_pattern", "Visit pattern", VisitPattern),
    _choice("rfm_segment", "RFM segment", RfmSegment),
    _choice("rfm_group", "RFM group", RfmGroup),
    _count("recency_score", "Recency score", "1 to 5; 0 without orders", maximum=5),
    _count("frequency_score", "Frequency score", "1 to 5; 0 without orders", maximum=5),
    _count("monetary_score", "Monetary score", "1 to 5; 0 without orders", maximum=5),
    SegmentField(
        "churn_risk",
        NUMBER,
        "Churn risk",
        column("insight__churn_risk"),
        nullable=True,
        minimum=0,
        maximum=1,
        app="insights",
        description="1 - P(alive), 0 to 1",
    ),
    _money("predicted_ltv_q", "Predicted lifetime value", "Minor units", nullable=True),
    _count("customer_score", "Customer score", "0 to 100", maximum=100),
    SegmentField(
        "response_rate",
        NUMBER,
        "Response rate",
        column("insight__response_rate", missing=MISSING, default=0),
        minimum=0,
        maximum=1,
        app="insights",
        description="Share of outbound messages answered, 0 to 1",
    ),
)


def register() -> None:
    """Register the insight fields with the core's registry (called from InsightsConfig.ready)."""
    segment_fields.register(*FIELDS)
