"""`rapport consume`: apply inbound events from RabbitMQ until stopped (docs/ingest.md)."""

import signal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from rapport.cli.shared import require_app


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise ValueError(text)
    return value


class Command(BaseCommand):
    help = (
        "Apply inbound events (user.registered, order.*, appointment.completed, invoice.paid) "
        "from the RabbitMQ queue at RABBITMQ_URL. Stops on SIGTERM or Ctrl-C after the message "
        "in hand."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--max-messages",
            type=_positive_int,
            default=None,
            help="Stop after taking this many messages",
        )
        parser.add_argument(
            "--timeout",
            type=_positive_float,
            default=None,
            help="Stop after this many seconds without a message",
        )
        parser.add_argument(
            "--prefetch",
            type=_positive_int,
            default=1,
            help="Messages the broker may hand over before they are acknowledged (default 1)",
        )
        parser.add_argument(
            "--queue", default=None, help="Queue name (default RAPPORT_INBOUND_QUEUE)"
        )
        parser.add_argument(
            "--exchange", default=None, help="Exchange name (default RAPPORT_INBOUND_EXCHANGE)"
        )

    def handle(self, *args, max_messages, timeout, prefetch, queue, exchange, **options):
        require_app("ingest")
        from rapport.ingest.consumer import BrokerUnavailable, InboundConsumer, Topology

        url = getattr(settings, "RABBITMQ_URL", None)
        if not url:
            raise CommandError("Set RABBITMQ_URL to the broker, e.g. amqp://guest:guest@host//")
        topology = Topology.from_settings(queue=queue, exchange=exchange)
        consumer = InboundConsumer(
            url=url,
            topology=topology,
            prefetch=prefetch,
            max_messages=max_messages,
            idle_timeout=timeout,
        )
        previous = {
            sig: signal.signal(sig, lambda *_: consumer.stop())
            for sig in (signal.SIGTERM, signal.SIGINT)
        }
        if options["verbosity"] >= 1:
            self.stdout.write(
                f"Consuming {topology.queue} (exchange {topology.exchange}, dead letters to "
                f"{topology.dead_letter})"
            )
        try:
            tally = consumer.run()
        except BrokerUnavailable as error:
            raise CommandError(f"Cannot reach the broker at RABBITMQ_URL: {error}") from None
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if options["verbosity"] >= 1:
            self.stdout.write(
                f"{tally.applied} applied, {tally.replayed} replayed, {tally.rejected} rejected, "
                f"{tally.invalid} invalid, {tally.requeued} requeued"
            )
