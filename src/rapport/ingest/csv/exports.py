"""Exporting customers as CSV: streamed a chunk at a time, a few queries per chunk.

The columns read back into `rapport import customers`: consent is yes, no or empty (never
asked); the loyalty columns are for reading and an import ignores them. A segment's export
(the customers given as a queryset) adds the insight columns when insights is installed.
"""

import csv
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass

from django.apps import apps
from django.db.models import QuerySet

from rapport.customers.models import Customer, CustomerTag, Tag
from rapport.exceptions import InvalidInput
from rapport.tenancy.models import Tenant

CHUNK = 2_000
BASE_COLUMNS = [
    "code",
    "first_name",
    "last_name",
    "email",
    "phone",
    "birthday",
    "customer_type",
    "source",
    "tags",
    "created_at",
]
CONSENT_COLUMNS = {
    "email_marketing": "email",
    "sms_marketing": "sms",
    "whatsapp_marketing": "whatsapp",
}
LOYALTY_COLUMNS = ["points_balance", "tier"]
INSIGHT_COLUMNS = [
    "total_orders",
    "total_spent_q",
    "currency",
    "last_order_at",
    "rfm_segment",
    "churn_risk",
]
CONSENT_CELLS = {"opted_in": "yes", "opted_out": "no"}
# A cell a spreadsheet would run as a formula; phone numbers such as +234… are left alone.
FORMULA = re.compile(r"^[=+\-@\t\r]")
NUMBER = re.compile(r"^[+\-]?[\d\s().]+$")


@dataclass(frozen=True)
class ExportFilters:
    tag: str | None = None
    since: dt.datetime | None = None  # created at or after
    include_archived: bool = False


def safe_cell(value: str) -> str:
    """The text, with a leading quote if a spreadsheet would take it for a formula."""
    if value and FORMULA.match(value) and not NUMBER.match(value):
        return "'" + value
    return value


def columns(*, with_insights: bool = False) -> list[str]:
    """The export's columns: the core's, then those of the optional apps installed."""
    names = list(BASE_COLUMNS)
    if apps.is_installed("rapport.consent"):
        names += list(CONSENT_COLUMNS)
    if apps.is_installed("rapport.loyalty"):
        names += LOYALTY_COLUMNS
    if with_insights and apps.is_installed("rapport.insights"):
        names += INSIGHT_COLUMNS
    return names


def customers_to_export(*, tenant: Tenant, filters: ExportFilters) -> QuerySet[Customer]:
    """The live customers the filters keep (merged and erased ones never)."""
    customers = Customer.objects.filter(tenant=tenant, merged_into=None, erased_at=None)
    if not filters.include_archived:
        customers = customers.filter(is_archived=False)
    if filters.tag:
        tag = Tag.objects.filter(tenant=tenant, name__iexact=filters.tag.strip()).first()
        if tag is None:
            raise InvalidInput("Unknown tag", fields={"tag": f"No tag named {filters.tag!r}"})
        customers = customers.filter(customer_tags__tag=tag)
    if filters.since is not None:
        customers = customers.filter(created_at__gte=filters.since)
    return customers


def _iso(moment: dt.datetime | None) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds") if moment else ""


def export_rows(
    *,
    tenant: Tenant,
    filters: ExportFilters,
    customers: QuerySet[Customer] | None = None,
    with_insights: bool = False,
) -> Iterator[list[str]]:
    """The header, then a row per customer by id, a chunk of customers at a time.

    `customers` replaces the filters' selection (a segment's customers, of `tenant`);
    `with_insights` adds each customer's orders, spend, last order, RFM segment and churn risk.
    """
    if customers is None:
        customers = customers_to_export(tenant=tenant, filters=filters)
    customers = customers.filter(tenant=tenant).order_by("pk")
    has_consent = apps.is_installed("rapport.consent")
    has_loyalty = apps.is_installed("rapport.loyalty")
    has_insights = with_insights and apps.is_installed("rapport.insights")
    yield columns(with_insights=with_insights)
    last = 0
    while True:
        chunk = list(customers.filter(pk__gt=last)[:CHUNK])
        if not chunk:
            return
        last = chunk[-1].pk
        pks = [c.pk for c in chunk]
        tags: dict[int, list[str]] = {}
        for pk, name in (
            CustomerTag.objects.filter(customer__in=pks)
            .order_by("tag__name")
            .values_list("customer_id", "tag__name")
        ):
            tags.setdefault(pk, []).append(name)
        consents: dict[tuple[int, str], str] = {}
        if has_consent:
            from rapport.consent.models import CommunicationConsent

            for pk, channel, status in CommunicationConsent.objects.filter(
                customer__in=pks
            ).values_list("customer_id", "channel", "status"):
                consents[(pk, channel)] = status
        accounts: dict[int, tuple[int, str]] = {}
        if has_loyalty:
            from rapport.loyalty.models import LoyaltyAccount

            for pk, balance, tier in LoyaltyAccount.objects.filter(customer__in=pks).values_list(
                "customer_id", "points_balance", "tier"
            ):
                accounts[pk] = (balance, tier)
        insights: dict[int, list[str]] = {}
        if has_insights:
            from rapport.insights.models import CustomerInsight

            for pk, *values in CustomerInsight.objects.filter(customer__in=pks).values_list(
                "customer_id",
                "total_orders",
                "total_spent_q",
                "currency",
                "last_order_at",
                "rfm_segment",
                "churn_risk",
            ):
                orders, spent, currency, last_order_at, rfm_segment, churn_risk = values
                insights[pk] = [
                    str(orders),
                    str(spent),
                    currency,
                    _iso(last_order_at),
                    rfm_segment,
                    "" if churn_risk is None else f"{churn_risk:.4f}",
                ]
        for customer in chunk:
            row = [
                customer.code,
                customer.first_name,
                customer.last_name,
                customer.email,
                customer.phone,
                customer.date_of_birth.isoformat() if customer.date_of_birth else "",
                customer.customer_type,
                customer.source,
                " | ".join(tags.get(customer.pk, [])),
                _iso(customer.created_at),
            ]
            if has_consent:
                row += [
                    CONSENT_CELLS.get(consents.get((customer.pk, channel), ""), "")
                    for channel in CONSENT_COLUMNS.values()
                ]
            if has_loyalty:
                balance, tier = accounts.get(customer.pk, (None, ""))
                row += ["" if balance is None else str(balance), tier]
            if has_insights:
                row += insights.get(customer.pk, ["0", "0", tenant.currency, "", "", ""])
            yield [safe_cell(cell) for cell in row]


class _Line:
    """A file-like object whose write returns what was written: csv.writer into a stream."""

    def write(self, text: str) -> str:
        return text


def export_lines(
    *,
    tenant: Tenant,
    filters: ExportFilters,
    customers: QuerySet[Customer] | None = None,
    with_insights: bool = False,
) -> Iterator[str]:
    """The export as CSV text, a line at a time (UTF-8 with a BOM so spreadsheets read it)."""
    writer = csv.writer(_Line())
    first = True
    rows = export_rows(
        tenant=tenant, filters=filters, customers=customers, with_insights=with_insights
    )
    for row in rows:
        line = writer.writerow(row)
        yield "\ufeff" + line if first else line
        first = False
