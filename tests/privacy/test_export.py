"""Export: one JSON document with everything every installed app holds on the customer."""

import datetime as dt
import json

import pytest

from rapport.customers import personal_data
from rapport.customers.services import (
    AddressService,
    ContactPointService,
    ExternalIdentityService,
    NoteService,
    TagService,
)
from rapport.exceptions import NotFound, PermissionDenied
from rapport.privacy.services import PrivacyService
from rapport.tenancy.actors import Actor
from rapport.timeline.services import TimelineService

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(tenant, make_customer):
    actor = Actor.for_system(tenant, "tests")
    referrer = make_customer(code="REFERRER", first_name="Referrer")
    customer = make_customer(
        code="ADA-1",
        first_name="Ada",
        last_name="Obi",
        email="ada@example.com",
        phone="08031234567",
        date_of_birth=dt.date(1990, 4, 2),
        referred_by=referrer.code,
    )
    make_customer(code="FRIEND-1", first_name="Friend", referred_by=customer.code)
    ContactPointService.add_contact_point(
        actor=actor, code=customer.code, type="email", value="ada.work@example.com"
    )
    AddressService.add_address(actor=actor, code=customer.code, line1="1 Marina", city="Lagos")
    ExternalIdentityService.link(
        actor=actor, code=customer.code, provider="shopify", external_id="77"
    )
    TagService.add_tags(actor=actor, code=customer.code, names=["VIP"])
    NoteService.add_note(actor=actor, code=customer.code, content="Likes mornings")
    NoteService.add_note(
        actor=actor, code=customer.code, content="Owes a call back", is_private=True
    )
    TimelineService.log_event(
        customer=customer, event_type="visit", title="Visited the shop", actor=actor
    )
    return customer


def test_the_export_holds_every_apps_section_and_round_trips_as_json(tenant, customer):
    document = PrivacyService.export_customer(
        actor=Actor.for_system(tenant, "tests"), code=customer.code
    )

    assert json.loads(json.dumps(document)) == document
    assert document["format"] == "rapport.customer-export"
    assert document["format_version"] == 1
    assert document["tenant"] == {"slug": "default", "name": tenant.name, "country": "NG"}
    assert document["customer"]["code"] == "ADA-1"
    assert document["customer"]["phone"] == "+2348031234567"
    assert set(document["sections"]) == {h.name for h in personal_data.handlers("export")}
    assert {"customers", "timeline", "events", "privacy"} <= set(document["sections"])
    # Every time reads one way, as the sections write theirs: ISO 8601 with the offset.
    exported_at = dt.datetime.fromisoformat(document["exported_at"])
    assert document["exported_at"] == exported_at.isoformat()
    assert document["exported_at"].endswith("+00:00")


def test_the_core_section_holds_everything_private_notes_included(tenant, customer):
    core = PrivacyService.export_customer(
        actor=Actor.for_system(tenant, "tests"), code=customer.code
    )["sections"]["customers"]

    assert core["profile"]["date_of_birth"] == "1990-04-02"
    assert [(p["type"], p["value"]) for p in core["contact_points"]] == [
        ("email", "ada.work@example.com")
    ]
    assert [(a["line1"], a["city"]) for a in core["addresses"]] == [("1 Marina", "Lagos")]
    assert [(i["provider"], i["external_id"]) for i in core["external_identities"]] == [
        ("shopify", "77")
    ]
    assert [(t["name"], t["added_by"]) for t in core["tags"]] == [("VIP", "system:tests")]
    assert sorted((n["content"], n["is_private"]) for n in core["notes"]) == [
        ("Likes mornings", False),
        ("Owes a call back", True),
    ]
    assert core["referrals"] == {
        "referred_by": "REFERRER",
        "referral_source": "",
        "referred": ["FRIEND-1"],
    }


def test_the_timeline_and_outbox_sections_hold_the_customers_events(tenant, customer):
    sections = PrivacyService.export_customer(
        actor=Actor.for_system(tenant, "tests"), code=customer.code
    )["sections"]

    assert "Visited the shop" in [event["title"] for event in sections["timeline"]]
    types = [event["type"] for event in sections["events"]]
    assert types[0] == "customer.created"
    assert "customer.tagged" in types
    # The referred friend's own creation event is about them, not about this customer.
    assert all(event["data"]["code"] == "ADA-1" for event in sections["events"])


def test_only_an_admin_may_export(tenant, customer, make_key):
    key, _ = make_key(tenant, ["write"])

    with pytest.raises(PermissionDenied):
        PrivacyService.export_customer(actor=Actor.for_api_key(key), code=customer.code)


def test_another_tenants_customer_is_not_found(other_tenant, customer):
    with pytest.raises(NotFound):
        PrivacyService.export_customer(
            actor=Actor.for_system(other_tenant, "tests"), code=customer.code
        )
