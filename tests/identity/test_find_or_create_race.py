import threading

import pytest
from django.db import connection, connections

from rapport.customers.models import Customer
from rapport.identity.models import CustomerIdentifier
from rapport.identity.services import IdentifierService
from rapport.tenancy.actors import Actor

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="concurrency is tested on PostgreSQL"
)


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_twenty_threads_with_one_new_phone_create_one_customer(tenant):
    actor = Actor.for_system(tenant, "tests")
    barrier = threading.Barrier(20)
    results, errors = [], []

    def find_or_create():
        try:
            barrier.wait(timeout=20)
            results.append(
                IdentifierService.find_or_create_customer(
                    actor=actor,
                    type="phone",
                    value="0803 777 0000",
                    defaults={"first_name": "Race"},
                    source="pos",
                )
            )
        except Exception as error:  # any failure is reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=find_or_create) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert len(results) == 20
    assert sum(created for _, created in results) == 1
    assert len({customer.pk for customer, _ in results}) == 1
    assert Customer.objects.filter(tenant=tenant, phone="+2348037770000").count() == 1
    assert CustomerIdentifier.objects.filter(tenant=tenant, value="+2348037770000").count() == 1
