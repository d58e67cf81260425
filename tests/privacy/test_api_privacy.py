"""The privacy endpoints, through the real URLs and API-key auth."""

import pytest

from rapport.customers.models import Customer
from rapport.privacy.models import DataSubjectRequest, ErasureRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(make_customer):
    return make_customer(code="ADA-1", first_name="Ada", email="ada@example.com")


def test_an_admin_exports_a_customer(admin_api, customer):
    response = admin_api.get("/customers/ADA-1/export")

    assert response.status_code == 200
    document = response.json()
    assert document["customer"]["email"] == "ada@example.com"
    assert document["sections"]["customers"]["profile"]["first_name"] == "Ada"


@pytest.mark.parametrize("client", ["api", "read_api"])
def test_export_and_erase_need_the_admin_scope(request, customer, client):
    caller = request.getfixturevalue(client)

    exported = caller.get("/customers/ADA-1/export")
    erased = caller.post("/customers/ADA-1/erase", {"confirm": "ADA-1"})

    assert (exported.status_code, erased.status_code) == (403, 403)
    assert exported.json()["error"]["code"] == "forbidden"
    customer.refresh_from_db()
    assert customer.erased_at is None


def test_an_admin_erases_a_customer_once(admin_api, customer):
    response = admin_api.post("/customers/ADA-1/erase", {"confirm": "ADA-1"})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["customer"] == "ADA-1"
    assert body["erased_by"] == "api_key:admin key"
    assert body["request_id"] is None
    customer.refresh_from_db()
    assert (customer.first_name, customer.email) == ("", "")
    assert admin_api.get("/customers/ADA-1").status_code == 200

    again = admin_api.post("/customers/ADA-1/erase", {"confirm": "ADA-1"})

    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"
    assert ErasureRecord.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"confirm": "ADA-2"}, "confirm"),
        ({}, "confirm"),
        ({"confirm": "ADA-1", "request_id": "not-a-uuid"}, "request_id"),
        ({"confirm": "ADA-1", "request_id": "7d1f4c55-0d5e-4f8e-9a51-4f1b7a3d0c11"}, "request_id"),
        ({"confirm": "ADA-1", "extra": True}, "extra"),
    ],
)
def test_a_bad_erase_request_is_a_422_and_erases_nothing(admin_api, customer, body, field):
    response = admin_api.post("/customers/ADA-1/erase", body)

    assert response.status_code == 422, response.content
    assert field in response.json()["error"]["fields"]
    customer.refresh_from_db()
    assert customer.first_name == "Ada"
    assert not ErasureRecord.objects.exists()


def test_another_tenant_cannot_export_or_erase(other_api, customer):
    assert other_api.get("/customers/ADA-1/export").status_code == 404
    assert other_api.post("/customers/ADA-1/erase", {"confirm": "ADA-1"}).status_code == 404
    customer.refresh_from_db()
    assert customer.erased_at is None


def test_a_request_is_opened_moved_on_and_completed_by_erasing(admin_api, customer):
    opened = admin_api.post(
        "/data-subject-requests",
        {"kind": "erasure", "customer": "ADA-1", "channel": "email", "notes": "By email"},
    )
    assert opened.status_code == 201, opened.content
    request_id = opened.json()["id"]
    assert opened.json()["status"] == "received"
    assert opened.json()["is_overdue"] is False

    moved = admin_api.patch(f"/data-subject-requests/{request_id}", {"status": "in_progress"})
    assert moved.status_code == 200
    assert moved.json()["status"] == "in_progress"

    erased = admin_api.post(
        "/customers/ADA-1/erase", {"confirm": "ADA-1", "request_id": request_id}
    )
    assert erased.status_code == 200
    assert erased.json()["request_id"] == request_id

    answered = admin_api.get(f"/data-subject-requests/{request_id}").json()
    assert answered["status"] == "completed"
    assert answered["completed_at"] is not None
    erasures = admin_api.get("/erasures").json()
    assert [item["request_id"] for item in erasures["items"]] == [request_id]


def test_a_bad_transition_is_a_422(admin_api):
    request_id = admin_api.post("/data-subject-requests", {"kind": "access"}).json()["id"]
    admin_api.patch(f"/data-subject-requests/{request_id}", {"status": "completed"})

    response = admin_api.patch(f"/data-subject-requests/{request_id}", {"status": "received"})

    assert response.status_code == 422
    assert set(response.json()["error"]["fields"]) == {"status"}
    assert DataSubjectRequest.objects.get().status == "completed"


def test_the_request_list_filters_and_pages(admin_api):
    for kind in ["access", "erasure", "access"]:
        admin_api.post("/data-subject-requests", {"kind": kind})
    admin_api.post(
        "/data-subject-requests", {"kind": "access", "received_at": "2020-01-01T09:00:00Z"}
    )

    first = admin_api.get("/data-subject-requests", {"limit": 2}).json()
    rest = admin_api.get(
        "/data-subject-requests", {"limit": 2, "cursor": first["next_cursor"]}
    ).json()
    overdue = admin_api.get("/data-subject-requests", {"overdue": "true"}).json()
    erasures = admin_api.get("/data-subject-requests", {"kind": "erasure"}).json()

    assert len(first["items"]) + len(rest["items"]) == 4
    assert rest["next_cursor"] is None
    assert rest["items"][-1]["received_at"].startswith("2020-01-01")
    assert [item["received_at"][:10] for item in overdue["items"]] == ["2020-01-01"]
    assert overdue["items"][0]["is_overdue"] is True
    assert [item["kind"] for item in erasures["items"]] == ["erasure"]


def test_the_request_log_needs_the_admin_scope(api):
    assert api.get("/data-subject-requests").status_code == 403
    assert api.post("/data-subject-requests", {"kind": "access"}).status_code == 403
    assert not DataSubjectRequest.objects.exists()


def test_an_unknown_request_is_a_404(admin_api):
    response = admin_api.get("/data-subject-requests/7d1f4c55-0d5e-4f8e-9a51-4f1b7a3d0c11")

    assert response.status_code == 404


def test_a_customer_code_that_finds_no_one_is_kept(admin_api):
    response = admin_api.post("/data-subject-requests", {"kind": "access", "customer": "WHO-1"})

    assert response.status_code == 201
    assert response.json()["customer"] == "WHO-1"
    assert not Customer.objects.filter(code="WHO-1").exists()
