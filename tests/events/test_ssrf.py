"""Webhooks reach only public addresses: checked when an endpoint is saved and at every attempt."""

import pytest

from rapport.events.dispatch import deliver_due, dispatch_outbox
from rapport.events.models import WebhookDelivery, WebhookEndpoint
from rapport.events.net import UnsafeURL, check_url
from rapport.events.webhooks import WebhookService
from rapport.exceptions import InvalidInput

REFUSED = [
    ("http://127.0.0.1/hook", "loopback"),
    ("http://127.8.9.10:8080/hook", "loopback"),
    ("http://10.1.2.3/hook", "private"),
    ("http://172.16.0.1/hook", "private"),
    ("http://192.168.1.20/hook", "private"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://[::1]/hook", "loopback"),
    ("http://[fe80::1]/hook", "link-local"),
    ("http://[fd00::1]/hook", "private"),
    ("http://[::ffff:127.0.0.1]/hook", "loopback"),
    ("http://[::ffff:10.0.0.1]/hook", "private"),
    ("http://[64:ff9b::a9fe:a9fe]/hook", "link-local"),  # NAT64 of 169.254.169.254
    ("http://0.0.0.0/hook", "unspecified"),
    ("http://224.0.0.1/hook", "multicast"),
    ("http://240.0.0.1/hook", "reserved"),
    ("http://100.64.0.1/hook", "not public"),  # carrier-grade NAT
    ("http://localhost:8000/hook", "loopback"),  # a name that resolves to loopback
]


@pytest.mark.parametrize(("url", "kind"), REFUSED, ids=[url for url, _ in REFUSED])
def test_private_and_special_addresses_are_refused(url, kind):
    with pytest.raises(UnsafeURL, match=kind):
        check_url(url)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://203.0.114.1/hook", "http:// or https://"),
        ("file:///etc/passwd", "http:// or https://"),
        ("https:///no-host", "names no host"),
        ("https://user:secret@93.184.216.34/hook", "user name or password"),
        ("https://93.184.216.34:99999/hook", "not valid"),
        ("https://exa mple.com/hook", "spaces or control characters"),
        ("https://no-such-host.invalid/hook", "does not resolve"),
    ],
)
def test_malformed_urls_are_refused(url, problem):
    with pytest.raises(UnsafeURL, match=problem):
        check_url(url)


def test_a_public_address_is_allowed_and_kept_for_the_connection():
    target = check_url("https://93.184.216.34:8443/hooks/in?source=rapport")

    assert (target.scheme, target.host, target.port) == ("https", "93.184.216.34", 8443)
    assert target.path == "/hooks/in?source=rapport"
    assert target.addresses == ("93.184.216.34",)


def test_private_addresses_are_allowed_when_the_setting_says_so(settings):
    settings.RAPPORT_WEBHOOK_ALLOW_PRIVATE = True

    assert check_url("http://127.0.0.1:8000/hook").addresses == ("127.0.0.1",)
    assert check_url("http://localhost:8000/hook").addresses  # resolved for the connection
    assert check_url("http://not-yet-in-dns.internal/hook", resolve=False).addresses == ()


def test_listed_hosts_are_allowed_whatever_they_resolve_to(settings):
    settings.RAPPORT_WEBHOOK_ALLOWED_HOSTS = ["localhost", "10.0.0.7"]

    assert check_url("http://localhost/hook").host == "localhost"
    assert check_url("http://10.0.0.7/hook").addresses == ("10.0.0.7",)
    with pytest.raises(UnsafeURL):
        check_url("http://10.0.0.8/hook")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://10.0.0.1/hook",
        "http://169.254.169.254/",
        "http://[::1]/hook",
        "http://localhost/hook",
    ],
)
def test_creating_an_endpoint_at_a_private_address_is_a_422_naming_the_url(admin_api, url):
    response = admin_api.post("/webhooks", {"url": url})

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert list(error["fields"]) == ["url"]
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_changing_an_endpoint_to_a_private_address_is_refused(admin_api, actor, settings):
    settings.RAPPORT_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    endpoint = WebhookService.create_endpoint(actor=actor, url="http://127.0.0.1/hook")

    response = admin_api.patch(f"/webhooks/{endpoint.uuid}", {"url": "http://10.9.8.7/hook"})

    assert response.status_code == 422
    assert list(response.json()["error"]["fields"]) == ["url"]
    endpoint.refresh_from_db()
    assert endpoint.url == "http://127.0.0.1/hook"


@pytest.mark.django_db
def test_an_endpoint_that_became_private_is_not_requested_at_delivery(
    receiver, actor, make_event, settings
):
    # Given an endpoint saved while allowed (as if its name pointed elsewhere then)
    settings.RAPPORT_WEBHOOK_ALLOW_PRIVATE = True
    WebhookService.create_endpoint(actor=actor, url=receiver.url)
    make_event()
    dispatch_outbox()

    # When it is delivered with private addresses refused
    settings.RAPPORT_WEBHOOK_ALLOW_PRIVATE = False
    run = deliver_due()

    # Then no request is made and the attempt failed with the reason
    assert run.retrying == 1
    assert receiver.requests == []
    delivery = WebhookDelivery.objects.get()
    assert delivery.last_status_code is None
    assert (
        delivery.last_error == "Not sent: The host 127.0.0.1 is at a loopback address (127.0.0.1)"
    )


@pytest.mark.django_db
def test_the_service_refuses_a_private_url_whatever_the_door(actor):
    with pytest.raises(InvalidInput) as error:
        WebhookService.create_endpoint(actor=actor, url="http://192.168.0.1/hook")

    assert list(error.value.fields) == ["url"]
