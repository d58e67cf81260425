"""Admin for identity. Writes go through the identity services."""

from django.contrib import admin, messages

from rapport.exceptions import RapportError
from rapport.identity.models import CustomerIdentifier, CustomerMerge, IdentifierType
from rapport.identity.services import IdentifierService, IdentifierTypeService, MergeService
from rapport.tenancy.admin import ReadOnlyAdmin, ServiceFormMixin, admin_actor, adopt
from rapport.tenancy.models import Tenant


@admin.register(CustomerMerge)
class CustomerMergeAdmin(ReadOnlyAdmin):
    """Merges are records: shown, never edited. Undo is an action through MergeService.undo."""

    list_display = (
        "merged_at",
        "duplicate",
        "survivor",
        "score",
        "merged_by",
        "undone_at",
        "tenant",
    )
    list_select_related = ("duplicate", "survivor", "tenant")
    list_filter = ("tenant", "merged_at", ("undone_at", admin.EmptyFieldListFilter))
    search_fields = ("survivor__code", "duplicate__code", "merged_by")
    search_help_text = "The exact code of either customer, or who merged"
    show_full_result_count = False
    fields = (
        "uuid",
        "tenant",
        "survivor",
        "duplicate",
        "score",
        "reasons",
        "override_reason",
        "plan",
        "journal",
        "merged_by",
        "merged_at",
        "undone_by",
        "undone_at",
    )
    readonly_fields = fields
    actions = ("undo_merges",)

    def has_undo_permission(self, request) -> bool:
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")

    @admin.action(description="Undo the selected merges", permissions=["undo"])
    def undo_merges(self, request, queryset):
        # Newest first: an older merge of the same customers can be undone after a newer one.
        for merge in queryset.select_related("tenant").order_by("-pk"):
            try:
                MergeService.undo(actor=admin_actor(request, merge.tenant), merge_id=merge.uuid)
            except RapportError as error:
                self.message_user(request, f"{merge}: {error.message}", messages.ERROR)
            else:
                self.message_user(request, f"{merge}: undone.", messages.SUCCESS)


@admin.register(IdentifierType)
class IdentifierTypeAdmin(ServiceFormMixin, admin.ModelAdmin):
    """A tenant's own identifier types: added and deleted through IdentifierTypeService."""

    list_display = ("name", "label", "normalization", "tenant", "created_at")
    list_filter = ("normalization", "tenant")
    search_fields = ("name", "label")
    fields = ("tenant", "name", "label", "normalization")

    def get_readonly_fields(self, request, obj=None):
        # Identifiers are stored in the type's normal form, so a saved type stays as it is.
        return self.fields if obj is not None else ()

    def save_model(self, request, obj, form, change):
        if change:
            return
        data = form.cleaned_data
        saved = IdentifierTypeService.create_type(
            actor=admin_actor(request, data["tenant"]),
            name=data["name"],
            label=data["label"],
            normalization=data["normalization"],
        )
        adopt(obj, saved)

    def delete_model(self, request, obj):
        tenant = Tenant.objects.get(pk=obj.tenant_id)
        IdentifierTypeService.delete_type(actor=admin_actor(request, tenant), type_id=obj.uuid)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(CustomerIdentifier)
class CustomerIdentifierAdmin(ServiceFormMixin, admin.ModelAdmin):
    """Identifiers: added, made primary and removed through IdentifierService."""

    autocomplete_fields = ("customer",)
    list_display = ("value", "type", "customer", "is_primary", "source", "tenant", "created_at")
    list_select_related = ("customer", "tenant")
    list_filter = ("type", "is_primary", "tenant")
    search_fields = ("value", "customer__code")
    show_full_result_count = False
    fields = ("customer", "type", "value", "is_primary", "source")

    def get_readonly_fields(self, request, obj=None):
        # The value is what finds the customer: to change it, remove it and add another.
        return ("customer", "type", "value", "source") if obj is not None else ()

    def _actor(self, request, obj):
        return admin_actor(request, Tenant.objects.get(pk=obj.customer.tenant_id))

    def save_model(self, request, obj, form, change):
        actor = self._actor(request, obj)
        if change:
            if "is_primary" in form.changed_data:
                adopt(
                    obj,
                    IdentifierService.update_identifier(
                        actor=actor,
                        code=obj.customer.code,
                        identifier_id=obj.uuid,
                        is_primary=form.cleaned_data["is_primary"],
                    ),
                )
            return
        data = form.cleaned_data
        saved = IdentifierService.add_identifier(
            actor=actor,
            code=data["customer"].code,
            type=data["type"],
            value=data["value"],
            is_primary=data["is_primary"],
            source=data["source"],
        )
        adopt(obj, saved)

    def delete_model(self, request, obj):
        IdentifierService.remove_identifier(
            actor=self._actor(request, obj), code=obj.customer.code, identifier_id=obj.uuid
        )

    def delete_queryset(self, request, queryset):
        for obj in queryset.select_related("customer"):
            self.delete_model(request, obj)
