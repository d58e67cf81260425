"""What the inbound event, order API and consumer tests share: envelopes, counts, a program."""

import itertools
import uuid

from rapport.commerce.models import Order, OrderRefund, Visit
from rapport.customers.models import Customer, ExternalIdentity
from rapport.events.models import OutboxEvent
from rapport.ingest.models import InboundEvent
from rapport.loyalty.models import LoyaltyTransaction
from rapport.loyalty.services import LoyaltyProgramService
from rapport.timeline.models import TimelineEvent

_numbers = itertools.count(1)

COUNTED = {
    "customers": Customer,
    "external_identities": ExternalIdentity,
    "orders": Order,
    "refunds": OrderRefund,
    "visits": Visit,
    "loyalty_transactions": LoyaltyTransaction,
    "timeline": TimelineEvent,
    "outbox": OutboxEvent,
    "inbound_events": InboundEvent,
}


def counts() -> dict[str, int]:
    """How many rows each table a delivery can write holds."""
    return {name: model.objects.count() for name, model in COUNTED.items()}


def envelope(type: str, data: dict, *, id: str | None = None, **extra) -> dict:
    return {"id": id or str(uuid.uuid4()), "type": type, "data": data, **extra}


def order_data(customer: dict, **fields) -> dict:
    """An order payload: two lines adding up to 4,500.00 NGN unless told otherwise."""
    number = next(_numbers)
    return {
        "customer": customer,
        "external_id": f"ORD-{number}",
        "placed_at": "2025-03-01T10:00:00Z",
        "lines": [
            {"name": "Jollof rice", "unit_price_q": 150000, "quantity": 2, "category": "food"},
            {"name": "Zobo", "unit_price_q": 150000, "category": "drinks"},
        ],
        **fields,
    }


def loyalty_program(actor, **terms):
    """The tenant's program set up as the loyalty tests do: one point per naira."""
    return LoyaltyProgramService.configure_program(actor=actor, preset="crm_service", **terms)


def points_of(customer) -> int:
    from rapport.loyalty.models import LoyaltyAccount

    account = LoyaltyAccount.objects.filter(customer=customer).first()
    return account.points_balance if account else 0
