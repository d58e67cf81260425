"""Insights in a customer's export, erasure and merges (registered in InsightsConfig.ready).

An insight is derived from orders, visits and messages, so it holds nothing of its own to keep:
the export shows it, an erasure deletes it (the next recalculation starts from the anonymized
history), and a merge deletes both customers' insights, which the next recalculation works out
again from the history the merge moved.
"""

import datetime as dt
from typing import Any

from rapport.customers.models import Customer
from rapport.customers.personal_data import Erasure, MergeStep
from rapport.insights.models import CustomerInsight
from rapport.tenancy.actors import Actor

NAME = "insights"
LEFT_OUT = {"id", "tenant", "customer", "run"}


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime) else value


class InsightData:
    """The customer's insight: exported whole, deleted on erasure and on merge."""

    name = NAME

    def export(self, customer: Customer) -> dict[str, Any] | None:
        """The customer's latest insight, every metric, or None before the first calculation."""
        insight = CustomerInsight.objects.filter(customer=customer).first()
        if insight is None:
            return None
        return {
            field.name: _json(getattr(insight, field.attname))
            for field in CustomerInsight._meta.concrete_fields
            if field.name not in LEFT_OUT
        }

    def erase(self, customer: Customer, erasure: Erasure) -> int:
        """Delete the insight: it is worked out again from the anonymized history."""
        deleted, _ = CustomerInsight.objects.filter(customer=customer).delete()
        return deleted

    def plan_merge(self, duplicate: Customer, survivor: Customer) -> list[MergeStep]:
        """Both insights go; the next recalculation works out the survivor's from both histories."""
        return [
            MergeStep(
                NAME,
                "insights (derived metrics)",
                "recalculate",
                "Worked out again from the merged history at the next recalculation",
            )
        ]

    def merge(self, duplicate: Customer, survivor: Customer, actor: Actor) -> dict[str, Any]:
        CustomerInsight.objects.filter(customer__in=[duplicate, survivor]).delete()
        return {}

    def blockers_to_undo(self, duplicate: Customer, survivor: Customer, journal: Any) -> list[str]:
        return []

    def undo_merge(
        self, duplicate: Customer, survivor: Customer, journal: Any, actor: Actor
    ) -> None:
        """Derived data: the next recalculation works both insights out again."""
        CustomerInsight.objects.filter(customer__in=[duplicate, survivor]).delete()
