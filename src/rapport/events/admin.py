"""Admin for the outbox: events are written by services with the change they report."""

import json

from django.contrib import admin
from django.utils.html import format_html

from rapport.events.models import OutboxEvent
from rapport.tenancy.admin import ReadOnlyAdmin


class DispatchedFilter(admin.SimpleListFilter):
    title = "delivered"
    parameter_name = "dispatched"

    def lookups(self, request, model_admin):
        return (("yes", "Delivered"), ("no", "Waiting"))

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(dispatched_at__isnull=self.value() == "no")
        return queryset


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyAdmin):
    """Outbox events, read-only: editing one would change what subscribers are told."""

    list_display = ("created_at", "type", "subject", "tenant", "dispatched_at", "attempts")
    list_select_related = ("tenant",)
    list_filter = (DispatchedFilter, "type", "tenant")
    search_fields = ("type",)
    show_full_result_count = False
    fields = (
        "uuid",
        "tenant",
        "type",
        "created_at",
        "dispatched_at",
        "attempts",
        "pretty_envelope",
    )
    readonly_fields = fields

    @admin.display(description="customer")
    def subject(self, event: OutboxEvent) -> str:
        return str(event.data.get("code", "")) if isinstance(event.data, dict) else ""

    @admin.display(description="envelope")
    def pretty_envelope(self, event: OutboxEvent) -> str:
        return format_html("<pre>{}</pre>", json.dumps(event.envelope(), indent=2))
