"""Concurrent grants and revocations of one channel, with real threads on PostgreSQL."""

import itertools
import threading

import pytest
from django.db import connection, connections

from rapport.consent.models import CommunicationConsent, ConsentChange
from rapport.consent.services import ConsentService

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="concurrency is tested on PostgreSQL"
)

THREADS = 8
ROUNDS = 5


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_racing_grants_and_revokes_leave_a_complete_history(system_actor, make_customer):
    # Given a customer with no consent row yet, so the first writers race to create it
    customer = make_customer()
    start = threading.Barrier(THREADS)
    errors = []

    def work(number: int) -> None:
        try:
            start.wait(timeout=20)
            for round in range(ROUNDS):
                change = (
                    ConsentService.grant_consent
                    if (number + round) % 2
                    else ConsentService.revoke_consent
                )
                change(
                    actor=system_actor,
                    code=customer.code,
                    channel="email",
                    source=f"thread {number}",
                )
        except Exception as error:  # reported below, with the thread that raised it
            errors.append(error)
        finally:
            connections.close_all()

    # When the threads grant and revoke at once
    threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # Then nothing failed, there is one row, and its status is the last history row's
    assert errors == []
    consent = CommunicationConsent.objects.get(customer=customer, channel="email")
    history = list(ConsentChange.objects.filter(customer=customer).order_by("id"))
    assert history
    assert consent.status == history[-1].new_status
    # And the history is a chain: each change starts where the one before it ended
    assert history[0].previous_status == "pending"
    for before, after in itertools.pairwise(history):
        assert after.previous_status == before.new_status
    assert all(c.previous_status != c.new_status or c.new_status == "opted_in" for c in history)
