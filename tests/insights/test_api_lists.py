"""Customers by RFM segment or group and by churn risk: pages, filters, errors, query counts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.insights.models import CustomerInsight
from rapport.insights.services import InsightService
from tests.insights.conftest import AS_OF

pytestmark = pytest.mark.django_db


def codes(body) -> list[str]:
    return [item["code"] for item in body["items"]]


def every_page(client, path: str, params: dict) -> list[str]:
    found, cursor = [], None
    while True:
        response = client.get(path, {**params, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.content
        found += codes(response.json())
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return found


@pytest.mark.parametrize(
    ("segment", "expected"),
    [
        ("champions", ["CHAMP"]),
        ("hibernating", ["GONE"]),
        ("champion", ["CHAMP"]),
        ("recent_customer", ["NEWBIE"]),  # the group: new customers and promising
        # Both a segment and a group: the segment is meant, and GONE and SLEEPY are in neither
        ("lost", []),
        ("at_risk", []),
        ("potential_loyalists", []),
    ],
)
def test_a_segment_or_groups_customers(calculated, read_api, segment, expected):
    response = read_api.get(f"/insights/segments/{segment}/customers")

    assert response.status_code == 200, response.content
    assert codes(response.json()) == expected
    assert response.json()["next_cursor"] is None


def test_an_unknown_segment_is_422_naming_it(read_api):
    response = read_api.get("/insights/segments/whales/customers")

    assert response.status_code == 422
    assert list(response.json()["error"]["fields"]) == ["segment"]


def test_at_risk_lists_the_riskiest_first_in_pages(calculated, read_api):
    stored = sorted(
        CustomerInsight.objects.exclude(churn_risk=None).select_related("customer"),
        key=lambda insight: (-insight.churn_risk, -insight.customer_id),
    )

    everyone = every_page(read_api, "/insights/at-risk", {"min_churn_risk": 0, "limit": 2})

    assert everyone == [insight.customer.code for insight in stored]
    assert len(everyone) == 5
    default = codes(read_api.get("/insights/at-risk").json())
    assert default == [i.customer.code for i in stored if i.churn_risk >= 0.7]


def test_at_risk_pages_by_churn_risk_then_customer(tenant, read_api, make_customer):
    # Given risks with ties (written by hand: only the keyset order is under test)
    for index, churn in enumerate([0.9, 0.8, 0.8, 0.8, 0.75, 0.7, 0.2]):
        CustomerInsight.objects.create(
            tenant=tenant,
            customer=make_customer(code=f"C{index}"),
            total_orders=1,
            churn_risk=churn,
            p_alive=1 - churn,
            as_of=AS_OF,
            calculated_at=AS_OF,
        )

    assert every_page(read_api, "/insights/at-risk", {"limit": 2}) == [
        "C0",
        "C3",
        "C2",
        "C1",
        "C4",
        "C5",
    ]
    assert every_page(read_api, "/insights/at-risk", {"limit": 3, "min_churn_risk": 0.8}) == [
        "C0",
        "C3",
        "C2",
        "C1",
    ]


def test_segment_pages_follow_spend(tenant, read_api, make_customer):
    for index, spent in enumerate([500, 900, 900, 100]):
        CustomerInsight.objects.create(
            tenant=tenant,
            customer=make_customer(code=f"S{index}"),
            total_orders=3,
            total_spent_q=spent,
            rfm_code="444",
            rfm_segment="loyal_customers",
            rfm_group="loyal_customer",
            as_of=AS_OF,
            calculated_at=AS_OF,
        )

    assert every_page(read_api, "/insights/segments/loyal_customer/customers", {"limit": 1}) == [
        "S2",
        "S1",
        "S0",
        "S3",
    ]


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/insights/at-risk", {"min_churn_risk": 1.5}, "min_churn_risk"),
        ("/insights/at-risk", {"min_churn_risk": -0.1}, "min_churn_risk"),
        ("/insights/at-risk", {"min_churn_risk": "high"}, "min_churn_risk"),
        ("/insights/at-risk", {"limit": 0}, "limit"),
        ("/insights/at-risk", {"cursor": "not-a-cursor"}, "cursor"),
        ("/insights/segments/champions/customers", {"limit": 501}, "limit"),
        ("/insights/segments/champions/customers", {"cursor": "WyJ4IiwgMV0"}, "cursor"),
        ("/insights/runs", {"cursor": "WzFd"}, "cursor"),
    ],
)
def test_bad_list_parameters_are_422_naming_them(read_api, path, params, field):
    response = read_api.get(path, params)

    assert response.status_code == 422, response.content
    assert list(response.json()["error"]["fields"]) == [field]


def test_another_tenants_lists_are_empty(calculated, other_api):
    for path in (
        "/insights/segments/champions/customers",
        "/insights/at-risk?min_churn_risk=0",
        "/insights/runs",
    ):
        response = other_api.get(path)
        assert response.status_code == 200, response.content
        assert response.json() == {"items": [], "next_cursor": None}


# --- query counts -----------------------------------------------------------------------------

LIST_URLS = [
    "/insights/segments/champions/customers",
    "/insights/segments/champion/customers",
    "/insights/at-risk?min_churn_risk=0",
    "/insights/runs",
    "/analytics/insights/top_customers?limit=100",
    "/analytics/insights/at_risk?limit=100",
    "/analytics/insights/new_customers?limit=100",
    "/analytics/insights/lapsed?limit=100",
    "/analytics/insights/high_value?limit=100",
    "/analytics/rfm",
    "/analytics/cohorts?since=2025-01-01&until=2025-06-30",
    "/analytics/ltv",
    "/analytics/visits",
    "/customers/C0/insight",
    "/customers/C0/clv",
    "/insights/model",
]


def queries(client, url: str) -> int:
    client.get(url)  # the first request of a key records when it was used
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(context.captured_queries)


@pytest.fixture
def grow(actor, make_customer, buy):
    """grow(n): n more customers of ten recent orders, each spending more, then a recalculation."""
    made = iter(range(100_000))

    def add(count: int) -> None:
        for _ in range(count):
            number = next(made)
            customer = make_customer(code=f"C{number}")
            for day in range(10, 20):
                buy(customer, f"2025-06-{day}", 1_000 * (number + 1))
        InsightService.recalculate_all(actor=actor, as_of=AS_OF)

    return add


def test_list_queries_do_not_grow_with_rows(read_api, grow):
    grow(3)
    few = {url: queries(read_api, url) for url in LIST_URLS}
    grow(9)
    many = {url: queries(read_api, url) for url in LIST_URLS}

    assert {url: (few[url], many[url]) for url in LIST_URLS if many[url] != few[url]} == {}
    # The key's lookup, then one or two queries a list (lifetime value: one per percentile)
    assert {url: few[url] for url in LIST_URLS if few[url] > (10 if "ltv" in url else 6)} == {}
    assert len(read_api.get("/insights/at-risk?min_churn_risk=0").json()["items"]) == 12
    assert read_api.get("/insights/segments/champions/customers").json()["items"]
    assert len(read_api.get("/insights/runs").json()["items"]) == 2


def test_a_group_lists_every_segment_it_gathers(read_api, calculated):
    # SLEEPY is About to Sleep: in the at_risk group, not in the At Risk segment
    segment = read_api.get("/api/v1/insights/segments/at_risk/customers").json()["items"]
    group = read_api.get("/api/v1/insights/groups/at_risk/customers").json()["items"]
    unknown = read_api.get("/api/v1/insights/groups/champions/customers")

    assert segment == []
    assert [(item["code"], item["rfm_segment"]) for item in group] == [("SLEEPY", "about_to_sleep")]
    assert unknown.status_code == 422
    assert unknown.json()["error"]["fields"] == {
        "group": "One of champion, loyal_customer, recent_customer, at_risk, lost, regular"
    }
