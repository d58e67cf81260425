"""`rapport consume` against a real RabbitMQ: events applied once, acknowledged only after they
commit, dead-lettered when they can never apply. Each test has queues of its own."""

import io
import json
import os
import signal
import socket
import threading
import uuid

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from kombu import Connection, Exchange, Producer, Queue

from rapport.commerce.models import Order
from rapport.ingest import inbound
from rapport.ingest.consumer import Topology, declare, parse_message
from rapport.ingest.models import InboundEvent
from rapport.tenancy.actors import Actor
from tests.ingest.inbound_support import counts, envelope, loyalty_program, order_data, points_of

BROKER_URL = os.environ.get("RABBITMQ_TEST_URL", "amqp://guest:guest@127.0.0.1:5672//")


def _broker_is_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=1):
            return True
    except OSError:
        return False


pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        os.environ.get("CI") != "true" and not _broker_is_up(), reason="RabbitMQ is not running"
    ),
]


@pytest.fixture
def broker():
    """A queue, exchange and dead-letter queue of this test's own, removed afterwards."""
    name = f"rapport.test.{uuid.uuid4().hex[:12]}"
    topology = Topology(queue=name, exchange=name)
    with Connection(BROKER_URL) as connection:
        channel = connection.channel()
        declare(channel, topology)
        yield Broker(connection, topology)
        channel = connection.channel()
        for queue in (topology.queue, topology.dead_letter):
            channel.queue_delete(queue)
        for exchange in (topology.exchange, topology.dead_letter):
            channel.exchange_delete(exchange)


class Broker:
    def __init__(self, connection: Connection, topology: Topology) -> None:
        self.connection = connection
        self.topology = topology

    def publish(self, message, routing_key: str = "order.created") -> None:
        body = message if isinstance(message, str | bytes) else json.dumps(message)
        producer = Producer(self.connection.channel())
        producer.publish(
            body,
            exchange=Exchange(self.topology.exchange, type="topic", durable=True),
            routing_key=routing_key,
            content_type="application/json",
            content_encoding="utf-8",
            delivery_mode=2,
        )

    def waiting(self, queue: str) -> int:
        """Messages ready in a queue."""
        _, count, _ = self.connection.channel().queue_declare(queue=queue, passive=True)
        return count

    def take_dead_letter(self):
        message = Queue(self.topology.dead_letter)(self.connection.channel()).get(no_ack=True)
        return None if message is None else json.loads(message.body)


def consume(broker: Broker, **options) -> str:
    out = io.StringIO()
    with override_settings(RABBITMQ_URL=BROKER_URL):
        call_command(
            "consume",
            queue=broker.topology.queue,
            exchange=broker.topology.exchange,
            stdout=out,
            **{"timeout": 2, **options},
        )
    return out.getvalue()


@pytest.fixture
def ada(make_customer):
    return make_customer(code="ADA-1", first_name="Ada", email="ada@example.com")


def test_a_published_event_is_applied_and_acknowledged(broker, ada, tenant):
    # Given a loyalty program and an order.completed event on the queue
    loyalty_program(Actor.for_system(tenant, "tests"))
    event = envelope("order.completed", order_data({"code": ada.code}), tenant="default")
    broker.publish(event, routing_key="order.completed")

    # When rapport consumes one message
    output = consume(broker, max_messages=1)

    # Then the order is recorded and earned, the event kept as from the broker, the queue empty
    assert "1 applied" in output
    assert Order.objects.get().status == "completed"
    assert points_of(ada) == 4500
    stored = InboundEvent.objects.get()
    assert (stored.event_id, stored.source, stored.status) == (event["id"], "broker", "applied")
    assert broker.waiting(broker.topology.queue) == 0


def test_the_same_message_twice_is_applied_once(broker, ada):
    event = envelope("order.created", order_data({"code": ada.code}))
    broker.publish(event)
    broker.publish(event)

    output = consume(broker, max_messages=2)

    assert "1 applied, 1 replayed" in output
    assert Order.objects.count() == 1
    assert InboundEvent.objects.count() == 1
    assert broker.waiting(broker.topology.queue) == 0


@pytest.mark.parametrize(
    "message",
    [
        "not json at all",
        json.dumps(["a", "list"]),
        json.dumps({"id": "x", "type": "order.exploded", "data": {}}),
        json.dumps(envelope("order.created", {"external_id": "1"})),
        json.dumps(envelope("user.registered", {"user_id": "u"}, tenant="no-such-shop")),
    ],
    ids=["not-json", "not-an-object", "unknown-type", "missing-fields", "unknown-tenant"],
)
def test_an_invalid_message_goes_to_the_dead_letter_queue(broker, message):
    before = counts()
    broker.publish(message)

    output = consume(broker, max_messages=1)

    assert "1 invalid" in output
    assert counts() == before
    assert broker.waiting(broker.topology.queue) == 0
    assert broker.waiting(broker.topology.dead_letter) == 1


def test_a_valid_event_that_cannot_apply_is_kept_rejected_and_dead_lettered(broker, ada):
    # Given a refund for an order nobody sent yet
    refund = envelope("order.refunded", {"external_id": "ORD-LATE", "amount_q": 100})
    broker.publish(refund)

    # When it is consumed
    output = consume(broker, max_messages=1)

    # Then it is kept as rejected with the reason, and the message is dead-lettered
    assert "1 rejected" in output
    stored = InboundEvent.objects.get()
    assert (stored.status, stored.source) == ("rejected", "broker")
    assert stored.result["error"]["code"] == "order_not_found"
    assert broker.take_dead_letter()["id"] == refund["id"]

    # And when the order arrives and the refund is delivered again, it applies
    created = envelope("order.completed", order_data({"code": ada.code}, external_id="ORD-LATE"))
    broker.publish(created)
    broker.publish(refund)
    assert "2 applied" in consume(broker, max_messages=2)
    stored.refresh_from_db()
    assert stored.status == "applied"
    assert Order.objects.get().refunded_q == 100


def test_a_message_not_acknowledged_is_delivered_again_and_applied_once(broker, ada):
    # Given an event taken off the queue and applied, by a consumer that died before its ack
    event = envelope("order.created", order_data({"code": ada.code}))
    broker.publish(event)
    with Connection(BROKER_URL) as dying:
        message = Queue(broker.topology.queue)(dying.channel()).get(no_ack=False)
        tenant, parsed = parse_message(message.body)
        inbound.receive(actor=Actor.for_system(tenant, "broker"), event=parsed, source="broker")
    # (its connection closed without acknowledging: the broker puts the message back)
    assert broker.waiting(broker.topology.queue) == 1

    # When a consumer takes it again
    output = consume(broker, max_messages=1)

    # Then it is acknowledged as a replay: one order
    assert "0 applied, 1 replayed" in output
    assert Order.objects.count() == 1
    assert broker.waiting(broker.topology.queue) == 0


def test_the_consumer_stops_when_idle(broker):
    output = consume(broker, timeout=0.5)

    assert "0 applied" in output


def test_without_a_broker_url_the_command_says_so():
    with override_settings(RABBITMQ_URL=None), pytest.raises(CommandError, match="RABBITMQ_URL"):
        call_command("consume", max_messages=1)


def test_an_unreachable_broker_is_a_clear_error():
    with (
        override_settings(RABBITMQ_URL="amqp://guest:guest@127.0.0.1:1//"),
        pytest.raises(CommandError, match="Cannot reach the broker"),
    ):
        call_command("consume", max_messages=1, timeout=1)


class SignalOnStart(io.StringIO):
    """Command output that sends this process SIGTERM once the consumer says it is running."""

    def write(self, text: str) -> int:
        if text.startswith("Consuming"):
            threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGTERM)).start()
        return super().write(text)


def test_sigterm_stops_the_consumer_cleanly(broker):
    # Given `rapport consume` waiting for messages, with no idle timeout
    out = SignalOnStart()
    handler_before = signal.getsignal(signal.SIGTERM)

    # When the process is sent SIGTERM
    with override_settings(RABBITMQ_URL=BROKER_URL):
        call_command(
            "consume", queue=broker.topology.queue, exchange=broker.topology.exchange, stdout=out
        )

    # Then the command returns on its own, with its summary, and gives the signal back
    assert "0 applied" in out.getvalue()
    assert signal.getsignal(signal.SIGTERM) is handler_before
