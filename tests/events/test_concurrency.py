"""Dispatchers running side by side on PostgreSQL: SKIP LOCKED hands each one its own rows."""

import threading
from collections import Counter

import pytest
from django.db import connection, connections

from rapport.events.dispatch import deliver_due, dispatch_outbox
from rapport.events.models import OutboxEvent, WebhookDelivery

EVENTS = 40
THREADS = 4

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="threads share the in-memory SQLite test database"
)


def in_threads(work) -> list:
    results: list = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(THREADS)

    def run() -> None:
        try:
            barrier.wait()
            results.append(work())
        except BaseException as error:  # surfaced below, with the thread's traceback
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    return results


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_parallel_dispatchers_queue_and_send_each_event_once(receiver, make_endpoint, make_event):
    # Given many events for one endpoint
    make_endpoint(receiver.url)
    for number in range(EVENTS):
        make_event("customer.tagged", {"code": f"C-{number}"})

    # When four dispatchers move the outbox in small batches at once
    def dispatch_all() -> int:
        moved = 0
        while count := dispatch_outbox(limit=3):
            moved += count
        return moved

    moved = in_threads(dispatch_all)

    # Then every event was moved by exactly one of them
    assert sum(moved) == EVENTS
    assert OutboxEvent.objects.filter(dispatched_at__isnull=True).count() == 0
    assert WebhookDelivery.objects.count() == EVENTS

    # When four deliver the deliveries at once
    def deliver_all() -> int:
        delivered = 0
        while (run := deliver_due(limit=4)).claimed:
            delivered += run.delivered
        return delivered

    delivered = in_threads(deliver_all)

    # Then each was sent once: no two dispatchers held the same lease
    assert sum(delivered) == EVENTS
    assert set(Counter(r.headers["webhook-id"] for r in receiver.requests).values()) == {1}
    assert len(receiver.requests) == EVENTS
