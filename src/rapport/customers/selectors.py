"""Reads of the customer core, with their joins already applied."""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet

from rapport.customers.models import Customer, CustomerTag, Note, Tag
from rapport.customers.services import visible_notes_filter
from rapport.exceptions import InvalidInput
from rapport.tenancy.actors import Actor
from rapport.tenancy.models import Tenant

SEARCH_MIN_LENGTH = 2


@dataclass(frozen=True)
class CustomerFilters:
    """What a customer list can be narrowed by; None means 'any'."""

    q: str | None = None
    email: str | None = None
    phone: str | None = None
    tag: str | None = None
    customer_type: str | None = None
    source: str | None = None
    gender: str | None = None
    preferred_contact_method: str | None = None
    referred_by: str | None = None
    is_archived: bool | None = False
    created_after: dt.datetime | None = None
    created_before: dt.datetime | None = None


def _with_tags(queryset: QuerySet) -> QuerySet:
    return queryset.select_related("referred_by").prefetch_related(
        Prefetch(
            "customer_tags",
            queryset=CustomerTag.objects.select_related("tag").order_by("tag__name"),
        )
    )


def customer_list(*, tenant: Tenant, filters: CustomerFilters) -> QuerySet:
    """The tenant's customers narrowed by `filters`, tags and referrer fetched alongside."""
    queryset = Customer.objects.filter(tenant=tenant, merged_into=None)
    if filters.is_archived is not None:
        queryset = queryset.filter(is_archived=filters.is_archived)
    if filters.q:
        term = filters.q.strip()
        if len(term) < SEARCH_MIN_LENGTH:
            raise InvalidInput("Search needs more text", fields={"q": "At least 2 characters"})
        words = term.split()
        for word in words:
            matches = (
                Q(first_name__icontains=word)
                | Q(last_name__icontains=word)
                | Q(email__icontains=word)
                | Q(code__iexact=word)
            )
            digits = word.lstrip("+0")  # a local 0803… or +234803… both match +234803…
            if digits.isdigit():
                matches |= Q(phone__contains=digits)
            queryset = queryset.filter(matches)
    exact = {
        "email": filters.email.strip().lower() if filters.email else None,
        "phone": filters.phone,
        "customer_type": filters.customer_type,
        "source": filters.source,
        "gender": filters.gender,
        "preferred_contact_method": filters.preferred_contact_method,
        "referred_by__code": filters.referred_by,
        "created_at__gte": filters.created_after,
        "created_at__lt": filters.created_before,
    }
    queryset = queryset.filter(**{key: value for key, value in exact.items() if value is not None})
    if filters.tag:
        queryset = queryset.filter(
            customer_tags__tag__tenant=tenant, customer_tags__tag__name__iexact=filters.tag
        )
    return _with_tags(queryset)


def customer_detail(*, tenant: Tenant, code: str) -> Customer | None:
    """One customer with tags, addresses, contact points and identities, or None.

    A merged duplicate's code finds the customer it was merged into.
    """
    customers = (
        _with_tags(Customer.objects.filter(tenant=tenant))
        .prefetch_related("addresses", "contact_points", "external_identities")
        .annotate(referral_count=Count("referrals", distinct=True))
    )
    customer = customers.filter(code=code).first()
    if customer is not None and customer.merged_into_id is not None:
        customer = customers.filter(
            pk=customer.merged_into_id
        ).first()  # its code finds the survivor
    return customer


def tag_names(customer: Customer) -> list[str]:
    """Names of a customer's tags (from the prefetch when there is one)."""
    return [link.tag.name for link in customer.customer_tags.all()]


def customer_notes(*, actor: Actor, customer: Customer) -> QuerySet:
    """The notes the actor may see: pinned first, then newest."""
    return Note.objects.filter(customer=customer).filter(visible_notes_filter(actor))


def tag_list(*, tenant: Tenant, is_active: bool | None = None) -> QuerySet:
    """The tenant's tags with how many customers carry each."""
    # Meta.ordering is dropped in GROUP BY queries, so the order is spelled out.
    queryset = (
        Tag.objects.filter(tenant=tenant)
        .annotate(customer_count=Count("customer_tags"))
        .order_by("name")
    )
    if is_active is not None:
        queryset = queryset.filter(is_active=is_active)
    return queryset


def referrals_of(*, customer: Customer) -> QuerySet:
    """The customers this customer referred, newest first."""
    return _with_tags(Customer.objects.filter(referred_by=customer))


def top_referrers(*, tenant: Tenant, limit: int = 10) -> QuerySet:
    """The customers who referred the most others."""
    return (
        Customer.objects.filter(tenant=tenant)
        .annotate(referral_count=Count("referrals"))
        .filter(referral_count__gt=0)
        .order_by("-referral_count", "pk")[:limit]
    )


def customer_payload(customer: Customer) -> dict[str, Any]:
    """The public form of a customer for events and exports."""
    return {
        "code": customer.code,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "email": customer.email,
        "phone": customer.phone,
        "phone_secondary": customer.phone_secondary,
        "date_of_birth": customer.date_of_birth.isoformat() if customer.date_of_birth else None,
        "gender": customer.gender,
        "preferred_language": customer.preferred_language,
        "preferred_contact_method": customer.preferred_contact_method,
        "customer_type": customer.customer_type,
        "source": customer.source,
        "acquisition_source": customer.acquisition_source,
        "referred_by": customer.referred_by.code if customer.referred_by_id else None,
        "referral_source": customer.referral_source,
        "instagram_handle": customer.instagram_handle,
        "facebook_url": customer.facebook_url,
        "metadata": customer.metadata,
        "is_archived": customer.is_archived,
        "created_at": customer.created_at.isoformat(),
        "updated_at": customer.updated_at.isoformat(),
    }
