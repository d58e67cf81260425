"""MergeService: preview, merge through every app's handler, undo, and what they refuse."""

import datetime as dt
import json

import pytest
from django.apps import apps
from django.db.models import Q

from rapport.customers import personal_data
from rapport.customers.models import (
    ContactPoint,
    Customer,
    CustomerAddress,
    CustomerTag,
    ExternalIdentity,
    Note,
)
from rapport.customers.services import (
    AddressService,
    ContactPointService,
    CustomerService,
    ExternalIdentityService,
    NoteService,
    TagService,
    find_customer,
)
from rapport.events.models import OutboxEvent
from rapport.exceptions import Conflict, InvalidInput, NotFound, PermissionDenied
from rapport.identity.models import CustomerMerge
from rapport.identity.services import MergeService
from rapport.tenancy.actors import Actor
from rapport.timeline.models import TimelineEvent
from rapport.timeline.services import TimelineService

pytestmark = pytest.mark.django_db

CORE_MODELS = (ContactPoint, CustomerAddress, CustomerTag, Note, ExternalIdentity)
# Ledgers only grow: a merge and its undo each add entries, so they are compared without them.
APPEND_ONLY = {"consent": ("history",), "loyalty": ("transactions",)}


@pytest.fixture
def actor(tenant):
    return Actor.for_system(tenant, "tests")


@pytest.fixture
def admin_actor(tenant, make_key):
    api_key, _ = make_key(tenant, ["admin"], name="admin key")
    return Actor.for_api_key(api_key)


def add_app_data(actor, code: str, marker: str) -> None:
    """Data in each optional app that is installed, named after `marker`."""
    if apps.is_installed("rapport.identity"):
        from rapport.identity.services import IdentifierService

        IdentifierService.add_identifier(
            actor=actor, code=code, type="instagram", value=f"{marker}_ig"
        )
    if apps.is_installed("rapport.consent"):
        from rapport.consent.services import ConsentService

        ConsentService.grant_consent(actor=actor, code=code, channel="sms", source="pos")
    if apps.is_installed("rapport.preferences"):
        from rapport.preferences.services import PreferenceService

        PreferenceService.set_preference(
            actor=actor, code=code, category="drinks", key=f"{marker}_milk", value="oat"
        )
    if apps.is_installed("rapport.loyalty"):
        from rapport.loyalty.services import LoyaltyService

        LoyaltyService.earn_points(actor=actor, code=code, points=100, reference=f"{marker}-1")
    if apps.is_installed("rapport.pets"):
        from rapport.pets.services import PetService

        owner = find_customer(actor.tenant, code)
        PetService.add_pet(actor=actor, owner=owner, name=f"{marker}_pet", species="dog")
    if apps.is_installed("rapport.commerce"):
        from django.utils import timezone

        from rapport.commerce.services import OrderInput, OrderService

        OrderService.record_order(
            actor=actor,
            order=OrderInput(
                customer=find_customer(actor.tenant, code),
                external_id=f"{marker}-order",
                placed_at=timezone.now(),
                total_q=1_500,
            ),
        )
    if apps.is_installed("rapport.segments"):
        from rapport.segments.services import SegmentService

        segment = SegmentService.create_segment(actor=actor, name=f"{marker} list", type="manual")
        SegmentService.add_customers(actor=actor, segment=segment, codes=[code])


@pytest.fixture
def pair(actor, make_customer):
    """A survivor and its duplicate (same name and email), each with data in every app."""
    referrer = make_customer(code="REFERRER", first_name="Rita")
    survivor = make_customer(
        code="KEEP",
        first_name="Ada",
        last_name="Obi",
        email="ada@example.com",
        phone="+2348031110001",
        customer_type="vip",
    )
    duplicate = make_customer(
        code="DUP",
        first_name="Ada",
        last_name="Obi",
        email="ada@example.com",
        phone="+2348032220002",
        customer_type="regular",
        acquisition_source="Instagram",
        date_of_birth=dt.date(1990, 5, 1),
        referred_by=referrer.code,
    )
    referred = make_customer(code="FRIEND", first_name="Femi", referred_by=duplicate.code)

    points = ContactPointService.add_contact_point
    points(actor=actor, code="KEEP", type="email", value="ada@example.com")
    points(actor=actor, code="KEEP", type="whatsapp", value="+2348031110001")
    points(actor=actor, code="DUP", type="email", value="ada.work@example.com")  # its primary
    points(actor=actor, code="DUP", type="email", value="ada@example.com")  # the survivor's too
    points(actor=actor, code="DUP", type="phone", value="+2348032220002")
    AddressService.add_address(actor=actor, code="KEEP", line1="1 Marina", is_default=True)
    AddressService.add_address(actor=actor, code="DUP", line1="2 Allen Avenue", is_default=True)
    TagService.add_tags(actor=actor, code="KEEP", names=["VIP", "Wholesale"])
    TagService.add_tags(actor=actor, code="DUP", names=["VIP", "Breeder"])
    NoteService.add_note(actor=actor, code="KEEP", content="Prefers mornings")
    NoteService.add_note(actor=actor, code="DUP", content="Allergic to penicillin")
    NoteService.add_note(actor=actor, code="DUP", content="Private", is_private=True)
    ExternalIdentityService.link(actor=actor, code="KEEP", provider="shopify", external_id="1")
    ExternalIdentityService.link(actor=actor, code="DUP", provider="square", external_id="9")
    TimelineService.log_event(customer=duplicate, event_type="visit", title="Visited", actor=actor)
    add_app_data(actor, "KEEP", "keep")
    add_app_data(actor, "DUP", "dup")
    return {
        "survivor": survivor,
        "duplicate": duplicate,
        "referrer": referrer,
        "referred": referred,
    }


def fresh(customer: Customer) -> Customer:
    return Customer.objects.get(pk=customer.pk)


def exports(customer: Customer) -> dict:
    """Every app's export of the customer, for the apps that take part in merges."""
    merging = {handler.name for handler in personal_data.handlers("merge")}
    customer = fresh(customer)
    return {
        handler.name: json.loads(json.dumps(handler.export(customer), default=str))
        for handler in personal_data.handlers("export")
        if handler.name in merging
    }


def lasting(export: dict, events_before: set[str]) -> dict:
    """An export without the entries a merge and its undo append to ledgers."""
    result = dict(export)
    for name, parts in APPEND_ONLY.items():
        if name in result:
            result[name] = {k: v for k, v in result[name].items() if k not in parts}
    if "timeline" in result:
        result["timeline"] = [e for e in result["timeline"] if e["id"] in events_before]
    return result


def snapshot(*customers: Customer) -> dict:
    """Every core row of these customers and of those they referred or absorbed, field by field."""
    pks = [customer.pk for customer in customers]
    related = Q(pk__in=pks) | Q(referred_by__in=pks) | Q(merged_into__in=pks)
    rows = {"Customer": list(Customer.objects.filter(related).order_by("pk").values())}
    for model in CORE_MODELS:
        rows[model.__name__] = list(model.objects.filter(customer__in=pks).order_by("pk").values())
    return rows


def table_counts() -> dict:
    models = [Customer, *CORE_MODELS, TimelineEvent, OutboxEvent, CustomerMerge]
    return {model.__name__: model.objects.count() for model in models}


# --- preview -------------------------------------------------------------------------------


def test_preview_computes_the_evidence_and_every_apps_plan_and_writes_nothing(actor, pair):
    before, rows = table_counts(), snapshot(pair["survivor"], pair["duplicate"])

    preview = MergeService.preview(actor=actor, survivor="KEEP", duplicate="DUP")

    assert preview.score >= preview.threshold
    assert preview.has_enough_evidence
    assert any("ada@example.com" in reason for reason in preview.reasons)
    steps = {(step.app, step.what): step for step in preview.plan}
    assert steps["customers", "date of birth"].action == "take duplicate's"
    assert steps["customers", "date of birth"].reason == "The survivor has none"
    assert steps["customers", "customer type"].action == "keep survivor's"
    assert steps["customers", "customer type"].detail == {"survivor": "vip", "duplicate": "regular"}
    assert steps["customers", "email ada@example.com"].action == "drop duplicate's"
    assert steps["customers", "2 contact points"].reason == "The survivor keeps its primary email"
    assert steps["customers", "2 tags"].detail == {
        "added": ["Breeder"],
        "already_on_survivor": ["VIP"],
    }
    assert steps["customers", "referred by"].action == "take duplicate's"
    history = TimelineEvent.objects.filter(customer=pair["duplicate"]).count()
    assert steps["timeline", f"{history} timeline events"].action == "move"
    merging = {handler.name for handler in personal_data.handlers("merge")}
    assert {step.app for step in preview.plan} == merging
    assert table_counts() == before
    assert snapshot(pair["survivor"], pair["duplicate"]) == rows


# --- merge ---------------------------------------------------------------------------------


def test_merge_moves_every_apps_data_to_the_survivor(actor, pair):
    survivor, duplicate = pair["survivor"], pair["duplicate"]
    events = set(TimelineEvent.objects.filter(customer=duplicate).values_list("pk", flat=True))
    duplicate_exports = exports(duplicate)

    merge = MergeService.merge(actor=actor, survivor="KEEP", duplicate="DUP")

    survivor, duplicate = fresh(survivor), fresh(duplicate)
    assert (duplicate.merged_into, duplicate.is_archived) == (survivor, True)
    assert duplicate.merged_at is not None
    assert duplicate.archived_at == duplicate.merged_at
    assert find_customer(survivor.tenant, "DUP") == survivor
    # profile: the survivor keeps its values and takes the duplicate's where it had none
    assert survivor.customer_type == "vip"
    assert survivor.acquisition_source == "Instagram"
    assert survivor.date_of_birth == dt.date(1990, 5, 1)
    assert survivor.phone == "+2348031110001"
    # contact points: moved, the exact duplicate dropped, the survivor's primary kept per type
    assert set(survivor.contact_points.values_list("type", "value", "is_primary")) == {
        ("email", "ada@example.com", True),
        ("whatsapp", "+2348031110001", True),
        ("email", "ada.work@example.com", False),
        ("phone", "+2348032220002", True),
    }
    assert set(survivor.addresses.values_list("line1", "is_default")) == {
        ("1 Marina", True),
        ("2 Allen Avenue", False),
    }
    assert sorted(link.tag.name for link in survivor.customer_tags.all()) == [
        "Breeder",
        "VIP",
        "Wholesale",
    ]
    assert survivor.notes.count() == 3
    assert set(survivor.external_identities.values_list("provider", flat=True)) == {
        "shopify",
        "square",
    }
    for model in CORE_MODELS:
        assert not model.objects.filter(customer=duplicate).exists(), model
    # referrals: the duplicate's referrals name the survivor, which takes its referrer
    assert fresh(pair["referred"]).referred_by == survivor
    assert survivor.referred_by == pair["referrer"]
    # timeline: the history moved, and both timelines say what happened
    assert events <= set(
        TimelineEvent.objects.filter(customer=survivor).values_list("pk", flat=True)
    )
    assert TimelineEvent.objects.get(customer=survivor, metadata__kind="merged").title == (
        "Merged with duplicate DUP"
    )
    logged = TimelineEvent.objects.get(customer=duplicate, metadata__kind="merged_away")
    assert (logged.title, logged.event_type) == ("Merged into KEEP as a duplicate", "system")
    [event] = OutboxEvent.objects.filter(type="customer.merged")
    assert event.data == {
        "code": "KEEP",
        "survivor": "KEEP",
        "duplicate": "DUP",
        "merge": str(merge.uuid),
    }
    # the record: evidence found by the service, the plan, and every app's journal
    assert merge.score >= 0.8 and merge.reasons
    assert merge.merged_by == "system:tests"
    assert set(merge.journal) == {h.name for h in personal_data.handlers("merge")} | {"merge"}
    assert merge.plan and all(set(step) >= {"app", "what", "action"} for step in merge.plan)
    # every other app: what the duplicate's export showed is now in the survivor's
    survivor_exports = json.dumps(exports(survivor))
    for marker in ("dup_ig", "dup_milk"):
        if marker in json.dumps(duplicate_exports):
            assert marker in survivor_exports
    if "consent" in duplicate_exports:
        consents = exports(survivor)["consent"]["consents"]
        assert [(c["channel"], c["status"]) for c in consents] == [("sms", "opted_in")]


def test_merge_refuses_the_same_customer_unknown_codes_and_merged_ones(actor, admin_actor, pair):
    with pytest.raises(InvalidInput) as same:
        MergeService.merge(actor=actor, survivor="KEEP", duplicate="KEEP")
    assert set(same.value.fields) == {"duplicate"}
    with pytest.raises(NotFound) as unknown:
        MergeService.merge(actor=actor, survivor="KEEP", duplicate="NOPE")
    assert set(unknown.value.fields) == {"duplicate"}

    MergeService.merge(actor=actor, survivor="KEEP", duplicate="DUP")
    before = table_counts()

    for survivor, duplicate, field in (
        ("REFERRER", "DUP", "duplicate"),
        ("DUP", "FRIEND", "survivor"),
    ):
        with pytest.raises(Conflict) as merged:
            MergeService.merge(
                actor=admin_actor, survivor=survivor, duplicate=duplicate, override_reason="test"
            )
        assert merged.value.fields == {field: "Already merged into KEEP"}
    with pytest.raises(Conflict):
        MergeService.preview(actor=actor, survivor="KEEP", duplicate="DUP")
    assert table_counts() == before


def test_too_little_evidence_is_refused_without_an_admin_override(
    actor, admin_actor, make_customer, make_key
):
    make_customer(code="A", first_name="Ada", last_name="Obi", phone="+2348031110001")
    make_customer(code="B", first_name="Tunde", last_name="Bello", phone="+2348039990009")
    before = table_counts()

    with pytest.raises(InvalidInput) as refused:
        MergeService.merge(actor=actor, survivor="A", duplicate="B")
    assert set(refused.value.fields) == {"override_reason"}
    assert "shared phone, email or identifier is missing" in refused.value.fields["override_reason"]
    with pytest.raises(InvalidInput):
        MergeService.merge(actor=admin_actor, survivor="A", duplicate="B", override_reason="  ")
    writer, _ = make_key(actor.tenant, ["write"], name="writer key")
    with pytest.raises(PermissionDenied) as forbidden:
        MergeService.merge(
            actor=Actor.for_api_key(writer),
            survivor="A",
            duplicate="B",
            override_reason="Same person",
        )
    assert set(forbidden.value.fields) == {"override_reason"}
    assert table_counts() == before

    merge = MergeService.merge(
        actor=admin_actor, survivor="A", duplicate="B", override_reason="She changed her name"
    )

    assert merge.score < 0.8
    assert merge.override_reason == "She changed her name"
    assert fresh(merge.duplicate).merged_into_id == merge.survivor_id


def test_the_survivor_referred_by_the_duplicate_is_not_its_own_referrer(actor, make_customer):
    make_customer(code="D", first_name="Ada", last_name="Obi", email="ada@example.com")
    survivor = make_customer(
        code="S", first_name="Ada", last_name="Obi", email="ada@example.com", referred_by="D"
    )

    merge = MergeService.merge(actor=actor, survivor="S", duplicate="D")

    assert fresh(survivor).referred_by_id is None
    MergeService.undo(actor=actor, merge_id=merge.uuid)
    assert fresh(survivor).referred_by.code == "D"


def test_customers_merged_into_the_duplicate_are_repointed_and_put_back(actor, make_customer):
    for code in ("S", "D", "E"):
        make_customer(code=code, first_name="Ada", last_name="Obi", email="ada@example.com")
    first = MergeService.merge(actor=actor, survivor="D", duplicate="E")

    second = MergeService.merge(actor=actor, survivor="S", duplicate="D")

    assert Customer.objects.get(code="E").merged_into.code == "S"  # no chains
    assert find_customer(first.tenant, "E").code == "S"
    assert second.journal["merge"]["repointed_merges"] == [Customer.objects.get(code="E").pk]
    with pytest.raises(Conflict) as blocked:
        MergeService.undo(actor=actor, merge_id=first.uuid)
    assert "The later merge of D into S must be undone first" in blocked.value.message

    MergeService.undo(actor=actor, merge_id=second.uuid)

    assert Customer.objects.get(code="E").merged_into.code == "D"
    assert Customer.objects.get(code="D").merged_into is None
    MergeService.undo(actor=actor, merge_id=first.uuid)
    assert not Customer.objects.exclude(merged_into=None).exists()


# --- undo ----------------------------------------------------------------------------------


def test_undo_restores_both_customers_exactly(actor, pair):
    survivor, duplicate = pair["survivor"], pair["duplicate"]
    events = {str(u) for u in TimelineEvent.objects.values_list("uuid", flat=True)}
    rows = snapshot(survivor, duplicate)
    timeline = list(TimelineEvent.objects.order_by("pk").values("pk", "customer_id"))
    before = {"survivor": exports(survivor), "duplicate": exports(duplicate)}
    merge = MergeService.merge(actor=actor, survivor="KEEP", duplicate="DUP")
    assert snapshot(survivor, duplicate) != rows

    undone = MergeService.undo(actor=actor, merge_id=merge.uuid)

    assert snapshot(survivor, duplicate) == rows
    assert (
        list(
            TimelineEvent.objects.filter(pk__in=[e["pk"] for e in timeline])
            .order_by("pk")
            .values("pk", "customer_id")
        )
        == timeline
    )
    after = {"survivor": exports(survivor), "duplicate": exports(duplicate)}
    for side in ("survivor", "duplicate"):
        assert lasting(after[side], events) == lasting(before[side], events), side
    assert (undone.undone_by, undone.undone_at is not None) == ("system:tests", True)
    assert find_customer(survivor.tenant, "DUP") == duplicate
    [event] = OutboxEvent.objects.filter(type="customer.unmerged")
    assert event.data == {
        "code": "KEEP",
        "survivor": "KEEP",
        "duplicate": "DUP",
        "merge": str(merge.uuid),
    }
    assert TimelineEvent.objects.filter(customer=duplicate, metadata__kind="unmerged_away").exists()
    assert TimelineEvent.objects.filter(customer=survivor, metadata__kind="unmerged").exists()
    with pytest.raises(Conflict):
        MergeService.undo(actor=actor, merge_id=merge.uuid)


def test_undo_keeps_an_archived_duplicate_archived(actor, make_customer):
    make_customer(code="S", first_name="Ada", last_name="Obi", email="ada@example.com")
    make_customer(code="D", first_name="Ada", last_name="Obi", email="ada@example.com")
    CustomerService.archive_customer(actor=actor, code="D")
    archived_at = Customer.objects.get(code="D").archived_at
    merge = MergeService.merge(actor=actor, survivor="S", duplicate="D")

    MergeService.undo(actor=actor, merge_id=merge.uuid)

    duplicate = Customer.objects.get(code="D")
    assert (duplicate.is_archived, duplicate.archived_at) == (True, archived_at)


def test_undo_is_refused_when_a_field_taken_from_the_duplicate_changed(actor, pair):
    merge = MergeService.merge(actor=actor, survivor="KEEP", duplicate="DUP")
    CustomerService.update_customer(actor=actor, code="KEEP", date_of_birth=dt.date(1991, 1, 1))
    rows = snapshot(pair["survivor"], pair["duplicate"])

    with pytest.raises(Conflict) as blocked:
        MergeService.undo(actor=actor, merge_id=merge.uuid)

    assert blocked.value.fields == {
        "customers": "The survivor's date of birth changed since the merge"
    }
    assert snapshot(pair["survivor"], pair["duplicate"]) == rows
    assert CustomerMerge.objects.get().undone_at is None


def test_undo_is_refused_when_a_moved_note_was_deleted(actor, admin_actor, pair):
    merge = MergeService.merge(actor=actor, survivor="KEEP", duplicate="DUP")
    note = Note.objects.get(content="Allergic to penicillin")
    NoteService.delete_note(actor=admin_actor, code="KEEP", note_id=note.uuid)

    with pytest.raises(Conflict) as blocked:
        MergeService.undo(actor=actor, merge_id=merge.uuid)

    assert "1 moved notes were removed since the merge" in blocked.value.message


def test_undo_of_another_tenants_merge_is_not_found(actor, pair, other_tenant):
    merge = MergeService.merge(actor=actor, survivor="KEEP", duplicate="DUP")
    other = Actor.for_system(other_tenant, "tests")

    with pytest.raises(NotFound):
        MergeService.undo(actor=other, merge_id=merge.uuid)
    with pytest.raises(NotFound):
        MergeService.get_merge(tenant=other_tenant, merge_id=merge.uuid)
    with pytest.raises(NotFound):
        MergeService.merge(actor=other, survivor="KEEP", duplicate="FRIEND")
    assert not MergeService.list_merges(tenant=other_tenant).exists()
    assert fresh(pair["duplicate"]).merged_into_id == pair["survivor"].pk
