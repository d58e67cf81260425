"""Admin for the privacy log. Requests change through their service; erasure is an action.

Erasure records are proof and only show. An erasure request is answered by the
"Erase the customers" action, which asks for confirmation and calls
PrivacyService.erase_customer through DataSubjectRequestService.complete_erasure.
"""

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse

from rapport.exceptions import RapportError
from rapport.privacy.models import DataSubjectRequest, ErasureRecord
from rapport.privacy.services import DataSubjectRequestService
from rapport.tenancy.admin import ReadOnlyAdmin, ServiceFormMixin, admin_actor, adopt
from rapport.tenancy.services import TenantService


class DataSubjectRequestForm(forms.ModelForm):
    class Meta:
        model = DataSubjectRequest
        fields = ("tenant", "kind", "customer_code", "channel", "received_at", "status", "notes")


@admin.register(DataSubjectRequest)
class DataSubjectRequestAdmin(ServiceFormMixin, admin.ModelAdmin):
    """People's requests about their data, opened and moved on by DataSubjectRequestService."""

    form = DataSubjectRequestForm
    list_display = (
        "received_at",
        "kind",
        "status",
        "customer_code",
        "due_at",
        "completed_at",
        "handled_by",
        "tenant",
    )
    list_select_related = ("tenant",)
    list_filter = ("status", "kind", "tenant", "due_at")
    search_fields = ("customer_code",)
    search_help_text = "The customer's exact code"
    ordering = ("-received_at", "-id")
    actions = ("erase_customers",)
    readonly_fields = ("due_at", "completed_at", "handled_by", "created_at", "updated_at")

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return self.readonly_fields
        return ("tenant", "kind", "customer_code", "channel", "received_at", *self.readonly_fields)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        if "received_at" in form_class.base_fields:
            form_class.base_fields["received_at"].required = False
            form_class.base_fields["received_at"].help_text = "Leave empty for now"
        return form_class

    def get_changeform_initial_data(self, request):
        return {
            "tenant": TenantService.get_default().pk,
            **super().get_changeform_initial_data(request),
        }

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the log is the business's proof that it answered

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            changes = {
                name: data[name] for name in ("status", "notes") if name in form.changed_data
            }
            saved = DataSubjectRequestService.update_request(
                actor=admin_actor(request, obj.tenant), request_id=obj.uuid, **changes
            )
        else:
            saved = DataSubjectRequestService.open_request(
                actor=admin_actor(request, data["tenant"]),
                kind=data["kind"],
                customer_code=data.get("customer_code") or "",
                channel=data.get("channel") or "",
                received_at=data.get("received_at"),
                notes=data.get("notes") or "",
            )
            if data.get("status") and data["status"] != saved.status:
                saved = DataSubjectRequestService.update_request(
                    actor=admin_actor(request, data["tenant"]),
                    request_id=saved.uuid,
                    status=data["status"],
                )
        adopt(obj, saved)

    @admin.action(
        description="Erase the customers of the selected erasure requests", permissions=["change"]
    )
    def erase_customers(self, request, queryset):
        """Ask first; once confirmed, erase each request's customer through the service."""
        requests = list(queryset.filter(kind=DataSubjectRequest.Kind.ERASURE).order_by("pk"))
        if not requests:
            self.message_user(request, "Select erasure requests.", messages.WARNING)
            return None
        if request.POST.get("confirmed") != "yes":
            return TemplateResponse(
                request,
                "admin/rapport_privacy/erase_confirmation.html",
                {**self.admin_site.each_context(request), "requests": requests},
            )
        erased = 0
        for data_request in requests:
            try:
                DataSubjectRequestService.complete_erasure(
                    actor=admin_actor(request, data_request.tenant), request_id=data_request.uuid
                )
            except RapportError as error:
                self.message_user(
                    request, f"{data_request.customer_code}: {error.message}", messages.ERROR
                )
            else:
                erased += 1
        if erased:
            self.message_user(request, f"Erased {erased} customer(s).", messages.SUCCESS)
        return None


@admin.register(ErasureRecord)
class ErasureRecordAdmin(ReadOnlyAdmin):
    """Who erased whom, when, for which request: proof that holds no personal data."""

    list_display = ("erased_at", "customer_code", "erased_by", "request", "tenant")
    list_select_related = ("tenant", "request")
    list_filter = ("tenant", "erased_at")
    search_fields = ("customer_code",)
    fields = ("uuid", "tenant", "customer_code", "request", "erased_by", "counts", "erased_at")
    readonly_fields = fields
