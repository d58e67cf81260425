"""Admin for tenants, API keys and idempotency records, and the helpers every rapport admin uses.

Admin writes go through the services, as every other door's do. A service refuses bad input
with a RapportError; `ServiceFormMixin` turns that into errors on the form, with nothing
written.
"""

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Model
from django.http import HttpRequest
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html

from rapport.exceptions import RapportError
from rapport.tenancy.actors import Actor
from rapport.tenancy.models import ApiKey, IdempotencyRecord, Scope, Tenant
from rapport.tenancy.services import (
    ApiKeyService,
    TenantService,
    validate_tenant_settings,
)

SERVICE_ERROR = "_rapport_service_error"


def admin_actor(request: HttpRequest, tenant: Tenant) -> Actor:
    """The actor behind a change made in the admin: the logged-in staff user, in one tenant."""
    return Actor(tenant=tenant, user=request.user)


def adopt(target: Model, saved: Model) -> None:
    """Make the admin's unsaved instance the row a service saved, so the admin links to it."""
    target.__dict__.update(
        {name: value for name, value in saved.__dict__.items() if name != "_state"}
    )
    target._state.adding = False
    target._state.db = saved._state.db


def add_service_error(form: forms.BaseForm, error: RapportError) -> None:
    """Show a service's error on a form: each named field under its input, the rest on top."""
    form.add_error(None, error.message)
    for name, message in error.fields.items():
        if name in form.fields and not form.fields[name].disabled:
            form.add_error(name, message)
        else:
            form.add_error(None, f"{name.replace('_', ' ').capitalize()}: {message}")


class ServiceFormMixin:
    """For ModelAdmins whose save_model / save_formset call services.

    Django's admin validates the form before it saves, so a service's own validation can only
    fail later, inside save_model. The admin runs the change view in a transaction: the
    RapportError rolls back whatever was written, and the view runs once more on the same
    POST with the error attached to the form, which makes the form invalid and shows why.
    """

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except RapportError as error:
            if getattr(request, SERVICE_ERROR, None) is not None:
                raise
            setattr(request, SERVICE_ERROR, error)
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        error = getattr(request, SERVICE_ERROR, None)
        if error is None:
            return form_class

        class ServiceErrorForm(form_class):
            def clean(self):
                cleaned_data = super().clean()
                add_service_error(self, error)
                return cleaned_data

        ServiceErrorForm.__name__ = form_class.__name__
        return ServiceErrorForm

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except RapportError as error:
            self.message_user(request, error.message, messages.ERROR)
            opts = self.model._meta
            return redirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))

    def changelist_view(self, request, extra_context=None):
        # Actions on selected rows (delete, archive, …) change all of them or, when a service
        # refuses one, none: the refusal is shown above the list.
        try:
            with transaction.atomic():
                return super().changelist_view(request, extra_context)
        except RapportError as error:
            self.message_user(request, error.message, messages.ERROR)
            return redirect(request.get_full_path())


class ReadOnlyAdmin(admin.ModelAdmin):
    """For records only services write (ledgers, outbox, replay records): view, never edit."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class TenantForm(forms.ModelForm):
    class Meta:
        model = Tenant
        fields = (
            "name",
            "slug",
            "country",
            "currency",
            "timezone",
            "default_language",
            "default_phone_region",
        )

    def clean(self):
        cleaned_data = super().clean()
        locale = {
            "country": cleaned_data.get("country") or "",
            "currency": cleaned_data.get("currency") or "",
            "timezone_name": cleaned_data.get("timezone") or "",
            "default_phone_region": cleaned_data.get("default_phone_region")
            or cleaned_data.get("country")
            or "",
        }
        for name, message in validate_tenant_settings(**locale).items():
            if name in self.fields and name in cleaned_data:
                self.add_error(name, message)
        return cleaned_data


@admin.register(Tenant)
class TenantAdmin(ServiceFormMixin, admin.ModelAdmin):
    """Tenants. New ones go through TenantService.create_tenant.

    Changes go through TenantService.update_tenant. The slug is fixed once created
    (event envelopes carry it), and a tenant cannot be deleted here: that would erase every
    customer it holds.
    """

    form = TenantForm
    list_display = (
        "name",
        "slug",
        "country",
        "currency",
        "timezone",
        "default_phone_region",
        "created_at",
    )
    search_fields = ("name", "slug")
    list_filter = ("country", "currency")
    readonly_fields = ("created_at", "updated_at")
    fields = (
        "name",
        "slug",
        "country",
        "currency",
        "timezone",
        "default_language",
        "default_phone_region",
        "created_at",
        "updated_at",
    )

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return self.readonly_fields
        return ("slug", *self.readonly_fields)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        if obj is None:
            form_class.base_fields["slug"].required = False
            form_class.base_fields["slug"].help_text = "Leave empty to make one from the name"
            form_class.base_fields["default_phone_region"].required = False
            form_class.base_fields["default_phone_region"].help_text = (
                "Region used to read phone numbers written without +country; "
                "leave empty to use the country"
            )
        return form_class

    def save_model(self, request, obj, form, change):
        if change:
            settings = {name: form.cleaned_data[name] for name in form.changed_data}
            adopt(obj, TenantService.update_tenant(tenant=obj, **settings))
            return
        data = form.cleaned_data
        tenant = TenantService.create_tenant(
            name=data["name"],
            slug=data.get("slug") or "",
            country=data["country"],
            currency=data["currency"],
            timezone_name=data["timezone"],
            default_language=data["default_language"],
            default_phone_region=data.get("default_phone_region") or "",
        )
        adopt(obj, tenant)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ApiKeyCreationForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="write includes read; admin includes both",
    )

    class Meta:
        model = ApiKey
        fields = ("tenant", "name", "scopes", "user")


class RevokedFilter(admin.SimpleListFilter):
    title = "revoked"
    parameter_name = "revoked"

    def lookups(self, request, model_admin):
        return (("yes", "Revoked"), ("no", "Live"))

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(revoked_at__isnull=self.value() == "no")
        return queryset


@admin.register(ApiKey)
class ApiKeyAdmin(ServiceFormMixin, admin.ModelAdmin):
    """API keys. Created by ApiKeyService.create_key, which shows the secret once, in a message.

    Only the hash is stored, and it is never shown. A key is not edited afterwards: revoke it
    (the "revoke" action) and issue another. Keys are not deleted, so notes and logs that name
    one keep making sense.
    """

    form = ApiKeyCreationForm
    list_display = (
        "name",
        "tenant",
        "prefix",
        "scope_list",
        "last_used_at",
        "is_revoked",
        "created_at",
    )
    list_select_related = ("tenant",)
    list_filter = (RevokedFilter, "tenant")
    search_fields = ("name", "prefix")
    autocomplete_fields = ("user",)
    actions = ("revoke_keys",)
    readonly_fields = (
        "uuid",
        "tenant",
        "name",
        "prefix",
        "scope_list",
        "user",
        "created_at",
        "last_used_at",
        "revoked_at",
    )

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("tenant", "name", "scopes", "user")
        return self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def get_changeform_initial_data(self, request):
        return {"tenant": TenantService.get_default().pk, "scopes": [Scope.READ, Scope.WRITE]}

    @admin.display(description="scopes")
    def scope_list(self, api_key: ApiKey) -> str:
        return ", ".join(api_key.scopes)

    @admin.display(description="revoked", boolean=True, ordering="revoked_at")
    def is_revoked(self, api_key: ApiKey) -> bool:
        return api_key.is_revoked

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_revoke_permission(self, request) -> bool:
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        api_key, secret = ApiKeyService.create_key(
            tenant=data["tenant"], name=data["name"], scopes=data["scopes"], user=data.get("user")
        )
        adopt(obj, api_key)
        self.message_user(
            request,
            format_html(
                "The secret of API key “{}” is <code>{}</code>. Copy it now: it is not stored "
                "and cannot be shown again.",
                api_key.name,
                secret,
            ),
            messages.WARNING,
        )

    @admin.action(description="Revoke the selected API keys", permissions=["revoke"])
    def revoke_keys(self, request, queryset):
        revoked = 0
        for api_key in queryset.filter(revoked_at__isnull=True):
            ApiKeyService.revoke_key(tenant=api_key.tenant, key_uuid=api_key.uuid)
            revoked += 1
        self.message_user(request, f"Revoked {revoked} API key(s).", messages.SUCCESS)


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdmin):
    """The stored first responses to POSTs sent with an Idempotency-Key (kept 24 hours)."""

    list_display = ("key", "tenant", "method", "path", "status", "response_status", "created_at")
    list_select_related = ("tenant",)
    list_filter = ("status", "method", "tenant")
    search_fields = ("key", "path")
    show_full_result_count = False
    fields = (
        "tenant",
        "key",
        "method",
        "path",
        "fingerprint",
        "status",
        "response_status",
        "response_content_type",
        "response_preview",
        "created_at",
        "completed_at",
    )
    readonly_fields = fields

    @admin.display(description="response body")
    def response_preview(self, record: IdempotencyRecord) -> str:
        body = bytes(record.response_body or b"")
        text = body[:4000].decode("utf-8", errors="replace")
        return text + ("…" if len(body) > 4000 else "")
