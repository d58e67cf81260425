"""The events admin: endpoints through the service with secrets masked, deliveries read-only."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from rapport.events.dispatch import deliver_due, dispatch_outbox
from rapport.events.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db


def url(model, view: str, *args) -> str:
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


@pytest.fixture
def dead_delivery(receiver, make_endpoint, make_event, settings):
    settings.RAPPORT_WEBHOOK_MAX_ATTEMPTS = 1
    receiver.default = 500
    make_endpoint(receiver.url)
    make_event()
    dispatch_outbox()
    deliver_due()
    return WebhookDelivery.objects.get()


def test_the_pages_answer_and_never_show_a_secret(admin_client, dead_delivery):
    endpoint = dead_delivery.endpoint

    pages = [
        admin_client.get(url(WebhookEndpoint, "changelist")),
        admin_client.get(url(WebhookEndpoint, "change", endpoint.pk)),
        admin_client.get(url(WebhookEndpoint, "add")),
        admin_client.get(url(WebhookDelivery, "changelist"), {"q": "customer"}),
        admin_client.get(url(WebhookDelivery, "change", dead_delivery.pk)),
    ]

    assert [page.status_code for page in pages] == [200] * 5
    assert all(endpoint.secret.encode() not in page.content for page in pages)
    assert endpoint.masked_secret in pages[1].content.decode()
    assert b"HTTP 500" in pages[4].content  # the attempt log
    assert admin_client.get(url(WebhookDelivery, "add")).status_code == 403


def test_adding_an_endpoint_checks_the_url_and_shows_the_secret_once(
    admin_client, tenant, settings
):
    settings.RAPPORT_WEBHOOK_ALLOW_PRIVATE = False
    form = {"tenant": str(tenant.pk), "description": "", "event_types": "[]", "is_active": "on"}

    refused = admin_client.post(
        url(WebhookEndpoint, "add"), {**form, "url": "http://10.0.0.1/hook"}
    )
    added = admin_client.post(
        url(WebhookEndpoint, "add"), {**form, "url": "https://93.184.216.34/hook"}, follow=True
    )

    assert refused.status_code == 200
    assert "private address" in refused.content.decode()
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.url == "https://93.184.216.34/hook"
    assert endpoint.secret.startswith("whsec_")
    assert any(endpoint.secret in str(message) for message in get_messages(added.wsgi_request))


def test_the_replay_action_sends_dead_deliveries_again(admin_client, dead_delivery, receiver):
    receiver.default = 200

    response = admin_client.post(
        url(WebhookDelivery, "changelist"),
        {"action": "replay", "_selected_action": [str(dead_delivery.pk)]},
        follow=True,
    )

    assert response.status_code == 200
    dead_delivery.refresh_from_db()
    assert dead_delivery.status == DeliveryStatus.PENDING
    assert deliver_due().delivered == 1
