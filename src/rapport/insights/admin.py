"""Admin for insights: customers' insights and the recalculation runs with their model cards.

Both are written only by recalculation (InsightService), so both are read-only here; the one
action on runs starts a new background recalculation of the selected runs' tenants.
"""

from django.contrib import admin, messages

from rapport.insights.models import CustomerInsight, InsightRun
from rapport.insights.services import InsightService
from rapport.tenancy.admin import ReadOnlyAdmin, admin_actor
from rapport.tenancy.models import Tenant


@admin.register(CustomerInsight)
class CustomerInsightAdmin(ReadOnlyAdmin):
    """One per customer: what the last recalculation worked out."""

    list_display = (
        "customer",
        "rfm_segment",
        "rfm_code",
        "churn_risk",
        "predicted_ltv_q",
        "total_spent_q",
        "currency",
        "customer_score",
        "as_of",
        "tenant",
    )
    list_select_related = ("customer", "tenant")
    list_filter = ("rfm_segment", "rfm_group", "method", "tenant")
    search_fields = ("customer__code",)
    search_help_text = "The customer's exact code"
    show_full_result_count = False
    ordering = ("-id",)
    readonly_fields = [
        field.name for field in CustomerInsight._meta.concrete_fields if field.name != "id"
    ]
    fields = readonly_fields

    def get_search_results(self, request, queryset, search_term):
        # An exact code is indexed; a LIKE over a million customers is not.
        term = search_term.strip()
        return (queryset.filter(customer__code=term) if term else queryset), False


@admin.register(InsightRun)
class InsightRunAdmin(ReadOnlyAdmin):
    """Recalculations: their progress and the model card of the fit each used."""

    list_display = (
        "uuid",
        "status",
        "progress",
        "as_of",
        "started_at",
        "finished_at",
        "method",
        "customers_fitted",
        "tenant",
    )
    list_select_related = ("tenant",)
    list_filter = ("status", "method", "tenant")
    actions = ("recalculate_tenants",)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "uuid",
                    "tenant",
                    "status",
                    "as_of",
                    "started_at",
                    "finished_at",
                    "customers_done",
                    "customers_total",
                    "chunks_done",
                    "chunks_total",
                    "error",
                )
            },
        ),
        (
            "Model card",
            {
                "fields": (
                    "method",
                    "method_reason",
                    "time_unit",
                    "horizon",
                    "parameters",
                    "log_likelihood",
                    "customers_fitted",
                    "fitted_at",
                    "monetary_edges",
                )
            },
        ),
    )
    readonly_fields = [name for _, options in fieldsets for name in options["fields"]]

    @admin.display(description="progress")
    def progress(self, run: InsightRun) -> str:
        return f"{run.customers_done:,} of {run.customers_total:,}"

    @admin.action(description="Recalculate the selected runs' tenants (in the background)")
    def recalculate_tenants(self, request, queryset) -> None:
        tenants = Tenant.objects.filter(pk__in=queryset.values("tenant_id")).order_by("pk")
        for tenant in tenants:
            run = InsightService.recalculate_all(
                actor=admin_actor(request, tenant), background=True
            )
            self.message_user(
                request, f"Recalculating {tenant.name}: run {run.uuid}", messages.SUCCESS
            )
