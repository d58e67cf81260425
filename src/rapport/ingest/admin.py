"""Admin for the ingest door: what other systems sent in, and CSV import jobs."""

import json

from django.contrib import admin
from django.utils.html import format_html

from rapport.ingest.models import ImportJob, InboundEvent
from rapport.tenancy.admin import ReadOnlyAdmin


@admin.register(InboundEvent)
class InboundEventAdmin(ReadOnlyAdmin):
    """Inbound events, read-only: each records what applying an event did, once."""

    list_display = ("received_at", "type", "event_id", "status", "source", "tenant")
    list_select_related = ("tenant",)
    list_filter = ("status", "type", "source", "tenant")
    search_fields = ("=event_id",)
    show_full_result_count = False
    fields = (
        "uuid",
        "tenant",
        "event_id",
        "type",
        "source",
        "status",
        "received_at",
        "pretty_payload",
        "pretty_result",
    )
    readonly_fields = fields

    @admin.display(description="payload")
    def pretty_payload(self, event: InboundEvent) -> str:
        return format_html("<pre>{}</pre>", json.dumps(event.payload, indent=2))

    @admin.display(description="result")
    def pretty_result(self, event: InboundEvent) -> str:
        return format_html("<pre>{}</pre>", json.dumps(event.result, indent=2))


@admin.register(ImportJob)
class ImportJobAdmin(ReadOnlyAdmin):
    """CSV imports, read-only: started by `rapport import` or `POST /api/v1/imports`."""

    list_display = (
        "created_at",
        "kind",
        "status",
        "dry_run",
        "filename",
        "processed_rows",
        "created_count",
        "updated_count",
        "error_count",
        "tenant",
    )
    list_select_related = ("tenant",)
    list_filter = ("status", "kind", "dry_run", "tenant")
    search_fields = ("filename", "=uuid")
    show_full_result_count = False
    fields = (
        "uuid",
        "tenant",
        "kind",
        "status",
        "dry_run",
        "filename",
        "created_by",
        "created_at",
        "started_at",
        "finished_at",
        "total_rows",
        "processed_rows",
        "created_count",
        "updated_count",
        "unchanged_count",
        "error_count",
        "message",
        "pretty_mapping",
        "pretty_errors",
    )
    readonly_fields = fields

    @admin.display(description="mapping")
    def pretty_mapping(self, job: ImportJob) -> str:
        return format_html("<pre>{}</pre>", json.dumps(job.mapping, indent=2))

    @admin.display(description="errors")
    def pretty_errors(self, job: ImportJob) -> str:
        return format_html("<pre>{}</pre>", json.dumps(job.errors, indent=2))
