"""Admin for the customer core. Writes go through the customer services.

So a customer saved here is validated and normalized (E.164 phones, lower-case emails) exactly
as through the API, and the timeline entry and outbox event are written with it.
"""

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import Count, Model

from rapport.customers.models import (
    ContactPoint,
    Customer,
    CustomerAddress,
    CustomerTag,
    ExternalIdentity,
    Note,
    Tag,
)
from rapport.customers.normalization import normalize_phone
from rapport.customers.services import (
    ADDRESS_FIELDS,
    PROFILE_FIELDS,
    AddressService,
    ContactPointService,
    CustomerService,
    ExternalIdentityService,
    NoteService,
    TagService,
    visible_notes_filter,
)
from rapport.exceptions import InvalidInput
from rapport.tenancy.actors import Actor
from rapport.tenancy.admin import ServiceFormMixin, admin_actor, adopt
from rapport.tenancy.models import Tenant
from rapport.tenancy.services import TenantService


def _changed(form: forms.BaseForm, names) -> dict:
    return {name: form.cleaned_data[name] for name in names if name in form.changed_data}


def _actor_for(request, customer: Customer) -> Actor:
    return admin_actor(request, Tenant.objects.get(pk=customer.tenant_id))


def _visible_notes(request):
    # Whether a private note shows depends on the person, not on the tenant.
    return visible_notes_filter(Actor(tenant=None, user=request.user))


# --- writers: one per child model, shared by the inlines and the models' own pages ---------


class AddressWriter:
    """Addresses through AddressService, which keeps exactly one default per customer."""

    @staticmethod
    def add(actor: Actor, address: CustomerAddress, form: forms.BaseForm) -> None:
        fields = {name: form.cleaned_data[name] for name in ADDRESS_FIELDS}
        adopt(
            address,
            AddressService.add_address(actor=actor, code=address.customer.code, **fields),
        )

    @staticmethod
    def change(actor: Actor, address: CustomerAddress, form: forms.BaseForm) -> None:
        saved = AddressService.update_address(
            actor=actor,
            code=address.customer.code,
            address_id=address.uuid,
            **_changed(form, ADDRESS_FIELDS),
        )
        adopt(address, saved)

    @staticmethod
    def delete(actor: Actor, address: CustomerAddress) -> None:
        AddressService.delete_address(
            actor=actor, code=address.customer.code, address_id=address.uuid
        )


class CustomerTagWriter:
    """Tagging through TagService, so `customer.tagged` / `untagged` reach timeline and outbox."""

    @staticmethod
    def add(actor: Actor, link: CustomerTag, form: forms.BaseForm) -> None:
        tag = form.cleaned_data["tag"]
        if tag.tenant_id != link.customer.tenant_id:
            raise InvalidInput(
                "The tag belongs to another tenant",
                fields={"tag": "Choose a tag of the customer's tenant"},
            )
        TagService.add_tags(actor=actor, code=link.customer.code, names=[tag.name])
        adopt(link, CustomerTag.objects.get(customer=link.customer, tag=tag))

    @staticmethod
    def change(actor: Actor, link: CustomerTag, form: forms.BaseForm) -> None:
        """A link has nothing to change: the tag field is fixed once it is saved."""

    @staticmethod
    def delete(actor: Actor, link: CustomerTag) -> None:
        TagService.remove_tag(actor=actor, code=link.customer.code, tag_name=link.tag.name)


class NoteWriter:
    """Notes through NoteService; once written a note can be pinned, unpinned or deleted."""

    @staticmethod
    def add(actor: Actor, note: Note, form: forms.BaseForm) -> None:
        saved = NoteService.add_note(
            actor=actor,
            code=note.customer.code,
            content=form.cleaned_data["content"],
            is_pinned=form.cleaned_data.get("is_pinned", False),
            is_private=form.cleaned_data.get("is_private", False),
        )
        adopt(note, saved)

    @staticmethod
    def change(actor: Actor, note: Note, form: forms.BaseForm) -> None:
        if "is_pinned" in form.changed_data:
            NoteService.pin_note(
                actor=actor,
                code=note.customer.code,
                note_id=note.uuid,
                is_pinned=form.cleaned_data["is_pinned"],
            )

    @staticmethod
    def delete(actor: Actor, note: Note) -> None:
        NoteService.delete_note(actor=actor, code=note.customer.code, note_id=note.uuid)


class ContactPointWriter:
    """Contact points through ContactPointService: normalized values, one primary per type."""

    @staticmethod
    def add(actor: Actor, contact_point: ContactPoint, form: forms.BaseForm) -> None:
        saved = ContactPointService.add_contact_point(
            actor=actor,
            code=contact_point.customer.code,
            type=form.cleaned_data["type"],
            value=form.cleaned_data["value"],
            is_primary=form.cleaned_data.get("is_primary", False),
            is_verified=form.cleaned_data.get("is_verified", False),
        )
        adopt(contact_point, saved)

    @staticmethod
    def change(actor: Actor, contact_point: ContactPoint, form: forms.BaseForm) -> None:
        fields = _changed(form, ("is_primary", "is_verified"))
        if fields:
            saved = ContactPointService.update_contact_point(
                actor=actor,
                code=contact_point.customer.code,
                contact_point_id=contact_point.uuid,
                **fields,
            )
            adopt(contact_point, saved)

    @staticmethod
    def delete(actor: Actor, contact_point: ContactPoint) -> None:
        ContactPointService.remove_contact_point(
            actor=actor, code=contact_point.customer.code, contact_point_id=contact_point.uuid
        )


class ExternalIdentityWriter:
    """Identities through ExternalIdentityService; to change one, unlink it and link another."""

    @staticmethod
    def add(actor: Actor, identity: ExternalIdentity, form: forms.BaseForm) -> None:
        saved = ExternalIdentityService.link(
            actor=actor,
            code=identity.customer.code,
            provider=form.cleaned_data["provider"],
            external_id=form.cleaned_data["external_id"],
            metadata=form.cleaned_data.get("metadata"),
        )
        adopt(identity, saved)

    @staticmethod
    def change(actor: Actor, identity: ExternalIdentity, form: forms.BaseForm) -> None:
        """An identity has nothing to change: its fields are fixed once it is saved."""

    @staticmethod
    def delete(actor: Actor, identity: ExternalIdentity) -> None:
        ExternalIdentityService.unlink(
            actor=actor, code=identity.customer.code, identity_id=identity.uuid
        )


WRITERS = {
    CustomerAddress: AddressWriter,
    CustomerTag: CustomerTagWriter,
    Note: NoteWriter,
    ContactPoint: ContactPointWriter,
    ExternalIdentity: ExternalIdentityWriter,
}


class CustomerChildAdmin(ServiceFormMixin, admin.ModelAdmin):
    """The own pages of a customer's addresses, tags, notes, contact points and identities."""

    autocomplete_fields = ("customer",)
    list_select_related = ("customer", "tenant")
    list_filter = ("tenant",)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return self.readonly_fields
        return ("customer", *self.readonly_fields)

    def save_model(self, request, obj, form, change):
        writer = WRITERS[self.model]
        actor = _actor_for(request, obj.customer)
        (writer.change if change else writer.add)(actor, obj, form)

    def delete_model(self, request, obj):
        WRITERS[self.model].delete(_actor_for(request, obj.customer), obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


# --- inlines on the customer page ----------------------------------------------------------


class CustomerTagForm(forms.ModelForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and "tag" in self.fields:
            self.fields["tag"].disabled = True


class NoteForm(forms.ModelForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            for name in ("content", "is_private"):
                if name in self.fields:
                    self.fields[name].disabled = True


class ContactPointForm(forms.ModelForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            for name in ("type", "value"):
                if name in self.fields:
                    self.fields[name].disabled = True


class ExternalIdentityForm(forms.ModelForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            for name in ("provider", "external_id", "metadata"):
                if name in self.fields:
                    self.fields[name].disabled = True


class AddressInline(admin.StackedInline):
    model = CustomerAddress
    extra = 0
    fields = (
        ("label", "is_default"),
        ("line1", "line2"),
        ("neighborhood", "city"),
        ("state", "postal_code", "country"),
        "delivery_instructions",
    )


class ContactPointInline(admin.TabularInline):
    model = ContactPoint
    form = ContactPointForm
    extra = 0
    fields = ("type", "value", "is_primary", "is_verified")


class ExternalIdentityInline(admin.TabularInline):
    model = ExternalIdentity
    form = ExternalIdentityForm
    extra = 0
    fields = ("provider", "external_id", "metadata")


class CustomerTagInline(admin.TabularInline):
    model = CustomerTag
    form = CustomerTagForm
    extra = 0
    fields = ("tag", "added_by", "added_at")
    readonly_fields = ("added_by", "added_at")
    autocomplete_fields = ("tag",)
    verbose_name = "tag"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("tag")


class NoteInline(admin.StackedInline):
    model = Note
    form = NoteForm
    extra = 0
    fields = ("content", ("is_pinned", "is_private"), ("author", "created_at"))
    readonly_fields = ("author", "created_at")

    def get_queryset(self, request):
        return super().get_queryset(request).filter(_visible_notes(request))


# --- customers -----------------------------------------------------------------------------


@admin.register(Customer)
class CustomerAdmin(ServiceFormMixin, admin.ModelAdmin):
    """Customers, created and changed by CustomerService.create_customer / update_customer.

    Archive and restore are actions; deleting goes through CustomerService.delete_customer so
    the `customer.deleted` event is written.
    """

    list_display = (
        "code",
        "name",
        "phone",
        "email",
        "customer_type",
        "source",
        "referred_by",
        "is_archived",
        "created_at",
        "tenant",
    )
    list_select_related = ("tenant", "referred_by")
    ordering = ("-created_at", "-id")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_filter = (
        "is_archived",
        "tenant",
        "customer_type",
        "source",
        "gender",
        "preferred_contact_method",
        "created_at",
        "tags",
    )
    search_fields = ("code", "first_name", "last_name", "email", "phone")
    search_help_text = "Code, names, email or phone (any format)"
    autocomplete_fields = ("referred_by",)
    actions = ("archive_customers", "restore_customers")
    inlines = (
        CustomerTagInline,
        NoteInline,
        AddressInline,
        ContactPointInline,
        ExternalIdentityInline,
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "tenant",
                    "code",
                    ("first_name", "last_name"),
                    ("phone", "phone_secondary"),
                    "email",
                )
            },
        ),
        (
            "Profile",
            {
                "fields": (
                    "date_of_birth",
                    "gender",
                    "preferred_language",
                    "preferred_contact_method",
                    "customer_type",
                    "source",
                )
            },
        ),
        (
            "Acquisition and referral",
            {"fields": ("acquisition_source", "referred_by", "referral_source")},
        ),
        ("Social", {"fields": ("instagram_handle", "facebook_url")}),
        ("Other", {"fields": ("metadata",), "classes": ("collapse",)}),
        ("Status", {"fields": ("is_archived", "archived_at", "created_at", "updated_at")}),
    )
    readonly_fields = ("is_archived", "archived_at", "created_at", "updated_at")

    @admin.display(description="name", ordering="last_name")
    def name(self, customer: Customer) -> str:
        return customer.full_name

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return self.readonly_fields
        return ("tenant", "code", *self.readonly_fields)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        if obj is None and "code" in form_class.base_fields:
            form_class.base_fields["code"].required = False
            form_class.base_fields["code"].help_text = "Leave empty to have one generated"
        if "phone" in form_class.base_fields:
            form_class.base_fields[
                "phone"
            ].help_text = "Any common format; stored in E.164 using the tenant's phone region"
        return form_class

    def get_changeform_initial_data(self, request):
        return {
            "tenant": TenantService.get_default().pk,
            **super().get_changeform_initial_data(request),
        }

    def get_search_results(self, request, queryset, search_term):
        """Also find a phone typed the local way (0803 123 4567) by its E.164 form."""
        filtered, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        phones = set()
        if search_term.strip():
            for region in Tenant.objects.values_list("default_phone_region", flat=True).distinct():
                try:
                    phones.add(normalize_phone(search_term, region))
                except ValueError:
                    continue
        if phones:
            filtered = filtered | queryset.filter(phone__in=phones)
        return filtered, may_have_duplicates

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        actor = admin_actor(request, obj.tenant)
        if change:
            fields = _changed(form, PROFILE_FIELDS)
            if "referred_by" in form.changed_data:
                fields["referred_by"] = data["referred_by"].code if data["referred_by"] else None
            saved = CustomerService.update_customer(actor=actor, code=obj.code, **fields)
        else:
            referrer = data.get("referred_by")
            saved = CustomerService.create_customer(
                actor=actor,
                code=data.get("code") or None,
                referred_by=referrer.code if referrer else None,
                **{name: data[name] for name in PROFILE_FIELDS if name in data},
            )
        adopt(obj, saved)

    def save_formset(self, request, form, formset, change):
        writer = WRITERS.get(formset.model)
        if writer is None:
            return super().save_formset(request, form, formset, change)
        actor = admin_actor(request, form.instance.tenant)
        formset.save(commit=False)
        for obj in formset.deleted_objects:
            writer.delete(actor, obj)
        for obj, _ in formset.changed_objects:
            writer.change(actor, obj, _form_of(formset, obj))
        for obj in formset.new_objects:
            writer.add(actor, obj, _form_of(formset, obj))
        return None

    def get_deleted_objects(self, objs, request):
        """Deleting a customer takes everything attached, ledgers included, as the service says.

        The permission that matters is the one to delete customers, so the read-only timeline
        does not block it.
        """
        deleted, model_count, _, protected = super().get_deleted_objects(objs, request)
        return deleted, model_count, set(), protected

    def delete_model(self, request, obj):
        CustomerService.delete_customer(actor=_actor_for(request, obj), code=obj.code)

    def delete_queryset(self, request, queryset):
        for customer in queryset:
            self.delete_model(request, customer)

    @admin.action(description="Archive the selected customers", permissions=["change"])
    def archive_customers(self, request, queryset):
        for customer in queryset:
            CustomerService.archive_customer(
                actor=_actor_for(request, customer), code=customer.code
            )
        self.message_user(request, "Archived the selected customers.", messages.SUCCESS)

    @admin.action(description="Restore the selected customers", permissions=["change"])
    def restore_customers(self, request, queryset):
        for customer in queryset:
            CustomerService.archive_customer(
                actor=_actor_for(request, customer), code=customer.code, is_archived=False
            )
        self.message_user(request, "Restored the selected customers.", messages.SUCCESS)


def _form_of(formset, obj: Model) -> forms.BaseForm:
    return next(form for form in formset.forms if form.instance is obj)


# --- tags ----------------------------------------------------------------------------------


class TagForm(forms.ModelForm):
    class Meta:
        model = Tag
        fields = ("tenant", "name", "color", "description", "is_active")

    def _get_validation_exclusions(self):
        # TagService checks the name (unique per tenant, whatever the case) and says why.
        return {*super()._get_validation_exclusions(), "name"}


@admin.register(Tag)
class TagAdmin(ServiceFormMixin, admin.ModelAdmin):
    """Tags, through TagService: names unique per tenant whatever their case, hex colours."""

    form = TagForm
    list_display = ("name", "tenant", "color", "is_active", "customer_count", "created_at")
    list_select_related = ("tenant",)
    list_filter = ("is_active", "tenant")
    search_fields = ("name",)
    readonly_fields = ("created_at", "updated_at")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(customer_count=Count("customer_tags"))

    @admin.display(description="customers", ordering="customer_count")
    def customer_count(self, tag: Tag) -> int:
        return tag.customer_count

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return self.readonly_fields
        return ("tenant", *self.readonly_fields)

    def get_changeform_initial_data(self, request):
        return {
            "tenant": TenantService.get_default().pk,
            **super().get_changeform_initial_data(request),
        }

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            saved = TagService.update_tag(
                actor=admin_actor(request, obj.tenant),
                tag_id=obj.uuid,
                **_changed(form, ("name", "color", "description", "is_active")),
            )
        else:
            saved = TagService.create_tag(
                actor=admin_actor(request, data["tenant"]),
                name=data["name"],
                color=data["color"],
                description=data.get("description", ""),
                is_active=data.get("is_active", True),
            )
        adopt(obj, saved)

    def delete_model(self, request, obj):
        TagService.delete_tag(actor=admin_actor(request, obj.tenant), tag_id=obj.uuid)

    def delete_queryset(self, request, queryset):
        for tag in queryset.select_related("tenant"):
            self.delete_model(request, tag)


@admin.register(CustomerTag)
class CustomerTagAdmin(CustomerChildAdmin):
    """A tag on a customer. Nothing about it changes: take it off and put another on."""

    form = CustomerTagForm
    list_display = ("customer", "tag", "tenant", "added_by", "added_at")
    list_select_related = ("customer", "tag", "tenant")
    list_filter = ("tenant", "tag")
    search_fields = ("customer__code", "tag__name")
    autocomplete_fields = ("customer", "tag")
    fields = ("customer", "tag", "added_by", "added_at")
    readonly_fields = ("added_by", "added_at")

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return self.readonly_fields
        return ("customer", "tag", *self.readonly_fields)


@admin.register(Note)
class NoteAdmin(CustomerChildAdmin):
    """Staff notes. Private ones show only to their author and to superusers."""

    form = NoteForm
    list_display = ("short_content", "customer", "author", "is_pinned", "is_private", "created_at")
    list_filter = ("is_pinned", "is_private", "tenant")
    search_fields = ("content", "customer__code")
    fields = ("customer", "content", "is_pinned", "is_private", "author", "created_at")
    readonly_fields = ("author", "created_at")
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).filter(_visible_notes(request))

    @admin.display(description="note")
    def short_content(self, note: Note) -> str:
        return note.content[:80] + ("…" if len(note.content) > 80 else "")


@admin.register(CustomerAddress)
class CustomerAddressAdmin(CustomerChildAdmin):
    list_display = ("__str__", "customer", "label", "is_default", "city", "country", "tenant")
    list_filter = ("label", "is_default", "country", "tenant")
    search_fields = ("line1", "city", "postal_code", "customer__code")
    fields = ("customer", *ADDRESS_FIELDS)


@admin.register(ContactPoint)
class ContactPointAdmin(CustomerChildAdmin):
    """Contact points: the type and value are fixed once saved; primary and verified change."""

    form = ContactPointForm
    list_display = ("value", "type", "customer", "is_primary", "is_verified", "tenant")
    list_filter = ("type", "is_primary", "is_verified", "tenant")
    search_fields = ("value", "customer__code")
    fields = ("customer", "type", "value", "is_primary", "is_verified", "verified_at")
    readonly_fields = ("verified_at",)


@admin.register(ExternalIdentity)
class ExternalIdentityAdmin(CustomerChildAdmin):
    """A customer's id in another system. Nothing about it changes: unlink it and link another."""

    form = ExternalIdentityForm
    list_display = ("provider", "external_id", "customer", "tenant", "created_at")
    list_filter = ("provider", "tenant")
    search_fields = ("external_id", "customer__code")
    fields = ("customer", "provider", "external_id", "metadata")
