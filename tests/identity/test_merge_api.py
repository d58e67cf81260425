"""The merge endpoints: preview, merge, list, read, undo; scopes, tenants and concurrent merges."""

import threading
import time

import pytest
from django.db import connection

from rapport.customers import hooks
from rapport.customers.models import Customer
from rapport.events.models import OutboxEvent
from rapport.exceptions import Conflict
from rapport.identity.models import CustomerMerge
from rapport.identity.services import MergeService
from rapport.tenancy.actors import Actor
from rapport.timeline.models import TimelineEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def twins(make_customer):
    """Two records of one person (same name and email), and one stranger."""
    make_customer(code="KEEP", first_name="Ada", last_name="Obi", email="ada@example.com")
    make_customer(code="DUP", first_name="Ada", last_name="Obi", email="ada@example.com")
    make_customer(code="STRANGER", first_name="Tunde", last_name="Bello", phone="08039990009")


def counts() -> tuple[int, int, int, int]:
    return (
        CustomerMerge.objects.count(),
        TimelineEvent.objects.count(),
        OutboxEvent.objects.count(),
        Customer.objects.exclude(merged_into=None).count(),
    )


def test_preview_shows_evidence_and_plan_and_writes_nothing(api, twins):
    before = counts()

    response = api.post("/merges/preview", {"survivor": "KEEP", "duplicate": "DUP"})

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["survivor"], body["duplicate"]) == ("KEEP", "DUP")
    assert body["has_enough_evidence"] is True
    assert body["score"] >= body["threshold"] == 0.8
    assert any("ada@example.com" in reason for reason in body["reasons"])
    assert any(step["app"] == "timeline" and step["action"] == "move" for step in body["plan"])
    assert counts() == before


def test_merge_then_the_duplicates_code_finds_the_survivor_and_undo_separates_them(api, twins):
    response = api.post("/merges", {"survivor": "KEEP", "duplicate": "DUP"})

    assert response.status_code == 201, response.content
    merge = response.json()
    assert (merge["survivor"], merge["duplicate"], merge["undone_at"]) == ("KEEP", "DUP", None)
    assert merge["merged_by"] == "api_key:test key"
    assert api.get("/customers/DUP").json()["code"] == "KEEP"
    assert "DUP" not in {item["code"] for item in api.get("/customers").json()["items"]}
    assert api.get(f"/merges/{merge['id']}").json() == merge
    listed = api.get("/merges", {"customer": "DUP"}).json()
    assert [item["id"] for item in listed["items"]] == [merge["id"]]
    assert api.get("/merges", {"customer": "STRANGER"}).json()["items"] == []

    undone = api.post(f"/merges/{merge['id']}/undo")

    assert undone.status_code == 200, undone.content
    assert undone.json()["undone_by"] == "api_key:test key"
    assert api.get("/customers/DUP").json()["code"] == "DUP"
    again = api.post(f"/merges/{merge['id']}/undo")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"


def test_undo_blocked_by_a_changed_field_lists_the_blocker(api, make_customer):
    make_customer(code="KEEP", first_name="Ada", last_name="Obi", email="ada@example.com")
    make_customer(
        code="DUP", first_name="Ada", last_name="Obi", email="ada@example.com", customer_type="vip"
    )
    merge = api.post("/merges", {"survivor": "KEEP", "duplicate": "DUP"}).json()
    api.patch("/customers/KEEP", {"customer_type": "wholesale"})

    response = api.post(f"/merges/{merge['id']}/undo")

    assert response.status_code == 409
    assert response.json()["error"]["fields"] == {
        "customers": "The survivor's customer type changed since the merge"
    }
    assert Customer.objects.get(code="DUP").merged_into.code == "KEEP"


def test_too_little_evidence_is_422_and_an_override_needs_an_admin_key(api, admin_api, twins):
    before = counts()

    refused = api.post("/merges", {"survivor": "KEEP", "duplicate": "STRANGER"})
    forbidden = api.post(
        "/merges", {"survivor": "KEEP", "duplicate": "STRANGER", "override_reason": "Same person"}
    )

    assert refused.status_code == 422
    assert set(refused.json()["error"]["fields"]) == {"override_reason"}
    assert forbidden.status_code == 403
    assert counts() == before

    merged = admin_api.post(
        "/merges", {"survivor": "KEEP", "duplicate": "STRANGER", "override_reason": "Same person"}
    )

    assert merged.status_code == 201, merged.content
    assert merged.json()["override_reason"] == "Same person"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"survivor": "KEEP", "duplicate": "KEEP"}, 422, "duplicate"),
        ({"survivor": "KEEP", "duplicate": "NOPE"}, 404, "duplicate"),
        ({"survivor": "", "duplicate": "DUP"}, 422, "survivor"),
        ({"survivor": "KEEP"}, 422, "duplicate"),
        ({"survivor": "KEEP", "duplicate": "DUP", "score": 1}, 422, "score"),
    ],
)
def test_bad_bodies_name_the_field_and_write_nothing(api, twins, body, status, field):
    before = counts()

    response = api.post("/merges", body)

    assert response.status_code == status, response.content
    assert field in response.json()["error"]["fields"]
    assert counts() == before


def test_a_read_key_can_list_but_not_merge(read_api, twins):
    assert read_api.get("/merges").status_code == 200
    assert read_api.post("/merges", {"survivor": "KEEP", "duplicate": "DUP"}).status_code == 403
    assert CustomerMerge.objects.count() == 0


def test_another_tenant_gets_404_for_codes_and_merges(api, other_api, twins):
    merge = api.post("/merges", {"survivor": "KEEP", "duplicate": "DUP"}).json()
    before = counts()

    for path, body in (
        ("/merges", {"survivor": "KEEP", "duplicate": "STRANGER", "override_reason": "x"}),
        ("/merges/preview", {"survivor": "KEEP", "duplicate": "STRANGER"}),
        (f"/merges/{merge['id']}/undo", None),
    ):
        response = other_api.post(path, body)
        assert response.status_code == 404, (path, response.content)
    assert other_api.get(f"/merges/{merge['id']}").status_code == 404
    assert other_api.get("/merges").json() == {"items": [], "next_cursor": None}
    assert counts() == before


def test_merges_are_listed_newest_first_a_page_at_a_time(api, make_customer):
    for number in range(3):
        for role in ("S", "D"):
            make_customer(code=f"{role}{number}", first_name="Ada", email=f"a{number}@example.com")
        api.post("/merges", {"survivor": f"S{number}", "duplicate": f"D{number}"})

    first = api.get("/merges", {"limit": 2}).json()
    second = api.get("/merges", {"limit": 2, "cursor": first["next_cursor"]}).json()

    codes = [item["duplicate"] for item in first["items"] + second["items"]]
    assert codes == ["D2", "D1", "D0"]
    assert second["next_cursor"] is None


# --- concurrency, with real threads on PostgreSQL --------------------------------------------

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="concurrency is tested on PostgreSQL"
)


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_two_merges_of_one_duplicate_into_different_survivors_one_wins(
    tenant, make_customer, monkeypatch
):
    for code in ("FIRST", "SECOND", "DUP"):
        make_customer(code=code, first_name="Ada", last_name="Obi", email="ada@example.com")
    actor = Actor.for_system(tenant, "tests")
    entered = threading.Event()

    def hold_the_first(change):
        # The first merge holds its locks a moment, so the second one waits on them.
        if change.kind == "merged" and not entered.is_set():
            entered.set()
            time.sleep(0.5)

    monkeypatch.setattr(hooks, "_listeners", list(hooks._listeners))
    hooks.register(hold_the_first)
    barrier = threading.Barrier(2)
    results = {}

    def merge(survivor):
        try:
            barrier.wait(timeout=20)
            results[survivor] = MergeService.merge(actor=actor, survivor=survivor, duplicate="DUP")
        except Conflict as error:
            results[survivor] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=merge, args=(code,)) for code in ("FIRST", "SECOND")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    merged = [r for r in results.values() if isinstance(r, CustomerMerge)]
    refused = [r for r in results.values() if isinstance(r, Conflict)]
    assert (len(merged), len(refused)) == (1, 1), results
    assert refused[0].fields == {"duplicate": f"Already merged into {merged[0].survivor.code}"}
    duplicate = Customer.objects.get(code="DUP")
    assert duplicate.merged_into_id == merged[0].survivor_id
    assert CustomerMerge.objects.count() == 1
    assert OutboxEvent.objects.filter(type="customer.merged").count() == 1
