"""The segments endpoints through the real URL and auth."""

import csv
import io
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.consent.services import ConsentService
from rapport.customers.services import TagService
from rapport.events.models import OutboxEvent
from rapport.loyalty.services import LoyaltyService
from rapport.segments.models import Segment, SegmentMembership

pytestmark = pytest.mark.django_db

VIP = {"field": "tags", "operator": "contains", "value": "VIP"}
DOGS = {"name": "Dog owners", "conditions": {"pet_species": "dog"}}


def put(client, path: str, body):
    return client.client.put(
        client._url(path), json.dumps(body), content_type="application/json",
        headers=client._headers(None),
    )  # fmt: skip


@pytest.fixture
def vips(actor, make_customer):
    for code in ("ADA", "BEN", "CHI"):
        make_customer(code=code, first_name=code.title(), email=f"{code.lower()}@example.com")
    for code in ("ADA", "BEN"):
        TagService.add_tags(actor=actor, code=code, names=["VIP"])


def test_a_segment_is_created_and_read_back(api, vips):
    created = api.post("/segments", {"name": "VIPs", "conditions": VIP, "description": "Tagged"})

    assert created.status_code == 201, created.content
    body = created.json()
    assert {k: body[k] for k in ("name", "key", "type", "customer_count", "is_default")} == {
        "name": "VIPs",
        "key": "vips",
        "type": "dynamic",
        "customer_count": 2,
        "is_default": False,
    }
    assert body["conditions"] == {"all": [VIP]}
    assert body["summary"] == "tags contains VIP"
    assert api.get(f"/segments/{body['id']}").json() == body
    names = [s["name"] for s in api.get("/segments", {"limit": 500}).json()["items"]]
    assert "VIPs" in names and "VIP Customers" in names
    assert [s["name"] for s in api.get("/segments", {"type": "manual"}).json()["items"]] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Bad", "conditions": {"all": [VIP, {**VIP, "operator": "gte"}]}},
         "conditions.all.1.operator"),
        ({"name": "Bad", "conditions": {"field": "total_orders", "operator": "between",
                                        "value": [1]}}, "conditions.value"),
        ({"name": "Bad", "conditions": {"min_spent": "lots"}}, "conditions.min_spent"),
        ({"name": "Bad", "conditions": "VIP"}, "conditions"),
        ({"name": "Bad"}, "conditions"),
        ({"name": "", "conditions": VIP}, "name"),
        ({"name": "Bad", "type": "static", "conditions": VIP}, "type"),
        ({"name": "Bad", "conditions": VIP, "colour": "red"}, "colour"),
        ({"name": "Bad", "key": "Not a key", "conditions": VIP}, "key"),
    ],
)  # fmt: skip
def test_bad_segments_get_422_naming_the_path_and_nothing_is_written(api, vips, body, field):
    before = (Segment.objects.count(), OutboxEvent.objects.count())

    response = api.post("/segments", body)

    assert response.status_code == 422, response.content
    assert field in response.json()["error"]["fields"], response.json()
    assert (Segment.objects.count(), OutboxEvent.objects.count()) == before


def test_a_taken_name_is_409(api, vips):
    api.post("/segments", {"name": "VIPs", "conditions": VIP})

    response = api.post("/segments", {"name": "vips", "conditions": VIP})

    assert response.status_code == 409
    assert response.json()["error"]["fields"] == {"name": "Taken by another segment"}


def test_a_segment_is_replaced_patched_and_deleted(api, vips):
    segment = api.post("/segments", {"name": "VIPs", "conditions": VIP}).json()
    url = f"/segments/{segment['id']}"

    replaced = put(api, url, {"name": "Chi", "conditions": [{"field": "first_name",
                                                             "operator": "eq", "value": "chi"}]})  # fmt: skip
    patched = api.patch(url, {"is_active": False, "description": "Just Chi"})
    refused = api.patch(url, {"name": None})
    other_type = put(api, url, {"name": "Chi", "type": "manual"})
    deleted = api.delete(url)

    assert replaced.status_code == 200, replaced.content
    assert (replaced.json()["name"], replaced.json()["key"], replaced.json()["customer_count"]) == (
        "Chi", "vips", 1,
    )  # fmt: skip
    assert (patched.json()["is_active"], patched.json()["description"]) == (False, "Just Chi")
    assert refused.status_code == 422
    assert other_type.status_code == 422
    assert deleted.status_code == 204
    assert api.get(url).status_code == 404
    assert not SegmentMembership.objects.filter(segment__uuid=segment["id"]).exists()


def test_the_customers_endpoint_pages_with_a_cursor(api, vips):
    segment = api.post("/segments", {"name": "VIPs", "conditions": VIP}).json()
    url = f"/segments/{segment['id']}/customers"

    first = api.get(url, {"limit": 1}).json()
    second = api.get(url, {"limit": 1, "cursor": first["next_cursor"]}).json()
    newest = api.get(url, {"order_by": "-created_at"}).json()

    assert [c["code"] for c in first["items"]] == ["ADA"]
    assert first["items"][0]["tags"] == ["VIP"]
    assert [c["code"] for c in second["items"]] == ["BEN"]
    assert second["next_cursor"] is None
    assert [c["code"] for c in newest["items"]] == ["BEN", "ADA"]
    assert api.get(url, {"order_by": "email"}).status_code == 422
    assert api.get(f"/segments/{segment['id']}/count").json()["count"] == 2


def test_the_customers_endpoint_costs_the_same_with_more_rows(actor, api, make_customer):
    segment = api.post("/segments", {"name": "VIPs", "conditions": VIP}).json()
    url = f"/segments/{segment['id']}/customers"

    def grow(count):
        for _ in range(count):
            customer = make_customer()
            TagService.add_tags(actor=actor, code=customer.code, names=["VIP", customer.code])

    def queries():
        api.get(url)
        with CaptureQueriesContext(connection) as context:
            response = api.get(url)
        assert response.status_code == 200
        return len(context.captured_queries), len(response.json()["items"])

    grow(2)
    few = queries()
    grow(20)
    many = queries()

    assert (few[1], many[1]) == (2, 22)
    assert many[0] == few[0] <= 5


def test_preview_counts_and_samples_and_writes_nothing(read_api, vips):
    before = (Segment.objects.count(), OutboxEvent.objects.count())

    response = read_api.post(
        "/segments/preview", {"conditions": {"tags": ["VIP"]}, "sample_size": 1}
    )
    bad = read_api.post("/segments/preview", {"conditions": {"all": [{"field": "x"}]}})

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["count"], [c["code"] for c in body["sample"]]) == (2, ["BEN"])
    assert body["conditions"] == {"all": [VIP]}
    assert bad.status_code == 422
    assert set(bad.json()["error"]["fields"]) == {"conditions.all.0.field"}
    assert (Segment.objects.count(), OutboxEvent.objects.count()) == before


def test_a_read_key_reads_but_cannot_change(api, read_api, vips):
    segment = api.post("/segments", {"name": "VIPs", "conditions": VIP}).json()
    url = f"/segments/{segment['id']}"

    assert read_api.get(url).status_code == 200
    assert read_api.get(f"{url}/customers").status_code == 200
    assert read_api.post("/segments", {"name": "No", "conditions": VIP}).status_code == 403
    assert read_api.post(f"{url}/refresh").status_code == 403
    assert read_api.delete(url).status_code == 403
    assert Segment.objects.filter(uuid=segment["id"]).exists()


def test_refresh_reports_who_entered_and_left(actor, api, vips):
    segment = api.post("/segments", {"name": "VIPs", "conditions": VIP}).json()
    TagService.add_tags(actor=actor, code="CHI", names=["VIP"])

    first = api.post(f"/segments/{segment['id']}/refresh")
    second = api.post(f"/segments/{segment['id']}/refresh")

    assert first.status_code == 200, first.content
    assert {k: first.json()[k] for k in ("entered", "left", "customer_count")} == {
        "entered": 1,
        "left": 0,
        "customer_count": 3,
    }
    assert (second.json()["entered"], second.json()["left"]) == (0, 0)
    assert api.get(f"/segments/{segment['id']}").json()["customer_count"] == 3


def test_manual_members_through_the_api(api, vips):
    segment = api.post("/segments", {"name": "Friends", "type": "manual"}).json()
    dynamic = api.post("/segments", {"name": "VIPs", "conditions": VIP}).json()
    url = f"/segments/{segment['id']}/customers"

    added = api.post(url, {"codes": ["ADA", "CHI"]})
    unknown = api.post(url, {"codes": ["ADA", "NOPE"]})
    removed = api.delete(f"{url}/CHI")
    not_member = api.delete(f"{url}/CHI")
    to_dynamic = api.post(f"/segments/{dynamic['id']}/customers", {"codes": ["CHI"]})

    assert added.status_code == 200, added.content
    assert added.json() == {"added": ["ADA", "CHI"], "customer_count": 2}
    assert unknown.status_code == 422
    assert unknown.json()["error"]["fields"] == {"codes.1": "No customer with code 'NOPE'"}
    assert removed.status_code == 204
    assert not_member.status_code == 404
    assert to_dynamic.status_code == 409
    assert [c["code"] for c in api.get(url).json()["items"]] == ["ADA"]


def test_another_tenants_segments_are_404_and_unchanged(api, other_api, vips):
    segment = api.post("/segments", {"name": "VIPs", "conditions": VIP}).json()
    url = f"/segments/{segment['id']}"

    for response in (
        other_api.get(url),
        other_api.get(f"{url}/customers"),
        other_api.get(f"{url}/count"),
        other_api.get(f"{url}/export.csv"),
        other_api.post(f"{url}/refresh"),
        other_api.patch(url, {"name": "Mine"}),
        other_api.delete(url),
    ):
        assert response.status_code == 404, response.content
    theirs = {s["name"] for s in other_api.get("/segments", {"limit": 500}).json()["items"]}
    assert "VIPs" not in theirs and len(theirs) == 8
    assert api.get(url).json()["name"] == "VIPs"


def test_the_fields_endpoint_lists_the_registry_and_shorthands(read_api):
    body = read_api.get("/segments/fields").json()

    fields = {f["name"]: f for f in body["fields"]}
    assert fields["total_spent_q"]["type"] == "money"
    assert fields["pets.species"]["choices"][:2] == ["dog", "cat"]
    assert fields["consent.email"]["operators"] == ["eq", "neq"]
    assert fields["email"]["nullable"] is True
    assert {o["name"] for o in body["operators"]} >= {"eq", "between", "in", "not_in", "is_null"}
    assert {s["key"] for s in body["shorthands"]} >= {"min_spent", "tags_include", "pet_species"}


def test_the_csv_export_holds_the_segments_customers(actor, api, read_api, vips, make_insight):
    ConsentService.grant_consent(actor=actor, code="ADA", channel="email")
    LoyaltyService.earn_points(actor=actor, code="ADA", reference="r1", points=120)
    make_insight(
        actor.tenant.customers.get(code="ADA"), total_orders=3, total_spent_q=4500,
        last_order_days=2, rfm_segment="champions", churn_risk=0.125,
    )  # fmt: skip
    segment = api.post("/segments", {"name": "VIPs", "conditions": VIP}).json()

    response = read_api.get(f"/segments/{segment['id']}/export.csv")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="segment-vips-' in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    rows = {row["code"]: row for row in csv.DictReader(io.StringIO(text.lstrip("\ufeff")))}
    assert set(rows) == {"ADA", "BEN"}
    assert list(rows["ADA"]) == [
        "code", "first_name", "last_name", "email", "phone", "birthday", "customer_type",
        "source", "tags", "created_at", "email_marketing", "sms_marketing",
        "whatsapp_marketing", "points_balance", "tier", "total_orders", "total_spent_q",
        "currency", "last_order_at", "rfm_segment", "churn_risk",
    ]  # fmt: skip
    ada, ben = rows["ADA"], rows["BEN"]
    assert (ada["email"], ada["tags"], ada["email_marketing"], ada["points_balance"]) == (
        "ada@example.com", "VIP", "yes", "120",
    )  # fmt: skip
    assert (ada["total_orders"], ada["total_spent_q"], ada["rfm_segment"], ada["churn_risk"]) == (
        "3", "4500", "champions", "0.1250",
    )  # fmt: skip
    assert (ben["total_orders"], ben["total_spent_q"], ben["currency"]) == ("0", "0", "NGN")


def test_the_segment_list_costs_the_same_with_more_segments(api, make_segment):
    def queries():
        api.get("/segments")
        with CaptureQueriesContext(connection) as context:
            response = api.get("/segments")
        assert response.status_code == 200
        return len(context.captured_queries), len(response.json()["items"])

    make_segment(name="Friends", type="manual")
    few = queries()
    for number in range(10):
        make_segment(name=f"Friends {number}", type="manual")
    many = queries()

    assert (few[1], many[1]) == (9, 19)  # the eight defaults, and these
    assert many[0] == few[0] <= 4
