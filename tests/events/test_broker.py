"""Publishing to a real RabbitMQ: a durable topic exchange, one confirmed message per event."""

import json
import os
import socket
import uuid

import pytest
from kombu import Connection, Exchange, Queue
from kombu.exceptions import KombuError

from rapport.events.broker import BrokerError
from rapport.events.dispatch import dispatch_outbox
from rapport.events.models import OutboxEvent, WebhookDelivery

pytestmark = pytest.mark.django_db

RABBITMQ_URL = os.environ.get("RAPPORT_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")


def _rabbitmq_is_up() -> bool:
    try:
        with Connection(RABBITMQ_URL, connect_timeout=2) as connection:
            connection.ensure_connection(max_retries=1)
        return True
    except (OSError, KombuError):
        return False


# On CI RabbitMQ is always there: a missing broker must fail the run, not skip it.
needs_rabbitmq = pytest.mark.skipif(
    os.environ.get("CI") != "true" and not _rabbitmq_is_up(),
    reason=f"RabbitMQ is not reachable at {RABBITMQ_URL}",
)


@pytest.fixture
def broker(settings):
    """RABBITMQ_URL set, an exchange of this test's own, and a queue bound to it."""
    settings.RABBITMQ_URL = RABBITMQ_URL
    settings.RAPPORT_EVENTS_EXCHANGE = f"rapport.events.test-{uuid.uuid4().hex[:8]}"
    exchange = Exchange(settings.RAPPORT_EVENTS_EXCHANGE, type="topic", durable=True)
    with Connection(RABBITMQ_URL, connect_timeout=5) as connection:
        channel = connection.channel()
        exchange(channel).declare()

        def bind(routing_key: str) -> Queue:
            queue = Queue(
                f"test-{uuid.uuid4().hex[:8]}",
                exchange=exchange,
                routing_key=routing_key,
                exclusive=True,
                auto_delete=True,
            )(channel)
            queue.declare()
            return queue

        yield bind
        exchange(channel).delete()


def drain(queue: Queue) -> list:
    messages = []
    while (message := queue.get(no_ack=True)) is not None:
        messages.append(message)
    return messages


@needs_rabbitmq
def test_each_event_is_published_as_its_envelope(broker, make_event):
    # Given consumers bound to every event and to customer events of any tenant
    everything = broker("#")
    customers = broker("*.customer.*")
    tagged = make_event("customer.tagged", {"code": "ADA-1", "tags": ["VIP"]})
    make_event("consent.changed", {"code": "ADA-1", "channel": "email"})

    # When the outbox is dispatched
    assert dispatch_outbox() == 2

    # Then each event arrived once, as its envelope, persistent and labelled
    received = drain(everything)
    assert [json.loads(message.body) for message in received] == [
        json.loads(json.dumps(event.envelope())) for event in OutboxEvent.objects.order_by("id")
    ]
    first = received[0]
    assert first.delivery_info["routing_key"] == "default.customer.tagged"
    assert first.content_type == "application/json"
    assert first.properties["delivery_mode"] == 2
    assert first.properties["message_id"] == str(tagged.uuid)
    assert first.properties["type"] == "customer.tagged"
    assert first.headers == {"tenant": "default", "type": "customer.tagged"}
    assert [message.properties["type"] for message in drain(customers)] == ["customer.tagged"]
    assert OutboxEvent.objects.filter(dispatched_at__isnull=True).count() == 0


@needs_rabbitmq
def test_the_routing_key_names_the_tenant(broker, make_event, other_tenant):
    theirs = broker("other-shop.#")
    make_event("customer.tagged")
    make_event("customer.tagged", of_tenant=other_tenant)

    dispatch_outbox()

    assert [message.delivery_info["routing_key"] for message in drain(theirs)] == [
        "other-shop.customer.tagged"
    ]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_broker_that_is_down_leaves_the_events_undispatched(
    settings, receiver, make_endpoint, make_event
):
    # Given a webhook, two events, and a broker nobody answers at
    settings.RABBITMQ_URL = f"amqp://guest:guest@127.0.0.1:{_closed_port()}//"
    settings.RAPPORT_EVENTS_BROKER_TIMEOUT = 1
    make_endpoint(receiver.url)
    make_event()
    make_event()

    # When the dispatcher runs
    with pytest.raises(BrokerError):
        dispatch_outbox()

    # Then nothing moved on: no delivery queued, the events wait with the attempt counted
    assert not WebhookDelivery.objects.exists()
    assert list(OutboxEvent.objects.values_list("dispatched_at", "attempts")) == [
        (None, 1),
        (None, 1),
    ]

    # And once the broker setting is fixed (here: unset), they go out
    settings.RABBITMQ_URL = None
    assert dispatch_outbox() == 2
    assert WebhookDelivery.objects.count() == 2
