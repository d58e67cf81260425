"""SegmentService: segments, refreshes and their events, manual members, the defaults."""

import datetime as dt
import threading

import pytest
from django.db import connection, connections
from django.utils import timezone

from rapport.customers.models import Customer
from rapport.customers.services import CustomerService, TagService
from rapport.events.models import OutboxEvent
from rapport.exceptions import Conflict, InvalidInput, NotFound
from rapport.segments.models import Segment, SegmentMembership
from rapport.segments.services import SegmentService
from rapport.segments.tasks import refresh_segment, refresh_segments
from rapport.tenancy.actors import Actor
from rapport.tenancy.models import Tenant
from rapport.tenancy.services import TenantService

pytestmark = pytest.mark.django_db

VIP = {"field": "tags", "operator": "contains", "value": "VIP"}
DEFAULT_KEYS = {
    "vip-customers",
    "active-customers",
    "at-risk-customers",
    "churned-customers",
    "pos-customers",
    "online-customers",
    "new-customers",
    "repeat-customers",
}


def segment_events(change: str | None = None) -> list[tuple[str, str, str]]:
    events = OutboxEvent.objects.filter(type="customer.segment_changed").order_by("pk")
    rows = [(e.data["code"], e.data["segment_name"], e.data["change"]) for e in events]
    return [row for row in rows if change is None or row[2] == change]


def members(segment) -> set[str]:
    return set(
        SegmentMembership.objects.filter(segment=segment).values_list("customer__code", flat=True)
    )


@pytest.fixture
def tagged(actor, make_customer):
    """ADA and BEN tagged VIP, CHI not."""
    for code in ("ADA", "BEN", "CHI"):
        make_customer(code=code, first_name=code.title())
    for code in ("ADA", "BEN"):
        TagService.add_tags(actor=actor, code=code, names=["VIP"])


def test_a_dynamic_segment_is_filled_when_created_and_each_member_gets_an_event(
    tagged, make_segment
):
    segment = make_segment(VIP, name="VIPs")

    assert members(segment) == {"ADA", "BEN"}
    assert (segment.customer_count, segment.key, segment.type) == (2, "vips", "dynamic")
    assert segment.conditions == {"all": [VIP]}
    assert segment_events() == [("ADA", "VIPs", "entered"), ("BEN", "VIPs", "entered")]
    event = OutboxEvent.objects.filter(type="customer.segment_changed").first()
    assert event.data == {
        "code": "ADA",
        "segment": str(segment.uuid),
        "segment_key": "vips",
        "segment_name": "VIPs",
        "change": "entered",
    }


def test_a_refresh_emits_entered_and_left_once_and_a_second_refresh_nothing(
    actor, tagged, make_segment
):
    # Given a segment of VIPs, and then CHI tagged and BEN untagged
    segment = make_segment(VIP, name="VIPs")
    TagService.add_tags(actor=actor, code="CHI", names=["VIP"])
    TagService.remove_tag(actor=actor, code="BEN", tag_name="VIP")
    before = OutboxEvent.objects.count()

    # When it is refreshed twice
    first = SegmentService.refresh_memberships(actor=actor, segment=segment)
    events = segment_events()[2:]
    second = SegmentService.refresh_memberships(actor=actor, segment=segment)

    # Then CHI entered and BEN left, once each, and the second refresh changed nothing
    assert (first.entered, first.left, first.customer_count) == (1, 1, 2)
    assert events == [("CHI", "VIPs", "entered"), ("BEN", "VIPs", "left")]
    assert (second.entered, second.left, second.customer_count) == (0, 0, 2)
    assert OutboxEvent.objects.count() == before + 2
    assert members(segment) == {"ADA", "CHI"}
    segment.refresh_from_db()
    assert segment.customer_count == 2 and segment.counted_at is not None


def test_archived_and_merged_customers_leave_at_the_next_refresh(actor, tagged, make_segment):
    segment = make_segment(VIP, name="VIPs")
    CustomerService.archive_customer(actor=actor, code="ADA")

    result = SegmentService.refresh_memberships(actor=actor, segment=segment)

    assert (result.entered, result.left) == (0, 1)
    assert members(segment) == {"BEN"}
    customers = SegmentService.get_segment_customers(segment=segment)
    assert set(customers.values_list("code", flat=True)) == {"BEN"}


def test_new_conditions_refresh_at_once_and_other_changes_do_not(actor, tagged, make_segment):
    segment = make_segment(VIP, name="VIPs")

    renamed = SegmentService.update_segment(
        actor=actor, segment=segment, name="Very important", description="Tagged VIP"
    )
    assert len(segment_events()) == 2
    changed = SegmentService.update_segment(
        actor=actor,
        segment=renamed,
        conditions={"field": "first_name", "operator": "eq", "value": "Chi"},
    )

    assert (changed.name, changed.description, changed.key) == (
        "Very important",
        "Tagged VIP",
        "vips",
    )
    assert members(changed) == {"CHI"}
    assert segment_events()[2:] == [
        ("CHI", "Very important", "entered"),
        ("ADA", "Very important", "left"),
        ("BEN", "Very important", "left"),
    ]


def test_bad_segments_are_refused_and_nothing_is_written(actor, tagged, make_segment):
    make_segment(VIP, name="VIPs")
    before = (Segment.objects.count(), OutboxEvent.objects.count())

    with pytest.raises(InvalidInput) as bad_value:
        SegmentService.create_segment(
            actor=actor, name="Bad", conditions={"all": [VIP, {**VIP, "value": 3}]}
        )
    with pytest.raises(InvalidInput) as no_conditions:
        SegmentService.create_segment(actor=actor, name="Empty")
    with pytest.raises(InvalidInput) as manual_conditions:
        SegmentService.create_segment(actor=actor, name="Hand", type="manual", conditions=VIP)
    with pytest.raises(Conflict) as taken:
        SegmentService.create_segment(actor=actor, name="vips", conditions=VIP)
    with pytest.raises(InvalidInput) as kind:
        SegmentService.create_segment(actor=actor, name="Odd", type="static", conditions=VIP)

    assert bad_value.value.fields == {"conditions.all.1.value": "Text"}
    assert no_conditions.value.fields == {"conditions": "Required for a dynamic segment"}
    assert set(manual_conditions.value.fields) == {"conditions"}
    assert taken.value.fields == {"name": "Taken by another segment"}
    assert set(kind.value.fields) == {"type"}
    assert (Segment.objects.count(), OutboxEvent.objects.count()) == before


def test_a_segments_type_does_not_change_and_keys_stay_unique(actor, tagged, make_segment):
    segment = make_segment(VIP, name="VIPs")
    other = make_segment(VIP, name="VIPs too", key="vip-2")

    with pytest.raises(InvalidInput) as kind:
        SegmentService.update_segment(actor=actor, segment=segment, type="manual")
    with pytest.raises(Conflict):
        SegmentService.update_segment(actor=actor, segment=other, key="vips")
    with pytest.raises(InvalidInput):
        SegmentService.update_segment(actor=actor, segment=other, colour="red")

    assert kind.value.fields == {"type": "A segment's type does not change: it is dynamic"}
    assert make_segment(VIP, name="VIPs!").key == "vips-2"


def test_manual_members_are_added_and_removed_by_hand(actor, tagged, make_segment):
    segment = make_segment(name="Friends", type="manual")

    added = SegmentService.add_customers(actor=actor, segment=segment, codes=["ADA", "CHI"])
    again = SegmentService.add_customers(actor=actor, segment=segment, codes=["ADA", "BEN"])
    removed = SegmentService.remove_customers(actor=actor, segment=segment, codes=["CHI"])
    refreshed = SegmentService.refresh_memberships(actor=actor, segment=segment)

    assert [c.code for c in added.customers] == ["ADA", "CHI"]
    assert [c.code for c in again.customers] == ["BEN"]
    assert [c.code for c in removed.customers] == ["CHI"]
    assert members(segment) == {"ADA", "BEN"}
    assert (refreshed.entered, refreshed.left, refreshed.customer_count) == (0, 0, 2)
    assert segment_events() == [
        ("ADA", "Friends", "entered"),
        ("CHI", "Friends", "entered"),
        ("BEN", "Friends", "entered"),
        ("CHI", "Friends", "left"),
    ]
    assert SegmentService.count(segment=segment) == 2
    assert segment.conditions == {}


def test_manual_membership_refuses_unknown_codes_dynamic_segments_and_non_members(
    actor, tagged, make_segment
):
    manual = make_segment(name="Friends", type="manual")
    dynamic = make_segment(VIP, name="VIPs")
    before = (SegmentMembership.objects.count(), OutboxEvent.objects.count())

    with pytest.raises(InvalidInput) as unknown:
        SegmentService.add_customers(actor=actor, segment=manual, codes=["ADA", "NOPE"])
    with pytest.raises(Conflict):
        SegmentService.add_customers(actor=actor, segment=dynamic, codes=["CHI"])
    with pytest.raises(NotFound):
        SegmentService.remove_customers(actor=actor, segment=manual, codes=["ADA"])

    assert unknown.value.fields == {"codes.1": "No customer with code 'NOPE'"}
    assert (SegmentMembership.objects.count(), OutboxEvent.objects.count()) == before


def test_another_tenants_actor_cannot_reach_a_segment(other_tenant, tagged, make_segment):
    segment = make_segment(VIP, name="VIPs")
    stranger = Actor.for_system(other_tenant, "tests")

    with pytest.raises(NotFound):
        SegmentService.get_segment(tenant=other_tenant, segment_id=segment.uuid)
    with pytest.raises(NotFound):
        SegmentService.refresh_memberships(actor=stranger, segment=segment)
    with pytest.raises(NotFound):
        SegmentService.delete_segment(actor=stranger, segment=segment)
    assert Segment.objects.filter(pk=segment.pk).exists()


def test_preview_counts_and_samples_without_writing(tenant, tagged, django_assert_num_queries):
    before = (Segment.objects.count(), OutboxEvent.objects.count())

    with django_assert_num_queries(3):  # the count, the sample, its tags
        preview = SegmentService.preview(tenant=tenant, conditions={"tags": ["VIP"]})

    assert preview.count == 2
    assert [c.code for c in preview.sample] == ["BEN", "ADA"]  # newest first
    assert preview.conditions == {"all": [VIP]}
    assert (Segment.objects.count(), OutboxEvent.objects.count()) == before


def test_counting_a_segment_is_one_query(tagged, make_segment, django_assert_num_queries):
    segment = make_segment(
        {"any": [VIP, {"field": "days_since_last_order", "operator": "lte", "value": 30},
                 {"field": "pets.species", "operator": "eq", "value": "dog"}]},
        name="Busy",
    )  # fmt: skip

    with django_assert_num_queries(1):
        assert SegmentService.count(segment=segment) == 2


# --- default segments --------------------------------------------------------------------------


def test_every_new_tenant_gets_the_eight_default_segments_once(db):
    tenant = TenantService.create_tenant(
        name="Lisbon shop", country="PT", currency="EUR", timezone_name="Europe/Lisbon"
    )
    actor = Actor.for_system(tenant, "tests")

    again = SegmentService.create_default_segments(actor=actor)

    segments = {s.key: s for s in Segment.objects.filter(tenant=tenant)}
    assert set(segments) == DEFAULT_KEYS
    assert again == []
    assert all(s.is_default and s.type == "dynamic" and s.is_active for s in segments.values())
    assert {s.name for s in segments.values()} == {
        "VIP Customers", "Active Customers", "At-Risk Customers", "Churned Customers",
        "POS Customers", "Online Customers", "New Customers", "Repeat Customers",
    }  # fmt: skip
    # ₦100,000 is about 60.00 EUR at the rule-of-thumb scales: 6,000 cents
    assert segments["vip-customers"].conditions == {
        "all": [{"field": "total_spent_q", "operator": "gt", "value": 6_000}]
    }
    assert segments["at-risk-customers"].conditions == {
        "all": [{"field": "days_since_last_order", "operator": "between", "value": [60, 89]}]
    }


def test_the_default_tenant_gets_them_when_created_lazily(db):
    Tenant.objects.filter(slug="default").delete()

    tenant = TenantService.get_default()
    TenantService.get_default()

    assert Segment.objects.filter(tenant=tenant).count() == 8
    vip = Segment.objects.get(tenant=tenant, key="vip-customers")
    assert vip.conditions["all"][0]["value"] == 10_000_000  # ₦100,000 in kobo


def test_a_tenant_that_renamed_or_deleted_nothing_keeps_what_it_changed(tenant, actor):
    vip = Segment.objects.get(tenant=tenant, key="vip-customers")
    SegmentService.update_segment(actor=actor, segment=vip, name="Big spenders")
    SegmentService.delete_segment(
        actor=actor, segment=Segment.objects.get(tenant=tenant, key="pos-customers")
    )

    created = SegmentService.create_default_segments(actor=actor)

    assert [s.key for s in created] == ["pos-customers"]
    assert Segment.objects.filter(tenant=tenant).count() == 8
    assert Segment.objects.get(tenant=tenant, key="vip-customers").name == "Big spenders"


def test_the_defaults_select_by_orders_insights_and_joining(
    tenant, actor, make_customer, make_order, make_insight
):
    # Given customers with each kind of history
    big = make_customer(code="BIG")
    make_insight(big, total_orders=4, total_spent_q=20_000_000, last_order_days=5)
    lapsing = make_customer(code="LAPSING")
    make_insight(lapsing, total_orders=1, total_spent_q=1_000, last_order_days=70)
    gone = make_customer(code="GONE")
    make_insight(gone, total_orders=2, total_spent_q=2_000, last_order_days=200)
    make_order(big, channel="pos")
    make_order(lapsing, channel="marketplace")
    old = make_customer(code="OLD")
    Customer.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=40))

    # When every default segment is refreshed
    results = SegmentService.refresh_all(actor=actor)

    # Then each holds whom seed 004 says
    held = {r.segment.key: members(r.segment) for r in results}
    assert held == {
        "vip-customers": {"BIG"},
        "active-customers": {"BIG"},
        "at-risk-customers": {"LAPSING"},
        "churned-customers": {"GONE"},
        "pos-customers": {"BIG"},
        "online-customers": {"LAPSING"},
        "new-customers": {"BIG", "LAPSING", "GONE"},
        "repeat-customers": {"BIG"},
    }


def test_the_hourly_task_refreshes_every_tenant_and_is_safe_to_run_twice(
    tenant, other_tenant, tagged, make_segment, make_customer
):
    segment = make_segment(VIP, name="VIPs")
    TagService.add_tags(actor=Actor.for_system(tenant, "t"), code="CHI", names=["VIP"])
    theirs = make_customer(actor=Actor.for_system(other_tenant, "t"), code="THEIRS")

    refresh_segments.enqueue()
    after_first = OutboxEvent.objects.filter(type="customer.segment_changed").count()
    refresh_segments.enqueue()

    assert members(segment) == {"ADA", "BEN", "CHI"}
    new_customers = Segment.objects.get(tenant=other_tenant, key="new-customers")
    assert members(new_customers) == {theirs.code}
    assert OutboxEvent.objects.filter(type="customer.segment_changed").count() == after_first


def test_the_task_of_a_deleted_segment_does_nothing(tenant, tagged, make_segment):
    segment = make_segment(VIP, name="VIPs")

    gone = refresh_segment.enqueue(tenant_id=tenant.pk, segment_id=segment.pk + 1000)
    done = refresh_segment.enqueue(tenant_id=tenant.pk, segment_id=segment.pk)

    assert gone.return_value == {"entered": 0, "left": 0, "customer_count": 0}
    assert done.return_value == {"entered": 0, "left": 0, "customer_count": 2}


def test_a_segment_naming_a_field_no_longer_registered_is_skipped(actor, tagged, make_segment):
    broken = make_segment(VIP, name="Broken")
    Segment.objects.filter(pk=broken.pk).update(
        conditions={"all": [{"field": "gone.field", "operator": "eq", "value": 1}]}
    )

    results = SegmentService.refresh_all(actor=actor)

    assert broken.pk not in {r.segment.pk for r in results}
    assert len(results) == Segment.objects.filter(tenant=actor.tenant, type="dynamic").count() - 1


postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="threads share the in-memory SQLite test database"
)


@pytest.mark.postgres
@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_send_each_event_once(tenant, make_customer):
    # Given a segment created before its customers, so that a refresh has work to do
    actor = Actor.for_system(tenant, "tests")
    segment = SegmentService.create_segment(actor=actor, name="VIPs", conditions=VIP)
    for number in range(20):
        customer = make_customer(code=f"C{number}")
        TagService.add_tags(actor=actor, code=customer.code, names=["VIP"])
    barrier = threading.Barrier(4)

    def refresh():
        try:
            barrier.wait(timeout=20)
            SegmentService.refresh_memberships(actor=actor, segment=segment)
        finally:
            connections.close_all()

    # When four workers refresh it at once
    threads = [threading.Thread(target=refresh) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # Then every customer entered once
    assert len(segment_events("entered")) == 20
    assert SegmentMembership.objects.filter(segment=segment).count() == 20
