import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.db import transaction

from rapport.customers import hooks
from rapport.customers.models import Customer
from rapport.customers.selectors import customer_payload
from rapport.customers.services import CustomerService, TagService
from rapport.events.models import OutboxEvent
from rapport.events.services import emit
from rapport.exceptions import InvalidInput
from rapport.tenancy.actors import Actor
from rapport.tenancy.services import TenantService
from rapport.timeline.models import TimelineEvent


class Boom(Exception):
    pass


def test_emit_writes_one_row_in_the_open_transaction(tenant):
    with transaction.atomic():
        event = emit(tenant, "order.completed", {"order": "A-1"})

    stored = OutboxEvent.objects.get()
    assert stored.pk == event.pk
    assert (stored.tenant, stored.type, stored.data) == (
        tenant,
        "order.completed",
        {"order": "A-1"},
    )
    assert stored.dispatched_at is None
    assert stored.attempts == 0


def test_emit_turns_dates_uuids_and_decimals_into_json_text(tenant):
    ident = uuid.UUID("12345678-1234-5678-1234-567812345678")

    event = emit(
        tenant,
        "visit.recorded",
        {"on": dt.date(2024, 5, 17), "id": ident, "amount": Decimal("12.50")},
    )

    assert OutboxEvent.objects.get(pk=event.pk).data == {
        "on": "2024-05-17",
        "id": "12345678-1234-5678-1234-567812345678",
        "amount": "12.50",
    }


@pytest.mark.parametrize(
    "type",
    [
        "",
        "customer",
        "Customer.created",
        "customer.",
        ".created",
        "customer-created",
        "customer.created.now",
        "customer. created",
        "1customer.created",
    ],
)
def test_emit_rejects_malformed_types(tenant, type):
    with pytest.raises(InvalidInput) as error:
        emit(tenant, type, {})

    assert list(error.value.fields) == ["type"]
    assert not OutboxEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_emit_outside_a_transaction_is_refused():
    tenant = TenantService.get_default()

    with pytest.raises(RuntimeError, match="inside the transaction"):
        emit(tenant, "customer.created", {"code": "X"})

    assert not OutboxEvent.objects.exists()


def test_the_envelope_has_the_documented_shape(tenant):
    event = emit(tenant, "customer.tagged", {"code": "C1", "tags": ["VIP"]})
    stored = OutboxEvent.objects.select_related("tenant").get(pk=event.pk)

    envelope = stored.envelope()

    assert envelope == {
        "id": str(stored.uuid),
        "type": "customer.tagged",
        "tenant": "default",
        "timestamp": stored.created_at.isoformat(),
        "data": {"code": "C1", "tags": ["VIP"]},
    }
    assert uuid.UUID(envelope["id"]) == stored.uuid
    assert dt.datetime.fromisoformat(envelope["timestamp"]).utcoffset() == dt.timedelta(0)


def test_customer_created_carries_the_customer_payload(system_actor, make_customer):
    referrer = make_customer(first_name="Ada")

    customer = CustomerService.create_customer(
        actor=system_actor,
        first_name="Bola",
        phone="0803 123 4567",
        date_of_birth=dt.date(1990, 5, 17),
        referred_by=referrer.code,
        metadata={"loyalty_card": "L-9"},
    )

    event = OutboxEvent.objects.get(type="customer.created", data__code=customer.code)
    assert event.data == customer_payload(Customer.objects.get(pk=customer.pk))
    assert event.data["phone"] == "+2348031234567"
    assert event.data["date_of_birth"] == "1990-05-17"
    assert event.data["referred_by"] == referrer.code
    assert event.data["metadata"] == {"loyalty_card": "L-9"}
    assert event.tenant == system_actor.tenant


def test_customer_updated_carries_the_code_and_the_changes(system_actor, make_customer):
    customer = make_customer(first_name="Ada", phone="08031234567")

    CustomerService.update_customer(
        actor=system_actor,
        code=customer.code,
        first_name="Ada",
        last_name="Obi",
        phone="0805 555 0000",
    )

    [event] = OutboxEvent.objects.filter(type="customer.updated")
    assert event.data == {
        "code": customer.code,
        "changes": {
            "last_name": {"old": "", "new": "Obi"},
            "phone": {"old": "+2348031234567", "new": "+2348055550000"},
        },
    }


def test_a_change_that_changes_nothing_emits_nothing(system_actor, make_customer):
    customer = make_customer(first_name="Ada")

    CustomerService.update_customer(actor=system_actor, code=customer.code, first_name="Ada")

    assert list(OutboxEvent.objects.values_list("type", flat=True)) == ["customer.created"]


def test_tagging_emits_the_tags_added(system_actor, make_customer):
    customer = make_customer(first_name="Ada")

    TagService.add_tags(actor=system_actor, code=customer.code, names=["VIP", "Gold"])
    TagService.remove_tag(actor=system_actor, code=customer.code, tag_name="gold")

    tagged, untagged = OutboxEvent.objects.filter(type__in=["customer.tagged", "customer.untagged"])
    assert (tagged.type, tagged.data) == (
        "customer.tagged",
        {"code": customer.code, "tags": ["VIP", "Gold"]},
    )
    assert (untagged.type, untagged.data) == (
        "customer.untagged",
        {"code": customer.code, "tags": ["Gold"]},
    )


def test_a_change_rolled_back_by_a_later_failure_leaves_no_outbox_row(system_actor, monkeypatch):
    # given a listener after the outbox that fails
    def fail(change):
        raise Boom

    monkeypatch.setattr(hooks, "_listeners", [*hooks._listeners, fail])

    # when a customer is created, the change fails as a whole
    with pytest.raises(Boom):
        CustomerService.create_customer(actor=system_actor, first_name="Ada")

    # then neither the customer nor its event nor its timeline entry remain
    assert not Customer.objects.exists()
    assert not OutboxEvent.objects.exists()
    assert not TimelineEvent.objects.exists()


def test_a_change_inside_a_rolled_back_transaction_leaves_no_outbox_row(
    system_actor, make_customer
):
    customer = make_customer(first_name="Ada")
    before = list(OutboxEvent.objects.values_list("pk", flat=True))

    with pytest.raises(Boom), transaction.atomic():
        CustomerService.update_customer(actor=system_actor, code=customer.code, last_name="Obi")
        CustomerService.archive_customer(actor=system_actor, code=customer.code)
        raise Boom

    assert list(OutboxEvent.objects.values_list("pk", flat=True)) == before
    stored = Customer.objects.get(pk=customer.pk)
    assert (stored.last_name, stored.is_archived) == ("", False)


@pytest.mark.django_db(transaction=True)
def test_a_committed_change_leaves_its_row_and_a_failed_one_none():
    actor = Actor.for_system(TenantService.get_default(), "tests")
    customer = CustomerService.create_customer(actor=actor, first_name="Ada")
    assert list(OutboxEvent.objects.values_list("type", "data__code")) == [
        ("customer.created", customer.code)
    ]

    with pytest.raises(InvalidInput):
        CustomerService.update_customer(actor=actor, code=customer.code, first_name="")

    assert OutboxEvent.objects.count() == 1
    assert Customer.objects.get(pk=customer.pk).first_name == "Ada"
