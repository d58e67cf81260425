"""Orders and visits sent in over the API: the customer found or made, the order recorded once,
its status moved, refunds taking back points, and thousands at a time in one transaction."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.commerce.models import Order, Visit
from rapport.customers.models import Customer
from rapport.loyalty.models import LoyaltyTransaction
from rapport.pets.services import PetService
from rapport.tenancy.actors import Actor
from tests.ingest.inbound_support import counts, loyalty_program, order_data, points_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def actor(tenant):
    return Actor.for_system(tenant, "tests")


@pytest.fixture
def ada(make_customer):
    return make_customer(code="ADA-1", first_name="Ada", email="ada@example.com")


@pytest.fixture
def program(actor):
    return loyalty_program(actor)


# --- one order --------------------------------------------------------------------------------


def test_a_new_order_is_201_and_earns_points(api, ada, program):
    response = api.post("/orders", order_data({"code": ada.code}, channel="online"))

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["channel"], body["total_q"], body["currency"]) == (
        "completed",
        "online",
        450000,
        "NGN",
    )
    assert (body["created"], body["customer"], body["points_earned"]) == (True, ada.code, 4500)
    assert [line["total_q"] for line in body["lines"]] == [300000, 150000]
    assert points_of(ada) == 4500


def test_the_same_order_again_is_200_and_changes_nothing(api, ada, program):
    data = order_data({"code": ada.code})
    api.post("/orders", data)
    before = counts()

    again = api.post("/orders", data)

    assert again.status_code == 200
    assert (again.json()["created"], again.json()["changed"]) == (False, False)
    assert again.json()["points_earned"] is None
    assert counts() == before


def test_the_same_order_with_another_total_is_409_naming_it(api, ada):
    data = order_data({"code": ada.code})
    api.post("/orders", data)
    before = counts()

    response = api.post("/orders", {**data, "lines": [], "total_q": 1})

    assert response.status_code == 409
    assert set(response.json()["error"]["fields"]) == {"total_q", "lines"}
    assert counts() == before


def test_a_customer_is_found_by_external_id_then_email_then_phone(api, make_customer, actor):
    from rapport.customers.services import ExternalIdentityService

    by_shop = make_customer(first_name="Shopper", email="shopper@example.com")
    ExternalIdentityService.link(
        actor=actor, code=by_shop.code, provider="shopify", external_id="42"
    )
    by_email = make_customer(first_name="Mailer", email="mailer@example.com")
    by_phone = make_customer(first_name="Caller", phone="+2348030000001")

    found = [
        api.post("/orders", order_data(ref)).json()["customer"]
        for ref in (
            {"external_ids": {"Shopify": "42"}, "email": "mailer@example.com"},
            {"email": "MAILER@example.com", "phone": "08030000001"},
            {"phone": "0803 000 0001"},
        )
    ]

    assert found == [by_shop.code, by_email.code, by_phone.code]
    assert Customer.objects.count() == 3


def test_an_unknown_person_becomes_a_customer_linked_to_their_ids(api):
    response = api.post(
        "/orders",
        order_data(
            {
                "phone": "0803 777 0000",
                "email": "new@example.com",
                "first_name": "Nnamdi",
                "external_ids": {"shopify": "gid://shopify/Customer/9"},
            }
        ),
    )

    assert response.status_code == 201, response.content
    assert response.json()["customer_created"] is True
    customer = Customer.objects.get(code=response.json()["customer"])
    assert (customer.first_name, customer.phone, customer.email) == (
        "Nnamdi",
        "+2348037770000",
        "new@example.com",
    )
    assert customer.external_identities.get().external_id == "gid://shopify/Customer/9"


def test_an_unknown_code_is_422_and_nothing_is_written(api):
    before = counts()

    response = api.post("/orders", order_data({"code": "NOBODY"}))

    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {"customer.code": "No customer has this code"}
    assert counts() == before


def test_external_ids_alone_need_a_name_to_make_a_customer(api):
    before = counts()

    response = api.post("/orders", order_data({"external_ids": {"shopify": "77"}}))

    assert response.status_code == 422
    assert list(response.json()["error"]["fields"]) == ["customer"]
    assert counts() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"lines": [{"name": "X", "unit_price_q": -1}]}, "lines.0.unit_price_q"),
        ({"channel": "fax"}, "channel"),
        ({"status": "refunded"}, "status"),
        ({"currency": "naira"}, "currency"),
        ({"currency": "XYZ"}, "currency"),
        ({"placed_at": "yesterday"}, "placed_at"),
        ({"lines": [], "total_q": None}, "total_q"),
        ({"completed_at": "2025-02-01T00:00:00Z"}, "completed_at"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_a_bad_order_is_422_naming_the_field(api, ada, body, field):
    before = counts()

    response = api.post("/orders", {**order_data({"code": ada.code}), **body})

    assert response.status_code == 422, response.content
    assert field in response.json()["error"]["fields"], response.json()
    assert counts() == before


# --- status and refunds -----------------------------------------------------------------------


def test_completing_a_pending_order_earns_and_repeating_it_changes_nothing(api, ada, program):
    order = api.post("/orders", order_data({"code": ada.code}, status="pending")).json()

    completed = api.post(f"/orders/{order['id']}/complete")
    before = counts()
    again = api.post(f"/orders/{order['id']}/complete")

    assert completed.status_code == 200, completed.content
    assert (completed.json()["status"], completed.json()["points_earned"]) == ("completed", 4500)
    assert (again.json()["changed"], again.json()["points_earned"]) == (False, None)
    assert counts() == before


def test_a_cancelled_order_cannot_be_completed(api, ada, program):
    order = api.post("/orders", order_data({"code": ada.code}, status="pending")).json()
    assert api.post(f"/orders/{order['id']}/cancel").json()["status"] == "cancelled"

    response = api.post(f"/orders/{order['id']}/complete")

    assert response.status_code == 409
    assert LoyaltyTransaction.objects.count() == 0


def test_a_refund_with_a_reference_happens_once_and_takes_back_points(api, ada, program):
    order = api.post("/orders", order_data({"code": ada.code})).json()
    refund = {"amount_q": 225000, "reason": "Cold food", "reference": "RF-1"}

    first = api.post(f"/orders/{order['id']}/refund", refund)
    before = counts()
    again = api.post(f"/orders/{order['id']}/refund", refund)

    assert first.status_code == 200, first.content
    assert (first.json()["points_reversed"], first.json()["refunded_q"]) == (2250, 225000)
    assert again.json()["refund_id"] == first.json()["refund_id"]
    assert again.json()["points_reversed"] is None
    assert counts() == before
    assert points_of(ada) == 2250


def test_refunding_more_than_is_left_is_422(api, ada):
    order = api.post("/orders", order_data({"code": ada.code})).json()

    response = api.post(f"/orders/{order['id']}/refund", {"amount_q": 450001})

    assert response.status_code == 422
    assert list(response.json()["error"]["fields"]) == ["amount_q"]


def test_another_tenants_order_is_404(api, other_api, ada):
    order = api.post("/orders", order_data({"code": ada.code}, status="pending")).json()
    before = counts()

    answers = [
        other_api.post(f"/orders/{order['id']}/complete"),
        other_api.post(f"/orders/{order['id']}/cancel"),
        other_api.post(f"/orders/{order['id']}/refund", {}),
    ]

    assert [a.status_code for a in answers] == [404, 404, 404]
    assert counts() == before


# --- visits -----------------------------------------------------------------------------------


def test_a_visit_is_recorded_for_a_pet_named_by_id(api, ada, actor):
    rex = PetService.add_pet(actor=actor, owner=ada, name="Rex", species="dog")

    response = api.post(
        "/visits",
        {
            "customer": {"code": ada.code},
            "external_id": "APT-1",
            "service": "Grooming",
            "pet": {"id": str(rex.uuid)},
            "price_q": 800000,
        },
    )

    assert response.status_code == 201, response.content
    assert (response.json()["pet_id"], response.json()["pet_name"]) == (str(rex.uuid), "Rex")


def test_an_unregistered_pet_keeps_its_name(api, ada):
    response = api.post(
        "/visits",
        {
            "customer": {"code": ada.code},
            "external_id": "APT-2",
            "service": "Check-up",
            "pet": {"name": "Bingo"},
        },
    )

    assert (response.json()["pet_id"], response.json()["pet_name"]) == (None, "Bingo")


def test_a_scheduled_visit_moves_on_once(api, ada):
    visit = api.post(
        "/visits",
        {
            "customer": {"code": ada.code},
            "external_id": "APT-3",
            "service": "Dental",
            "status": "scheduled",
            "scheduled_at": "2025-03-10T09:00:00Z",
        },
    ).json()

    no_show = api.post(f"/visits/{visit['id']}/no-show")
    again = api.post(f"/visits/{visit['id']}/no-show")
    complete = api.post(f"/visits/{visit['id']}/complete")

    assert (no_show.status_code, no_show.json()["status"]) == (200, "no_show")
    assert (again.status_code, again.json()["changed"]) == (200, False)
    assert complete.status_code == 409
    assert Visit.objects.get().status == "no_show"


def test_another_tenants_visit_is_404(api, other_api, ada):
    visit = api.post(
        "/visits",
        {
            "customer": {"code": ada.code},
            "external_id": "APT-4",
            "service": "Dental",
            "status": "scheduled",
            "scheduled_at": "2025-03-10T09:00:00Z",
        },
    ).json()

    for verb in ("complete", "cancel", "no-show"):
        assert other_api.post(f"/visits/{visit['id']}/{verb}").status_code == 404
    assert Visit.objects.get().status == "scheduled"


# --- many at once -----------------------------------------------------------------------------


def bulk_of(customers, count: int, **fields) -> dict:
    return {
        "orders": [
            {
                "customer": {"code": customers[index % len(customers)].code},
                "external_id": f"B-{index}",
                "placed_at": "2025-01-01T09:00:00Z",
                "total_q": 1000 + index,
                **fields,
            }
            for index in range(count)
        ]
    }


def test_bulk_records_every_order_and_a_repeat_changes_nothing(api, make_customer):
    customers = [make_customer() for _ in range(5)]
    body = bulk_of(customers, 300)

    first = api.post("/orders/bulk", body)
    before = counts()
    again = api.post("/orders/bulk", body)

    assert first.status_code == 200, first.content
    assert (first.json()["created"], first.json()["existing"]) == (300, 0)
    assert [item["external_id"] for item in first.json()["orders"][:3]] == ["B-0", "B-1", "B-2"]
    assert all(item["created"] for item in first.json()["orders"])
    assert (again.json()["created"], again.json()["existing"]) == (0, 300)
    assert [item["id"] for item in again.json()["orders"]] == [
        item["id"] for item in first.json()["orders"]
    ]
    assert counts() == before
    assert Order.objects.count() == 300


def _bulk_queries(api, body) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert api.post("/orders/bulk", body).status_code == 200
    return len(queries)


def test_bulk_queries_do_not_grow_with_orders(api, make_customer):
    # Given customers known by code
    customers = [make_customer() for _ in range(20)]
    many = {
        "orders": [
            {**order, "external_id": f"M-{index}"}
            for index, order in enumerate(bulk_of(customers, 400)["orders"])
        ]
    }

    # When 20 orders are sent, then 400
    few_queries = _bulk_queries(api, bulk_of(customers, 20))
    many_queries = _bulk_queries(api, many)

    # Then the 380 more cost only the extra insert batches (SQLite takes ~100 rows a query):
    # nothing is asked per order
    assert many_queries - few_queries < 380 // 20, (few_queries, many_queries)


def test_bulk_resolves_each_new_person_once(api):
    people = [{"phone": f"0803 100 00{n:02d}", "first_name": f"P{n}"} for n in range(10)]
    body = {
        "orders": [
            {
                "customer": people[i % 10],
                "external_id": f"P-{i}",
                "placed_at": "2025-01-01T09:00:00Z",
                "total_q": 500,
            }
            for i in range(100)
        ]
    }

    response = api.post("/orders/bulk", body)

    assert response.status_code == 200, response.content
    assert response.json()["customers_created"] == 10
    assert Customer.objects.count() == 10


def test_one_bad_order_in_a_bulk_writes_nothing_and_is_named(api, make_customer):
    customers = [make_customer()]
    body = bulk_of(customers, 50)
    body["orders"][7]["placed_at"] = "2999-01-01T00:00:00Z"
    body["orders"][9]["customer"] = {"code": "NOBODY"}
    before = counts()

    response = api.post("/orders/bulk", body)

    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {
        "orders[9].customer.code": "No customer has this code"
    }
    body["orders"][9]["customer"] = {"code": customers[0].code}
    response = api.post("/orders/bulk", body)
    assert list(response.json()["error"]["fields"]) == ["orders[7].placed_at"]
    assert counts() == before


def test_bulk_schema_errors_name_the_order(api, make_customer):
    body = bulk_of([make_customer()], 3)
    body["orders"][2]["total_q"] = -5

    response = api.post("/orders/bulk", body)

    assert response.status_code == 422
    assert list(response.json()["error"]["fields"]) == ["orders.2.total_q"]


def test_bulk_earns_only_when_asked(api, make_customer, program):
    ada = make_customer()

    quiet = api.post("/orders/bulk", bulk_of([ada], 3))
    earning = api.post(
        "/orders/bulk",
        {
            **{
                "orders": [
                    {**o, "external_id": f"E-{i}"}
                    for i, o in enumerate(bulk_of([ada], 3)["orders"])
                ]
            },
            "earn_points": True,
        },
    )

    assert quiet.json()["points_earned"] == 0
    assert earning.json()["points_earned"] == 30  # 10.00 + 10.01 + 10.02 NGN
    assert points_of(ada) == 30


def test_an_empty_or_oversized_bulk_is_422(api):
    assert api.post("/orders/bulk", {"orders": []}).status_code == 422
