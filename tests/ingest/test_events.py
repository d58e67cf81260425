"""Inbound events over HTTP: each type applied, a repeat of an id changes nothing, bad ones are
answered 422 naming the fields with nothing stored."""

import json
import threading
import uuid

import pytest
from django.db import connection, connections

from rapport.commerce.models import Order, Visit
from rapport.customers.models import Customer, ExternalIdentity
from rapport.ingest.models import InboundEvent
from rapport.loyalty.models import LoyaltyTransaction
from rapport.pets.services import PetService
from rapport.tenancy.actors import Actor
from tests.conftest import ApiClient
from tests.ingest.inbound_support import counts, envelope, loyalty_program, order_data, points_of

pytestmark = pytest.mark.django_db

URL = "/events"  # where events are sent
LOG = "/inbound-events"  # where they are listed


@pytest.fixture
def actor(tenant):
    return Actor.for_system(tenant, "tests")


@pytest.fixture
def ada(make_customer):
    return make_customer(code="ADA-1", first_name="Ada", email="ada@example.com")


@pytest.fixture
def program(actor):
    return loyalty_program(actor)


def send(api, type: str, data: dict, **extra):
    return api.post(URL, envelope(type, data, **extra))


# --- each type --------------------------------------------------------------------------------


def test_user_registered_creates_the_customer_with_their_user_id(api):
    # When someone signs up in the shop's auth system
    response = send(
        api,
        "user.registered",
        {
            "user_id": "u-1042",
            "email": "Bola@Example.com",
            "phone": "0803 123 4567",
            "first_name": "Bola",
            "last_name": "Ade",
            "date_of_birth": "1990-05-17",
        },
    )

    # Then a customer exists with their profile, linked to their user id
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "applied"
    assert body["replayed"] is False
    assert body["result"]["customer_created"] is True
    customer = Customer.objects.get(code=body["result"]["customer"])
    assert (customer.first_name, customer.email, customer.phone) == (
        "Bola",
        "bola@example.com",
        "+2348031234567",
    )
    assert str(customer.date_of_birth) == "1990-05-17"
    assert ExternalIdentity.objects.filter(
        customer=customer, provider="auth", external_id="u-1042"
    ).exists()


def test_user_registered_finds_a_known_customer_and_fills_only_gaps(api, make_customer):
    # Given a customer the shop knows by email, with a first name staff typed
    known = make_customer(first_name="Adaeze", email="ada@example.com")

    # When they register with that email and other names
    response = send(
        api,
        "user.registered",
        {"user_id": "u-7", "email": "ada@example.com", "first_name": "Ada", "last_name": "Obi"},
    )

    # Then the same customer is linked; the blank last name is filled, the first name kept
    assert response.status_code == 201, response.content
    assert response.json()["result"] == {
        "customer": known.code,
        "customer_created": False,
        "fields_filled": ["last_name"],
    }
    known.refresh_from_db()
    assert (known.first_name, known.last_name) == ("Adaeze", "Obi")
    assert known.external_identities.get().external_id == "u-7"
    assert Customer.objects.count() == 1


def test_order_created_records_a_pending_order_that_earns_nothing_yet(api, ada, program):
    response = send(api, "order.created", order_data({"code": ada.code}))

    assert response.status_code == 201, response.content
    result = response.json()["result"]
    assert result["status"] == "pending"
    assert result["order_created"] is True
    assert result["points_earned"] is None
    order = Order.objects.get()
    assert (order.customer, order.total_q, order.currency) == (ada, 450000, "NGN")
    assert LoyaltyTransaction.objects.count() == 0


def test_order_completed_completes_the_order_and_earns_points(api, ada, program):
    # Given an order created earlier
    data = order_data({"code": ada.code})
    send(api, "order.created", data)

    # When it is completed, with only its id
    response = send(
        api,
        "order.completed",
        {"external_id": data["external_id"], "completed_at": "2025-03-01T10:30:00Z"},
    )

    # Then it is completed and earned one point per naira
    assert response.status_code == 201, response.content
    result = response.json()["result"]
    assert (result["status"], result["changed"], result["points_earned"]) == (
        "completed",
        True,
        4500,
    )
    assert points_of(ada) == 4500
    order = Order.objects.get()
    assert order.completed_at.isoformat() == "2025-03-01T10:30:00+00:00"
    earn = LoyaltyTransaction.objects.get()
    assert earn.reference == f"order:{order.uuid}"


def test_order_completed_without_order_created_records_it_when_it_can(api, ada, program):
    response = send(api, "order.completed", order_data({"email": "ada@example.com"}))

    assert response.status_code == 201, response.content
    result = response.json()["result"]
    assert (result["customer"], result["order_created"], result["status"]) == (
        ada.code,
        True,
        "completed",
    )
    assert points_of(ada) == 4500


def test_order_completed_for_an_unknown_order_without_enough_to_record_it_is_404(api):
    before = counts()

    response = send(api, "order.completed", {"external_id": "NEVER-SEEN"})

    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "order_not_found"
    assert list(error["fields"]) == ["data.external_id"]
    assert counts() == before


def test_order_refunded_refunds_and_takes_back_points_in_proportion(api, ada, program):
    # Given a completed order of 4,500.00 that earned 4,500 points
    data = order_data({"code": ada.code})
    send(api, "order.completed", data)

    # When a third of it is refunded, then the rest
    first = send(api, "order.refunded", {"external_id": data["external_id"], "amount_q": 150000})
    rest = send(api, "order.refunded", {"external_id": data["external_id"]})

    # Then a third of the points go, then the rest: all of them
    assert first.status_code == 201, first.content
    assert first.json()["result"]["points_reversed"] == 1500
    assert first.json()["result"]["status"] == "partially_refunded"
    assert rest.json()["result"]["points_reversed"] == 3000
    assert rest.json()["result"]["refunded_q"] == 450000
    assert points_of(ada) == 0


def test_a_refund_takes_back_the_rounded_down_share(api, ada, program):
    # Given an order of 1,000.01 NGN that earned 1,000 points
    data = order_data({"code": ada.code}, lines=[], total_q=100001)
    send(api, "order.completed", data)

    # When 333.34 of it is refunded
    response = send(api, "order.refunded", {"external_id": data["external_id"], "amount_q": 33334})

    # Then floor(1000 * 33334 / 100001) = 333 points go back
    assert response.json()["result"]["points_reversed"] == 333
    assert points_of(ada) == 667


def test_refund_of_an_unknown_order_is_404_and_stores_nothing(api):
    before = counts()

    response = send(api, "order.refunded", {"external_id": "NOPE", "amount_q": 100})

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "order_not_found"
    assert counts() == before


def test_appointment_completed_records_a_visit_for_the_customers_pet(api, ada, actor):
    # Given Ada's dog Rex
    rex = PetService.add_pet(actor=actor, owner=ada, name="Rex", species="dog")

    # When the booking system reports his vaccination, naming him
    response = send(
        api,
        "appointment.completed",
        {
            "customer": {"code": ada.code},
            "external_id": "APT-9",
            "service": "Vaccination",
            "staff": "Dr Okafor",
            "scheduled_at": "2025-03-02T09:00:00Z",
            "completed_at": "2025-03-02T09:20:00Z",
            "pet": {"name": "rex"},
            "price_q": 1500000,
        },
    )

    # Then a completed visit is recorded for Rex
    assert response.status_code == 201, response.content
    result = response.json()["result"]
    assert (result["status"], result["pet"], result["visit_created"]) == (
        "completed",
        str(rex.uuid),
        True,
    )
    visit = Visit.objects.get()
    assert (visit.service, visit.staff, visit.pet_name, visit.price_q) == (
        "Vaccination",
        "Dr Okafor",
        "Rex",
        1500000,
    )


def test_appointment_for_someone_elses_pet_is_422(api, ada, actor, make_customer):
    other = make_customer(first_name="Chi")
    theirs = PetService.add_pet(actor=actor, owner=other, name="Tom", species="cat")
    before = counts()

    response = send(
        api,
        "appointment.completed",
        {
            "customer": {"code": ada.code},
            "external_id": "APT-10",
            "service": "Check-up",
            "pet": {"id": str(theirs.uuid)},
        },
    )

    assert response.status_code == 422
    assert "data.pet.id" in response.json()["error"]["fields"]
    assert counts() == before


def test_invoice_paid_records_a_billing_order_completed_when_paid(api, ada, program):
    response = send(
        api,
        "invoice.paid",
        {
            "customer": {"code": ada.code},
            "external_id": "INV-2025-001",
            "total_q": 2000000,
            "issued_at": "2025-03-01T08:00:00Z",
            "paid_at": "2025-03-03T12:00:00Z",
        },
    )

    assert response.status_code == 201, response.content
    order = Order.objects.get()
    assert (order.source, order.status, order.channel, order.total_q) == (
        "billing",
        "completed",
        "pos",
        2000000,
    )
    assert order.completed_at.isoformat() == "2025-03-03T12:00:00+00:00"
    assert order.placed_at.isoformat() == "2025-03-01T08:00:00+00:00"
    assert points_of(ada) == 20000


def test_without_a_program_orders_earn_nothing_and_no_program_is_made(api, ada):
    from rapport.loyalty.models import LoyaltyProgram

    response = send(api, "order.completed", order_data({"code": ada.code}))

    assert response.json()["result"]["points_earned"] is None
    assert LoyaltyProgram.objects.count() == 0


# --- repeats ----------------------------------------------------------------------------------


def every_event(ada):
    """One event of each type that applies on its own, in an order where each can."""
    order = order_data({"code": ada.code})
    return [
        ("user.registered", {"user_id": "u-1", "email": "new@example.com", "first_name": "New"}),
        ("order.created", order),
        ("order.completed", {"external_id": order["external_id"]}),
        ("order.refunded", {"external_id": order["external_id"], "amount_q": 100000}),
        (
            "appointment.completed",
            {"customer": {"code": ada.code}, "external_id": "APT-1", "service": "Grooming"},
        ),
        (
            "invoice.paid",
            {"customer": {"code": ada.code}, "external_id": "INV-1", "total_q": 500000},
        ),
    ]


def test_a_repeat_of_every_type_returns_the_first_result_and_changes_nothing(api, ada, program):
    for type, data in every_event(ada):
        # Given the event applied once
        event = envelope(type, data)
        first = api.post(URL, event)
        assert first.status_code == 201, (type, first.content)
        before = counts()

        # When it is delivered again
        again = api.post(URL, event)

        # Then the first result comes back, marked a replay, and nothing changed
        assert again.status_code == 200, (type, again.content)
        assert again["Idempotent-Replayed"] == "true"
        assert again.json()["replayed"] is True
        assert again.json()["result"] == first.json()["result"]
        assert again.json()["id"] == first.json()["id"]
        assert counts() == before, type


def test_the_same_id_for_another_event_is_409(api, ada):
    api.post(URL, envelope("order.created", order_data({"code": ada.code}), id="evt-1"))
    before = counts()

    response = api.post(URL, envelope("order.created", order_data({"code": ada.code}), id="evt-1"))

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "event_id_reused"
    assert counts() == before


def test_an_order_sent_again_under_a_new_event_id_is_recorded_once(api, ada, program):
    data = order_data({"code": ada.code})
    send(api, "order.completed", data)

    again = send(api, "order.completed", data)

    assert again.status_code == 201
    assert again.json()["result"]["changed"] is False
    assert Order.objects.count() == 1
    assert points_of(ada) == 4500


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "fields"),
    [
        ({"type": "order.created", "data": {}}, {"id", "data.customer", "data.external_id"}),
        (envelope("order.shipped", {}), {"type"}),
        (
            envelope("order.created", {"customer": {"code": "X"}, "external_id": "1", "x": 1}),
            {"data.x"},
        ),
        (
            envelope(
                "order.created",
                {"customer": {"code": "X"}, "external_id": "1", "total_q": "lots"},
            ),
            {"data.total_q"},
        ),
        (
            envelope("order.created", {"customer": {}, "external_id": "1", "total_q": 1}),
            {"data.customer"},
        ),
        (envelope("user.registered", {"email": "a@example.com"}), {"data.user_id"}),
        (
            envelope("invoice.paid", {"customer": {"code": "X"}, "external_id": "I"}),
            {"data.total_q"},
        ),
        (
            envelope(
                "order.created",
                {
                    "customer": {"code": "X"},
                    "external_id": "1",
                    "total_q": 1,
                    "metadata": {"n": 2**70},
                },
            ),
            {"data.metadata"},
        ),
    ],
)
def test_a_bad_payload_is_422_naming_the_fields_and_stores_nothing(api, event, fields):
    before = counts()

    response = api.post(URL, event)

    assert response.status_code == 422, response.content
    assert set(response.json()["error"]["fields"]) == fields
    assert counts() == before


def test_rules_a_schema_cannot_check_are_422_under_the_events_field_names(api, ada):
    before = counts()

    unknown = send(api, "order.created", order_data({"code": "NOBODY"}))
    future = send(
        api, "order.created", order_data({"code": ada.code}, placed_at="2999-01-01T00:00:00Z")
    )
    bad_email = send(api, "order.created", order_data({"email": "not an email"}))
    paid_before_issued = send(
        api,
        "invoice.paid",
        {
            "customer": {"code": ada.code},
            "external_id": "INV-9",
            "total_q": 100,
            "issued_at": "2025-03-02T00:00:00Z",
            "paid_at": "2025-03-01T00:00:00Z",
        },
    )

    assert unknown.json()["error"]["fields"] == {"data.customer.code": "No customer has this code"}
    assert list(future.json()["error"]["fields"]) == ["data.placed_at"]
    assert list(bad_email.json()["error"]["fields"]) == ["data.customer.email"]
    assert list(paid_before_issued.json()["error"]["fields"]) == ["data.paid_at"]
    assert {r.status_code for r in (unknown, future, bad_email, paid_before_issued)} == {422}
    assert counts() == before


def test_a_new_customer_is_not_kept_when_the_order_fails(api):
    before = counts()

    response = send(
        api,
        "order.created",
        order_data(
            {"phone": "0803 555 0000", "first_name": "Eve"}, placed_at="2999-01-01T00:00:00Z"
        ),
    )

    assert response.status_code == 422
    assert counts() == before


def test_an_event_naming_another_tenant_is_422(api, ada, other_tenant):
    response = send(api, "order.created", order_data({"code": ada.code}), tenant="other-shop")

    assert response.status_code == 422
    assert list(response.json()["error"]["fields"]) == ["tenant"]
    assert InboundEvent.objects.count() == 0


def test_a_read_key_cannot_send_events(read_api, ada):
    response = send(read_api, "order.created", order_data({"code": ada.code}))

    assert response.status_code == 403


# --- reading what came in ---------------------------------------------------------------------


def test_received_events_are_listed_newest_first_and_filtered(api, ada):
    send(api, "user.registered", {"user_id": "u-1", "first_name": "Ola"})
    order = order_data({"code": ada.code})
    send(api, "order.created", order, id="evt-order")

    everything = api.get(LOG).json()["items"]
    orders_only = api.get(LOG, {"type": "order.created"}).json()["items"]
    by_id = api.get(LOG, {"event_id": "evt-order"}).json()["items"]
    one = api.get(f"{LOG}/{by_id[0]['id']}").json()

    assert [item["type"] for item in everything] == ["order.created", "user.registered"]
    assert [item["event_id"] for item in orders_only] == ["evt-order"]
    assert one["payload"]["data"]["external_id"] == order["external_id"]
    assert one["source"] == "api"
    assert api.get(LOG, {"status": "rejected"}).json()["items"] == []


def test_another_tenant_sees_none_of_the_events(api, other_api, ada):
    sent = send(api, "order.created", order_data({"code": ada.code})).json()

    assert other_api.get(LOG).json()["items"] == []
    assert other_api.get(f"{LOG}/{sent['id']}").status_code == 404


def test_another_tenant_with_the_same_event_id_applies_its_own(
    api, other_api, ada, other_tenant, make_customer
):
    theirs = make_customer(tenant=other_tenant, code="THEIRS-1", first_name="Theirs")
    api.post(URL, envelope("order.created", order_data({"code": ada.code}), id="evt-shared"))

    response = other_api.post(
        URL, envelope("order.created", order_data({"code": theirs.code}), id="evt-shared")
    )

    assert response.status_code == 201
    assert Order.objects.filter(customer=theirs).count() == 1


# --- concurrent deliveries --------------------------------------------------------------------

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="threads share the in-memory SQLite test database"
)


@pytest.mark.postgres
@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_deliveries_of_one_event_apply_it_once(tenant, make_key, make_customer):
    # Given a loyalty program, a customer, and one order.completed event
    loyalty_program(Actor.for_system(tenant, "tests"))
    ada = make_customer(code="ADA-1", first_name="Ada")
    _, secret = make_key(tenant, ["write"])
    event = envelope("order.completed", order_data({"code": ada.code}), id="evt-race")
    barrier = threading.Barrier(8)
    answers = []

    def deliver():
        try:
            barrier.wait(timeout=20)
            answers.append(ApiClient(secret).post(URL, event))
        finally:
            connections.close_all()

    # When eight deliveries of it arrive at once
    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # Then one applied it, the others got its result, and it counted once
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] * 7 + [201], [a.content for a in answers]
    results = {json.dumps(answer.json()["result"], sort_keys=True) for answer in answers}
    assert len(results) == 1
    assert InboundEvent.objects.count() == 1
    assert Order.objects.count() == 1
    assert LoyaltyTransaction.objects.count() == 1
    assert points_of(ada) == 4500


def test_the_admin_lists_and_shows_inbound_events_read_only(admin_client, api, ada):
    from django.urls import reverse

    send(api, "order.created", order_data({"code": ada.code}), id="evt-admin")
    stored = InboundEvent.objects.get()

    listing = admin_client.get(reverse("admin:rapport_ingest_inboundevent_changelist"))
    page = admin_client.get(reverse("admin:rapport_ingest_inboundevent_change", args=[stored.pk]))
    adding = admin_client.get(reverse("admin:rapport_ingest_inboundevent_add"))

    assert listing.status_code == 200
    assert b"evt-admin" in listing.content
    assert page.status_code == 200
    assert b"order.created" in page.content
    assert adding.status_code == 403


def test_the_inbound_list_costs_the_same_queries_for_2_or_20_events(api, ada):
    from django.test.utils import CaptureQueriesContext

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api.get(LOG, {"limit": 50}).status_code == 200
        return len(captured)

    for _ in range(2):
        send(api, "user.registered", {"user_id": str(uuid.uuid4()), "first_name": "Few"})
    few = queries()
    for _ in range(18):
        send(api, "user.registered", {"user_id": str(uuid.uuid4()), "first_name": "Many"})

    assert queries() == few


# --- optional apps ----------------------------------------------------------------------------


def test_ingest_without_commerce_stops_startup_naming_it(monkeypatch):
    from django.apps import apps
    from django.core.exceptions import ImproperlyConfigured

    installed = apps.is_installed
    monkeypatch.setattr(
        apps, "is_installed", lambda name: name != "rapport.commerce" and installed(name)
    )

    with pytest.raises(ImproperlyConfigured, match=r"rapport\.commerce"):
        apps.get_app_config("rapport_ingest").ready()


def test_without_identity_customers_are_named_by_code_only(api, ada, monkeypatch):
    from django.apps import apps

    installed = apps.is_installed
    monkeypatch.setattr(
        apps, "is_installed", lambda name: name != "rapport.identity" and installed(name)
    )
    before = counts()

    by_email = send(api, "order.created", order_data({"email": "ada@example.com"}))
    by_code = send(api, "order.created", order_data({"code": ada.code}))

    assert by_email.status_code == 422
    assert list(by_email.json()["error"]["fields"]) == ["data.customer"]
    assert by_code.status_code == 201
    assert counts()["orders"] == before["orders"] + 1
