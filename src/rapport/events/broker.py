"""Publishing events to RabbitMQ: one durable topic exchange, one persistent message per event.

The routing key is "<tenant slug>.<event type>" (`default.customer.created`), so a consumer
binds `*.customer.*` for every tenant's customer events, `default.#` for one tenant's events,
or `#` for everything. Each publish waits for the broker's confirmation: an event is marked
dispatched only once the broker has taken it.
"""

from collections.abc import Iterable

from amqp.exceptions import AMQPError, MessageNacked
from kombu import Connection, Exchange, Producer
from kombu.exceptions import KombuError

from rapport.events import conf
from rapport.events.encoding import envelope_body
from rapport.events.models import OutboxEvent

PERSISTENT = 2  # AMQP delivery mode: written to disk by the broker


class BrokerError(Exception):
    """The broker could not be reached or did not confirm a message."""


def routing_key(event: OutboxEvent) -> str:
    return f"{event.tenant.slug}.{event.type}"


def exchange() -> Exchange:
    return Exchange(conf.exchange_name(), type="topic", durable=True)


def publish(url: str, events: Iterable[OutboxEvent]) -> int:
    """Publish the events over one connection, each confirmed; BrokerError if any is not."""
    timeout = conf.broker_timeout()
    connection = Connection(
        url,
        connect_timeout=timeout,
        transport_options={"confirm_publish": True, "max_retries": 1},
    )
    published = 0
    try:
        connection.ensure_connection(max_retries=1, interval_start=0, timeout=timeout)
        channel = connection.channel()
        producer = Producer(channel, exchange=exchange())
        producer.declare()
        for event in events:
            producer.publish(
                envelope_body(event),
                routing_key=routing_key(event),
                content_type="application/json",
                content_encoding="utf-8",
                delivery_mode=PERSISTENT,
                message_id=str(event.uuid),
                type=event.type,
                timestamp=int(event.created_at.timestamp()),
                headers={"tenant": event.tenant.slug, "type": event.type},
                retry=False,
                timeout=timeout,
                confirm_timeout=timeout,
            )
            published += 1
    except (KombuError, AMQPError, MessageNacked, OSError) as error:
        raise BrokerError(f"Publishing to the broker failed: {error!r}") from error
    finally:
        connection.release()
    return published
