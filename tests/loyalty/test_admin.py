"""The loyalty admin: programs, tiers and rules change through the services; the ledger is
read-only."""

import datetime as dt

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from rapport.events.models import OutboxEvent
from rapport.loyalty.models import (
    LoyaltyAccount,
    LoyaltyProgram,
    LoyaltyRule,
    LoyaltyTier,
    LoyaltyTransaction,
)
from rapport.loyalty.services import LoyaltyProgramService, LoyaltyService
from rapport.timeline.models import TimelineEvent

pytestmark = pytest.mark.django_db

TIERS = "tiers"  # the tier inline's formset prefix


def url(model, view: str, *args) -> str:
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


def program_form(program: LoyaltyProgram, tiers: list[tuple[str, int, str]] | None, **changes):
    """The change form of a program as the admin posts it, with the tier rows given."""
    data = {
        "name": program.name,
        "mode": program.mode,
        "currency": program.currency,
        "points_per_unit": str(program.points_per_unit),
        "min_order_q": program.min_order_q,
        "redeem_points_per_unit": str(program.redeem_points_per_unit),
        "min_redeem_points": program.min_redeem_points,
        "qualification_window": program.qualification_window,
        "qualification_months": program.qualification_months,
        "downgrade_policy": program.downgrade_policy,
        "points_expire_after_days": program.points_expire_after_days or "",
        "stamps_target": program.stamps_target,
        "stamp_reward": program.stamp_reward,
        "stamp_reward_points": program.stamp_reward_points,
        **changes,
    }
    existing = list(LoyaltyTier.objects.filter(program=program).order_by("threshold"))
    rows = tiers if tiers is not None else []
    data.update(
        {
            f"{TIERS}-TOTAL_FORMS": str(
                len(existing) + len(rows) if tiers is not None else len(existing)
            ),
            f"{TIERS}-INITIAL_FORMS": str(len(existing)),
            f"{TIERS}-MIN_NUM_FORMS": "0",
            f"{TIERS}-MAX_NUM_FORMS": "1000",
        }
    )
    for index, tier in enumerate(existing):
        data.update(
            {
                f"{TIERS}-{index}-id": str(tier.pk),
                f"{TIERS}-{index}-program": str(program.pk),
                f"{TIERS}-{index}-name": tier.name,
                f"{TIERS}-{index}-threshold": str(tier.threshold),
                f"{TIERS}-{index}-multiplier": str(tier.multiplier),
            }
        )
        if tiers is not None:
            data[f"{TIERS}-{index}-DELETE"] = "on"
    for offset, (name, threshold, multiplier) in enumerate(rows):
        index = len(existing) + offset
        data.update(
            {
                f"{TIERS}-{index}-program": str(program.pk),
                f"{TIERS}-{index}-name": name,
                f"{TIERS}-{index}-threshold": str(threshold),
                f"{TIERS}-{index}-multiplier": multiplier,
            }
        )
    return data


@pytest.fixture
def program(configure):
    return configure(preset="nigerian_retail", currency="NGN")


@pytest.fixture
def ledger(program, actor, ada):
    """Ada with an earn and a redeem."""
    LoyaltyService.earn_points(actor=actor, code=ada.code, reference="order-1", points=1200)
    LoyaltyService.redeem_points(actor=actor, code=ada.code, reference="redeem-1", points=200)
    return LoyaltyAccount.objects.get(customer=ada)


def test_every_loyalty_model_is_registered():
    assert set(admin.site._registry) >= {
        LoyaltyProgram,
        LoyaltyRule,
        LoyaltyAccount,
        LoyaltyTransaction,
    }


@pytest.mark.parametrize(
    "model", [LoyaltyProgram, LoyaltyRule, LoyaltyAccount, LoyaltyTransaction], ids=str
)
def test_changelist_and_change_pages_answer(admin_client, ledger, actor, model):
    rule = LoyaltyProgramService.create_rule(actor=actor, name="Coffee", kind="multiplier",
                                             multiplier=2, categories=["coffee"])  # fmt: skip
    obj = {
        LoyaltyProgram: LoyaltyProgram.objects.get(),
        LoyaltyRule: rule,
        LoyaltyAccount: ledger,
        LoyaltyTransaction: LoyaltyTransaction.objects.first(),
    }[model]

    assert admin_client.get(url(model, "changelist")).status_code == 200
    assert admin_client.get(url(model, "changelist"), {"q": "ADA-1"}).status_code == 200
    assert admin_client.get(url(model, "change", obj.pk)).status_code == 200


def test_an_account_shows_its_ledger(admin_client, ledger):
    response = admin_client.get(url(LoyaltyAccount, "change", ledger.pk))

    page = response.content.decode()
    assert "redeem-1" in page
    assert "order-1" in page
    assert f"account__id__exact={ledger.pk}" in page


def test_the_ledger_and_accounts_cannot_be_added_changed_or_deleted(admin_client, ledger):
    entry = LoyaltyTransaction.objects.first()
    before = list(LoyaltyTransaction.objects.values())

    assert admin_client.get(url(LoyaltyTransaction, "add")).status_code == 403
    assert (
        admin_client.post(url(LoyaltyTransaction, "change", entry.pk), {"points": 5}).status_code
        == 403
    )
    assert (
        admin_client.post(url(LoyaltyTransaction, "delete", entry.pk), {"post": "yes"}).status_code
        == 403
    )
    assert (
        admin_client.post(
            url(LoyaltyAccount, "change", ledger.pk), {"points_balance": 9}
        ).status_code
        == 403
    )
    assert (
        admin_client.post(url(LoyaltyAccount, "delete", ledger.pk), {"post": "yes"}).status_code
        == 403
    )
    assert list(LoyaltyTransaction.objects.values()) == before
    ledger.refresh_from_db()
    assert ledger.points_balance == 1000


def test_changing_terms_goes_through_the_service(admin_client, program, admin_user):
    data = program_form(program, None, name="Lekki Rewards", points_expire_after_days="365")

    response = admin_client.post(url(LoyaltyProgram, "change", program.pk), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    program.refresh_from_db()
    assert (program.name, program.points_expire_after_days) == ("Lekki Rewards", 365)
    assert LoyaltyTier.objects.filter(program=program).count() == 4


def test_editing_tiers_moves_accounts_through_the_service(
    admin_client, program, ledger, admin_user
):
    data = program_form(
        program, [("Member", 0, "1"), ("Insider", 1000, "1.5")], downgrade_policy="immediate"
    )

    response = admin_client.post(url(LoyaltyProgram, "change", program.pk), data)

    assert response.status_code == 302, response.content
    assert list(LoyaltyTier.objects.filter(program=program).values_list("name", "threshold")) == [
        ("Member", 0),
        ("Insider", 1000),
    ]
    ledger.refresh_from_db()
    assert ledger.tier == "Insider"
    change = OutboxEvent.objects.filter(type="customer.tier_changed").latest("id")
    assert (change.data["old_tier"], change.data["new_tier"]) == ("Silver", "Insider")
    assert TimelineEvent.objects.filter(actor=f"user:{admin_user.username}").exists()


def test_bad_tiers_are_a_form_error_and_write_nothing(admin_client, program, ledger):
    tiers_before = list(LoyaltyTier.objects.values_list("name", "threshold"))
    data = program_form(program, [("Only", 100, "1")], name="Changed too")

    response = admin_client.post(url(LoyaltyProgram, "change", program.pk), data)

    assert response.status_code == 200
    errors = " ".join(response.context["adminform"].form.non_field_errors())
    assert "threshold must be 0" in errors
    assert list(LoyaltyTier.objects.values_list("name", "threshold")) == tiers_before
    program.refresh_from_db()
    assert program.name != "Changed too"


def test_adding_a_program_starts_from_its_preset(admin_client, other_tenant):
    page = admin_client.get(url(LoyaltyProgram, "add"))
    assert page.status_code == 200
    data = {
        "tenant": str(other_tenant.pk),
        "preset": "crm_service",
        "name": "Clube",
        "mode": "points",
        "currency": "BRL",
        "points_per_unit": "1",
        "min_order_q": "0",
        "redeem_points_per_unit": "100",
        "min_redeem_points": "0",
        "qualification_window": "lifetime",
        "qualification_months": "12",
        "downgrade_policy": "never",
        "stamps_target": "10",
        "stamp_reward_points": "0",
        f"{TIERS}-TOTAL_FORMS": "0",
        f"{TIERS}-INITIAL_FORMS": "0",
        f"{TIERS}-MIN_NUM_FORMS": "0",
        f"{TIERS}-MAX_NUM_FORMS": "1000",
    }

    response = admin_client.post(url(LoyaltyProgram, "add"), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    created = LoyaltyProgram.objects.get(tenant=other_tenant)
    assert (created.name, created.preset, created.currency) == ("Clube", "crm_service", "BRL")
    assert LoyaltyTier.objects.filter(program=created).count() == 5


def test_rules_are_added_changed_and_deleted_through_the_service(admin_client, program, tenant):
    data = {"tenant": str(tenant.pk), "name": "Double coffee", "kind": "multiplier",
            "event": "", "multiplier": "2", "min_order_q": "0", "min_points": "0",
            "categories": '["coffee"]', "products": "[]", "priority": "0", "is_active": "on"}  # fmt: skip

    added = admin_client.post(url(LoyaltyRule, "add"), data)
    rule = LoyaltyRule.objects.get()
    changed = admin_client.post(url(LoyaltyRule, "change", rule.pk), {**data, "multiplier": "3"})
    deleted = admin_client.post(url(LoyaltyRule, "delete", rule.pk), {"post": "yes"})

    assert added.status_code == changed.status_code == deleted.status_code == 302
    assert rule.program == program
    assert rule.categories == ["coffee"]
    assert not LoyaltyRule.objects.exists()


def test_a_rule_missing_what_its_kind_needs_is_a_form_error(admin_client, program, tenant):
    data = {"tenant": str(tenant.pk), "name": "Bonus", "kind": "bonus", "event": "",
            "min_order_q": "0", "min_points": "0", "categories": "[]", "products": "[]",
            "priority": "0", "is_active": "on"}  # fmt: skip

    response = admin_client.post(url(LoyaltyRule, "add"), data)

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert set(form.errors) >= {"event", "points"}
    assert not LoyaltyRule.objects.exists()


def test_the_expiry_action_writes_off_what_is_due(admin_client, configure, actor, ada):
    program = configure(preset="nigerian_retail", points_expire_after_days=30)
    LoyaltyService.earn_points(
        actor=actor, code=ada.code, reference="old", points=70,
        occurred_at=timezone.now() - dt.timedelta(days=29),
    )  # fmt: skip
    LoyaltyProgramService.configure_program(actor=actor, points_expire_after_days=1)

    response = admin_client.post(
        url(LoyaltyProgram, "changelist"),
        {"action": "expire_due_points", "_selected_action": [program.pk]},
    )

    assert response.status_code == 302
    account = LoyaltyAccount.objects.get(customer=ada)
    assert account.points_balance == 0
    expired = LoyaltyTransaction.objects.get(transaction_type="expire")
    assert (expired.points, expired.actor) == (-70, "user:admin")


def test_programs_cannot_be_deleted(admin_client, program):
    response = admin_client.post(url(LoyaltyProgram, "delete", program.pk), {"post": "yes"})

    assert response.status_code == 403
    assert LoyaltyProgram.objects.filter(pk=program.pk).exists()
