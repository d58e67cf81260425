"""The dispatcher: from the outbox to webhook deliveries and the broker, then to the receivers.

Two steps, each safe to run in several processes at once and to be killed at any moment:

1. `dispatch_outbox` claims undispatched events, queues a delivery for every active endpoint
   that wants each one, publishes them to RabbitMQ when it is configured, and marks them
   dispatched, all in one transaction: either all of it happens or none of it does.
2. `deliver_due` claims due deliveries with a lease, POSTs each one signed, and records the
   outcome. A dispatcher that dies mid-batch leaves its leases to expire; the deliveries are
   then due again. Delivery is therefore at least once: receivers dedupe on `webhook-id`.
"""

import datetime as dt
import logging
import random
import time
from collections import defaultdict
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from rapport import __version__
from rapport.events import conf
from rapport.events.broker import BrokerError, publish
from rapport.events.encoding import envelope_body
from rapport.events.models import (
    DeliveryStatus,
    OutboxEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from rapport.events.net import Target, UnsafeURL, check_url, elapsed_ms, post

logger = logging.getLogger(__name__)

ERROR_LIMIT = 500
GONE = 410
GONE_REASON = "The endpoint answered 410 Gone: it asked for no more events"
USER_AGENT = f"rapport/{__version__}"


@dataclass
class DeliveryRun:
    """What one `deliver_due` call did."""

    claimed: int = 0
    delivered: int = 0
    retrying: int = 0  # failed, due again later
    dead: int = 0  # failed for the last time
    disabled: int = 0  # endpoints that answered 410 Gone
    released: int = 0  # claimed but handed back unsent (lease running out, endpoint gone)


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str
    response: str
    duration_ms: int

    @property
    def is_success(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def dispatch_outbox(*, limit: int = 500) -> int:
    """Queue webhook deliveries for (and publish) up to `limit` undispatched events, oldest first.

    Returns how many events were dispatched. When the broker fails, nothing is written, the
    events stay undispatched with one more attempt counted, and BrokerError is raised.
    """
    broker_url = conf.rabbitmq_url()
    try:
        with transaction.atomic():
            # SKIP LOCKED lets another dispatcher take the next events instead of waiting; on
            # SQLite the IMMEDIATE transaction serializes dispatchers instead.
            events = list(
                OutboxEvent.objects.filter(dispatched_at__isnull=True)
                .select_related("tenant")
                .select_for_update(skip_locked=True, of=("self",))
                .order_by("id")[:limit]
            )
            if not events:
                return 0
            now = timezone.now()
            WebhookDelivery.objects.bulk_create(
                _deliveries_for(events, now), batch_size=500, ignore_conflicts=True
            )
            if broker_url:
                publish(broker_url, events)
            OutboxEvent.objects.filter(pk__in=[event.pk for event in events]).update(
                dispatched_at=now, attempts=F("attempts") + 1
            )
    except BrokerError:
        # The rollback undid the attempt; count it so the admin shows the outbox is stuck.
        OutboxEvent.objects.filter(pk__in=[event.pk for event in events]).update(
            attempts=F("attempts") + 1
        )
        raise
    return len(events)


def _deliveries_for(events: list[OutboxEvent], now: dt.datetime) -> list[WebhookDelivery]:
    endpoints: dict[int, list[WebhookEndpoint]] = defaultdict(list)
    for endpoint in WebhookEndpoint.objects.filter(
        tenant_id__in={event.tenant_id for event in events}, is_active=True
    ).order_by("id"):
        endpoints[endpoint.tenant_id].append(endpoint)
    return [
        WebhookDelivery(
            tenant_id=event.tenant_id, endpoint=endpoint, event=event, next_attempt_at=now
        )
        for event in events
        for endpoint in endpoints[event.tenant_id]
        if endpoint.wants(event.type)
    ]


def retry_delay(attempts: int) -> float:
    """Seconds to wait after the `attempts`-th failure: full jitter over a capped doubling."""
    ceiling = min(conf.retry_cap(), conf.retry_base() * 2 ** (attempts - 1))
    return random.uniform(0, ceiling)


def deliver_due(*, limit: int = 100, now: dt.datetime | None = None) -> DeliveryRun:
    """Send up to `limit` deliveries that are due, each at most once in this call.

    `now` fixes the clock for choosing what is due and when retries fall (tests pass it);
    signatures always carry the real time, which receivers check.
    """
    fixed_now = now
    now = now or timezone.now()
    lease = conf.lease_seconds()
    timeout = conf.webhook_timeout()
    locked_until = now + dt.timedelta(seconds=lease)
    with transaction.atomic():
        due = (
            WebhookDelivery.objects.filter(
                status=DeliveryStatus.PENDING, next_attempt_at__lte=now, endpoint__is_active=True
            )
            .filter(Q(locked_until__isnull=True) | Q(locked_until__lte=now))
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("next_attempt_at", "id")
        )
        ids = list(due.values_list("pk", flat=True)[:limit])
        WebhookDelivery.objects.filter(pk__in=ids).update(locked_until=locked_until)
    claimed = list(
        WebhookDelivery.objects.filter(pk__in=ids)
        .select_related("endpoint", "event__tenant")
        .order_by("next_attempt_at", "id")
    )
    run = DeliveryRun(claimed=len(claimed))
    started = time.monotonic()
    gone: set[int] = set()
    targets: dict[int, Target | UnsafeURL] = {}  # one lookup per endpoint and run
    for position, delivery in enumerate(claimed):
        # Stop while the lease still covers a request: past it, another dispatcher may send.
        if time.monotonic() - started + 2 * timeout + 1 > lease:
            run.released += _release(claimed[position:], locked_until)
            break
        if delivery.endpoint_id in gone:
            run.released += _release([delivery], locked_until)
            continue
        if delivery.endpoint_id not in targets:
            targets[delivery.endpoint_id] = _target(delivery.endpoint.url)
        outcome = _send(delivery, targets[delivery.endpoint_id], timeout)
        at = fixed_now or timezone.now()
        result = _record(delivery, outcome, at=at, locked_until=locked_until)
        if result == "gone":
            gone.add(delivery.endpoint_id)
            run.disabled += 1
        elif result:
            setattr(run, result, getattr(run, result) + 1)
    return run


def _release(deliveries: list[WebhookDelivery], locked_until: dt.datetime) -> int:
    """Hand claimed deliveries back unsent, so they are due at once for anyone."""
    return WebhookDelivery.objects.filter(
        pk__in=[delivery.pk for delivery in deliveries], locked_until=locked_until
    ).update(locked_until=None)


def _target(url: str) -> Target | UnsafeURL:
    """Where to send, or why not. Resolved for every run: DNS answers change after a save."""
    try:
        return check_url(url)
    except UnsafeURL as error:
        return error


def _send(delivery: WebhookDelivery, target: Target | UnsafeURL, timeout: float) -> Outcome:
    """One signed POST of the delivery's event; never raises for the receiver's failures."""
    started = time.monotonic()
    endpoint = delivery.endpoint
    if isinstance(target, UnsafeURL):
        return Outcome(None, f"Not sent: {target}", "", elapsed_ms(started))
    body = envelope_body(delivery.event)
    signed_at = timezone.now()
    message_id = str(delivery.event.uuid)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(signed_at.timestamp())),
        "webhook-signature": Webhook(endpoint.secret).sign(
            msg_id=message_id, timestamp=signed_at, data=body.decode()
        ),
    }
    try:
        answer = post(target, body, headers, timeout=timeout)
    except TimeoutError:
        return Outcome(None, f"No answer within {timeout:g} seconds", "", elapsed_ms(started))
    except OSError as error:
        return Outcome(None, f"{type(error).__name__}: {error}", "", elapsed_ms(started))
    error = "" if 200 <= answer.status < 300 else f"HTTP {answer.status}"
    return Outcome(answer.status, error, answer.body, elapsed_ms(started))


def _record(
    delivery: WebhookDelivery, outcome: Outcome, *, at: dt.datetime, locked_until: dt.datetime
) -> str | None:
    """Write the attempt and the delivery's new state; which counter of the run it adds to.

    Only a dispatcher still holding the lease moves the delivery on: one whose lease ran out
    while it waited only logs its attempt, as another may have taken the delivery since.
    """
    attempts = delivery.attempts + 1
    changes: dict = {
        "attempts": attempts,
        "locked_until": None,
        "last_status_code": outcome.status_code,
        "last_error": outcome.error[:ERROR_LIMIT],
        "last_response": outcome.response,
        "updated_at": timezone.now(),
    }
    if outcome.is_success:
        changes.update(status=DeliveryStatus.DELIVERED, delivered_at=at)
        result = "delivered"
    elif outcome.status_code == GONE:
        # Paused, not failed: the endpoint is off until re-enabled, then this is due again.
        changes.update(next_attempt_at=at)
        result = "gone"
    elif attempts >= conf.max_attempts():
        changes.update(status=DeliveryStatus.DEAD)
        result = "dead"
    else:
        changes.update(next_attempt_at=at + dt.timedelta(seconds=retry_delay(attempts)))
        result = "retrying"
    try:
        with transaction.atomic():
            moved = WebhookDelivery.objects.filter(
                pk=delivery.pk, status=DeliveryStatus.PENDING, locked_until=locked_until
            ).update(**changes)
            if not WebhookDelivery.objects.filter(pk=delivery.pk).exists():
                return None  # the endpoint was deleted meanwhile
            WebhookAttempt.objects.create(
                delivery_id=delivery.pk,
                number=WebhookAttempt.objects.filter(delivery_id=delivery.pk).count() + 1,
                at=at,
                status_code=outcome.status_code,
                error=outcome.error[:ERROR_LIMIT],
                duration_ms=outcome.duration_ms,
            )
            if outcome.status_code == GONE:
                WebhookEndpoint.objects.filter(pk=delivery.endpoint_id, is_active=True).update(
                    is_active=False, disabled_reason=GONE_REASON, disabled_at=at
                )
    except IntegrityError:
        return None  # the endpoint was deleted between the check and the write
    if not moved:
        logger.info("Delivery %s was taken over before its outcome was recorded", delivery.uuid)
        return None
    if result == "dead":
        logger.warning("Webhook delivery %s is dead after %d attempts", delivery.uuid, attempts)
    return result
