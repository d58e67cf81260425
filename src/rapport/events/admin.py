"""Admin for the outbox, webhook endpoints and their deliveries.

Events are written by services with the change they report; endpoints change through the
webhook service; deliveries are written by the dispatcher and only replayed from here.
"""

import json

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html

from rapport.events.models import OutboxEvent, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from rapport.events.webhooks import WebhookService
from rapport.exceptions import RapportError
from rapport.tenancy.admin import ReadOnlyAdmin, ServiceFormMixin, admin_actor, adopt

EDITABLE_FIELDS = ("url", "description", "event_types", "is_active")


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


class WebhookEndpointForm(forms.ModelForm):
    class Meta:
        model = WebhookEndpoint
        fields = ("tenant", "url", "description", "event_types", "is_active")


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ServiceFormMixin, admin.ModelAdmin):
    """Webhook endpoints, changed through the service: URLs are checked, secrets generated."""

    form = WebhookEndpointForm
    list_display = ("url", "tenant", "is_active", "event_types", "disabled_reason", "created_at")
    list_select_related = ("tenant",)
    list_filter = ("is_active", "tenant")
    search_fields = ("url", "description")
    show_full_result_count = False
    actions = ("rotate_secrets",)

    def get_fields(self, request, obj=None):
        editable = [*WebhookEndpointForm.Meta.fields]
        if obj is None:
            return editable
        return ["uuid", *editable, "masked_secret", "disabled_reason", "disabled_at", "created_at"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return ("uuid", "tenant", "masked_secret", "disabled_reason", "disabled_at", "created_at")

    @admin.display(description="secret")
    def masked_secret(self, endpoint: WebhookEndpoint) -> str:
        return endpoint.masked_secret

    def save_model(self, request, obj, form, change):
        actor = admin_actor(request, obj.tenant)
        if change:
            changes = {
                name: form.cleaned_data[name]
                for name in form.changed_data
                if name in EDITABLE_FIELDS
            }
            saved = WebhookService.update_endpoint(actor=actor, webhook_id=obj.uuid, **changes)
        else:
            saved = WebhookService.create_endpoint(
                actor=actor, **{name: form.cleaned_data[name] for name in EDITABLE_FIELDS}
            )
            self.message_user(
                request,
                f"The signing secret, shown this once: {saved.secret}",
                messages.WARNING,
            )
        adopt(obj, saved)

    def delete_model(self, request, obj):
        WebhookService.delete_endpoint(actor=admin_actor(request, obj.tenant), webhook_id=obj.uuid)

    def delete_queryset(self, request, queryset):
        for endpoint in queryset.select_related("tenant"):
            self.delete_model(request, endpoint)

    @admin.action(description="Rotate the signing secret of the selected webhooks")
    def rotate_secrets(self, request, queryset):
        for endpoint in queryset.select_related("tenant"):
            rotated = WebhookService.rotate_secret(
                actor=admin_actor(request, endpoint.tenant), webhook_id=endpoint.uuid
            )
            self.message_user(
                request,
                f"New secret of {rotated.url}, shown this once: {rotated.secret}",
                messages.WARNING,
            )


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = ("number", "at", "status_code", "error", "duration_ms")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    """Deliveries and their attempts, read-only; dead ones can be replayed."""

    list_display = (
        "created_at",
        "event_type",
        "endpoint",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "tenant",
    )
    list_select_related = ("event", "endpoint", "tenant")
    list_filter = ("status", "tenant")
    search_fields = ("endpoint__url", "event__type", "=event__uuid")
    show_full_result_count = False
    inlines = (WebhookAttemptInline,)
    actions = ("replay",)
    fields = (
        "uuid",
        "tenant",
        "endpoint",
        "event",
        "status",
        "attempts",
        "next_attempt_at",
        "locked_until",
        "last_status_code",
        "last_error",
        "last_response",
        "delivered_at",
        "created_at",
    )
    readonly_fields = fields

    @admin.display(description="event", ordering="event__type")
    def event_type(self, delivery: WebhookDelivery) -> str:
        return delivery.event.type

    @admin.action(description="Replay the selected dead or delivered deliveries")
    def replay(self, request, queryset):
        replayed, refused = 0, []
        for delivery in queryset.select_related("tenant"):
            try:
                WebhookService.replay_delivery(
                    actor=admin_actor(request, delivery.tenant), delivery_id=delivery.uuid
                )
            except RapportError as error:
                refused.append(error.message)
                continue
            replayed += 1
        self.message_user(request, f"Replayed {replayed} deliveries.", messages.SUCCESS)
        for message in sorted(set(refused)):
            self.message_user(request, message, messages.WARNING)
