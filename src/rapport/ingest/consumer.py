"""The RabbitMQ door: inbound events read from a queue and applied like the HTTP API's.

A message is acknowledged only once the event's transaction has committed, so a consumer that
dies mid-way leaves it on the queue to be delivered again (and a repeat of an applied id
changes nothing). A message that can never apply (not JSON, not a valid envelope, an unknown
tenant, an event that cannot apply) is rejected without requeueing: the queue's dead-letter
exchange takes it. A database failure requeues it for another try.
"""

import contextlib
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import DatabaseError, close_old_connections
from django.db import connection as database
from kombu import Connection, Consumer, Exchange, Queue
from kombu.exceptions import OperationalError as KombuOperationalError

from rapport.exceptions import RapportError
from rapport.ingest import inbound
from rapport.ingest.inbound import StillApplying
from rapport.ingest.models import InboundEvent
from rapport.ingest.payloads import parse_envelope
from rapport.tenancy.actors import Actor
from rapport.tenancy.services import TenantService

logger = logging.getLogger(__name__)

DEFAULT_QUEUE = "rapport.inbound"
DEFAULT_EXCHANGE = "rapport.inbound"
ROUTING_KEY = "#"
ACTOR_NAME = "broker"
POLL_SECONDS = 1.0  # how often a waiting consumer checks for a stop request
DATABASE_RETRY_PAUSE = 1.0  # a requeued message comes straight back: let the database recover


@dataclass(frozen=True)
class Topology:
    """Where inbound events wait: a durable queue bound to a topic exchange, and the
    dead-letter exchange and queue (`<queue>.dead`) that take what cannot apply."""

    queue: str = DEFAULT_QUEUE
    exchange: str = DEFAULT_EXCHANGE
    routing_key: str = ROUTING_KEY

    @property
    def dead_letter(self) -> str:
        return f"{self.queue}.dead"

    @classmethod
    def from_settings(cls, queue: str | None = None, exchange: str | None = None) -> "Topology":
        return cls(
            queue=queue or getattr(settings, "RAPPORT_INBOUND_QUEUE", DEFAULT_QUEUE),
            exchange=exchange or getattr(settings, "RAPPORT_INBOUND_EXCHANGE", DEFAULT_EXCHANGE),
        )


def declare(channel, topology: Topology) -> Queue:
    """Declare the exchanges, queues and bindings (idempotent); the inbound queue is returned."""
    dead_exchange = Exchange(topology.dead_letter, type="fanout", durable=True)
    Queue(topology.dead_letter, exchange=dead_exchange, routing_key="#", durable=True)(
        channel
    ).declare()
    queue = Queue(
        topology.queue,
        exchange=Exchange(topology.exchange, type="topic", durable=True),
        routing_key=topology.routing_key,
        durable=True,
        queue_arguments={"x-dead-letter-exchange": topology.dead_letter},
    )
    queue(channel).declare()
    return queue


class BrokerUnavailable(Exception):
    """The broker cannot be reached, or the connection to it was lost."""


class Invalid(Exception):
    """A message that can never apply, whatever happens to the database."""


@dataclass
class Tally:
    """What a run did with the messages it took."""

    applied: int = 0
    replayed: int = 0
    rejected: int = 0  # valid events that could not apply: kept as rejected, dead-lettered
    invalid: int = 0  # messages that are no event at all: dead-lettered
    requeued: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return self.applied + self.replayed + self.rejected + self.invalid + self.requeued


def _problem(error: RapportError) -> str:
    fields = "; ".join(f"{name}: {text}" for name, text in error.fields.items())
    return f"{error.message} ({fields})" if fields else error.message


def parse_message(body: Any):
    """(tenant, envelope) from a message body; Invalid says why it can never apply."""
    if isinstance(body, bytes | bytearray | memoryview):
        try:
            body = bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            raise Invalid("The message is not UTF-8 text") from None
    try:
        raw = json.loads(body)
    except (TypeError, ValueError):
        raise Invalid("The message is not JSON") from None
    if not isinstance(raw, dict):
        raise Invalid("The message is not a JSON object")
    try:
        event = parse_envelope(raw)
    except RapportError as error:
        raise Invalid(_problem(error)) from None
    try:
        tenant = (
            TenantService.get_by_slug(event.tenant) if event.tenant else TenantService.get_default()
        )
    except RapportError:
        raise Invalid(f"No tenant {event.tenant!r}") from None
    return tenant, event


class InboundConsumer:
    """Reads the inbound queue until stopped, idle for `idle_timeout`, or `max_messages` taken."""

    def __init__(
        self,
        *,
        url: str,
        topology: Topology,
        prefetch: int = 1,
        max_messages: int | None = None,
        idle_timeout: float | None = None,
    ) -> None:
        self.url = url
        self.topology = topology
        self.prefetch = max(1, min(prefetch, max_messages or prefetch))
        self.max_messages = max_messages
        self.idle_timeout = idle_timeout
        self.tally = Tally()
        self._stopping = False

    def stop(self) -> None:
        """Finish the message in hand, then return (a signal handler calls this)."""
        self._stopping = True

    def _done(self) -> bool:
        limit_reached = self.max_messages is not None and self.tally.handled >= self.max_messages
        return self._stopping or limit_reached

    def run(self) -> Tally:
        """Consume until done. BrokerUnavailable when the broker cannot be reached or is lost
        (unacknowledged messages then wait on the queue for the next run)."""
        with Connection(self.url, connect_timeout=10) as broker:
            try:
                broker.ensure_connection(max_retries=2, interval_start=0.5, interval_step=0.5)
                self._consume(broker)
            except (OSError, KombuOperationalError, *broker.connection_errors) as error:
                raise BrokerUnavailable(str(error) or type(error).__name__) from error
        return self.tally

    def _consume(self, broker: Connection) -> None:
        channel = broker.channel()
        channel.basic_qos(prefetch_size=0, prefetch_count=self.prefetch, a_global=False)
        queue = declare(channel, self.topology)
        consumer = Consumer(channel, queues=[queue], on_message=self._handle, no_ack=False)
        consumer.consume()
        idle_since = time.monotonic()
        try:
            while not self._done():
                try:
                    broker.drain_events(timeout=POLL_SECONDS)
                    idle_since = time.monotonic()
                except TimeoutError:
                    idle = time.monotonic() - idle_since
                    if self.idle_timeout is not None and idle >= self.idle_timeout:
                        break
        finally:
            # Messages prefetched but not handled go back to the queue when the channel closes.
            with contextlib.suppress(*broker.connection_errors, OSError):
                consumer.cancel()

    def _handle(self, message) -> None:
        if self._done():
            message.requeue()  # prefetched after the limit: someone else's to take
            return
        self._fresh_connection()
        try:
            self._apply(message)
        finally:
            self._fresh_connection()

    @staticmethod
    def _fresh_connection() -> None:
        # As Django does around each request: drop a broken or expired database connection,
        # so a database that went away and came back does not fail every later message.
        if not database.in_atomic_block:  # a caller's transaction (tests) keeps its own
            close_old_connections()

    def _dead_letter(self, message, reason: str) -> None:
        logger.warning("Inbound message dead-lettered: %s", reason)
        self.tally.errors.append(reason)
        message.reject(requeue=False)

    def _requeue(self, message, reason: str) -> None:
        logger.error("Inbound message requeued: %s", reason)
        self.tally.requeued += 1
        self.tally.errors.append(reason)
        message.requeue()
        time.sleep(DATABASE_RETRY_PAUSE)

    def _apply(self, message) -> None:
        try:
            tenant, event = parse_message(message.body)
        except Invalid as problem:
            self.tally.invalid += 1
            self._dead_letter(message, str(problem))
            return
        except DatabaseError as error:
            self._requeue(message, f"Database error: {error}")
            return
        actor = Actor.for_system(tenant, ACTOR_NAME)
        source = InboundEvent.Source.BROKER
        try:
            received = inbound.receive(actor=actor, event=event, source=source)
        except StillApplying as error:
            self._requeue(message, f"{event.type} {event.id}: {error.message}")
            return
        except RapportError as error:
            try:
                inbound.reject(actor=actor, event=event, source=source, error=error)
            except DatabaseError as db_error:
                self._requeue(message, f"Database error: {db_error}")
                return
            self.tally.rejected += 1
            self._dead_letter(message, f"{event.type} {event.id}: {_problem(error)}")
            return
        except DatabaseError as error:
            self._requeue(message, f"{event.type} {event.id}: database error: {error}")
            return
        # The event's transaction has committed: only now may the broker forget the message.
        message.ack()
        if received.replayed:
            self.tally.replayed += 1
        else:
            self.tally.applied += 1
        logger.info(
            "Inbound %s %s %s", event.type, event.id, "replayed" if received.replayed else "applied"
        )
