"""From the outbox to a real HTTP receiver: signing, filters, retries, 410, dead letters, replay."""

import datetime as dt
import json

import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from rapport import __version__
from rapport.events.dispatch import Outcome, _record, deliver_due, dispatch_outbox, retry_delay
from rapport.events.models import DeliveryStatus, OutboxEvent, WebhookAttempt, WebhookDelivery
from rapport.events.webhooks import WebhookService, new_secret
from rapport.exceptions import Conflict

pytestmark = pytest.mark.django_db


def later(minutes: float) -> dt.datetime:
    return timezone.now() + dt.timedelta(minutes=minutes)


def test_a_delivered_webhook_is_signed_and_verifies_with_the_endpoint_secret(
    receiver, make_endpoint, make_event
):
    # Given an endpoint and an event in the outbox
    endpoint = make_endpoint(receiver.url)
    event = make_event("customer.tagged", {"code": "ADA-1", "tags": ["VIP"]})

    # When the dispatcher runs both steps
    assert dispatch_outbox() == 1
    run = deliver_due()

    # Then the receiver got the envelope, signed per Standard Webhooks
    assert (run.claimed, run.delivered) == (1, 1)
    [request] = receiver.requests
    assert request.path == "/hooks/rapport"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == f"rapport/{__version__}"
    assert request.headers["webhook-id"] == str(event.uuid)
    payload = Webhook(endpoint.secret).verify(request.body, request.headers)
    assert payload == json.loads(json.dumps(OutboxEvent.objects.get().envelope()))
    assert payload["type"] == "customer.tagged"
    assert payload["tenant"] == "default"
    # And another secret does not verify it
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(request.body, request.headers)
    # And the delivery is recorded as delivered, with its attempt
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert (delivery.attempts, delivery.last_status_code) == (1, 200)
    assert delivery.last_response == "answered 200"
    assert delivery.delivered_at is not None
    assert delivery.locked_until is None
    assert list(delivery.attempt_log.values_list("number", "status_code", "error")) == [
        (1, 200, "")
    ]
    assert OutboxEvent.objects.get().dispatched_at is not None


def test_an_event_goes_only_to_endpoints_whose_filter_matches(receiver, make_endpoint, make_event):
    every = make_endpoint(receiver.url + "?every")
    customers = make_endpoint(receiver.url + "?customers", event_types=["customer.*"])
    exact = make_endpoint(receiver.url + "?exact", event_types=["consent.changed"])
    make_endpoint(receiver.url + "?off", is_active=False)
    make_event("customer.tagged")
    make_event("consent.changed", {"code": "ADA-1"})
    make_event("loyalty.points_earned", {"code": "ADA-1"})

    dispatch_outbox()

    sent = {
        (delivery.endpoint_id, delivery.event.type)
        for delivery in WebhookDelivery.objects.select_related("event")
    }
    assert sent == {
        (every.pk, "customer.tagged"),
        (every.pk, "consent.changed"),
        (every.pk, "loyalty.points_earned"),
        (customers.pk, "customer.tagged"),
        (exact.pk, "consent.changed"),
    }
    assert deliver_due().delivered == 5
    assert sorted(request.path.split("?")[1] for request in receiver.requests) == [
        "customers",
        "every",
        "every",
        "every",
        "exact",
    ]


def test_another_tenants_events_never_reach_an_endpoint(
    receiver, make_endpoint, make_event, other_tenant
):
    make_endpoint(receiver.url)
    make_event("customer.tagged", of_tenant=other_tenant)

    assert dispatch_outbox() == 1

    assert not WebhookDelivery.objects.exists()
    assert deliver_due().claimed == 0
    assert receiver.requests == []


def test_dispatching_twice_queues_each_event_once(receiver, make_endpoint, make_event):
    make_endpoint(receiver.url)
    make_event()

    assert dispatch_outbox() == 1
    assert dispatch_outbox() == 0

    assert WebhookDelivery.objects.count() == 1
    assert OutboxEvent.objects.get().attempts == 1


def test_a_failed_attempt_is_retried_later_with_backoff(receiver, make_endpoint, make_event):
    # Given a receiver that fails once, then accepts
    receiver.statuses = [500]
    make_endpoint(receiver.url)
    make_event()
    dispatch_outbox()

    # When the first attempt fails
    now = timezone.now()
    first = deliver_due(now=now)

    # Then the delivery waits, up to the first retry's ceiling (60 s), and is not due before
    assert (first.retrying, first.delivered) == (1, 0)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING
    assert (delivery.attempts, delivery.last_status_code, delivery.last_error) == (
        1,
        500,
        "HTTP 500",
    )
    assert now <= delivery.next_attempt_at <= now + dt.timedelta(seconds=60)
    assert delivery.locked_until is None
    if delivery.next_attempt_at > now:
        assert deliver_due(now=now).claimed == 0

    # When the time comes
    second = deliver_due(now=now + dt.timedelta(seconds=61))

    # Then the second attempt delivers it
    assert second.delivered == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 2)
    assert list(delivery.attempt_log.values_list("number", "status_code")) == [(1, 500), (2, 200)]
    assert len(receiver.requests) == 2
    assert receiver.requests[0].headers["webhook-id"] == receiver.requests[1].headers["webhook-id"]


def test_retry_delays_double_up_to_the_cap_with_full_jitter(settings):
    settings.RAPPORT_WEBHOOK_RETRY_BASE = 10
    settings.RAPPORT_WEBHOOK_RETRY_CAP = 100

    ceilings = {attempts: max(retry_delay(attempts) for _ in range(300)) for attempts in (1, 2, 5)}
    floors = {attempts: min(retry_delay(attempts) for _ in range(300)) for attempts in (1, 2, 5)}

    assert 5 < ceilings[1] <= 10
    assert 10 < ceilings[2] <= 20
    assert 50 < ceilings[5] <= 100  # 160, capped
    assert all(0 <= floor < 5 for floor in floors.values())


def test_a_timeout_is_a_failed_attempt(receiver, make_endpoint, make_event, settings):
    settings.RAPPORT_WEBHOOK_TIMEOUT = 0.2
    receiver.delay = 0.5
    make_endpoint(receiver.url)
    make_event()
    dispatch_outbox()

    run = deliver_due()

    assert run.retrying == 1
    delivery = WebhookDelivery.objects.get()
    assert delivery.last_status_code is None
    assert delivery.last_error == "No answer within 0.2 seconds"


def test_an_unreachable_receiver_is_a_failed_attempt(make_endpoint, make_event):
    make_endpoint("http://127.0.0.1:9/nothing-listens-here")
    make_event()
    dispatch_outbox()

    assert deliver_due().retrying == 1

    delivery = WebhookDelivery.objects.get()
    assert delivery.last_error.startswith("ConnectionRefusedError")
    assert WebhookAttempt.objects.get().status_code is None


def test_410_gone_disables_the_endpoint_and_stops_its_deliveries(
    receiver, make_endpoint, make_event, actor
):
    # Given three events for an endpoint that answers 410 Gone
    receiver.default = 410
    endpoint = make_endpoint(receiver.url)
    for _ in range(3):
        make_event()
    dispatch_outbox()

    # When the dispatcher tries them
    run = deliver_due()

    # Then one request was made, the endpoint is off with the reason, nothing is dead
    assert len(receiver.requests) == 1
    assert (run.disabled, run.released, run.dead) == (1, 2, 0)
    endpoint.refresh_from_db()
    assert endpoint.is_active is False
    assert "410 Gone" in endpoint.disabled_reason
    assert endpoint.disabled_at is not None
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"pending"}
    assert deliver_due(now=later(60 * 24)).claimed == 0
    # And new events are not queued for it
    make_event()
    dispatch_outbox()
    assert WebhookDelivery.objects.count() == 3

    # When it is enabled again and now accepts
    receiver.default = 200
    WebhookService.enable_endpoint(actor=actor, webhook_id=endpoint.uuid)
    run = deliver_due()

    # Then the waiting deliveries go out
    assert run.delivered == 3
    endpoint.refresh_from_db()
    assert (endpoint.is_active, endpoint.disabled_reason, endpoint.disabled_at) == (True, "", None)


def test_a_delivery_is_dead_after_the_last_attempt_and_replay_sends_it_again(
    receiver, make_endpoint, make_event, actor, settings
):
    # Given at most three attempts, and a receiver failing every time
    settings.RAPPORT_WEBHOOK_MAX_ATTEMPTS = 3
    receiver.default = 503
    make_endpoint(receiver.url)
    make_event()
    dispatch_outbox()

    # When three attempts fail, each after its wait
    runs = [deliver_due(now=later(minutes)) for minutes in (0, 10, 20)]

    # Then the third leaves the delivery dead, and no fourth attempt comes
    assert [(run.retrying, run.dead) for run in runs] == [(1, 0), (1, 0), (0, 1)]
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DEAD, 3)
    assert deliver_due(now=later(60 * 24 * 7)).claimed == 0
    assert len(receiver.requests) == 3

    # When it is replayed and the receiver is back
    receiver.default = 200
    replayed = WebhookService.replay_delivery(actor=actor, delivery_id=delivery.uuid)

    # Then it is a fresh round, sent at once, and the log keeps counting
    assert (replayed.status, replayed.attempts) == (DeliveryStatus.PENDING, 0)
    assert deliver_due().delivered == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 1)
    assert list(delivery.attempt_log.values_list("number", "status_code")) == [
        (1, 503),
        (2, 503),
        (3, 503),
        (4, 200),
    ]
    # And a pending delivery cannot be replayed
    WebhookService.replay_delivery(actor=actor, delivery_id=delivery.uuid)
    with pytest.raises(Conflict):
        WebhookService.replay_delivery(actor=actor, delivery_id=delivery.uuid)


def test_a_claim_whose_lease_expired_is_due_again(receiver, make_endpoint, make_event):
    # Given a delivery claimed by a dispatcher that died before sending it
    make_endpoint(receiver.url)
    make_event()
    dispatch_outbox()
    now = timezone.now()
    WebhookDelivery.objects.update(locked_until=now + dt.timedelta(minutes=5))

    # Then no one else takes it while the lease holds
    assert deliver_due(now=now).claimed == 0
    assert receiver.requests == []

    # But once the lease has run out it is sent
    assert deliver_due(now=now + dt.timedelta(minutes=6)).delivered == 1
    assert len(receiver.requests) == 1


def test_an_outcome_after_the_lease_was_taken_over_only_logs_the_attempt(
    receiver, make_endpoint, make_event
):
    # Given a delivery whose lease another dispatcher took over (its locked_until differs)
    make_endpoint(receiver.url)
    make_event()
    dispatch_outbox()
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.update(locked_until=later(5))

    # When the first dispatcher records its late failure
    result = _record(
        delivery, Outcome(500, "HTTP 500", "", 3), at=timezone.now(), locked_until=later(1)
    )

    # Then the delivery is left as the other dispatcher holds it, the attempt logged
    assert result is None
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 0)
    assert WebhookAttempt.objects.count() == 1


def test_the_batch_stops_and_hands_back_what_its_lease_cannot_cover(
    receiver, make_endpoint, make_event, settings
):
    # Given a lease too short for a request at the configured timeout
    settings.RAPPORT_WEBHOOK_LEASE = 5
    settings.RAPPORT_WEBHOOK_TIMEOUT = 3
    make_endpoint(receiver.url)
    make_event()
    dispatch_outbox()

    run = deliver_due()

    assert (run.claimed, run.released) == (1, 1)
    assert receiver.requests == []
    assert WebhookDelivery.objects.get().locked_until is None
