"""Admin for the timeline: an append-only ledger, so its pages only show."""

from django.contrib import admin

from rapport.tenancy.admin import ReadOnlyAdmin
from rapport.timeline.models import TimelineEvent


@admin.register(TimelineEvent)
class TimelineEventAdmin(ReadOnlyAdmin):
    """Timeline events. No one adds, changes or deletes them here: a correction is a new event."""

    list_display = ("created_at", "customer", "event_type", "title", "actor", "tenant")
    list_select_related = ("customer", "tenant")
    list_filter = ("event_type", "tenant", "created_at")
    search_fields = ("title", "reference", "customer__code")
    search_help_text = "Title, reference or the customer's exact code"
    show_full_result_count = False
    fields = (
        "uuid",
        "tenant",
        "customer",
        "event_type",
        "title",
        "description",
        "channel",
        "reference",
        "metadata",
        "actor",
        "created_at",
    )
    readonly_fields = fields
