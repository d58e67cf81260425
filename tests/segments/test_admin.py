"""The segments admin: pages answer, writes go through SegmentService, memberships read-only."""

import pytest
from django.contrib import admin
from django.urls import reverse

from rapport.customers.services import TagService
from rapport.events.models import OutboxEvent
from rapport.segments.models import Segment, SegmentMembership

pytestmark = pytest.mark.django_db

VIP = '{"field": "tags", "operator": "contains", "value": "VIP"}'


def url(model, view: str, *args) -> str:
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


@pytest.fixture
def vip(actor, make_customer, make_segment):
    make_customer(code="ADA", first_name="Ada")
    TagService.add_tags(actor=actor, code="ADA", names=["VIP"])
    return make_segment({"field": "tags", "operator": "contains", "value": "VIP"}, name="VIPs")


def test_segment_and_membership_pages_answer(admin_client, vip):
    membership = SegmentMembership.objects.get(segment=vip)

    assert {Segment, SegmentMembership} <= set(admin.site._registry)
    for page in (
        url(Segment, "changelist"),
        url(Segment, "changelist") + "?q=vip",
        url(Segment, "add"),
        url(Segment, "change", vip.pk),
        url(SegmentMembership, "changelist"),
        url(SegmentMembership, "changelist") + f"?segment__id__exact={vip.pk}",
        url(SegmentMembership, "changelist") + "?q=ADA",
        url(SegmentMembership, "change", membership.pk),
    ):
        assert admin_client.get(page).status_code == 200, page
    listed = admin_client.get(url(Segment, "changelist")).content.decode()
    assert "VIPs" in listed and "dynamic" in listed


def test_adding_a_segment_goes_through_the_service(admin_client, tenant, vip):
    response = admin_client.post(
        url(Segment, "add"),
        {"tenant": tenant.pk, "name": "Also VIPs", "type": "dynamic", "conditions": VIP,
         "is_active": "on", "description": ""},
    )  # fmt: skip

    assert response.status_code == 302, response.context["adminform"].form.errors
    segment = Segment.objects.get(name="Also VIPs")
    assert (segment.key, segment.customer_count) == ("also-vips", 1)
    assert (
        OutboxEvent.objects.filter(
            type="customer.segment_changed", data__segment_name="Also VIPs"
        ).count()
        == 1
    )


def test_bad_conditions_are_a_form_error_and_nothing_is_written(admin_client, tenant, vip):
    before = Segment.objects.count()

    response = admin_client.post(
        url(Segment, "add"),
        {"tenant": tenant.pk, "name": "Bad", "type": "dynamic",
         "conditions": '{"field": "tags", "operator": "gte", "value": 1}'},
    )  # fmt: skip

    assert response.status_code == 200
    errors = response.context["adminform"].form.non_field_errors()
    assert any("conditions.operator" in error.lower() for error in errors), errors
    assert Segment.objects.count() == before


def test_changing_and_refreshing_go_through_the_service(admin_client, actor, vip):
    TagService.add_tags(actor=actor, code="ADA", names=["Gold"])
    changed = admin_client.post(
        url(Segment, "change", vip.pk),
        {"name": "Gold", "key": "vips", "description": "",
         "conditions": '{"field": "tags", "operator": "contains", "value": "Gold"}',
         "is_active": "on"},
    )  # fmt: skip
    refreshed = admin_client.post(
        url(Segment, "changelist"),
        {"action": "refresh_selected", "_selected_action": [vip.pk]},
        follow=True,
    )

    assert changed.status_code == 302, changed.context["adminform"].form.errors
    vip.refresh_from_db()
    assert (vip.name, vip.conditions["all"][0]["value"]) == ("Gold", "Gold")
    assert refreshed.status_code == 200
    assert "Gold: 1 members (0 entered, 0 left)" in refreshed.content.decode()


def test_memberships_are_read_only_and_deleting_goes_through_the_service(admin_client, vip):
    membership = SegmentMembership.objects.get(segment=vip)

    assert admin_client.get(url(SegmentMembership, "add")).status_code == 403
    assert admin_client.post(url(SegmentMembership, "delete", membership.pk)).status_code == 403
    response = admin_client.post(url(Segment, "delete", vip.pk), {"post": "yes"})

    assert response.status_code == 302
    assert not Segment.objects.filter(pk=vip.pk).exists()
    assert not SegmentMembership.objects.filter(pk=membership.pk).exists()
