"""The events REST endpoints: webhooks managed with an admin key, deliveries, the outbox."""

import base64

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from standardwebhooks.webhooks import Webhook

from rapport.events.dispatch import deliver_due, dispatch_outbox
from rapport.events.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db

PUBLIC_URL = "https://93.184.216.34/hooks/rapport"


def test_creating_a_webhook_shows_its_secret_once(admin_api):
    # When an endpoint is created
    response = admin_api.post(
        "/webhooks",
        {
            "url": PUBLIC_URL,
            "description": "Shop",
            "event_types": ["customer.*", "consent.changed"],
        },
    )

    # Then the answer holds the secret in full, in Standard Webhooks form
    assert response.status_code == 201
    body = response.json()
    secret = body["secret"]
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    Webhook(secret)  # the library accepts it
    assert body["url"] == PUBLIC_URL
    assert body["event_types"] == ["customer.*", "consent.changed"]
    assert (body["is_active"], body["disabled_reason"], body["disabled_at"]) == (True, "", None)
    # And later reads mask it
    shown = admin_api.get(f"/webhooks/{body['id']}").json()
    assert shown["secret"] == f"whsec_…{secret[-4:]}"
    assert admin_api.get("/webhooks").json()["items"][0]["secret"] == shown["secret"]
    assert WebhookEndpoint.objects.get().secret == secret


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": PUBLIC_URL, "event_types": ["Customer.Created"]}, "event_types"),
        ({"url": PUBLIC_URL, "event_types": ["customer"]}, "event_types"),
        ({"url": PUBLIC_URL, "event_types": ["*"]}, "event_types"),
        ({"url": PUBLIC_URL, "event_types": ["customer.*.x"]}, "event_types"),
        ({"url": PUBLIC_URL, "secret": "whsec_mine"}, "secret"),
        ({"url": "not a url"}, "url"),
        ({"url": "mailto:ops@example.com"}, "url"),
        ({}, "url"),
        ({"url": PUBLIC_URL, "description": "x" * 201}, "description"),
    ],
)
def test_bad_webhooks_are_refused_naming_the_field(admin_api, body, field):
    response = admin_api.post("/webhooks", body)

    assert response.status_code == 422, response.content
    assert field in response.json()["error"]["fields"]
    assert not WebhookEndpoint.objects.exists()


def test_webhooks_need_an_admin_key(api, read_api):
    assert api.post("/webhooks", {"url": PUBLIC_URL}).status_code == 403
    assert read_api.get("/webhooks").status_code == 403
    assert not WebhookEndpoint.objects.exists()


def test_patching_changes_only_the_fields_sent(admin_api):
    created = admin_api.post("/webhooks", {"url": PUBLIC_URL, "description": "Shop"}).json()
    path = f"/webhooks/{created['id']}"

    changed = admin_api.patch(path, {"event_types": ["customer.created", "customer.created"]})
    disabled = admin_api.patch(path, {"is_active": False})

    assert changed.status_code == 200
    assert changed.json()["event_types"] == ["customer.created"]
    assert changed.json()["description"] == "Shop"
    assert disabled.json()["is_active"] is False
    assert disabled.json()["disabled_reason"] == "Disabled by api_key:admin key"
    assert admin_api.patch(path, {"url": None}).status_code == 422
    assert admin_api.patch(path, {"secret": "x"}).status_code == 422
    enabled = admin_api.post(f"{path}/enable")
    assert enabled.status_code == 200
    assert (enabled.json()["is_active"], enabled.json()["disabled_reason"]) == (True, "")


def test_rotating_the_secret_shows_the_new_one_once(admin_api):
    created = admin_api.post("/webhooks", {"url": PUBLIC_URL}).json()

    rotated = admin_api.post(f"/webhooks/{created['id']}/rotate-secret")

    assert rotated.status_code == 200
    assert rotated.json()["secret"].startswith("whsec_")
    assert rotated.json()["secret"] != created["secret"]
    assert WebhookEndpoint.objects.get().secret == rotated.json()["secret"]


def test_deleting_a_webhook_removes_it_and_its_deliveries(admin_api, make_event):
    created = admin_api.post("/webhooks", {"url": PUBLIC_URL}).json()
    make_event()
    dispatch_outbox()

    assert admin_api.delete(f"/webhooks/{created['id']}").status_code == 204

    assert admin_api.get(f"/webhooks/{created['id']}").status_code == 404
    assert admin_api.delete(f"/webhooks/{created['id']}").status_code == 404
    assert not WebhookDelivery.objects.exists()


def test_deliveries_list_filter_and_show_their_attempts(
    admin_api, receiver, local_webhooks, make_event
):
    # Given one delivery delivered and one dead
    local_webhooks.RAPPORT_WEBHOOK_MAX_ATTEMPTS = 1
    receiver.statuses = [200, 500]
    webhook = admin_api.post("/webhooks", {"url": receiver.url}).json()
    first = make_event("customer.tagged")
    make_event("customer.untagged")
    dispatch_outbox()
    deliver_due()

    # When the deliveries are listed
    path = f"/webhooks/{webhook['id']}/deliveries"
    listed = admin_api.get(path).json()["items"]
    dead = admin_api.get(path, {"status": "dead"}).json()["items"]

    # Then each shows its event and outcome, and the filter narrows
    assert [(item["event"]["type"], item["status"]) for item in listed] == [
        ("customer.untagged", "dead"),
        ("customer.tagged", "delivered"),
    ]
    assert listed[1]["event"]["id"] == str(first.uuid)
    assert listed[1]["webhook"] == webhook["id"]
    assert [item["status"] for item in dead] == ["dead"]
    assert admin_api.get(path, {"status": "lost"}).status_code == 422
    # And one delivery shows every attempt
    detail = admin_api.get(f"/webhook-deliveries/{dead[0]['id']}").json()
    assert [(a["number"], a["status_code"], a["error"]) for a in detail["attempt_log"]] == [
        (1, 500, "HTTP 500")
    ]
    assert detail["last_response"] == "answered 500"

    # When the dead one is replayed
    replayed = admin_api.post(f"/webhook-deliveries/{dead[0]['id']}/replay")

    # Then it is pending again, and replaying a pending delivery is a conflict
    assert replayed.status_code == 200
    assert (replayed.json()["status"], replayed.json()["attempts"]) == ("pending", 0)
    again = admin_api.post(f"/webhook-deliveries/{dead[0]['id']}/replay")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "delivery_pending"
    assert deliver_due().delivered == 1


def test_the_outbox_lists_events_with_filters(read_api, make_event):
    tagged = make_event("customer.tagged")
    make_event("consent.changed", {"code": "ADA-1"})
    make_event("customer.archived", {"code": "ADA-1"})
    dispatch_outbox()
    waiting = make_event("customer.restored", {"code": "ADA-1"})

    def types(**params):
        response = read_api.get("/events", params)
        assert response.status_code == 200, response.content
        return [item["type"] for item in response.json()["items"]]

    assert types() == [
        "customer.restored",
        "customer.archived",
        "consent.changed",
        "customer.tagged",
    ]
    assert types(type="customer.*") == ["customer.restored", "customer.archived", "customer.tagged"]
    assert types(type="consent.changed") == ["consent.changed"]
    assert types(dispatched="false") == ["customer.restored"]
    assert types(dispatched="true", type="customer.*") == ["customer.archived", "customer.tagged"]
    page = read_api.get("/events", {"limit": 3}).json()
    assert len(page["items"]) == 3
    rest = read_api.get("/events", {"limit": 3, "cursor": page["next_cursor"]}).json()
    assert [item["type"] for item in rest["items"]] == ["customer.tagged"]

    one = read_api.get(f"/events/{tagged.uuid}").json()
    assert one == {
        **tagged.envelope(),
        "timestamp": one["timestamp"],
        "dispatched_at": one["dispatched_at"],
    }
    assert one["dispatched_at"] is not None
    assert read_api.get(f"/events/{waiting.uuid}").json()["dispatched_at"] is None


def test_another_tenants_events_are_not_listed(other_api, make_event):
    make_event()

    assert other_api.get("/events").json()["items"] == []


def test_list_queries_do_not_grow_with_rows(admin_api, receiver, local_webhooks, make_event):
    webhook = admin_api.post("/webhooks", {"url": receiver.url}).json()
    urls = ["/webhooks", f"/webhooks/{webhook['id']}/deliveries", "/events"]

    def add(count: int) -> None:
        for _ in range(count):
            admin_api.post("/webhooks", {"url": receiver.url})
            make_event()
        dispatch_outbox()
        deliver_due()

    def queries(url: str) -> int:
        admin_api.get(url)
        with CaptureQueriesContext(connection) as captured:
            assert admin_api.get(url).status_code == 200
        return len(captured)

    add(1)
    few = [queries(url) for url in urls]
    add(5)
    many = [queries(url) for url in urls]

    assert few == many
    assert max(few) <= 6
