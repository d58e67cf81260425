"""A customer's timeline and the activity feed through the real URLs and API keys."""

import datetime as dt

import pytest

from rapport.tenancy.actors import Actor
from rapport.timeline.models import TimelineEvent
from rapport.timeline.services import TimelineService

pytestmark = pytest.mark.django_db


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    return body["error"]


def titles(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [event["title"] for event in response.json()["items"]]


@pytest.fixture
def customer(make_customer):
    return make_customer(first_name="Ada")


def test_a_new_customer_has_a_creation_event(api, customer):
    response = api.get(f"/customers/{customer.code}/timeline")

    assert response.status_code == 200
    [event] = response.json()["items"]
    assert event["customer"] == customer.code
    assert event["event_type"] == "profile"
    assert event["title"] == "Customer created"
    assert event["actor"] == "system:tests"
    assert event["metadata"] == {"kind": "created"}
    assert response.json()["next_cursor"] is None


def test_log_a_custom_event(api, customer):
    response = api.post(
        f"/customers/{customer.code}/timeline",
        {
            "event_type": "contact",
            "title": "Called about the order",
            "description": "She will come on Friday",
            "channel": "phone",
            "reference": "ticket:456",
            "metadata": {"minutes": 4},
        },
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["customer"] == customer.code
    assert body["event_type"] == "contact"
    assert body["title"] == "Called about the order"
    assert body["channel"] == "phone"
    assert body["reference"] == "ticket:456"
    assert body["metadata"] == {"minutes": 4}
    assert body["actor"] == "api_key:test key"
    stored = TimelineEvent.objects.get(uuid=body["id"])
    assert stored.customer == customer
    assert titles(api.get(f"/customers/{customer.code}/timeline"))[0] == "Called about the order"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"event_type": "party", "title": "x"}, "event_type"),
        ({"event_type": "contact", "title": ""}, "title"),
        ({"event_type": "contact", "title": "   "}, "title"),
        ({"event_type": "contact", "title": "x" * 201}, "title"),
        ({"event_type": "contact", "title": "x", "reference": "r" * 201}, "reference"),
        ({"event_type": "contact", "title": "x", "metadata": [1]}, "metadata"),
        ({"event_type": "contact", "title": "x", "actor": "someone"}, "actor"),
        ({"title": "x"}, "event_type"),
    ],
)
def test_log_event_rejects_bad_input(api, customer, body, field):
    before = TimelineEvent.objects.count()

    error = error_of(api.post(f"/customers/{customer.code}/timeline", body), 422)

    assert field in error["fields"]
    assert TimelineEvent.objects.count() == before


def test_timeline_filters_by_event_type(api, customer, system_actor):
    for event_type, title in [("contact", "Called"), ("visit", "Came in"), ("contact", "Texted")]:
        TimelineService.log_event(
            customer=customer, event_type=event_type, title=title, actor=system_actor
        )

    assert titles(api.get(f"/customers/{customer.code}/timeline", {"event_type": "contact"})) == [
        "Texted",
        "Called",
    ]
    assert titles(api.get(f"/customers/{customer.code}/timeline", {"event_type": "order"})) == []
    error = error_of(api.get(f"/customers/{customer.code}/timeline", {"event_type": "x"}), 422)
    assert set(error["fields"]) == {"event_type"}


def test_timeline_is_newest_first_and_paginated(api, customer, system_actor):
    for number in range(5):
        TimelineService.log_event(
            customer=customer, event_type="contact", title=f"Call {number}", actor=system_actor
        )
    TimelineEvent.objects.update(created_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC))

    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        response = api.get(f"/customers/{customer.code}/timeline", params)
        seen += titles(response)
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break

    assert seen == [f"Call {n}" for n in reversed(range(5))] + ["Customer created"]


def test_timeline_shows_one_customers_events_only(api, customer, make_customer):
    other = make_customer(first_name="Other")
    api.post(f"/customers/{other.code}/timeline", {"event_type": "visit", "title": "Other visit"})

    assert titles(api.get(f"/customers/{customer.code}/timeline")) == ["Customer created"]


def test_timeline_of_an_unknown_customer_is_404(api):
    error_of(api.get("/customers/NOBODY/timeline"), 404)
    error_of(api.post("/customers/NOBODY/timeline", {"event_type": "visit", "title": "x"}), 404)
    assert not TimelineEvent.objects.exists()


def test_read_key_reads_but_cannot_log(read_api, customer):
    assert read_api.get(f"/customers/{customer.code}/timeline").status_code == 200

    error = error_of(
        read_api.post(
            f"/customers/{customer.code}/timeline", {"event_type": "visit", "title": "x"}
        ),
        403,
    )

    assert error["code"] == "forbidden"
    assert TimelineEvent.objects.count() == 1


def test_activity_feed_spans_the_tenants_customers(api, make_customer, other_tenant):
    ada = make_customer(first_name="Ada")
    bola = make_customer(first_name="Bola")
    make_customer(actor=Actor.for_system(other_tenant, "tests"), first_name="Elsewhere")
    api.post(f"/customers/{ada.code}/timeline", {"event_type": "visit", "title": "Ada came"})
    api.post(f"/customers/{bola.code}/timeline", {"event_type": "order", "title": "Bola paid"})

    response = api.get("/activity")

    assert response.status_code == 200
    items = response.json()["items"]
    assert [(e["customer"], e["title"]) for e in items] == [
        (bola.code, "Bola paid"),
        (ada.code, "Ada came"),
        (bola.code, "Customer created"),
        (ada.code, "Customer created"),
    ]
    assert titles(api.get("/activity", {"event_type": "visit"})) == ["Ada came"]


def test_activity_feed_is_paginated(api, make_customer):
    for _ in range(5):
        make_customer()

    first = api.get("/activity", {"limit": 3})
    second = api.get("/activity", {"limit": 3, "cursor": first.json()["next_cursor"]})

    ids = [e["id"] for e in first.json()["items"] + second.json()["items"]]
    assert len(ids) == len(set(ids)) == 5
    assert second.json()["next_cursor"] is None
    error_of(api.get("/activity", {"limit": 0}), 422)
    error_of(api.get("/activity", {"cursor": "broken"}), 422)
    error_of(api.get("/activity", {"event_type": "party"}), 422)


def test_activity_needs_a_key(anonymous_api):
    assert error_of(anonymous_api.get("/activity"), 401)["code"] == "unauthorized"


@pytest.mark.parametrize("metadata", ['{"x": NaN}', '{"x": 100000000000000000000000}'])
def test_log_event_refuses_metadata_that_cannot_be_read_back(api, customer, metadata):
    before = TimelineEvent.objects.count()

    response = api.post(
        f"/customers/{customer.code}/timeline",
        '{"event_type": "visit", "title": "x", "metadata": ' + metadata + "}",
    )

    assert set(error_of(response, 422)["fields"]) == {"metadata"}
    assert TimelineEvent.objects.count() == before
    assert api.get(f"/customers/{customer.code}/timeline").status_code == 200
