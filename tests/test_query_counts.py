"""List endpoints cost the same number of queries whatever the number of rows."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.consent.services import ConsentService
from rapport.customers.services import (
    ContactPointService,
    ExternalIdentityService,
    NoteService,
    TagService,
)
from rapport.loyalty.services import LoyaltyProgramService, LoyaltyService
from rapport.preferences.services import PreferenceService
from rapport.privacy.services import DataSubjectRequestService, PrivacyService
from rapport.timeline.services import TimelineService

pytestmark = pytest.mark.django_db

TARGET = "TARGET"
LIST_URLS = [
    "/customers",
    "/customers?tag=VIP",
    f"/customers/{TARGET}/notes",
    f"/customers/{TARGET}/timeline",
    "/activity",
    "/tags",
    f"/customers/{TARGET}/referrals",
    f"/customers/{TARGET}/tags",
    f"/customers/{TARGET}/contact-points",
    f"/customers/{TARGET}/external-identities",
    "/referrals/top",
    "/api-keys",
    f"/customers/{TARGET}/consents",
    f"/customers/{TARGET}/consents/history",
    "/consents/marketable?channel=email",
    "/data-subject-requests",
    "/data-subject-requests?overdue=false",
    "/erasures",
    f"/customers/{TARGET}/preferences",
    f"/customers/{TARGET}/preferences/by-category",
    f"/customers/{TARGET}/restrictions",
    f"/customers/{TARGET}/loyalty/transactions",
    f"/customers/{TARGET}/loyalty/transactions?transaction_type=reverse",
    "/loyalty/accounts",
    "/loyalty/rules",
    "/events",
    "/events?type=customer.*&dispatched=false",
]


@pytest.fixture
def grow(make_customer, make_key, system_actor, tenant):
    """grow(n): n customers referred by TARGET, tagged; TARGET gets n more of all it can have."""
    target = make_customer(code=TARGET, first_name="Target")

    def add(count: int) -> None:
        for _ in range(count):
            customer = make_customer(referred_by=target.code)
            TagService.add_tags(
                actor=system_actor, code=customer.code, names=["VIP", f"Tag {customer.code}"]
            )
            TagService.add_tags(
                actor=system_actor, code=target.code, names=[f"Tag {customer.code}"]
            )
            NoteService.add_note(actor=system_actor, code=target.code, content="note")
            NoteService.add_note(
                actor=system_actor, code=target.code, content="private", is_private=True
            )
            TimelineService.log_event(
                customer=target, event_type="contact", title="Called", actor=system_actor
            )
            ContactPointService.add_contact_point(
                actor=system_actor, code=target.code, type="other", value=customer.code
            )
            ExternalIdentityService.link(
                actor=system_actor, code=target.code, provider="shop", external_id=customer.code
            )
            make_key(tenant, ["read"])
            ConsentService.grant_consent(actor=system_actor, code=customer.code, channel="email")
            ConsentService.grant_consent(actor=system_actor, code=target.code, channel="sms")
            ConsentService.revoke_consent(actor=system_actor, code=target.code, channel="sms")
            erased = make_customer()  # archived once erased: not in the customer list
            DataSubjectRequestService.open_request(
                actor=system_actor, kind="erasure", customer_code=erased.code
            )
            PrivacyService.erase_customer(actor=system_actor, code=erased.code)
            PreferenceService.set_preference(
                actor=system_actor,
                code=target.code,
                category="diet",
                key=customer.code.lower(),
                value=[customer.code],
                preference_type="restriction",
            )
            LoyaltyService.enroll(actor=system_actor, code=customer.code)
            earned = LoyaltyService.earn_points(
                actor=system_actor, code=target.code, reference=customer.code, points=10
            )
            LoyaltyService.reverse_transaction(
                actor=system_actor,
                code=target.code,
                transaction_id=earned.transaction.uuid,
                reference=customer.code,
                points=1,
            )
            LoyaltyProgramService.create_rule(
                actor=system_actor, name=customer.code, kind="earn", points_per_unit=2
            )

    return add


def queries(client, url: str) -> int:
    client.get(url)  # the first request of a key records when it was used
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(context.captured_queries)


def test_list_queries_do_not_grow_with_rows(admin_api, grow):
    # Given a few rows of everything, each list is read; then again with ten times as many
    grow(3)
    few = {url: queries(admin_api, url) for url in LIST_URLS}
    grow(27)
    many = {url: queries(admin_api, url) for url in LIST_URLS}

    # Then no list costs more queries with more rows, and none costs many
    assert {url: (few[url], many[url]) for url in LIST_URLS if many[url] != few[url]} == {}
    assert {url: few[url] for url in LIST_URLS if few[url] > 6} == {}


def test_lists_really_hold_the_rows(admin_api, grow):
    grow(30)

    assert len(admin_api.get("/customers").json()["items"]) == 31
    assert len(admin_api.get(f"/customers/{TARGET}/referrals").json()["items"]) == 30
    assert len(admin_api.get(f"/customers/{TARGET}/notes").json()["items"]) == 50
    assert len(admin_api.get("/tags").json()) == 31
    assert len(admin_api.get(f"/customers/{TARGET}/tags").json()) == 30
    assert len(admin_api.get(f"/customers/{TARGET}/contact-points").json()) == 30
    assert len(admin_api.get(f"/customers/{TARGET}/external-identities").json()) == 30
    assert len(admin_api.get(f"/customers/{TARGET}/timeline").json()["items"]) == 50
    assert len(admin_api.get("/api-keys").json()) == 31
    assert len(admin_api.get(f"/customers/{TARGET}/consents/history").json()["items"]) == 50
    assert len(admin_api.get("/consents/marketable?channel=email").json()["items"]) == 30
    assert len(admin_api.get("/data-subject-requests").json()["items"]) == 30
    assert len(admin_api.get("/erasures").json()["items"]) == 30
    assert len(admin_api.get(f"/customers/{TARGET}/preferences").json()) == 30
    assert len(admin_api.get(f"/customers/{TARGET}/restrictions").json()) == 30
    assert len(admin_api.get(f"/customers/{TARGET}/loyalty/transactions").json()["items"]) == 50
    assert len(admin_api.get("/loyalty/accounts").json()["items"]) == 31
    assert len(admin_api.get("/loyalty/rules").json()) == 30
    assert len(admin_api.get(f"/customers/{TARGET}/preferences/by-category").json()["diet"]) == 30


def test_merge_list_queries_do_not_grow_with_rows(admin_api, make_customer, system_actor):
    from rapport.identity.services import MergeService

    def merge(count: int) -> None:
        for _ in range(count):
            survivor = make_customer(first_name="Ada", last_name="Obi", email="ada@example.com")
            duplicate = make_customer(first_name="Ada", last_name="Obi", email="ada@example.com")
            MergeService.merge(actor=system_actor, survivor=survivor.code, duplicate=duplicate.code)

    merge(2)
    few = queries(admin_api, "/merges")
    merge(18)
    many = queries(admin_api, "/merges")

    assert many == few
    assert few <= 6
    assert len(admin_api.get("/merges").json()["items"]) == 20


def test_identifier_and_duplicate_lists_do_not_grow_with_rows(admin_api, make_customer, tenant):
    from rapport.identity.services import IdentifierService
    from rapport.tenancy.actors import Actor

    actor = Actor.for_system(tenant, "tests")
    ada = make_customer(code="ADA", first_name="Ada", last_name="Obi", phone="08031234567")
    urls = [
        "/customers/ADA/identifiers",
        "/duplicates?min_score=0.1",
        "/customers/ADA/duplicates?min_score=0.1",
    ]

    def add_rows(start: int) -> None:
        for number in range(start, start + 3):
            IdentifierService.add_identifier(
                actor=actor, code=ada.code, type="manychat", value=f"sub-{number}"
            )
            make_customer(first_name="Ada", last_name="Obi", phone="08031234567")

    add_rows(0)
    few = [queries(admin_api, url) for url in urls]
    add_rows(3)
    many = [queries(admin_api, url) for url in urls]

    assert many == few
