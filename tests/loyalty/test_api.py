"""The loyalty REST API, through the real URLs and API keys."""

import datetime as dt

import pytest
from django.utils import timezone

from rapport.events.models import OutboxEvent
from rapport.loyalty.models import LoyaltyAccount, LoyaltyProgram, LoyaltyRule, LoyaltyTransaction
from rapport.loyalty.services import LoyaltyProgramService, LoyaltyService
from tests.loyalty.helpers import assert_ledger_adds_up

pytestmark = pytest.mark.django_db


def written() -> tuple[int, int, int]:
    """Rows a loyalty write leaves: ledger entries, accounts, outbox events."""
    return (
        LoyaltyTransaction.objects.count(),
        LoyaltyAccount.objects.count(),
        OutboxEvent.objects.filter(type__startswith="loyalty.").count(),
    )


@pytest.fixture
def retail(configure):
    """The seed 004 program: 1 point per NGN unit, tiers multiplying 1x to 2x."""
    return configure(preset="nigerian_retail", currency="NGN", redeem_points_per_unit=10)


# --- the program ----------------------------------------------------------------------------


def test_the_program_is_read_with_its_tiers(read_api, retail):
    response = read_api.get("/loyalty/program")

    assert response.status_code == 200
    body = response.json()
    assert (body["preset"], body["mode"], body["currency"]) == ("nigerian_retail", "points", "NGN")
    assert [(t["name"], t["threshold"], t["multiplier"]) for t in body["tiers"]] == [
        ("Bronze", 0, "1.000"),
        ("Silver", 1000, "1.250"),
        ("Gold", 5000, "1.500"),
        ("Platinum", 10000, "2.000"),
    ]


def test_presets_are_listed_as_data(read_api):
    response = read_api.get("/loyalty/presets")

    assert response.status_code == 200
    presets = {preset["key"]: preset for preset in response.json()}
    assert set(presets) == {"guestman", "nigerian_retail", "crm_service"}
    assert [t["threshold"] for t in presets["guestman"]["tiers"]] == [0, 500, 2000, 5000]
    assert presets["nigerian_retail"]["terms"]["mode"] == "points"


def test_initialize_from_a_preset_with_settings_on_top(admin_api, tenant):
    response = admin_api.post(
        "/loyalty/program/initialize",
        {"preset": "crm_service", "name": "Club", "points_expire_after_days": 365},
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["preset"], body["name"], body["points_expire_after_days"]) == (
        "crm_service",
        "Club",
        365,
    )
    assert [t["name"] for t in body["tiers"]][-1] == "Diamond"
    assert LoyaltyProgram.objects.get(tenant=tenant).preset == "crm_service"


def test_update_replaces_tiers_and_moves_accounts(admin_api, api, retail, ada):
    api.post(f"/customers/{ada.code}/loyalty/earn", {"reference": "r1", "points": 600})

    response = admin_api.patch(
        "/loyalty/program",
        {
            "downgrade_policy": "immediate",
            "tiers": [
                {"name": "Member", "threshold": 0},
                {"name": "Insider", "threshold": 500, "multiplier": "1.5"},
            ],
        },
    )

    assert response.status_code == 200, response.content
    assert [t["name"] for t in response.json()["tiers"]] == ["Member", "Insider"]
    assert api.get(f"/customers/{ada.code}/loyalty").json()["tier"] == "Insider"
    assert OutboxEvent.objects.filter(type="customer.tier_changed").exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"tiers": [{"name": "Only", "threshold": 10}]}, "tiers"),
        ({"currency": "XYZ"}, "currency"),
        ({"name": None}, "name"),
        ({"stamps_target": 0}, "stamps_target"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_bad_program_change_names_the_field_and_writes_nothing(admin_api, retail, body, field):
    before = LoyaltyProgram.objects.values().get()

    response = admin_api.patch("/loyalty/program", body)

    assert response.status_code == 422, response.content
    assert field in response.json()["error"]["fields"]
    assert LoyaltyProgram.objects.values().get() == before


def test_program_changes_need_the_admin_scope(api, retail):
    assert api.patch("/loyalty/program", {"name": "Mine"}).status_code == 403
    assert api.post("/loyalty/rules", {"name": "x", "kind": "earn"}).status_code == 403
    assert api.post("/loyalty/expire", {}).status_code == 403


# --- rules and the explanation ----------------------------------------------------------------


def test_rules_are_created_read_changed_and_deleted(admin_api, read_api, retail):
    created = admin_api.post(
        "/loyalty/rules",
        {
            "name": "Double coffee",
            "kind": "multiplier",
            "multiplier": "2",
            "categories": ["coffee"],
        },
    )
    assert created.status_code == 201, created.content
    rule_id = created.json()["id"]

    assert read_api.get(f"/loyalty/rules/{rule_id}").json()["categories"] == ["coffee"]
    assert [r["id"] for r in read_api.get("/loyalty/rules", {"kind": "multiplier"}).json()] == [
        rule_id
    ]
    changed = admin_api.patch(f"/loyalty/rules/{rule_id}", {"multiplier": "3"})
    assert changed.json()["multiplier"] == "3.000"
    assert admin_api.delete(f"/loyalty/rules/{rule_id}").status_code == 204
    assert read_api.get(f"/loyalty/rules/{rule_id}").status_code == 404


def test_a_rule_missing_what_its_kind_needs_is_refused(admin_api, retail):
    response = admin_api.post("/loyalty/rules", {"name": "Bonus", "kind": "bonus"})

    assert response.status_code == 422
    assert set(response.json()["error"]["fields"]) == {"event", "points"}
    assert LoyaltyRule.objects.count() == 0


def test_preview_explains_what_an_order_would_earn_and_writes_nothing(read_api, admin_api, retail):
    admin_api.post(
        "/loyalty/rules",
        {
            "name": "Double coffee",
            "kind": "multiplier",
            "multiplier": "2",
            "categories": ["coffee"],
        },
    )
    admin_api.post("/loyalty/rules", {"name": "Big spender", "kind": "earn",
                                      "points_per_unit": "5", "min_order_q": 10_000_000})  # fmt: skip
    before = written()

    response = read_api.post(
        "/loyalty/preview",
        {
            "amount_q": 300_000,
            "lines": [
                {"amount_q": 100_000, "category": "coffee"},
                {"amount_q": 200_000, "category": "cake"},
            ],
        },
    )

    assert response.status_code == 200, response.content
    body = response.json()
    # 3,000 NGN at 1 point per NGN, plus 1,000 more for the coffee line at 2x
    assert body["points"] == 4000
    assert [(c["kind"], c["points"]) for c in body["contributions"]] == [
        ("earn_rate", 3000),
        ("multiplier", 1000),
    ]
    assert sum(c["points"] for c in body["contributions"]) == body["points"]
    assert [s["name"] for s in body["skipped"]] == ["Big spender"]
    assert "minimum" in body["skipped"][0]["reason"]
    assert written() == before


def test_preview_of_lines_that_do_not_add_up_is_refused(read_api, retail):
    response = read_api.post("/loyalty/preview", {"amount_q": 500, "lines": [{"amount_q": 400}]})

    assert response.status_code == 422
    assert set(response.json()["error"]["fields"]) == {"lines"}


# --- enrolment, account, summary ----------------------------------------------------------------


def test_enroll_is_idempotent(api, retail, ada):
    first = api.post(f"/customers/{ada.code}/loyalty/enroll")
    again = api.post(f"/customers/{ada.code}/loyalty/enroll")

    assert first.status_code == again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert (first.json()["code"], first.json()["tier"]) == (ada.code, "Bronze")
    assert LoyaltyAccount.objects.count() == 1
    assert OutboxEvent.objects.filter(type="loyalty.enrolled").count() == 1


def test_an_account_that_does_not_exist_is_a_404_not_enrolled(read_api, ada):
    response = read_api.get(f"/customers/{ada.code}/loyalty")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_enrolled"
    assert read_api.get(f"/customers/{ada.code}/loyalty/balance").json()["points_balance"] == 0
    assert read_api.get("/customers/NOBODY/loyalty/balance").status_code == 404


def test_summary_has_tier_progress_totals_and_recent_entries(api, retail, ada):
    api.post(f"/customers/{ada.code}/loyalty/earn", {"reference": "o1", "amount_q": 12_000_00})
    api.post(f"/customers/{ada.code}/loyalty/redeem", {"reference": "r1", "points": 200})

    response = api.get(f"/customers/{ada.code}/loyalty/summary")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["points_balance"], body["lifetime_points"]) == (11_800, 12_000)
    assert (body["tier"], body["next_tier"], body["points_to_next_tier"]) == (
        "Platinum",
        None,
        None,
    )
    assert body["balance_value_q"] == 1_180_00  # 10 points per NGN
    assert (body["points_earned_total"], body["points_redeemed_total"]) == (12_000, 200)
    assert [t["transaction_type"] for t in body["recent_transactions"]] == ["redeem", "earn"]


def test_accounts_are_listed_and_filtered_by_tier(read_api, api, retail, make_customer):
    for index, points in enumerate([1, 1000, 5000]):
        customer = make_customer(first_name=f"Member {index}")
        api.post(f"/customers/{customer.code}/loyalty/earn", {"reference": "o", "points": points})

    everyone = read_api.get("/loyalty/accounts", {"limit": 2})
    silver = read_api.get("/loyalty/accounts", {"tier": "Silver"})

    assert everyone.status_code == 200
    assert len(everyone.json()["items"]) == 2
    rest = read_api.get("/loyalty/accounts", {"limit": 2, "cursor": everyone.json()["next_cursor"]})
    assert len(rest.json()["items"]) == 1
    assert [a["points_balance"] for a in silver.json()["items"]] == [1000]


# --- earn, redeem, stamps, reversals --------------------------------------------------------------


def test_earn_on_an_order_explains_itself_and_enrolls(api, retail, ada):
    response = api.post(
        f"/customers/{ada.code}/loyalty/earn",
        {"reference": "order-1", "amount_q": 250_000, "currency": "NGN"},
    )

    assert response.status_code == 200, response.content
    body = response.json()
    entry = body["transaction"]
    assert (entry["points"], entry["balance_after"], entry["order_amount_q"]) == (
        2500,
        2500,
        250_000,
    )
    assert entry["detail"]["contributions"][0]["explanation"].startswith("1 point per NGN")
    assert body["is_replay"] is False
    assert body["tier_change"] == {"old_tier": "Bronze", "new_tier": "Silver",
                                   "qualifying_points": 2500}  # fmt: skip
    assert_ledger_adds_up(LoyaltyAccount.objects.get(customer=ada))


def test_the_same_reference_again_returns_the_first_entry_and_changes_nothing(api, retail, ada):
    first = api.post(f"/customers/{ada.code}/loyalty/earn", {"reference": "order-1", "points": 50})
    before = written()

    again = api.post(f"/customers/{ada.code}/loyalty/earn", {"reference": "order-1", "points": 50})

    assert again.status_code == 200
    assert again.json()["is_replay"] is True
    assert again.json()["transaction"]["id"] == first.json()["transaction"]["id"]
    assert written() == before
    assert LoyaltyService.get_balance(tenant=ada.tenant, code=ada.code) == 50


def test_an_idempotency_key_replays_the_first_answer(api, retail, ada):
    headers = {"Idempotency-Key": "earn-once"}
    first = api.post(
        f"/customers/{ada.code}/loyalty/earn", {"reference": "a", "points": 5}, headers
    )

    again = api.post(
        f"/customers/{ada.code}/loyalty/earn", {"reference": "a", "points": 5}, headers
    )

    assert again["Idempotent-Replayed"] == "true"
    assert again.content == first.content


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"points": 5}, "reference"),
        ({"reference": "x"}, "points"),
        ({"reference": "x", "points": 5, "amount_q": 500}, "points"),
        ({"reference": "x", "points": 0}, "points"),
        ({"reference": "x", "points": "many"}, "points"),
        ({"reference": "", "points": 5}, "reference"),
        ({"reference": "x", "amount_q": 500, "currency": "USD"}, "currency"),
        ({"reference": "x", "points": 5, "occurred_at": "yesterday"}, "occurred_at"),
        ({"reference": "x", "points": 5, "bonus": 1}, "bonus"),
    ],
)
def test_a_bad_earning_names_the_field_and_writes_nothing(api, retail, ada, body, field):
    response = api.post(f"/customers/{ada.code}/loyalty/earn", body)

    assert response.status_code == 422, response.content
    assert field in response.json()["error"]["fields"]
    assert written() == (0, 0, 0)


def test_redeeming_more_than_the_balance_is_a_409_and_writes_nothing(api, retail, ada):
    api.post(f"/customers/{ada.code}/loyalty/earn", {"reference": "o1", "points": 100})
    before = written()

    response = api.post(f"/customers/{ada.code}/loyalty/redeem", {"reference": "r1", "points": 101})

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "insufficient_points"
    assert set(response.json()["error"]["fields"]) == {"points"}
    assert written() == before


def test_redeem_records_what_the_points_were_worth(api, retail, ada):
    api.post(f"/customers/{ada.code}/loyalty/earn", {"reference": "o1", "points": 100})

    response = api.post(f"/customers/{ada.code}/loyalty/redeem", {"reference": "r1", "points": 30})

    assert response.status_code == 200
    entry = response.json()["transaction"]
    assert (entry["points"], entry["balance_after"], entry["value_q"], entry["currency"]) == (
        -30,
        70,
        300,
        "NGN",
    )


def test_redeeming_without_an_account_is_not_enrolled(api, retail, ada):
    response = api.post(f"/customers/{ada.code}/loyalty/redeem", {"reference": "r", "points": 1})

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_enrolled"
    assert written() == (0, 0, 0)


def test_a_full_stamp_card_completes_and_issues_its_reward(api, configure, ada):
    configure(preset="guestman", stamps_target=3, stamp_reward="A free coffee",
              stamp_reward_points=50)  # fmt: skip
    api.post(f"/customers/{ada.code}/loyalty/stamps", {"reference": "v1", "count": 2})

    response = api.post(f"/customers/{ada.code}/loyalty/stamps", {"reference": "v2"})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["transaction"]["cards_completed"] == 1
    assert [r["points"] for r in body["rewards"]] == [50]
    assert (body["account"]["stamps_current"], body["account"]["stamps_completed"]) == (0, 1)
    replay = api.post(f"/customers/{ada.code}/loyalty/stamps", {"reference": "v2"})
    assert replay.json()["is_replay"] is True
    assert [r["id"] for r in replay.json()["rewards"]] == [r["id"] for r in body["rewards"]]


def test_stamps_on_a_points_only_program_are_refused(api, retail, ada):
    response = api.post(f"/customers/{ada.code}/loyalty/stamps", {"reference": "v1"})

    assert response.status_code == 422
    assert set(response.json()["error"]["fields"]) == {"count"}
    assert written() == (0, 0, 0)


def test_reversing_an_earn_takes_the_points_back_once(api, retail, ada):
    earned = api.post(f"/customers/{ada.code}/loyalty/earn", {"reference": "o1", "points": 80})
    entry_id = earned.json()["transaction"]["id"]
    url = f"/customers/{ada.code}/loyalty/transactions/{entry_id}/reverse"

    partly = api.post(url, {"reference": "refund-1", "points": 30})
    rest = api.post(url, {"reference": "refund-2"})
    again = api.post(url, {"reference": "refund-3"})

    assert partly.status_code == rest.status_code == 200
    assert partly.json()["transaction"]["reverses"] == entry_id
    assert rest.json()["transaction"]["points"] == -50
    assert rest.json()["account"]["points_balance"] == 0
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_reversed"
    assert_ledger_adds_up(LoyaltyAccount.objects.get(customer=ada))


def test_reversing_an_unknown_transaction_is_a_404(api, retail, ada):
    api.post(f"/customers/{ada.code}/loyalty/enroll")

    response = api.post(
        f"/customers/{ada.code}/loyalty/transactions/00000000-0000-0000-0000-000000000000/reverse",
        {"reference": "x"},
    )

    assert response.status_code == 404
    assert set(response.json()["error"]["fields"]) == {"transaction_id"}


def test_a_bonus_needs_a_rule_in_force(api, admin_api, retail, ada):
    refused = api.post(f"/customers/{ada.code}/loyalty/bonus", {"event": "birthday"})
    admin_api.post("/loyalty/rules", {"name": "Birthday", "kind": "bonus", "event": "birthday",
                                      "points": 500})  # fmt: skip

    awarded = api.post(f"/customers/{ada.code}/loyalty/bonus", {"event": "birthday"})
    again = api.post(f"/customers/{ada.code}/loyalty/bonus", {"event": "birthday"})

    assert refused.status_code == 422
    assert set(refused.json()["error"]["fields"]) == {"event"}
    assert awarded.json()["transaction"]["points"] == 500
    assert again.json()["is_replay"] is True


def test_adjustments_need_the_admin_scope_and_a_reason(api, admin_api, retail, ada):
    api.post(f"/customers/{ada.code}/loyalty/earn", {"reference": "o1", "points": 100})

    assert api.post(f"/customers/{ada.code}/loyalty/adjust",
                    {"points": -10, "description": "x"}).status_code == 403  # fmt: skip
    blank = admin_api.post(f"/customers/{ada.code}/loyalty/adjust", {"points": -10,
                                                                      "description": " "})  # fmt: skip
    done = admin_api.post(f"/customers/{ada.code}/loyalty/adjust",
                          {"points": -10, "description": "Goodwill taken back"})  # fmt: skip

    assert blank.status_code == 422
    assert set(blank.json()["error"]["fields"]) == {"description"}
    assert done.json()["account"]["points_balance"] == 90
    assert done.json()["account"]["lifetime_points"] == 100


# --- the ledger ---------------------------------------------------------------------------------


def test_transactions_are_paginated_newest_first(api, retail, ada):
    for number in range(5):
        api.post(f"/customers/{ada.code}/loyalty/earn", {"reference": f"o{number}", "points": 1})
    api.post(f"/customers/{ada.code}/loyalty/redeem", {"reference": "r", "points": 2})

    first = api.get(f"/customers/{ada.code}/loyalty/transactions", {"limit": 4}).json()
    second = api.get(
        f"/customers/{ada.code}/loyalty/transactions", {"limit": 4, "cursor": first["next_cursor"]}
    ).json()
    redeems = api.get(f"/customers/{ada.code}/loyalty/transactions", {"transaction_type": "redeem"})

    references = [e["reference"] for e in first["items"] + second["items"]]
    assert references == ["r", "o4", "o3", "o2", "o1", "o0"]
    assert second["next_cursor"] is None
    assert [e["reference"] for e in redeems.json()["items"]] == ["r"]
    one = api.get(f"/customers/{ada.code}/loyalty/transactions/{first['items'][0]['id']}")
    assert one.json()["balance_after"] == 3


def test_an_unknown_transaction_type_is_refused(api, ada):
    response = api.get(f"/customers/{ada.code}/loyalty/transactions", {"transaction_type": "gift"})

    assert response.status_code == 422
    assert "transaction_type" in response.json()["error"]["fields"]


# --- offline sync and expiry --------------------------------------------------------------------


def test_offline_sync_answers_each_item(api, retail, ada, make_customer):
    ben = make_customer(code="BEN-2", first_name="Ben")
    now = timezone.now()
    items = [
        {
            "id": "t1",
            "kind": "earn",
            "code": ada.code,
            "occurred_at": (now - dt.timedelta(hours=2)).isoformat(),
            "points": 40,
        },
        {
            "id": "t2",
            "kind": "redeem",
            "code": ada.code,
            "occurred_at": (now - dt.timedelta(hours=1)).isoformat(),
            "points": 10,
        },
        {
            "id": "t3",
            "kind": "redeem",
            "code": ben.code,
            "occurred_at": now.isoformat(),
            "points": 10,
        },
        {"id": "t4", "kind": "earn", "code": "NOBODY", "occurred_at": now.isoformat(), "points": 5},
        {
            "id": "t5",
            "kind": "earn",
            "code": ada.code,
            "occurred_at": (now - dt.timedelta(days=400)).isoformat(),
            "points": 5,
        },
    ]

    response = api.post("/loyalty/offline-sync", {"device": "till-2", "items": items})
    again = api.post("/loyalty/offline-sync", {"device": "till-2", "items": items[:2]})

    assert response.status_code == 200, response.content
    body = response.json()
    assert [(o["id"], o["status"]) for o in body["items"]] == [
        ("t1", "applied"),
        ("t2", "applied"),
        ("t3", "rejected"),
        ("t4", "rejected"),
        ("t5", "rejected"),
    ]
    assert (body["applied"], body["duplicate"], body["rejected"]) == (2, 0, 3)
    assert [o["error_code"] for o in body["items"][2:]] == ["not_enrolled", "not_found", "invalid"]
    assert set(body["items"][4]["fields"]) == {"occurred_at"}
    assert body["items"][1]["balance_after"] == 30
    assert [o["status"] for o in again.json()["items"]] == ["duplicate", "duplicate"]
    assert LoyaltyService.get_balance(tenant=ada.tenant, code=ada.code) == 30


def test_an_offline_batch_with_a_malformed_item_is_refused_whole(api, retail, ada):
    items = [
        {
            "id": "t1",
            "kind": "earn",
            "code": ada.code,
            "occurred_at": timezone.now().isoformat(),
            "points": 40,
        },
        {"id": "t2", "kind": "gift", "code": ada.code, "occurred_at": timezone.now().isoformat()},
    ]

    response = api.post("/loyalty/offline-sync", {"items": items})

    assert response.status_code == 422
    assert "items.1.kind" in response.json()["error"]["fields"]
    assert written() == (0, 0, 0)


def test_expire_now_writes_off_old_points_once(admin_api, api, configure, ada, actor):
    configure(preset="nigerian_retail", points_expire_after_days=30)
    LoyaltyService.earn_points(
        actor=actor, code=ada.code, reference="old", points=70,
        occurred_at=timezone.now() - dt.timedelta(days=29),
    )  # fmt: skip
    later = (timezone.now() + dt.timedelta(days=2)).isoformat()

    early = admin_api.post("/loyalty/expire", {})
    future = admin_api.post("/loyalty/expire", {"at": later})

    assert early.status_code == 200
    assert (early.json()["accounts"], early.json()["points"]) == (0, 0)
    assert future.status_code == 422
    assert set(future.json()["error"]["fields"]) == {"at"}


def test_expire_now_expires_what_is_due(admin_api, configure, ada, actor):
    configure(preset="nigerian_retail", points_expire_after_days=30)
    LoyaltyService.earn_points(
        actor=actor, code=ada.code, reference="old", points=70,
        occurred_at=timezone.now() - dt.timedelta(days=29),
    )  # fmt: skip
    LoyaltyProgramService.configure_program(actor=actor, points_expire_after_days=1)

    first = admin_api.post("/loyalty/expire", {})
    second = admin_api.post("/loyalty/expire", {})

    assert (first.json()["accounts"], first.json()["points"]) == (1, 70)
    assert (second.json()["accounts"], second.json()["points"]) == (0, 0)
    assert LoyaltyAccount.objects.get(customer=ada).points_balance == 0


# --- tenancy ------------------------------------------------------------------------------------


def test_another_tenants_key_cannot_earn_for_this_tenants_customer(other_api, retail, ada):
    response = other_api.post(
        f"/customers/{ada.code}/loyalty/earn", {"reference": "x", "points": 5}
    )

    assert response.status_code == 404
    assert written() == (0, 0, 0)


def test_reading_needs_a_key(anonymous_api, ada):
    assert anonymous_api.get(f"/customers/{ada.code}/loyalty/summary").status_code == 401
    assert anonymous_api.get("/loyalty/program").status_code == 401
