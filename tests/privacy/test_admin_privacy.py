"""The privacy admin: requests go through their service, erasure is a confirmed action."""

import pytest
from django.urls import reverse

from rapport.customers.models import Customer
from rapport.privacy.models import DataSubjectRequest, ErasureRecord
from rapport.privacy.services import DataSubjectRequestService
from rapport.tenancy.actors import Actor

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:rapport_privacy_datasubjectrequest_changelist"


@pytest.fixture
def erasure_request(tenant, make_customer):
    customer = make_customer(first_name="Folake", email="folake@example.com")
    return DataSubjectRequestService.open_request(
        actor=Actor.for_system(tenant, "tests"), kind="erasure", customer_code=customer.code
    )


def test_the_erase_action_asks_first_and_changes_nothing(admin_client, erasure_request):
    response = admin_client.post(
        reverse(CHANGELIST),
        {"action": "erase_customers", "_selected_action": [erasure_request.pk]},
    )

    assert response.status_code == 200
    assert b"cannot be undone" in response.content
    assert Customer.objects.get(code=erasure_request.customer_code).first_name == "Folake"
    assert not ErasureRecord.objects.exists()


def test_the_confirmed_erase_action_erases_through_the_service(
    admin_client, admin_user, erasure_request
):
    response = admin_client.post(
        reverse(CHANGELIST),
        {
            "action": "erase_customers",
            "_selected_action": [erasure_request.pk],
            "confirmed": "yes",
        },
    )

    assert response.status_code == 302
    customer = Customer.objects.get(code=erasure_request.customer_code)
    assert (customer.first_name, customer.email) == ("", "")
    record = ErasureRecord.objects.get()
    assert record.erased_by == f"user:{admin_user.username}"
    assert DataSubjectRequest.objects.get().status == "completed"


def test_adding_a_request_in_the_admin_sets_its_deadline(admin_client, tenant):
    response = admin_client.post(
        reverse("admin:rapport_privacy_datasubjectrequest_add"),
        {"tenant": tenant.pk, "kind": "access", "status": "received", "customer_code": "WHO-1"},
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    request = DataSubjectRequest.objects.get()
    assert request.due_at > request.received_at
    assert request.customer_code == "WHO-1"


def test_a_bad_transition_in_the_admin_is_a_form_error(admin_client, tenant):
    actor = Actor.for_system(tenant, "tests")
    request = DataSubjectRequestService.open_request(actor=actor, kind="access")
    DataSubjectRequestService.update_request(
        actor=actor, request_id=request.uuid, status="completed"
    )

    response = admin_client.post(
        reverse("admin:rapport_privacy_datasubjectrequest_change", args=[request.pk]),
        {"status": "received", "notes": ""},
    )

    assert response.status_code == 200
    assert "status" in response.context["adminform"].form.errors
    assert DataSubjectRequest.objects.get().status == "completed"
