"""Admin for the schedule's runs, read-only: workers write them as they enqueue.

The task results themselves are in the database backend's own admin (Task results).
"""

from django.contrib import admin
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from rapport.jobs.models import ScheduledRun
from rapport.tenancy.admin import ReadOnlyAdmin


@admin.register(ScheduledRun)
class ScheduledRunAdmin(ReadOnlyAdmin):
    list_display = ("name", "due_at", "enqueued_at", "task_result", "worker_id")
    list_filter = ("name",)
    search_fields = ("name", "task_result_id")
    date_hierarchy = "due_at"
    show_full_result_count = False
    fields = ("name", "task_path", "due_at", "enqueued_at", "task_result", "worker_id")
    readonly_fields = fields

    @admin.display(description="task result")
    def task_result(self, run: ScheduledRun) -> str:
        if not run.task_result_id:
            return "-"
        try:
            url = reverse(
                "admin:django_tasks_database_dbtaskresult_change", args=[run.task_result_id]
            )
        except NoReverseMatch:
            return run.task_result_id
        return format_html('<a href="{}">{}</a>', url, run.task_result_id)
