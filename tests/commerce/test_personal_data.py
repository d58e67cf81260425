"""Commerce in exports, erasures and merges: the handler, through rapport's own services."""

import pytest

from rapport.commerce.models import Order, OrderRefund, Visit
from rapport.commerce.personal_data import CommerceData
from rapport.commerce.services import LineInput, OrderService, VisitInput, VisitService
from rapport.customers import personal_data
from rapport.identity.services import MergeService
from rapport.privacy.services import PrivacyService
from tests.commerce.conftest import order_input

pytestmark = pytest.mark.django_db

handler = CommerceData()


@pytest.fixture
def history(actor, ada):
    """Ada's order (its id and metadata name her), refunded in part, and a visit with notes."""
    order = OrderService.record_order(
        actor=actor,
        order=order_input(
            ada,
            "ada@example.com-1",
            metadata={"gift_note": "For Ada Obi", "table": 4},
            lines=(LineInput("Cake for Ada", 3000, sku="CK-1", category="bakery"),),
        ),
    ).order
    OrderService.refund(
        actor=actor, order=order, amount_q=1000, reason="Ada Obi complained", reference="r-ada"
    )
    visit = VisitService.record_visit(
        actor=actor,
        visit=VisitInput(
            customer=ada,
            external_id="V-1",
            service="Grooming",
            pet_name="Rex",
            staff="Dr. Eze",
            price_q=5000,
            notes="Ada prefers mornings",
            metadata={"by": "ada@example.com"},
        ),
    ).visit
    return order, visit


def test_the_handler_is_registered_for_every_part():
    for method in ("export", "erase", "plan_merge", "merge", "blockers_to_undo", "undo_merge"):
        assert any(isinstance(h, CommerceData) for h in personal_data.handlers(method)), method


def test_export_holds_orders_with_lines_and_refunds_and_visits(actor, ada, history):
    exported = PrivacyService.export_customer(actor=actor, code="ADA-1")["sections"]["commerce"]

    [order] = exported["orders"]
    assert (order["external_id"], order["total_q"], order["refunded_q"]) == (
        "ada@example.com-1",
        3000,
        1000,
    )
    assert [line["name"] for line in order["lines"]] == ["Cake for Ada"]
    assert [(r["amount_q"], r["reason"]) for r in order["refunds"]] == [
        (1000, "Ada Obi complained")
    ]
    [visit] = exported["visits"]
    assert (visit["service"], visit["pet_name"], visit["notes"]) == (
        "Grooming",
        "Rex",
        "Ada prefers mornings",
    )


def test_erasure_keeps_amounts_and_skus_and_scrubs_what_names_the_person(actor, ada, history):
    order, visit = history

    PrivacyService.erase_customer(actor=actor, code="ADA-1")

    order = Order.objects.get(pk=order.pk)
    assert (order.total_q, order.refunded_q, order.status, order.placed_at) == (
        3000,
        1000,
        "partially_refunded",
        history[0].placed_at,
    )
    assert "ada@example.com" not in order.external_id
    assert order.external_id.endswith(order.uuid.hex)
    assert order.metadata == {"gift_note": "For [erased]", "table": 4}
    [line] = order.lines.all()
    assert (line.name, line.sku, line.category, line.total_q) == (
        "Cake for [erased]",
        "CK-1",
        "bakery",
        3000,
    )
    refund = OrderRefund.objects.get()
    assert (refund.amount_q, refund.reason) == (1000, "[erased] complained")
    visit = Visit.objects.get(pk=visit.pk)
    assert (visit.notes, visit.pet_name, visit.metadata) == ("", "", {"by": "[erased]"})
    assert (visit.service, visit.price_q, visit.staff) == ("Grooming", 5000, "Dr. Eze")


def test_no_new_orders_for_an_erased_customer_but_old_ones_can_be_refunded(actor, ada, history):
    order, _ = history
    PrivacyService.erase_customer(actor=actor, code="ADA-1")
    ada.refresh_from_db()

    from rapport.exceptions import InvalidInput

    with pytest.raises(InvalidInput):
        OrderService.record_order(actor=actor, order=order_input(ada, "new"))
    refunded = OrderService.refund(actor=actor, order=order)
    assert refunded.order.status == "refunded"


def test_merge_moves_orders_and_visits_and_undo_moves_them_back(actor, make_customer):
    survivor = make_customer(code="KEEP", first_name="Ada", last_name="Obi", email="ada@x.com")
    duplicate = make_customer(code="DUP", first_name="Ada", last_name="Obi", email="ada@x.com")
    OrderService.record_order(actor=actor, order=order_input(survivor, "S-1"))
    OrderService.record_order(actor=actor, order=order_input(duplicate, "D-1"))
    OrderService.record_order(actor=actor, order=order_input(duplicate, "D-2"))
    VisitService.record_visit(
        actor=actor, visit=VisitInput(customer=duplicate, external_id="V-1", service="Bath")
    )

    plan = [step for step in handler.plan_merge(duplicate, survivor)]
    assert [(s.what, s.action) for s in plan] == [("2 orders", "move"), ("1 visit", "move")]
    merge = MergeService.merge(actor=actor, survivor="KEEP", duplicate="DUP")

    assert set(Order.objects.filter(customer=survivor).values_list("external_id", flat=True)) == {
        "S-1",
        "D-1",
        "D-2",
    }
    assert Visit.objects.get().customer_id == survivor.pk
    # A repeat of the duplicate's order reported against the old record is still the same order
    again = OrderService.record_order(actor=actor, order=order_input(duplicate, "D-1"))
    assert again.created is False

    MergeService.undo(actor=actor, merge_id=merge.uuid)

    assert set(Order.objects.filter(customer=duplicate).values_list("external_id", flat=True)) == {
        "D-1",
        "D-2",
    }
    assert Order.objects.filter(customer=survivor).count() == 1
    assert Visit.objects.get().customer_id == duplicate.pk
