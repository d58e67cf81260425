"""`rapport dispatch`: deliver events (outbox → webhooks and the broker) without the worker."""

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections

from rapport.events.broker import BrokerError
from rapport.events.dispatch import deliver_due, dispatch_outbox


class Command(BaseCommand):
    help = (
        "Move waiting outbox events to webhook deliveries and the broker, then send the "
        "deliveries that are due; again every --interval seconds until stopped."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="One round, then exit")
        parser.add_argument(
            "--interval",
            type=float,
            default=2.0,
            help="Seconds to wait between rounds when there was nothing to do (default 2)",
        )

    def handle(self, *args, once: bool, interval: float, **options):
        if interval <= 0:
            raise CommandError("--interval must be more than 0 seconds")
        try:
            while True:
                busy = self._round(once=once)
                if once:
                    return
                close_old_connections()  # between rounds, drop connections the database closed
                if not busy:
                    time.sleep(interval)
        except KeyboardInterrupt:
            return

    def _round(self, *, once: bool) -> bool:
        """One pass of both steps; whether there was work (then the next starts at once)."""
        try:
            dispatched = dispatch_outbox()
        except BrokerError as error:
            if once:
                raise CommandError(str(error)) from None
            self.stderr.write(f"{error}; the events wait in the outbox")
            dispatched = 0
        run = deliver_due()
        if dispatched or run.claimed:
            self.stdout.write(
                f"dispatched {dispatched} events; webhooks: {run.delivered} delivered, "
                f"{run.retrying} to retry, {run.dead} dead, {run.released} put back"
            )
        elif once:
            self.stdout.write("nothing to deliver")
        return bool(dispatched or run.claimed)
