"""Admin for commerce: orders (with lines and refunds) and visits, to read.

Orders and visits come from the systems that send them, through rapport.ingest and the
services; staff look them up here by external id or customer code, and never edit them.
"""

from django.contrib import admin
from django.db.models import Q

from rapport.commerce.models import Order, OrderLine, OrderRefund, Visit
from rapport.tenancy.admin import ReadOnlyAdmin


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = ("position", "sku", "name", "category", "quantity", "unit_price_q", "total_q")
    readonly_fields = fields


class OrderRefundInline(ReadOnlyInline):
    model = OrderRefund
    fields = ("created_at", "amount_q", "reason", "reference", "actor", "uuid")
    readonly_fields = fields


def _search(queryset, search_term: str):
    """An exact external id or customer code: both are indexed, a LIKE scan is not."""
    term = search_term.strip()
    if not term:
        return queryset, False
    return queryset.filter(Q(external_id=term) | Q(customer__code=term)), False


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    """Orders as their sources reported them, with lines and refunds."""

    list_display = (
        "external_id",
        "source",
        "customer",
        "channel",
        "status",
        "total_q",
        "refunded_q",
        "currency",
        "placed_at",
        "tenant",
    )
    list_select_related = ("customer", "tenant")
    list_filter = ("status", "channel", "source", "tenant", "placed_at")
    search_fields = ("external_id", "customer__code")
    search_help_text = "An exact external id, or the customer's exact code"
    show_full_result_count = False
    inlines = (OrderLineInline, OrderRefundInline)
    fields = (
        "uuid",
        "tenant",
        "customer",
        "source",
        "external_id",
        "channel",
        "status",
        "placed_at",
        "completed_at",
        "cancelled_at",
        "total_q",
        "refunded_q",
        "currency",
        "metadata",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields

    def get_search_results(self, request, queryset, search_term):
        return _search(queryset, search_term)


@admin.register(Visit)
class VisitAdmin(ReadOnlyAdmin):
    """Visits and appointments as booking tools and tills reported them."""

    list_display = (
        "occurred_at",
        "service",
        "customer",
        "status",
        "pet_name",
        "staff",
        "source",
        "external_id",
        "tenant",
    )
    list_select_related = ("customer", "tenant")
    list_filter = ("status", "source", "tenant", "occurred_at")
    search_fields = ("external_id", "customer__code")
    search_help_text = "An exact external id, or the customer's exact code"
    show_full_result_count = False
    fields = (
        "uuid",
        "tenant",
        "customer",
        "source",
        "external_id",
        "service",
        "status",
        "scheduled_at",
        "completed_at",
        "cancelled_at",
        "occurred_at",
        "staff",
        "pet_uuid",
        "pet_name",
        "price_q",
        "currency",
        "notes",
        "metadata",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields

    def get_search_results(self, request, queryset, search_term):
        return _search(queryset, search_term)
