"""The commerce admin: pages answer, search finds by external id or code, nothing is editable."""

import pytest
from django.urls import reverse

from rapport.commerce.models import Order, Visit
from rapport.commerce.services import OrderService, VisitInput, VisitService
from tests.commerce.conftest import order_input

pytestmark = pytest.mark.django_db


def url(model, view: str, *args) -> str:
    return reverse(f"admin:rapport_commerce_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def records(actor, ada, ben):
    order = OrderService.record_order(actor=actor, order=order_input(ada, "1043")).order
    OrderService.refund(actor=actor, order=order, amount_q=100)
    OrderService.record_order(actor=actor, order=order_input(ben, "2000"))
    visit = VisitService.record_visit(
        actor=actor, visit=VisitInput(customer=ada, external_id="V-1", service="Bath")
    ).visit
    return {Order: order, Visit: visit}


def test_pages_answer_show_lines_and_refunds_and_nothing_is_editable(admin_client, records):
    for model, obj in records.items():
        assert admin_client.get(url(model, "changelist")).status_code == 200
        assert admin_client.get(url(model, "change", obj.pk)).status_code == 200
        assert admin_client.get(url(model, "add")).status_code == 403
        assert admin_client.post(url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
        assert model.objects.filter(pk=obj.pk).exists()

    page = admin_client.get(url(Order, "change", records[Order].pk)).content.decode()
    assert "Croissant" in page and "Coffee" in page
    assert "refund:" in page


def test_search_by_external_id_or_customer_code(admin_client, records):
    for term, expected in [("1043", ["1043"]), ("BEN-2", ["2000"]), ("V-1", [])]:
        response = admin_client.get(url(Order, "changelist"), {"q": term})
        assert [row.external_id for row in response.context["cl"].result_list] == expected
