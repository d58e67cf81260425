"""Admin for consent. Consent changes only through ConsentService; the history is read-only."""

from django.contrib import admin, messages

from rapport.consent.models import CommunicationConsent, ConsentChange, Status
from rapport.consent.services import ConsentService
from rapport.exceptions import RapportError
from rapport.tenancy.admin import ReadOnlyAdmin, admin_actor

PROOF = ("legal_basis", "source", "ip_address", "user_agent", "notice_version")


@admin.register(CommunicationConsent)
class CommunicationConsentAdmin(ReadOnlyAdmin):
    """Each customer's consent per channel. A recorded opt-out is one action away."""

    list_display = ("customer", "channel", "status", "legal_basis", "source", "updated_at")
    list_select_related = ("customer",)
    list_filter = ("channel", "status", "legal_basis", "tenant")
    search_fields = ("customer__code",)
    search_help_text = "The customer's exact code"
    show_full_result_count = False
    fields = (
        "uuid",
        "tenant",
        "customer",
        "channel",
        "status",
        *PROOF,
        "consented_at",
        "revoked_at",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields
    actions = ["record_opt_out"]

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(customer__code=term), False

    @admin.action(description="Record an opt-out (the customer asked to stop)")
    def record_opt_out(self, request, queryset):
        changed = 0
        for consent in queryset.select_related("customer", "tenant"):
            if consent.status == Status.OPTED_OUT:
                continue
            try:
                ConsentService.revoke_consent(
                    actor=admin_actor(request, consent.tenant),
                    code=consent.customer.code,
                    channel=consent.channel,
                    source="admin",
                )
            except RapportError as error:
                self.message_user(request, error.message, messages.ERROR)
                continue
            changed += 1
        self.message_user(request, f"Recorded {changed} opt-out(s).", messages.SUCCESS)


@admin.register(ConsentChange)
class ConsentChangeAdmin(ReadOnlyAdmin):
    """The consent history: the proof of what was agreed, when and how. Never edited here."""

    list_display = ("created_at", "customer", "channel", "previous_status", "new_status", "actor")
    list_select_related = ("customer",)
    list_filter = ("channel", "new_status", "tenant", "created_at")
    search_fields = ("customer__code",)
    search_help_text = "The customer's exact code"
    show_full_result_count = False
    fields = (
        "uuid",
        "tenant",
        "customer",
        "channel",
        "previous_status",
        "new_status",
        *PROOF,
        "actor",
        "created_at",
    )
    readonly_fields = fields

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(customer__code=term), False
