"""Segment memberships in a customer's export, erasure and merges."""

import pytest

from rapport.customers import personal_data
from rapport.identity.services import MergeService
from rapport.privacy.services import PrivacyService
from rapport.segments.models import SegmentMembership
from rapport.segments.services import SegmentService

pytestmark = pytest.mark.django_db


def memberships(customer) -> set[str]:
    return set(
        SegmentMembership.objects.filter(customer=customer).values_list("segment__name", flat=True)
    )


def test_the_handler_is_registered():
    assert "segments" in {h.name for h in personal_data.handlers("export")}
    assert "segments" in {h.name for h in personal_data.handlers("merge")}


def test_export_lists_the_segments_and_erasure_leaves_them(actor, make_customer, make_segment):
    ada = make_customer(code="ADA-1", first_name="Ada")
    friends = make_segment(name="Friends", type="manual")
    SegmentService.add_customers(actor=actor, segment=friends, codes=["ADA-1"])

    document = PrivacyService.export_customer(actor=actor, code="ADA-1")
    PrivacyService.erase_customer(actor=actor, code="ADA-1")

    assert [(row["name"], row["type"]) for row in document["sections"]["segments"]] == [
        ("Friends", "manual")
    ]
    assert memberships(ada) == set()


def test_merge_moves_manual_memberships_and_undo_restores(actor, make_customer, make_segment):
    survivor = make_customer(code="KEEP", first_name="Ada", last_name="Obi", email="a@example.com")
    duplicate = make_customer(code="DUP", first_name="Ada", last_name="Obi", email="a@example.com")
    theirs = make_segment(name="Theirs", type="manual")
    both = make_segment(name="Both", type="manual")
    SegmentService.add_customers(actor=actor, segment=theirs, codes=["DUP"])
    SegmentService.add_customers(actor=actor, segment=both, codes=["DUP", "KEEP"])

    preview = MergeService.preview(actor=actor, survivor="KEEP", duplicate="DUP")
    merge = MergeService.merge(actor=actor, survivor="KEEP", duplicate="DUP")

    assert [(s.what, s.action) for s in preview.plan if s.app == "segments"] == [
        ("1 manual segment", "move")
    ]
    assert memberships(survivor) == {"Theirs", "Both"}
    assert memberships(duplicate) == set()

    MergeService.undo(actor=actor, merge_id=merge.uuid)

    assert memberships(survivor) == {"Both"}
    assert memberships(duplicate) == {"Theirs", "Both"}
