"""Admin for preferences. Writes go through PreferenceService.

So a preference saved here is validated exactly as through the API (lower-case slugs, plain
JSON, the confidence rule), and its timeline entry and outbox event are written with it.
"""

from django.contrib import admin

from rapport.preferences.models import CustomerPreference
from rapport.preferences.services import PreferenceService
from rapport.tenancy.admin import ServiceFormMixin, admin_actor, adopt
from rapport.tenancy.models import Tenant


@admin.register(CustomerPreference)
class CustomerPreferenceAdmin(ServiceFormMixin, admin.ModelAdmin):
    """Preferences, set by PreferenceService.set_preference and removed by delete_preference.

    The customer, category and key name a preference, so they are fixed once it is saved.
    """

    list_display = ("customer", "category", "key", "preference_type", "confidence", "source")
    list_select_related = ("customer", "tenant")
    list_filter = ("preference_type", "tenant", "category")
    search_fields = ("category", "key", "customer__code")
    search_help_text = "Category, key or the customer's exact code"
    autocomplete_fields = ("customer",)
    fields = (
        "customer",
        ("category", "key"),
        "value",
        ("preference_type", "confidence"),
        "source",
        ("created_at", "updated_at"),
    )
    readonly_fields = ("created_at", "updated_at")

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return self.readonly_fields
        return ("customer", "category", "key", *self.readonly_fields)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        customer = obj.customer
        saved = PreferenceService.set_preference(
            actor=admin_actor(request, Tenant.objects.get(pk=customer.tenant_id)),
            code=customer.code,
            category=obj.category,
            key=obj.key,
            value=data["value"],
            preference_type=data["preference_type"],
            confidence=data["confidence"],
            source=data.get("source") or "",
        )
        adopt(obj, saved)

    def delete_model(self, request, obj):
        PreferenceService.delete_preference(
            actor=admin_actor(request, Tenant.objects.get(pk=obj.customer.tenant_id)),
            code=obj.customer.code,
            category=obj.category,
            key=obj.key,
        )

    def delete_queryset(self, request, queryset):
        for preference in queryset.select_related("customer"):
            self.delete_model(request, preference)
