"""List endpoints cost the same number of queries whatever the number of rows."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.customers.services import (
    ContactPointService,
    ExternalIdentityService,
    NoteService,
    TagService,
)
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

    return add


def queries(client, url: str) -> int:
    client.get(url)  # the first request of a key records when it was used
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(context.captured_queries)


@pytest.mark.parametrize("url", LIST_URLS)
def test_list_queries_do_not_grow_with_rows(admin_api, grow, url):
    grow(3)
    few = queries(admin_api, url)

    grow(27)
    many = queries(admin_api, url)

    assert many == few, url
    assert few <= 6, url


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
