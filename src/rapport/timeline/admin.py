"""Admin for the timeline: an append-only ledger, so its pages only show; and interactions,
written through InteractionService."""

from django import forms
from django.contrib import admin, messages

from rapport.tenancy.admin import ReadOnlyAdmin, ServiceFormMixin, admin_actor, adopt
from rapport.tenancy.models import Tenant
from rapport.timeline.interactions import EDITABLE_FIELDS, InteractionService
from rapport.timeline.models import Interaction, TimelineEvent


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


class InteractionForm(forms.ModelForm):
    staff = forms.CharField(
        label="Handled by",
        max_length=150,
        required=False,
        help_text="A staff user's username, or any name; left empty on a new one: you",
    )

    class Meta:
        model = Interaction
        fields = (
            "customer",
            "interaction_type",
            "channel",
            "direction",
            "subject",
            "notes",
            "duration_minutes",
            "outcome",
            "follow_up_required",
            "follow_up_date",
            "occurred_at",
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["staff"].initial = self.instance.staff


class FollowUpFilter(admin.SimpleListFilter):
    title = "follow-up"
    parameter_name = "follow_up"

    def lookups(self, request, model_admin):
        return (("open", "Open"), ("done", "Done"), ("none", "None needed"))

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(follow_up_required=True, follow_up_done_at__isnull=True)
        if self.value() == "done":
            return queryset.filter(follow_up_required=True, follow_up_done_at__isnull=False)
        if self.value() == "none":
            return queryset.filter(follow_up_required=False)
        return queryset


@admin.register(Interaction)
class InteractionAdmin(ServiceFormMixin, admin.ModelAdmin):
    """Interactions, logged and corrected by InteractionService, so each gets its timeline entry
    and outbox event. They are records of work done: corrected, never deleted here."""

    form = InteractionForm
    list_display = (
        "occurred_at",
        "customer",
        "interaction_type",
        "channel",
        "direction",
        "subject",
        "staff",
        "follow_up_date",
        "follow_up_done_at",
        "tenant",
    )
    list_select_related = ("customer", "tenant", "handled_by")
    list_filter = (
        "channel",
        "interaction_type",
        "direction",
        FollowUpFilter,
        "follow_up_date",
        "tenant",
        "occurred_at",
    )
    search_fields = ("subject", "outcome", "handled_by_name", "customer__code")
    search_help_text = "Subject, outcome, staff name or the customer's exact code"
    autocomplete_fields = ("customer",)
    show_full_result_count = False
    actions = ("complete_follow_ups",)
    readonly_fields = ("follow_up_done_at", "timeline_event", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("customer", ("interaction_type", "channel", "direction"))}),
        ("What happened", {"fields": ("subject", "notes", "outcome", "occurred_at")}),
        ("Who and how long", {"fields": ("staff", "duration_minutes")}),
        (
            "Follow-up",
            {"fields": ("follow_up_required", "follow_up_date", "follow_up_done_at")},
        ),
        ("Record", {"fields": ("timeline_event", "created_at", "updated_at")}),
    )

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return self.readonly_fields
        return ("customer", *self.readonly_fields)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        actor = admin_actor(request, Tenant.objects.get(pk=obj.customer.tenant_id))
        if change:
            names = [name for name in EDITABLE_FIELDS if name in form.changed_data]
            changes = {name: data[name] for name in names}
            if "staff" in form.changed_data:
                changes["handled_by"] = data["staff"]
            for name in ("subject", "notes", "outcome"):
                if name in changes and changes[name] is None:
                    changes[name] = ""
            saved = InteractionService.update_interaction(actor=actor, interaction=obj, **changes)
        else:
            saved = InteractionService.log_interaction(
                actor=actor,
                customer=obj.customer,
                interaction_type=data["interaction_type"],
                channel=data["channel"],
                direction=data["direction"],
                subject=data.get("subject") or "",
                notes=data.get("notes") or "",
                handled_by=data.get("staff") or None,
                duration_minutes=data.get("duration_minutes"),
                outcome=data.get("outcome") or "",
                follow_up_required=data.get("follow_up_required") or False,
                follow_up_date=data.get("follow_up_date"),
                occurred_at=data.get("occurred_at"),
            )
        adopt(obj, saved)

    @admin.action(description="Mark the selected follow-ups done", permissions=["change"])
    def complete_follow_ups(self, request, queryset):
        done = 0
        for interaction in queryset.filter(
            follow_up_required=True, follow_up_done_at__isnull=True
        ).select_related("customer"):
            actor = admin_actor(request, Tenant.objects.get(pk=interaction.tenant_id))
            InteractionService.complete_follow_up(actor=actor, interaction=interaction)
            done += 1
        self.message_user(request, f"Marked {done} follow-up(s) done.", messages.SUCCESS)
