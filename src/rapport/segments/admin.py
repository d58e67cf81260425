"""Admin for segments. Writes go through SegmentService; memberships are read-only.

So a segment saved here has its conditions checked as through the API, and a dynamic one's
members are refreshed (with their `customer.segment_changed` events) when they change.
"""

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from rapport.exceptions import RapportError
from rapport.segments import conditions as language
from rapport.segments.models import Segment, SegmentMembership, SegmentType
from rapport.segments.services import SegmentService
from rapport.tenancy.admin import ReadOnlyAdmin, ServiceFormMixin, admin_actor, adopt
from rapport.tenancy.services import TenantService

EDITABLE = ("name", "key", "description", "conditions", "is_active")


class SegmentForm(forms.ModelForm):
    conditions = forms.JSONField(
        required=False,
        help_text='Dynamic segments: e.g. {"all": [{"field": "total_orders", "operator": "gte", '
        '"value": 3}]}; see docs/segments.md. Leave empty for a manual segment.',
    )
    key = forms.SlugField(
        max_length=60, required=False, help_text="Made from the name when left empty"
    )

    class Meta:
        model = Segment
        fields = ("tenant", "name", "key", "description", "type", "conditions", "is_active")


@admin.register(Segment)
class SegmentAdmin(ServiceFormMixin, admin.ModelAdmin):
    """Segments, created by SegmentService.create_segment and changed by update_segment."""

    form = SegmentForm
    list_display = (
        "name",
        "type",
        "customer_count",
        "counted_at",
        "is_active",
        "is_default",
        "tenant",
    )
    list_select_related = ("tenant",)
    list_filter = ("type", "is_active", "is_default", "tenant")
    search_fields = ("name", "key")
    readonly_fields = (
        "uuid",
        "summary",
        "members",
        "customer_count",
        "counted_at",
        "is_default",
        "created_at",
        "updated_at",
    )
    actions = ("refresh_selected",)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("tenant", "name", "key", "description", "type", "conditions", "is_active")
        return ("tenant", "type", *EDITABLE, *self.readonly_fields)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return ("tenant", "type", *self.readonly_fields)

    def get_changeform_initial_data(self, request):
        return {"tenant": TenantService.get_default().pk, "type": SegmentType.DYNAMIC}

    @admin.display(description="conditions, in words")
    def summary(self, segment: Segment) -> str:
        if segment.type == SegmentType.MANUAL:
            return "chosen by hand"
        return language.describe(segment.conditions)

    @admin.display(description="members")
    def members(self, segment: Segment) -> str:
        url = reverse("admin:rapport_segments_segmentmembership_changelist")
        return format_html(
            '<a href="{}?segment__id__exact={}">{} members</a>',
            url,
            segment.pk,
            segment.customer_count,
        )

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            actor = admin_actor(request, obj.tenant)
            changes = {name: data[name] for name in EDITABLE if name in form.changed_data}
            if "key" in changes and not changes["key"]:
                changes.pop("key")
            current = Segment.objects.select_related("tenant").get(pk=obj.pk)
            adopt(obj, SegmentService.update_segment(actor=actor, segment=current, **changes))
            return
        segment = SegmentService.create_segment(
            actor=admin_actor(request, data["tenant"]),
            name=data["name"],
            type=data["type"],
            conditions=data.get("conditions"),
            description=data.get("description") or "",
            key=data.get("key") or "",
            is_active=data.get("is_active", True),
        )
        adopt(obj, segment)

    def get_deleted_objects(self, objs, request):
        # Memberships are read-only here, yet go with their segment: no permission of their own.
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        perms_needed.discard(SegmentMembership._meta.verbose_name)
        return deleted, counts, perms_needed, protected

    def delete_model(self, request, obj):
        SegmentService.delete_segment(actor=admin_actor(request, obj.tenant), segment=obj)

    def delete_queryset(self, request, queryset):
        for segment in queryset.select_related("tenant"):
            self.delete_model(request, segment)

    @admin.action(description="Refresh the selected segments' members now")
    def refresh_selected(self, request, queryset):
        for segment in queryset.select_related("tenant").order_by("pk"):
            try:
                result = SegmentService.refresh_memberships(
                    actor=admin_actor(request, segment.tenant), segment=segment
                )
            except RapportError as error:
                self.message_user(request, f"{segment.name}: {error.message}", messages.ERROR)
                continue
            self.message_user(
                request,
                f"{segment.name}: {result.customer_count} members "
                f"({result.entered} entered, {result.left} left)",
            )


@admin.register(SegmentMembership)
class SegmentMembershipAdmin(ReadOnlyAdmin):
    """Who is in each segment: a manual one's members, a dynamic one's last snapshot."""

    list_display = ("segment", "customer", "joined_at", "tenant")
    list_select_related = ("segment", "customer", "tenant")
    list_filter = ("segment__type", "tenant")
    search_fields = ("=customer__code", "segment__name")
    search_help_text = "A customer's exact code, or a segment's name"
    raw_id_fields = ("customer",)
