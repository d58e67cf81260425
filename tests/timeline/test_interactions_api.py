"""The interaction endpoints through the real URL and auth."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.events.models import OutboxEvent
from rapport.tenancy.actors import Actor
from rapport.timeline.interactions import InteractionService, tenant_today
from rapport.timeline.models import Interaction

pytestmark = pytest.mark.django_db

CALL = {"interaction_type": "call", "channel": "phone", "direction": "inbound"}


@pytest.fixture
def customer(make_customer):
    return make_customer(code="ADA-1", first_name="Ada")


def test_log_read_and_list_an_interaction(api, customer):
    created = api.post(
        "/customers/ADA-1/interactions",
        {**CALL, "subject": "Vaccines", "handled_by": "Dr. Pablo", "duration_minutes": 5},
    )

    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["customer"], body["subject"], body["handled_by"], body["handled_by_name"]) == (
        "ADA-1",
        "Vaccines",
        None,
        "Dr. Pablo",
    )
    assert body["timeline_event"] is not None
    assert api.get(f"/interactions/{body['id']}").json() == body
    assert [i["id"] for i in api.get("/customers/ADA-1/interactions").json()["items"]] == [
        body["id"]
    ]
    assert [i["id"] for i in api.get("/interactions", {"channel": "phone"}).json()["items"]] == [
        body["id"]
    ]
    assert api.get("/interactions", {"channel": "email"}).json()["items"] == []
    timeline = api.get("/customers/ADA-1/timeline", {"event_type": "contact"}).json()["items"]
    assert [event["id"] for event in timeline] == [body["timeline_event"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**CALL, "channel": "pigeon"}, "channel"),
        ({**CALL, "duration_minutes": -5}, "duration_minutes"),
        ({**CALL, "subject": "x" * 201}, "subject"),
        ({**CALL, "follow_up_date": "2030-01-01"}, "follow_up_date"),
        ({**CALL, "occurred_at": "2999-01-01T00:00:00Z"}, "occurred_at"),
        ({**CALL, "occurred_at": "0001-01-01T00:00:00Z"}, "occurred_at"),
        ({**CALL, "follow_up_required": True, "follow_up_date": "9999-12-31"}, "follow_up_date"),
        ({**CALL, "mood": "happy"}, "mood"),
        ({"channel": "phone", "direction": "inbound"}, "interaction_type"),
    ],
)
def test_bad_interactions_get_422_naming_the_field(api, customer, body, field):
    response = api.post("/customers/ADA-1/interactions", body)

    assert response.status_code == 422, response.content
    assert field in response.json()["error"]["fields"]
    assert not Interaction.objects.exists()


def test_patch_and_complete_follow_up(api, customer):
    interaction = api.post("/customers/ADA-1/interactions", CALL).json()
    path = f"/interactions/{interaction['id']}"

    patched = api.patch(path, {"follow_up_required": True, "follow_up_date": "2025-01-10"})
    nulled = api.patch(path, {"channel": None})
    done = api.post(f"{path}/complete-follow-up")
    again = api.post(f"{path}/complete-follow-up")

    assert patched.status_code == 200
    assert (patched.json()["follow_up_required"], patched.json()["follow_up_date"]) == (
        True,
        "2025-01-10",
    )
    assert nulled.status_code == 422 and set(nulled.json()["error"]["fields"]) == {"channel"}
    assert done.status_code == 200 and done.json()["follow_up_done_at"] is not None
    assert again.status_code == 409


def test_follow_ups_list_open_ones_due_by_the_tenants_day(api, customer, tenant):
    actor = Actor.for_system(tenant, "tests")
    for days in (-2, 0, 3):
        InteractionService.log_interaction(
            actor=actor,
            customer=customer,
            follow_up_required=True,
            follow_up_date=tenant_today(tenant) + dt.timedelta(days=days),
            **CALL,
        )

    due = api.get("/interactions/follow-ups").json()["items"]
    today = api.get("/interactions/follow-ups", {"when": "today"}).json()["items"]
    overdue = api.get("/interactions/follow-ups", {"when": "overdue", "limit": 1}).json()

    assert [i["follow_up_date"] for i in due] == sorted(i["follow_up_date"] for i in due)
    assert len(due) == 2
    assert len(today) == 1
    assert len(overdue["items"]) == 1 and overdue["next_cursor"] is None
    assert api.get("/interactions/follow-ups", {"when": "later"}).status_code == 422


def test_stats_by_channel_staff_and_day(api, customer, tenant):
    actor = Actor.for_system(tenant, "tests")
    at = dt.datetime(2025, 3, 1, 12, tzinfo=dt.UTC)
    for channel in ("phone", "whatsapp", "whatsapp"):
        InteractionService.log_interaction(
            actor=actor,
            customer=customer,
            interaction_type="call",
            channel=channel,
            direction="outbound",
            handled_by="Bola",
            occurred_at=at,
        )
    period = {"since": "2025-02-28", "until": "2025-03-01"}

    channels = api.get("/interactions/stats", {"by": "channel", **period}).json()
    staff = api.get("/interactions/stats", {"by": "staff", **period}).json()
    days = api.get("/interactions/stats", {"by": "day", **period}).json()

    assert channels == {
        "by": "channel",
        **period,
        "rows": [{"key": "whatsapp", "count": 2}, {"key": "phone", "count": 1}],
    }
    assert staff["rows"] == [{"key": "Bola", "count": 3}]
    assert days["rows"] == [{"key": "2025-02-28", "count": 0}, {"key": "2025-03-01", "count": 3}]
    backwards = api.get("/interactions/stats", {"since": "2025-03-02", "until": "2025-03-01"})
    too_long = api.get("/interactions/stats", {"since": "2020-01-01", "until": "2025-03-01"})
    calendar_end = api.get("/interactions/stats", {"since": "0001-01-01", "until": "0001-01-02"})
    assert backwards.status_code == too_long.status_code == calendar_end.status_code == 422
    assert api.get("/interactions/stats").status_code == 200


def test_a_read_key_cannot_write_and_another_tenant_gets_404(api, read_api, other_api, customer):
    interaction = api.post("/customers/ADA-1/interactions", CALL).json()
    path = f"/interactions/{interaction['id']}"

    assert read_api.post("/customers/ADA-1/interactions", CALL).status_code == 403
    assert other_api.get(path).status_code == 404
    assert other_api.patch(path, {"subject": "Injected"}).status_code == 404
    assert other_api.post(f"{path}/complete-follow-up").status_code == 404
    assert other_api.post("/customers/ADA-1/interactions", CALL).status_code == 404
    assert other_api.get("/interactions").json()["items"] == []
    assert other_api.get("/interactions/stats", {"by": "channel"}).json()["rows"] == []
    assert Interaction.objects.get().subject == ""
    assert OutboxEvent.objects.filter(type__startswith="interaction.").count() == 1


def queries(client, url: str) -> int:
    client.get(url)
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(context.captured_queries)


def test_interaction_lists_cost_the_same_queries_whatever_the_rows(api, customer, tenant, make_key):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(username="amaka")
    make_key(tenant, ["write"], user=user)
    actor = Actor.for_system(tenant, "tests")
    urls = [
        "/interactions",
        "/customers/ADA-1/interactions",
        "/interactions/follow-ups",
        "/interactions/stats?by=day",
        "/interactions/stats?by=staff",
    ]

    def grow(count: int) -> None:
        for number in range(count):
            InteractionService.log_interaction(
                actor=actor,
                customer=customer,
                handled_by="amaka" if number % 2 else "Bola",
                follow_up_required=True,
                **CALL,
            )

    grow(2)
    few = [queries(api, url) for url in urls]
    grow(10)
    many = [queries(api, url) for url in urls]

    assert many == few
    assert max(few) <= 6
