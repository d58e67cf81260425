"""Admin for pets. Writes go through PetService; the customer page lists each customer's pets.

So a pet saved here is validated as through the API (species, microchip, dates) and its owners'
timelines and the outbox hear of it.
"""

from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from rapport.customers.admin import CustomerAdmin
from rapport.customers.models import Customer
from rapport.exceptions import InvalidInput
from rapport.pets import conf
from rapport.pets.models import Pet, PetOwner
from rapport.pets.services import PET_FIELDS, PetService
from rapport.tenancy.admin import ServiceFormMixin, admin_actor, adopt
from rapport.tenancy.models import Tenant
from rapport.tenancy.services import TenantService


class PetForm(forms.ModelForm):
    species = forms.ChoiceField(choices=[(name, name) for name in conf.SPECIES])
    owner = forms.CharField(
        max_length=40, required=False, help_text="The first owner's customer code"
    )

    class Meta:
        model = Pet
        fields = ("tenant", *PET_FIELDS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields.pop("owner")
        else:
            self.fields["owner"].required = True


class PetOwnerForm(forms.ModelForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and "customer" in self.fields:
            self.fields["customer"].disabled = True


class PetOwnerInline(admin.TabularInline):
    """A pet's owners: added through PetService.add_owner, removed through remove_owner."""

    model = PetOwner
    form = PetOwnerForm
    extra = 0
    fields = ("customer", "is_primary", "since")
    readonly_fields = ("is_primary", "since")
    autocomplete_fields = ("customer",)
    verbose_name = "owner"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("customer")


@admin.register(Pet)
class PetAdmin(ServiceFormMixin, admin.ModelAdmin):
    """Pets, added by PetService.add_pet with a first owner and changed by update_pet.

    Pets are not deleted here: a pet that died gets its date of death, so its history stays.
    """

    form = PetForm
    list_display = ("name", "species", "breed", "sex", "date_of_birth", "deceased_on", "tenant")
    list_select_related = ("tenant",)
    list_filter = ("species", "sex", "neutered", "tenant")
    search_fields = ("name", "microchip", "=ownerships__customer__code")
    search_help_text = "Name, microchip, or an owner's exact code"
    inlines = (PetOwnerInline,)
    readonly_fields = ("created_at", "updated_at")

    def get_fields(self, request, obj=None):
        fields = ["tenant", *PET_FIELDS, "created_at", "updated_at"]
        return fields if obj is not None else ["tenant", "owner", *PET_FIELDS]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return ("tenant", *self.readonly_fields)

    def get_inline_instances(self, request, obj=None):
        # A new pet gets its first owner from the form; more are added once it exists.
        return super().get_inline_instances(request, obj) if obj is not None else []

    def get_changeform_initial_data(self, request):
        return {"tenant": TenantService.get_default().pk, "species": "dog"}

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            actor = admin_actor(request, Tenant.objects.get(pk=obj.tenant_id))
            changes = {name: data[name] for name in PET_FIELDS if name in form.changed_data}
            current = Pet.objects.get(pk=obj.pk)
            adopt(obj, PetService.update_pet(actor=actor, pet=current, **changes))
            return
        tenant = data["tenant"]
        owner = Customer.objects.filter(tenant=tenant, code=data["owner"].strip()).first()
        if owner is None:
            raise InvalidInput(
                "Unknown owner", fields={"owner": "No customer of this tenant has that code"}
            )
        fields = {name: data[name] for name in PET_FIELDS if name not in ("name", "species")}
        for name in ("breed", "colour", "microchip", "notes"):
            fields[name] = fields.get(name) or ""
        pet = PetService.add_pet(
            actor=admin_actor(request, tenant),
            owner=owner,
            name=data["name"],
            species=data["species"],
            **fields,
        )
        adopt(obj, pet)

    def save_formset(self, request, form, formset, change):
        pet = form.instance
        actor = admin_actor(request, Tenant.objects.get(pk=pet.tenant_id))
        formset.save(commit=False)
        for link in formset.new_objects:
            customer = link.customer
            if customer.tenant_id != pet.tenant_id:
                raise InvalidInput(
                    "The owner belongs to another tenant",
                    fields={"customer": "Choose a customer of the pet's tenant"},
                )
            PetService.add_owner(actor=actor, pet=pet, customer=customer)
        for link in formset.deleted_objects:
            PetService.remove_owner(actor=actor, pet=pet, customer=link.customer)


class CustomerPetInline(admin.TabularInline):
    """The customer's pets on their page; pets are added and changed on their own pages."""

    model = PetOwner
    extra = 0
    fields = ("pet_link", "species", "is_primary", "since")
    readonly_fields = fields
    verbose_name = "pet"
    verbose_name_plural = "pets"
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("pet")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="pet")
    def pet_link(self, link: PetOwner) -> str:
        url = reverse("admin:rapport_pets_pet_change", args=[link.pet_id])
        return format_html('<a href="{}">{}</a>', url, link.pet.name)

    @admin.display(description="species")
    def species(self, link: PetOwner) -> str:
        return link.pet.species


# The customer page is the core's; installing pets adds the pets to it.
if CustomerPetInline not in CustomerAdmin.inlines:
    CustomerAdmin.inlines = (*CustomerAdmin.inlines, CustomerPetInline)
