"""Idempotency-Key on API POSTs, as Stripe defines it: a retry replays the first response."""

import datetime as dt
import http.client
import json
import threading
from urllib.parse import urlsplit

import pytest
from django.db import connection

from rapport.customers import hooks
from rapport.customers.models import Customer, Note
from rapport.events.models import OutboxEvent
from rapport.idempotency import ABANDONED_AFTER, RETENTION
from rapport.tenancy.models import IdempotencyRecord
from rapport.timeline.models import TimelineEvent
from tests.conftest import ApiClient

REPLAYED = "Idempotent-Replayed"


def with_key(key: str) -> dict:
    return {"Idempotency-Key": key}


def written_rows() -> tuple[int, int, int, int]:
    return (
        Customer.objects.count(),
        TimelineEvent.objects.count(),
        OutboxEvent.objects.count(),
        Note.objects.count(),
    )


# --- replay --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_retry_replays_the_first_response_and_writes_nothing(api):
    first = api.post("/customers", {"first_name": "Ada"}, headers=with_key("create-ada"))
    assert first.status_code == 201
    assert REPLAYED not in first.headers
    rows = written_rows()

    retry = api.post("/customers", {"first_name": "Ada"}, headers=with_key("create-ada"))

    assert retry.status_code == 201
    assert retry.headers[REPLAYED] == "true"
    assert retry.headers["Content-Type"] == first.headers["Content-Type"]
    assert retry.content == first.content
    assert written_rows() == rows
    assert Customer.objects.get().code == first.json()["code"]
    record = IdempotencyRecord.objects.get()
    assert (record.key, record.status, record.response_status) == ("create-ada", "completed", 201)


@pytest.mark.django_db
def test_a_retry_on_a_nested_route_writes_nothing(api, make_customer):
    customer = make_customer(first_name="Ada")
    url = f"/customers/{customer.code}/notes"

    first = api.post(url, {"content": "Called"}, headers=with_key("note-1"))
    retries = [api.post(url, {"content": "Called"}, headers=with_key("note-1")) for _ in range(3)]

    assert first.status_code == 201
    assert {(r.status_code, r.content) for r in retries} == {(201, first.content)}
    assert Note.objects.count() == 1


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_refused(api):
    api.post("/customers", {"first_name": "Ada"}, headers=with_key("k1"))
    rows = written_rows()

    response = api.post("/customers", {"first_name": "Bola"}, headers=with_key("k1"))

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "idempotency_key_reused"
    assert set(error["fields"]) == {"Idempotency-Key"}
    assert REPLAYED not in response.headers
    assert written_rows() == rows


@pytest.mark.django_db
def test_the_same_key_on_another_route_is_refused(api, make_customer):
    customer = make_customer(first_name="Ada")
    api.post(f"/customers/{customer.code}/archive", headers=with_key("k1"))

    response = api.post(f"/customers/{customer.code}/restore", headers=with_key("k1"))

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    customer.refresh_from_db()
    assert customer.is_archived is True


@pytest.mark.django_db
def test_a_key_belongs_to_one_tenant(api, other_api, other_tenant):
    api.post("/customers", {"first_name": "Ada"}, headers=with_key("shared"))

    response = other_api.post("/customers", {"first_name": "Ada"}, headers=with_key("shared"))

    assert response.status_code == 201
    assert REPLAYED not in response.headers
    assert Customer.objects.filter(tenant=other_tenant).count() == 1
    assert Customer.objects.count() == 2
    assert IdempotencyRecord.objects.filter(key="shared").count() == 2


@pytest.mark.django_db
def test_keys_of_other_api_keys_of_the_same_tenant_are_shared(api, admin_api):
    first = api.post("/customers", {"first_name": "Ada"}, headers=with_key("k1"))

    retry = admin_api.post("/customers", {"first_name": "Ada"}, headers=with_key("k1"))

    assert retry.headers[REPLAYED] == "true"
    assert retry.content == first.content
    assert Customer.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "   ", "k" * 256])
def test_an_empty_or_too_long_key_is_400(api, key):
    response = api.post("/customers", {"first_name": "Ada"}, headers=with_key(key))

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "bad_request"
    assert set(error["fields"]) == {"Idempotency-Key"}
    assert not Customer.objects.exists()
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.django_db
def test_a_key_of_255_characters_is_accepted(api):
    key = "k" * 255

    first = api.post("/customers", {"first_name": "Ada"}, headers=with_key(key))
    retry = api.post("/customers", {"first_name": "Ada"}, headers=with_key(key))

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.headers[REPLAYED] == "true"
    assert Customer.objects.count() == 1


@pytest.mark.django_db
def test_requests_without_a_key_are_unaffected(api):
    first = api.post("/customers", {"first_name": "Ada"})
    second = api.post("/customers", {"first_name": "Ada"})

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["code"] != second.json()["code"]
    assert REPLAYED not in second.headers
    assert Customer.objects.count() == 2
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.django_db
def test_the_header_is_ignored_outside_post(api, make_customer):
    customer = make_customer(first_name="Ada")

    for _ in range(2):
        response = api.patch(
            f"/customers/{customer.code}", {"last_name": "B"}, headers=with_key("")
        )
        assert response.status_code == 200
        assert REPLAYED not in response.headers
    assert api.get("/customers", headers=with_key("k")).status_code == 200
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.django_db
def test_a_validation_error_is_replayed_too(api):
    first = api.post("/customers", {"phone": "12"}, headers=with_key("bad-phone"))
    assert first.status_code == 422

    retry = api.post("/customers", {"phone": "12"}, headers=with_key("bad-phone"))

    assert retry.status_code == 422
    assert retry.headers[REPLAYED] == "true"
    assert retry.content == first.content
    assert api.post("/customers", {"phone": "08031234567"}, headers=with_key("bad-phone")).json()[
        "error"
    ]["code"] == ("idempotency_key_reused")
    assert not Customer.objects.exists()


@pytest.mark.django_db
def test_a_conflict_and_a_parse_error_are_replayed(api, make_customer):
    make_customer(code="TAKEN", first_name="Ada")

    conflict = [
        api.post("/customers", {"code": "TAKEN", "first_name": "B"}, headers=with_key("c"))
        for _ in range(2)
    ]
    malformed = [api.post("/customers", "{oops", headers=with_key("m")) for _ in range(2)]

    assert [r.status_code for r in conflict] == [409, 409]
    assert conflict[1].headers[REPLAYED] == "true"
    assert conflict[1].content == conflict[0].content
    assert [r.status_code for r in malformed] == [400, 400]
    assert malformed[1].headers[REPLAYED] == "true"
    assert Customer.objects.count() == 1


@pytest.mark.django_db
def test_a_forbidden_request_is_replayed(read_api):
    responses = [read_api.post("/tags", {"name": "VIP"}, headers=with_key("f")) for _ in range(2)]

    assert [r.status_code for r in responses] == [403, 403]
    assert responses[1].headers[REPLAYED] == "true"


@pytest.mark.django_db
def test_an_unauthenticated_request_does_not_use_up_the_key(api, anonymous_api):
    denied = anonymous_api.post("/customers", {"first_name": "Ada"}, headers=with_key("k"))
    bad_key = ApiClient("rk_nope_nope").post(
        "/customers", {"first_name": "Ada"}, headers=with_key("k")
    )

    response = api.post("/customers", {"first_name": "Ada"}, headers=with_key("k"))

    assert (denied.status_code, bad_key.status_code) == (401, 401)
    assert response.status_code == 201
    assert REPLAYED not in response.headers


@pytest.mark.django_db
def test_a_key_expires_after_the_retention_period(api):
    api.post("/customers", {"first_name": "Ada"}, headers=with_key("old"))
    IdempotencyRecord.objects.update(
        created_at=dt.datetime.now(dt.UTC) - RETENTION - dt.timedelta(1)
    )

    response = api.post("/customers", {"first_name": "Ada"}, headers=with_key("old"))

    assert response.status_code == 201
    assert REPLAYED not in response.headers
    assert Customer.objects.count() == 2
    assert IdempotencyRecord.objects.count() == 1


@pytest.mark.django_db
def test_a_retry_while_the_first_is_running_is_409(api, monkeypatch):
    """The retry arrives while the first request is inside its transaction."""
    retries = []

    def retry_during_the_first(change):
        if change.kind == "created" and not retries:
            retries.append(api.post("/customers", {"first_name": "Ada"}, headers=with_key("k")))

    monkeypatch.setattr(hooks, "_listeners", list(hooks._listeners))
    hooks.register(retry_during_the_first)

    first = api.post("/customers", {"first_name": "Ada"}, headers=with_key("k"))

    assert first.status_code == 201
    [retry] = retries
    assert retry.status_code == 409
    assert retry.json()["error"]["code"] == "idempotency_key_in_use"
    assert Customer.objects.count() == 1
    after = api.post("/customers", {"first_name": "Ada"}, headers=with_key("k"))
    assert after.headers[REPLAYED] == "true"
    assert after.content == first.content


@pytest.mark.django_db
def test_an_abandoned_request_frees_its_key(api):
    api.post("/customers", {"first_name": "Ada"}, headers=with_key("k"))
    IdempotencyRecord.objects.update(
        status=IdempotencyRecord.Status.IN_PROGRESS,
        created_at=dt.datetime.now(dt.UTC) - ABANDONED_AFTER - dt.timedelta(seconds=1),
    )

    response = api.post("/customers", {"first_name": "Ada"}, headers=with_key("k"))

    assert response.status_code == 201
    assert REPLAYED not in response.headers
    assert IdempotencyRecord.objects.get().status == IdempotencyRecord.Status.COMPLETED


@pytest.mark.django_db
def test_a_server_error_frees_the_key(api, monkeypatch):
    class Boom(Exception):
        pass

    def explode(change):
        raise Boom

    monkeypatch.setattr(hooks, "_listeners", [*hooks._listeners, explode])
    api.client.raise_request_exception = False

    failed = api.post("/customers", {"first_name": "Ada"}, headers=with_key("k"))

    assert failed.status_code == 500
    assert not IdempotencyRecord.objects.exists()
    assert not Customer.objects.exists()
    hooks._listeners.remove(explode)
    assert api.post("/customers", {"first_name": "Ada"}, headers=with_key("k")).status_code == 201


# --- concurrency, with real threads against a live server -----------------------------------

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="concurrency is tested on PostgreSQL"
)


def post(base_url: str, secret: str, path: str, body: dict, key: str):
    """POST over a real socket: (status, headers, JSON body)."""
    address = urlsplit(base_url)
    conn = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    try:
        conn.request(
            "POST",
            f"/api/v1{path}",
            json.dumps(body),
            {
                "Content-Type": "application/json",
                "Authorization": f"Bearer {secret}",
                "Idempotency-Key": key,
            },
        )
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), json.loads(response.read())
    finally:
        conn.close()


@pytest.fixture
def secret(tenant, make_key):
    _, raw = make_key(tenant, ["write"])
    return raw


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_two_threads_with_one_key_run_the_request_once(live_server, secret, monkeypatch):
    entered, release = threading.Event(), threading.Event()

    def hold_the_first(change):
        if change.kind == "created" and change.customer.first_name == "Slow":
            entered.set()
            release.wait(timeout=20)

    monkeypatch.setattr(hooks, "_listeners", list(hooks._listeners))
    hooks.register(hold_the_first)
    results = {}

    def send(name):
        results[name] = post(live_server.url, secret, "/customers", {"first_name": "Slow"}, "k")

    first = threading.Thread(target=send, args=("first",))
    second = threading.Thread(target=send, args=("second",))
    try:
        first.start()
        assert entered.wait(timeout=20), "the first request never reached the service"
        second.start()
        second.join(timeout=20)
    finally:
        release.set()
        first.join(timeout=20)
        second.join(timeout=20)

    status, headers, body = results["first"]
    assert status == 201
    assert REPLAYED not in headers
    status, headers, error = results["second"]
    assert status == 409
    assert error["error"]["code"] == "idempotency_key_in_use"
    assert Customer.objects.filter(first_name="Slow").count() == 1

    status, headers, replay = post(
        live_server.url, secret, "/customers", {"first_name": "Slow"}, "k"
    )
    assert (status, headers[REPLAYED], replay) == (201, "true", body)
    assert Customer.objects.filter(first_name="Slow").count() == 1


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_many_threads_racing_with_one_key_create_one_customer(live_server, secret):
    barrier = threading.Barrier(8)
    results = []

    def send():
        barrier.wait(timeout=20)
        results.append(post(live_server.url, secret, "/customers", {"first_name": "Race"}, "r"))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(results) == 8
    originals = [r for r in results if r[0] == 201 and REPLAYED not in r[1]]
    replays = [r for r in results if r[0] == 201 and r[1].get(REPLAYED) == "true"]
    in_use = [r for r in results if r[0] == 409]
    assert len(originals) == 1
    assert len(originals) + len(replays) + len(in_use) == 8
    assert all(r[2] == originals[0][2] for r in replays)
    assert all(r[2]["error"]["code"] == "idempotency_key_in_use" for r in in_use)
    assert Customer.objects.filter(first_name="Race").count() == 1


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_twenty_threads_with_distinct_keys_create_twenty_customers(live_server, secret):
    barrier = threading.Barrier(20)
    results = {}

    def send(number):
        barrier.wait(timeout=20)
        results[number] = post(
            live_server.url, secret, "/customers", {"first_name": f"P{number}"}, f"key-{number}"
        )

    threads = [threading.Thread(target=send, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(status for status, _, _ in results.values()) == [201] * 20
    assert len({body["code"] for _, _, body in results.values()}) == 20
    assert Customer.objects.count() == 20
    assert IdempotencyRecord.objects.filter(status="completed").count() == 20
