"""The import and export endpoints: upload, job progress and errors, and the CSV export."""

import csv
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from rapport.consent.services import ConsentService
from rapport.customers.models import Customer
from rapport.customers.services import TagService
from rapport.ingest.models import ImportJob
from rapport.loyalty.services import LoyaltyService
from rapport.tenancy.actors import Actor

CUSTOMERS = (
    "First name,E-mail,Tags\nAda,ada@example.com,VIP\nBola,not-an-email,\nChi,chi@example.com,\n"
)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def upload(api, data: bytes | str, *, name="customers.csv", **form):
    content = data.encode() if isinstance(data, str) else data
    body = {"file": SimpleUploadedFile(name, content, content_type="text/csv"), **form}
    return api.client.post("/api/v1/imports", body, headers=api._headers(None))


def test_an_upload_is_checked_queued_and_imported(api, django_capture_on_commit_callbacks, media):
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(api, CUSTOMERS, kind="customers")

    assert response.status_code == 202, response.content
    created = response.json()
    assert created["status"] == "pending"
    assert created["mapping"] == {"first_name": "First name", "email": "E-mail", "tags": "Tags"}
    # With the immediate backend the task ran once the upload committed
    job = api.get(f"/imports/{created['id']}").json()
    assert job["status"] == "completed"
    assert (job["total_rows"], job["processed_rows"], job["progress"]) == (3, 3, 100.0)
    assert (job["created_count"], job["error_count"]) == (2, 1)
    assert job["errors"] == [
        {"row": 3, "field": "email", "message": "'not-an-email' is not an email address"}
    ]
    assert job["filename"] == "customers.csv"
    assert job["created_by"].startswith("api_key:")
    assert Customer.objects.count() == 2
    # The uploaded file is not kept once imported
    assert not list((media / "imports").iterdir())


def test_a_dry_run_upload_reports_and_writes_nothing(api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(
            api,
            CUSTOMERS.replace("E-mail", "Mail"),
            kind="customers",
            dry_run="true",
            mapping=json.dumps({"email": "Mail"}),
        )

    job = api.get(f"/imports/{response.json()['id']}").json()
    assert (job["dry_run"], job["status"], job["created_count"]) == (True, "completed", 2)
    assert not Customer.objects.exists()


def test_a_body_that_is_not_a_form_is_a_422(api):
    response = api.post("/imports", {"kind": "customers", "csv": CUSTOMERS})

    assert response.status_code == 422
    assert "file" in response.json()["error"]["fields"]
    assert not ImportJob.objects.exists()


@pytest.mark.parametrize(
    ("data", "form", "field"),
    [
        ("name\nJos\xe9\n".encode("latin-1"), {"kind": "customers"}, "file"),
        (b"", {"kind": "customers"}, "file"),
        (CUSTOMERS, {"kind": "pets"}, "kind"),
        (CUSTOMERS, {"kind": "customers", "mapping": "{bad json"}, "mapping"),
        (CUSTOMERS, {"kind": "customers", "mapping": '{"shoe": "Tags"}'}, "shoe"),
        (CUSTOMERS, {"kind": "customers", "mapping": '{"email": "Mail"}'}, "email"),
        (CUSTOMERS, {"kind": "customers", "dry_run": "maybe"}, "dry_run"),
        (CUSTOMERS, {"kind": "orders"}, "external_id"),
    ],
)
def test_a_bad_upload_is_a_422_naming_the_problem_and_queues_nothing(api, data, form, field):
    response = upload(api, data, **form)

    assert response.status_code == 422, response.content
    assert field in response.json()["error"]["fields"]
    assert not ImportJob.objects.exists()


def test_a_file_over_the_limit_is_a_413(api, settings):
    settings.RAPPORT_IMPORT_MAX_MB = 0

    response = upload(api, CUSTOMERS, kind="customers")

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "file_too_large"
    assert not ImportJob.objects.exists()


def test_an_upload_needs_the_write_scope_and_jobs_stay_in_their_tenant(
    api, read_api, other_api, django_capture_on_commit_callbacks
):
    assert upload(read_api, CUSTOMERS, kind="customers").status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        job_id = upload(api, CUSTOMERS, kind="customers").json()["id"]

    assert other_api.get(f"/imports/{job_id}").status_code == 404
    assert other_api.get("/imports").json()["items"] == []
    listed = api.get("/imports").json()
    assert [item["id"] for item in listed["items"]] == [job_id]
    assert "errors" not in listed["items"][0]


def test_a_retried_upload_with_its_idempotency_key_runs_once(
    api, django_capture_on_commit_callbacks
):
    headers = {**api._headers(None), "Idempotency-Key": "upload-1"}
    body = lambda: {  # noqa: E731
        "kind": "customers",
        "file": SimpleUploadedFile("c.csv", CUSTOMERS.encode(), content_type="text/csv"),
    }
    with django_capture_on_commit_callbacks(execute=True):
        first = api.client.post("/api/v1/imports", body(), headers=headers)
        second = api.client.post("/api/v1/imports", body(), headers=headers)

    assert first.status_code == second.status_code == 202
    assert second["Idempotent-Replayed"] == "true"
    assert ImportJob.objects.count() == 1


def read_export(response) -> list[dict]:
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


def test_the_export_has_tags_consent_and_loyalty_columns(api, tenant, make_customer):
    actor = Actor.for_system(tenant, "tests")
    ada = make_customer(first_name="Ada", email="ada@example.com", phone="+2348031234567")
    bola = make_customer(first_name="=HYPERLINK(1)")
    TagService.add_tags(actor=actor, code=ada.code, names=["VIP", "Wholesale"])
    ConsentService.grant_consent(actor=actor, code=ada.code, channel="email")
    ConsentService.revoke_consent(actor=actor, code=ada.code, channel="sms")
    LoyaltyService.earn_points(actor=actor, code=ada.code, reference="r1", points=120)

    response = api.get("/exports/customers.csv")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = {row["code"]: row for row in read_export(response)}
    assert list(rows[ada.code]) == [
        "code", "first_name", "last_name", "email", "phone", "birthday", "customer_type",
        "source", "tags", "created_at", "email_marketing", "sms_marketing",
        "whatsapp_marketing", "points_balance", "tier",
    ]  # fmt: skip
    row = rows[ada.code]
    assert (row["email"], row["phone"], row["tags"]) == (
        "ada@example.com",
        "+2348031234567",
        "VIP | Wholesale",
    )
    assert (row["email_marketing"], row["sms_marketing"], row["whatsapp_marketing"]) == (
        "yes",
        "no",
        "",
    )
    assert row["points_balance"] == "120"
    assert (rows[bola.code]["points_balance"], rows[bola.code]["first_name"]) == (
        "",
        "'=HYPERLINK(1)",
    )


def test_the_export_filters_by_tag_and_refuses_an_unknown_one(api, tenant, make_customer):
    actor = Actor.for_system(tenant, "tests")
    ada = make_customer(first_name="Ada")
    make_customer(first_name="Bola")
    TagService.add_tags(actor=actor, code=ada.code, names=["VIP"])

    tagged = read_export(api.get("/exports/customers.csv", {"tag": "vip"}))
    unknown = api.get("/exports/customers.csv", {"tag": "Nope"})

    assert [row["code"] for row in tagged] == [ada.code]
    assert unknown.status_code == 422
    assert unknown.json()["error"]["fields"] == {"tag": "No tag named 'Nope'"}


def test_the_export_reads_a_chunk_in_a_few_queries(
    api, tenant, make_customer, django_assert_max_num_queries
):
    actor = Actor.for_system(tenant, "tests")
    for number in range(30):
        customer = make_customer(first_name=f"C{number}")
        TagService.add_tags(actor=actor, code=customer.code, names=["VIP"])
        ConsentService.grant_consent(actor=actor, code=customer.code, channel="email")

    with django_assert_max_num_queries(12):
        rows = read_export(api.get("/exports/customers.csv"))

    assert len(rows) == 30


def test_an_exported_file_imports_back_unchanged(api, tenant, make_customer):
    actor = Actor.for_system(tenant, "tests")
    ada = make_customer(first_name="Ada", email="ada@example.com")
    TagService.add_tags(actor=actor, code=ada.code, names=["VIP"])
    ConsentService.grant_consent(actor=actor, code=ada.code, channel="email")
    exported = b"".join(api.get("/exports/customers.csv").streaming_content)

    from rapport.ingest.csv.jobs import import_file

    report = import_file(actor=actor, kind="customers", file=io.BytesIO(exported))

    assert (report.created, report.updated, report.unchanged) == (0, 0, 1)
    assert set(report.ignored_columns) == {"created_at", "points_balance", "tier"}
