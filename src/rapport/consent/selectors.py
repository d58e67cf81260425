"""Reads of consent worth a name."""

from django.db.models import QuerySet

from rapport.consent.models import ConsentChange, Status
from rapport.customers.models import Customer
from rapport.tenancy.models import Tenant


def marketable_customers(*, tenant: Tenant, channel: str) -> QuerySet[Customer]:
    """Live customers (not archived, not merged away) opted in on `channel`: one join.

    The consent side is read from the partial index `consent_marketable_idx`.
    """
    return Customer.objects.filter(
        tenant=tenant,
        is_archived=False,
        merged_into__isnull=True,
        consents__tenant=tenant,
        consents__channel=channel,
        consents__status=Status.OPTED_IN,
    )


def consent_history(*, customer: Customer, channel: str | None = None) -> QuerySet[ConsentChange]:
    """A customer's consent changes, newest first."""
    changes = ConsentChange.objects.filter(tenant_id=customer.tenant_id, customer=customer)
    if channel:
        changes = changes.filter(channel=channel)
    return changes.order_by("-created_at", "-id")
