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


@pytest.mark.parametrize("model", [Order, Visit], ids=lambda model: model.__name__)
def test_pages_answer_and_nothing_is_editable(admin_client, records, model):
    obj = records[model]

    assert admin_client.get(url(model, "changelist")).status_code == 200
    page = admin_client.get(url(model, "change", obj.pk))
    assert page.status_code == 200
    assert admin_client.get(url(model, "add")).status_code == 403
    assert admin_client.post(url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=obj.pk).exists()


def test_order_page_shows_lines_and_refunds(admin_client, records):
    page = admin_client.get(url(Order, "change", records[Order].pk)).content.decode()

    assert "Croissant" in page and "Coffee" in page
    assert "refund:" in page


@pytest.mark.parametrize(("term", "expected"), [("1043", ["1043"]), ("BEN-2", ["2000"])])
def test_search_by_external_id_or_customer_code(admin_client, records, term, expected):
    response = admin_client.get(url(Order, "changelist"), {"q": term})

    assert [row.external_id for row in response.context["cl"].result_list] == expected
