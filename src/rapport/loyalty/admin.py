"""Admin for loyalty. Programs, tiers and rules change through the services; accounts and the
ledger are read-only (a correction is a new entry, made through LoyaltyService)."""

from django import forms
from django.contrib import admin, messages
from django.db.models import Q
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from rapport.loyalty.models import (
    LoyaltyAccount,
    LoyaltyProgram,
    LoyaltyRule,
    LoyaltyTier,
    LoyaltyTransaction,
)
from rapport.loyalty.presets import PRESETS
from rapport.loyalty.services import LoyaltyProgramService, expire_points
from rapport.loyalty.services.programs import PROGRAM_TERMS, RULE_FIELDS
from rapport.tenancy.admin import ReadOnlyAdmin, ServiceFormMixin, admin_actor, adopt
from rapport.tenancy.models import Tenant

LEDGER_SHOWN = 50


def _changed(form, names) -> dict:
    return {name: form.cleaned_data[name] for name in names if name in form.changed_data}


# --- programs and their tiers -------------------------------------------------------------------


class LoyaltyProgramForm(forms.ModelForm):
    preset = forms.ChoiceField(
        choices=[("", "— the default —")] + [(key, key) for key in PRESETS],
        required=False,
        help_text="The ready-made terms and tiers to start from; the fields below go on top",
    )

    class Meta:
        model = LoyaltyProgram
        fields = ("tenant", "preset", *PROGRAM_TERMS)


class LoyaltyTierInline(admin.TabularInline):
    """A program's tiers, replaced as a whole by LoyaltyProgramService.set_tiers."""

    model = LoyaltyTier
    extra = 0
    fields = ("name", "threshold", "multiplier")


@admin.register(LoyaltyProgram)
class LoyaltyProgramAdmin(ServiceFormMixin, admin.ModelAdmin):
    """Each tenant's program, through LoyaltyProgramService.configure_program and set_tiers.

    Changing the tiers or how they are reached moves every account to its new tier. Expiry
    and tier recalculation are actions.
    """

    form = LoyaltyProgramForm
    inlines = (LoyaltyTierInline,)
    list_display = ("name", "tenant", "preset", "mode", "currency", "points_expire_after_days")
    list_select_related = ("tenant",)
    list_filter = ("mode", "preset")
    readonly_fields = ("uuid", "created_at", "updated_at")
    actions = ("expire_due_points", "recalculate_tiers")

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return self.readonly_fields
        return ("tenant", "preset", *self.readonly_fields)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # accounts and their ledgers hang from it

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        tenant = obj.tenant if change else data["tenant"]
        actor = admin_actor(request, tenant)
        if change:
            terms = _changed(form, PROGRAM_TERMS)
            saved = (
                LoyaltyProgramService.configure_program(actor=actor, **terms)
                if terms
                else LoyaltyProgram.objects.get(pk=obj.pk)
            )
        else:
            saved = LoyaltyProgramService.configure_program(
                actor=actor,
                preset=data.get("preset") or None,
                **{name: data[name] for name in PROGRAM_TERMS if name in form.changed_data},
            )
        adopt(obj, saved)

    def save_formset(self, request, form, formset, change):
        if formset.model is not LoyaltyTier:
            return super().save_formset(request, form, formset, change)
        formset.save(commit=False)  # nothing is saved; the admin's change message reads it
        if not formset.has_changed():
            return None
        tiers = [
            {name: tier_form.cleaned_data[name] for name in ("name", "threshold", "multiplier")}
            for tier_form in formset.forms
            if tier_form.cleaned_data and not tier_form.cleaned_data.get("DELETE")
        ]
        tenant = Tenant.objects.get(pk=form.instance.tenant_id)
        LoyaltyProgramService.set_tiers(actor=admin_actor(request, tenant), tiers=tiers)
        return None

    @admin.action(description="Expire the points due now", permissions=["change"])
    def expire_due_points(self, request, queryset):
        for program in queryset.select_related("tenant"):
            run = expire_points(tenant=program.tenant, actor=admin_actor(request, program.tenant))
            self.message_user(
                request,
                f"{program.tenant.slug}: expired {run.points:,} points on {run.accounts:,} "
                "accounts.",
                messages.SUCCESS,
            )

    @admin.action(description="Recalculate every account's tier", permissions=["change"])
    def recalculate_tiers(self, request, queryset):
        for program in queryset.select_related("tenant"):
            actor = admin_actor(request, program.tenant)
            run = LoyaltyProgramService.recalculate_tiers(actor=actor)
            self.message_user(
                request,
                f"{program.tenant.slug}: {run.changed:,} of {run.accounts:,} accounts changed tier.",
                messages.SUCCESS,
            )


# --- rules --------------------------------------------------------------------------------------


class LoyaltyRuleForm(forms.ModelForm):
    class Meta:
        model = LoyaltyRule
        fields = ("tenant", *RULE_FIELDS)


@admin.register(LoyaltyRule)
class LoyaltyRuleAdmin(ServiceFormMixin, admin.ModelAdmin):
    """Rules, through LoyaltyProgramService.create_rule / update_rule / delete_rule."""

    form = LoyaltyRuleForm
    list_display = ("name", "kind", "event", "priority", "is_active", "valid_from", "valid_until")
    list_select_related = ("tenant",)
    list_filter = ("kind", "is_active", "tenant")
    search_fields = ("name",)
    readonly_fields = ("uuid", "created_at", "updated_at")

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return self.readonly_fields
        return ("tenant", *self.readonly_fields)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            actor = admin_actor(request, Tenant.objects.get(pk=obj.tenant_id))
            changes = _changed(form, RULE_FIELDS)
            saved = LoyaltyProgramService.update_rule(actor=actor, rule_id=obj.uuid, **changes)
        else:
            actor = admin_actor(request, data["tenant"])
            values = {name: data[name] for name in RULE_FIELDS}
            values["categories"] = values["categories"] or []
            values["products"] = values["products"] or []
            saved = LoyaltyProgramService.create_rule(actor=actor, **values)
        adopt(obj, saved)

    def delete_model(self, request, obj):
        actor = admin_actor(request, Tenant.objects.get(pk=obj.tenant_id))
        LoyaltyProgramService.delete_rule(actor=actor, rule_id=obj.uuid)

    def delete_queryset(self, request, queryset):
        for rule in queryset:
            self.delete_model(request, rule)


# --- accounts and the ledger --------------------------------------------------------------------


def _ledger_url(account_id: int) -> str:
    changelist = reverse("admin:rapport_loyalty_loyaltytransaction_changelist")
    return f"{changelist}?account__id__exact={account_id}"


@admin.register(LoyaltyAccount)
class LoyaltyAccountAdmin(ReadOnlyAdmin):
    """Members' accounts and their newest ledger entries; balances change only by new entries."""

    list_display = (
        "customer",
        "points_balance",
        "lifetime_points",
        "tier",
        "stamps_current",
        "stamps_completed",
        "enrolled_at",
        "tenant",
    )
    list_select_related = ("customer", "tenant")
    list_filter = ("tier", "tenant")
    search_fields = ("customer__code",)
    search_help_text = "The customer's exact code"
    show_full_result_count = False
    fields = (
        "uuid",
        "tenant",
        "program",
        "customer",
        "points_balance",
        "lifetime_points",
        "stamps_current",
        "stamps_target",
        "stamps_completed",
        "tier",
        "tier_changed_at",
        "enrolled_at",
        "updated_at",
        "ledger",
    )
    readonly_fields = fields

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(customer__code=term), False

    @admin.display(description=f"ledger (newest {LEDGER_SHOWN})")
    def ledger(self, account: LoyaltyAccount) -> str:
        entries = LoyaltyTransaction.objects.filter(account=account).order_by("-created_at", "-id")
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    entry.created_at.isoformat(timespec="seconds"),
                    entry.transaction_type,
                    f"{entry.points:+,}",
                    f"{entry.balance_after:,}",
                    entry.reference,
                    entry.description,
                )
                for entry in entries[:LEDGER_SHOWN]
            ),
        )
        return format_html(
            "<table><tr><th>when</th><th>type</th><th>points</th><th>balance after</th>"
            '<th>reference</th><th>description</th></tr>{}</table><a href="{}">Every entry</a>',
            rows,
            _ledger_url(account.pk),
        )


@admin.register(LoyaltyTransaction)
class LoyaltyTransactionAdmin(ReadOnlyAdmin):
    """The append-only ledger: never added to, changed or deleted here."""

    list_display = (
        "created_at",
        "customer",
        "transaction_type",
        "points",
        "balance_after",
        "reference",
        "actor",
    )
    list_select_related = ("account", "account__customer")
    list_filter = ("transaction_type", "tenant", "created_at")
    search_fields = ("reference", "account__customer__code")
    search_help_text = "A reference, or the customer's exact code"
    show_full_result_count = False
    fields = (
        "uuid",
        "tenant",
        "account",
        "transaction_type",
        "points",
        "balance_after",
        "qualifying_points",
        "stamps",
        "stamps_after",
        "cards_completed",
        "order_amount_q",
        "value_q",
        "currency",
        "tier",
        "description",
        "reference",
        "reverses",
        "detail",
        "actor",
        "occurred_at",
        "created_at",
    )
    readonly_fields = fields

    @admin.display(description="customer", ordering="account__customer__code")
    def customer(self, entry: LoyaltyTransaction) -> str:
        return entry.account.customer.code

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(Q(reference=term) | Q(account__customer__code=term)), False
