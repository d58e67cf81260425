"""The insights admin: read-only pages, filters and search, and the recalculate action on runs."""

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from rapport.insights.models import CustomerInsight, InsightRun

pytestmark = pytest.mark.django_db


def url(model, view: str, *args) -> str:
    return reverse(f"admin:rapport_insights_{model._meta.model_name}_{view}", args=args)


def test_both_models_are_registered():
    assert {CustomerInsight, InsightRun} <= set(admin.site._registry)


def test_pages_answer_and_nothing_is_editable(admin_client, calculated):
    records = {
        CustomerInsight: CustomerInsight.objects.get(customer__code="CHAMP"),
        InsightRun: InsightRun.objects.get(),
    }
    for model, obj in records.items():
        assert admin_client.get(url(model, "changelist")).status_code == 200
        assert admin_client.get(url(model, "change", obj.pk)).status_code == 200
        assert admin_client.get(url(model, "add")).status_code == 403
        assert admin_client.post(url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
        assert model.objects.filter(pk=obj.pk).exists()

    run_page = admin_client.get(url(InsightRun, "change", records[InsightRun].pk)).content.decode()
    assert "Model card" in run_page
    assert records[InsightRun].method_reason in run_page


def test_insights_filter_by_segment_and_find_a_code(admin_client, calculated):
    by_segment = admin_client.get(url(CustomerInsight, "changelist"), {"rfm_segment": "champions"})
    by_group = admin_client.get(url(CustomerInsight, "changelist"), {"rfm_group": "lost"})
    by_code = admin_client.get(url(CustomerInsight, "changelist"), {"q": "LOYAL"})

    assert [row.customer.code for row in by_segment.context["cl"].result_list] == ["CHAMP"]
    assert [row.customer.code for row in by_group.context["cl"].result_list] == ["GONE"]
    assert [row.customer.code for row in by_code.context["cl"].result_list] == ["LOYAL"]


def test_the_recalculate_action_starts_a_run_for_the_tenant(admin_client, calculated):
    first = InsightRun.objects.get()

    response = admin_client.post(
        url(InsightRun, "changelist"),
        {"action": "recalculate_tenants", "_selected_action": [first.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert InsightRun.objects.count() == 2
    latest = InsightRun.objects.exclude(pk=first.pk).get()
    assert latest.status == "completed"
    messages = [str(message) for message in response.context["messages"]]
    assert messages == [f"Recalculating My business: run {latest.uuid}"]


def test_the_insight_changelist_queries_do_not_grow_with_rows(admin_client, tenant, make_customer):
    from tests.insights.conftest import AS_OF

    def add(count: int) -> int:
        for _ in range(count):
            CustomerInsight.objects.create(
                tenant=tenant, customer=make_customer(), as_of=AS_OF, calculated_at=AS_OF
            )
        with CaptureQueriesContext(connection) as context:
            assert admin_client.get(url(CustomerInsight, "changelist")).status_code == 200
        return len(context.captured_queries)

    assert add(2) == add(20)
