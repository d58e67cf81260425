"""Writers racing on one customer's preferences, with real threads on PostgreSQL."""

import threading

import pytest
from django.db import connection, connections

from rapport.events.models import OutboxEvent
from rapport.preferences.models import CustomerPreference
from rapport.preferences.services import PreferenceService
from rapport.tenancy.actors import Actor

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="concurrency is tested on PostgreSQL"
)


def race(count: int, write) -> list:
    """Run write(n) in `count` threads released together; the errors they raised, in order."""
    barrier = threading.Barrier(count)
    errors = []

    def run(number):
        try:
            barrier.wait(timeout=20)
            write(number)
        except Exception as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return errors


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_threads_setting_the_same_new_key_make_one_row(tenant, make_customer):
    make_customer(code="ADA-1", first_name="Ada")
    actor = Actor.for_system(tenant, "tests")

    errors = race(
        8,
        lambda n: PreferenceService.set_preference(
            actor=actor, code="ADA-1", category="diet", key="milk", value="oat", source="pos"
        ),
    )

    assert errors == []
    assert CustomerPreference.objects.count() == 1
    # The first writer created it; the others found the same value and wrote nothing.
    assert OutboxEvent.objects.filter(type="preference.updated").count() == 1


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_threads_setting_different_values_leave_one_row_and_one_event_each(tenant, make_customer):
    make_customer(code="ADA-1", first_name="Ada")
    actor = Actor.for_system(tenant, "tests")

    errors = race(
        8,
        lambda n: PreferenceService.set_preference(
            actor=actor, code="ADA-1", category="diet", key="milk", value=f"kind {n}"
        ),
    )

    assert errors == []
    [row] = CustomerPreference.objects.all()
    assert row.value in {f"kind {n}" for n in range(8)}
    assert OutboxEvent.objects.filter(type="preference.updated").count() == 8
