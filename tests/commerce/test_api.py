"""The read API: orders, visits, a customer's orders, visits and activity."""

import datetime as dt
import uuid

import pytest

from rapport.commerce.services import OrderService, VisitInput, VisitService
from tests.commerce.conftest import PLACED, order_input

pytestmark = pytest.mark.django_db

PET = uuid.UUID("6f1c2c57-0000-4000-8000-000000000002")


@pytest.fixture
def shop(actor, ada, ben):
    """Five orders of Ada's (an hour apart; 3 pending, 4 online), one of Ben's, two visits."""
    orders = [
        OrderService.record_order(
            actor=actor,
            order=order_input(
                ada,
                f"A-{n}",
                placed_at=PLACED + dt.timedelta(hours=n),
                status="pending" if n == 3 else "completed",
                channel="online" if n == 4 else "pos",
                source="shopify" if n == 4 else "pos",
            ),
        ).order
        for n in range(5)
    ]
    orders.append(OrderService.record_order(actor=actor, order=order_input(ben, "B-1")).order)
    OrderService.refund(actor=actor, order=orders[0], amount_q=500, reason="Cold")
    visits = [
        VisitService.record_visit(
            actor=actor,
            visit=VisitInput(
                customer=ada,
                external_id="V-1",
                service="Grooming",
                completed_at=PLACED,
                pet_uuid=PET,
                pet_name="Rex",
            ),
        ).visit,
        VisitService.record_visit(
            actor=actor,
            visit=VisitInput(customer=ben, external_id="V-2", service="Bath", completed_at=PLACED),
        ).visit,
    ]
    return orders, visits


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["external_id"] for item in response.json()["items"]]


def test_orders_list_newest_first_with_lines_and_pages(read_api, shop):
    first = read_api.get("/orders", {"limit": 4})
    body = first.json()
    rest = read_api.get("/orders", {"limit": 4, "cursor": body["next_cursor"]})

    # Newest first; A-0 and B-1 were placed at once: the later record first
    assert ids(first) + ids(rest) == ["A-4", "A-3", "A-2", "A-1", "B-1", "A-0"]
    assert len(ids(first)) == 4 and len(ids(rest)) == 2
    assert rest.json()["next_cursor"] is None
    item = body["items"][0]
    assert item["customer"] == "ADA-1"
    assert [line["name"] for line in item["lines"]] == ["Croissant", "Coffee"]
    assert item["net_q"] == 4500


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"customer": "ADA-1"}, {"A-0", "A-1", "A-2", "A-3", "A-4"}),
        ({"customer": "NOBODY"}, set()),
        ({"status": "pending"}, {"A-3"}),
        ({"status": "partially_refunded"}, {"A-0"}),
        ({"channel": "online"}, {"A-4"}),
        ({"source": "Shopify"}, {"A-4"}),
        (
            {"placed_after": "2025-03-01T11:30:00Z", "placed_before": "2025-03-01T13:30:00Z"},
            {"A-1", "A-2"},
        ),
    ],
)
def test_orders_filters(read_api, shop, params, expected):
    assert set(ids(read_api.get("/orders", params))) == expected


def test_order_detail_has_lines_and_refunds(read_api, shop):
    orders, _ = shop

    response = read_api.get(f"/orders/{orders[0].uuid}")

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["refunded_q"], body["net_q"]) == ("partially_refunded", 500, 4000)
    assert [(r["amount_q"], r["reason"]) for r in body["refunds"]] == [(500, "Cold")]
    assert len(body["lines"]) == 2


def test_another_tenant_gets_404_for_orders_and_visits(other_api, shop):
    orders, visits = shop

    assert other_api.get(f"/orders/{orders[0].uuid}").status_code == 404
    assert other_api.get(f"/visits/{visits[0].uuid}").status_code == 404
    assert other_api.get("/customers/ADA-1/orders").status_code == 404
    assert other_api.get("/customers/ADA-1/activity").status_code == 404
    assert other_api.get("/orders").json()["items"] == []
    assert other_api.get("/visits").json()["items"] == []
    assert other_api.get(f"/orders/{uuid.uuid4()}").json()["error"]["code"] == "not_found"


def test_customer_orders_and_visits(read_api, shop):
    assert ids(read_api.get("/customers/ADA-1/orders", {"order_by": "placed_at"})) == [
        "A-0",
        "A-1",
        "A-2",
        "A-3",
        "A-4",
    ]
    assert ids(read_api.get("/customers/ADA-1/orders", {"status": "pending"})) == ["A-3"]
    assert ids(read_api.get("/customers/BEN-2/visits")) == ["V-2"]
    assert read_api.get("/customers/NOBODY/visits").status_code == 404


def test_visits_list_filters_by_pet_and_customer(read_api, shop):
    assert ids(read_api.get("/visits", {"pet": str(PET)})) == ["V-1"]
    assert ids(read_api.get("/visits", {"customer": "BEN-2"})) == ["V-2"]
    assert set(ids(read_api.get("/visits"))) == {"V-1", "V-2"}
    visit = read_api.get("/visits", {"pet": str(PET)}).json()["items"][0]
    assert (visit["pet_id"], visit["pet_name"], visit["service"]) == (str(PET), "Rex", "Grooming")


def test_bad_filters_are_422(read_api, shop):
    assert read_api.get("/orders", {"status": "lost"}).status_code == 422
    assert read_api.get("/orders", {"order_by": "total_q"}).status_code == 422
    assert read_api.get("/orders", {"placed_after": "yesterday"}).status_code == 422
    assert read_api.get("/orders", {"cursor": "nonsense"}).status_code == 422
    assert read_api.get("/visits", {"pet": "rex"}).status_code == 422


def test_activity_summary(read_api, shop):
    body = read_api.get("/customers/ADA-1/activity").json()

    # Four sold orders of 4500, 500 refunded; one pending; one completed visit
    assert body["orders_count"] == 5
    assert body["completed_orders"] == 4
    assert body["total_spent_q"] == 4 * 4500 - 500
    assert body["refunded_q"] == 500
    assert body["average_order_q"] == (4 * 4500 - 500) // 4
    assert body["currency"] == "NGN"
    assert body["first_order_at"].startswith("2025-03-01T10:30:00")
    assert body["last_order_at"].startswith("2025-03-01T14:30:00")
    assert (body["visits_count"], body["completed_visits"], body["no_show_visits"]) == (1, 1, 0)
    assert [(item["kind"], item["external_id"]) for item in body["recent"]] == [
        ("order", "A-4"),
        ("order", "A-3"),
        ("order", "A-2"),
        ("order", "A-1"),
        ("order", "A-0"),
        ("visit", "V-1"),
    ]


def test_activity_of_a_customer_without_any(read_api, make_customer):
    make_customer(code="NEW-1", first_name="New")

    body = read_api.get("/customers/NEW-1/activity").json()

    assert (body["orders_count"], body["total_spent_q"], body["average_order_q"]) == (0, 0, 0)
    assert (body["first_order_at"], body["last_visit_at"], body["recent"]) == (None, None, [])


def test_list_queries_do_not_grow_with_rows(read_api, actor, ada):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    urls = ["/orders", "/visits", "/customers/ADA-1/orders", "/customers/ADA-1/visits"]
    urls.append("/customers/ADA-1/activity")

    def add(start, count):
        for n in range(start, start + count):
            order = OrderService.record_order(actor=actor, order=order_input(ada, f"Q-{n}")).order
            OrderService.refund(actor=actor, order=order, amount_q=1)
            VisitService.record_visit(
                actor=actor,
                visit=VisitInput(customer=ada, external_id=f"Q-{n}", service="Check-up"),
            )

    def count(url):
        read_api.get(url)
        with CaptureQueriesContext(connection) as context:
            assert read_api.get(url).status_code == 200
        return len(context.captured_queries)

    add(0, 2)
    few = {url: count(url) for url in urls}
    add(2, 20)
    many = {url: count(url) for url in urls}

    assert many == few
    assert max(few.values()) <= 7
