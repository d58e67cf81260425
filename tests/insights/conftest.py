"""Fixtures of the insights tests: orders and visits made through commerce, and a small shop."""

import datetime as dt

import pytest

from rapport.commerce.services import LineInput, OrderInput, OrderService, VisitInput, VisitService
from rapport.insights.services import InsightService
from rapport.tenancy.actors import Actor

# The default tenant is in Lagos, UTC+1 all year: 09:30 UTC is 10:30 on its clock.
AS_OF = dt.datetime(2025, 6, 30, 12, 0, tzinfo=dt.UTC)


def at(day: str, time: str = "09:30") -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{time}:00+00:00")


@pytest.fixture
def actor(tenant):
    return Actor.for_system(tenant, "tests")


@pytest.fixture
def buy(actor):
    """buy(customer, "2025-06-01", 1500, name=…, category=…, channel=…) records an order."""
    counter = iter(range(1, 100_000))

    def buy(customer, day, price_q, time="09:30", quantity=1, **fields):
        line = LineInput(
            name=fields.pop("name", "Coffee"),
            category=fields.pop("category", "drinks"),
            unit_price_q=price_q,
            quantity=quantity,
        )
        order = OrderInput(
            customer=customer,
            external_id=f"O-{next(counter)}",
            placed_at=at(day, time),
            lines=(line,),
            **fields,
        )
        return OrderService.record_order(actor=actor, order=order).order

    return buy


@pytest.fixture
def visit(actor):
    """visit(customer, "2025-06-01", status="completed") records a visit."""
    counter = iter(range(1, 100_000))

    def visit(customer, day, status="completed", service="Check-up"):
        moment = at(day)
        record = VisitInput(
            customer=customer,
            external_id=f"V-{next(counter)}",
            service=service,
            status=status,
            scheduled_at=moment,
            completed_at=moment if status == "completed" else None,
        )
        return VisitService.record_visit(actor=actor, visit=record).visit

    return visit


# Each shop customer as of AS_OF: orders (last one), spend, and the RFM code that gives.
SHOP = {
    "CHAMP": "10 orders, last 10 days before, 100,000: 555 champions",
    "LOYAL": "5 orders, last 40 days before, 40,000: 444 loyal_customers",
    "NEWBIE": "1 order, 10 days before, 5,000: 511 new_customers",
    "GONE": "2 orders, last 200 days before, 30,000: 123 hibernating",
    "SLEEPY": "3 orders, last 100 days before, 15,000: 232 about_to_sleep",
    "BROWSER": "no orders: no RFM code",
}
CHAMP_DAYS = [
    "2025-01-10",
    "2025-01-25",
    "2025-02-10",
    "2025-02-25",
    "2025-03-10",
    "2025-04-10",
    "2025-05-10",
    "2025-06-01",
    "2025-06-10",
    "2025-06-20",
]
LOYAL_DAYS = ["2025-01-15", "2025-02-15", "2025-03-15", "2025-04-15", "2025-05-21"]


@pytest.fixture
def shop(make_customer, buy, visit) -> dict:
    """Six customers whose RFM segments as of AS_OF are known (SHOP), with a few visits."""
    customers = {
        code: make_customer(code=code, first_name=code.title(), last_name="Shopper")
        for code in SHOP
    }
    for day in CHAMP_DAYS:
        buy(customers["CHAMP"], day, 10_000)
    for day in LOYAL_DAYS:
        buy(customers["LOYAL"], day, 8_000)
    buy(customers["NEWBIE"], "2025-06-20", 5_000)
    buy(customers["GONE"], "2024-12-01", 15_000)
    buy(customers["GONE"], "2024-12-12", 15_000)
    for day in ("2025-02-01", "2025-03-01", "2025-03-22"):
        buy(customers["SLEEPY"], day, 5_000)
    visit(customers["CHAMP"], "2025-05-02")
    visit(customers["CHAMP"], "2025-06-02")
    visit(customers["LOYAL"], "2025-04-02")
    visit(customers["NEWBIE"], "2025-06-21", status="cancelled")
    return customers


@pytest.fixture
def calculated(shop, actor) -> dict:
    """The shop, recalculated as of AS_OF."""
    InsightService.recalculate_all(actor=actor, as_of=AS_OF)
    return shop
