"""The consent endpoints, through the real URLs and API keys."""

import pytest

from rapport.consent.models import CommunicationConsent, ConsentChange
from rapport.consent.services import ConsentService
from rapport.customers.models import Customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(make_customer):
    return make_customer(code="ADA-1", first_name="Ada", email="ada@example.com")


def test_list_shows_every_channel(api, customer, system_actor):
    ConsentService.grant_consent(
        actor=system_actor, code=customer.code, channel="sms", source="pos", notice_version="v1"
    )

    response = api.get(f"/customers/{customer.code}/consents")

    assert response.status_code == 200
    body = {row["channel"]: row for row in response.json()}
    assert list(body) == ["whatsapp", "email", "sms", "push"]
    assert body["email"]["status"] == "pending"
    assert body["email"]["updated_at"] is None
    assert body["sms"]["status"] == "opted_in"
    assert (body["sms"]["source"], body["sms"]["notice_version"]) == ("pos", "v1")
    assert body["sms"]["consented_at"] is not None


def test_grant_takes_the_ip_and_user_agent_from_the_request(api, customer):
    response = api.post(
        f"/customers/{customer.code}/consents/email/grant",
        {"source": "signup_form", "notice_version": "v2"},
        headers={"User-Agent": "ShopApp/1.0"},
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["channel"], body["status"], body["legal_basis"]) == (
        "email",
        "opted_in",
        "consent",
    )
    assert (body["ip_address"], body["user_agent"]) == ("127.0.0.1", "ShopApp/1.0")
    change = ConsentChange.objects.get()
    assert (change.ip_address, change.user_agent, change.source) == (
        "127.0.0.1",
        "ShopApp/1.0",
        "signup_form",
    )
    assert change.actor == "api_key:test key"


def test_grant_keeps_the_ip_and_user_agent_given(api, customer):
    response = api.post(
        f"/customers/{customer.code}/consents/whatsapp/grant",
        {
            "legal_basis": "legitimate_interest",
            "ip_address": "2001:db8::1",
            "user_agent": "Kiosk",
        },
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["ip_address"], body["user_agent"]) == ("2001:db8::1", "Kiosk")
    assert body["legal_basis"] == "legitimate_interest"


def test_revoke(api, customer):
    api.post(f"/customers/{customer.code}/consents/email/grant", {})

    response = api.post(f"/customers/{customer.code}/consents/email/revoke", {"source": "call"})

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "opted_out"
    assert body["revoked_at"] is not None and body["consented_at"] is not None


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("consents/fax/grant", {}, "channel"),
        ("consents/email/grant", {"legal_basis": "whim"}, "legal_basis"),
        ("consents/email/grant", {"ip_address": "not an ip"}, "ip_address"),
        ("consents/email/grant", {"source": "x" * 101}, "source"),
        ("consents/email/grant", {"surprise": 1}, "surprise"),
        ("consents/email/revoke", {"notice_version": "x" * 51}, "notice_version"),
        ("consents/email/revoke", {"user_agent": "x" * 501}, "user_agent"),
        ("consents/fax/request-confirmation", {}, "channel"),
        ("consents/email/request-confirmation", {"notice_version": 5}, "notice_version"),
    ],
)
def test_bad_input_is_422_naming_the_field(api, customer, path, body, field):
    response = api.post(f"/customers/{customer.code}/{path}", body)

    assert response.status_code == 422, response.content
    assert field in response.json()["error"]["fields"]
    assert CommunicationConsent.objects.count() == 0
    assert ConsentChange.objects.count() == 0


def test_a_body_that_is_not_json_is_400(api, customer):
    response = api.post(f"/customers/{customer.code}/consents/email/grant", "{not json")

    assert response.status_code == 400
    assert CommunicationConsent.objects.count() == 0


def test_an_unknown_customer_is_404(api):
    assert api.get("/customers/NOPE/consents").status_code == 404
    assert api.get("/customers/NOPE/consents/history").status_code == 404
    assert api.post("/customers/NOPE/consents/email/grant", {}).status_code == 404
    assert api.post("/customers/NOPE/consents/email/revoke", {}).status_code == 404
    assert api.post("/customers/NOPE/consents/email/unsubscribe-link").status_code == 404
    assert api.post("/customers/NOPE/consents/sms/request-confirmation", {}).status_code == 404


def test_a_read_key_cannot_change_consent(read_api, customer):
    response = read_api.post(f"/customers/{customer.code}/consents/email/grant", {})

    assert response.status_code == 403
    assert CommunicationConsent.objects.count() == 0


def test_history_is_paginated_newest_first(api, customer):
    for channel in ("email", "sms", "push"):
        api.post(f"/customers/{customer.code}/consents/{channel}/grant", {})
    api.post(f"/customers/{customer.code}/consents/email/revoke", {})

    first = api.get(f"/customers/{customer.code}/consents/history", {"limit": 3}).json()
    second = api.get(
        f"/customers/{customer.code}/consents/history",
        {"limit": 3, "cursor": first["next_cursor"]},
    ).json()
    email = api.get(f"/customers/{customer.code}/consents/history", {"channel": "email"}).json()

    assert [(row["channel"], row["new_status"]) for row in first["items"]] == [
        ("email", "opted_out"),
        ("push", "opted_in"),
        ("sms", "opted_in"),
    ]
    assert [(row["channel"], row["new_status"]) for row in second["items"]] == [
        ("email", "opted_in")
    ]
    assert second["next_cursor"] is None
    assert [row["new_status"] for row in email["items"]] == ["opted_out", "opted_in"]


def test_history_rejects_a_bad_channel_or_cursor(api, customer):
    bad_channel = api.get(f"/customers/{customer.code}/consents/history", {"channel": "fax"})
    bad_cursor = api.get(f"/customers/{customer.code}/consents/history", {"cursor": "zzz"})

    assert bad_channel.status_code == 422
    assert "channel" in bad_channel.json()["error"]["fields"]
    assert bad_cursor.status_code == 422
    assert "cursor" in bad_cursor.json()["error"]["fields"]


def test_marketable_is_paginated_by_code(api, make_customer, system_actor):
    for code in ("C-3", "C-1", "C-2", "C-4"):
        make_customer(code=code)
        ConsentService.grant_consent(actor=system_actor, code=code, channel="push")
    ConsentService.revoke_consent(actor=system_actor, code="C-4", channel="push")
    Customer.objects.filter(code="C-2").update(is_archived=True)

    first = api.get("/consents/marketable", {"channel": "push", "limit": 1}).json()
    rest = api.get(
        "/consents/marketable", {"channel": "push", "cursor": first["next_cursor"]}
    ).json()

    assert first["items"] == ["C-1"]
    assert rest == {"items": ["C-3"], "next_cursor": None}
    assert api.get("/consents/marketable", {"channel": "email"}).json()["items"] == []


def test_marketable_needs_a_valid_channel(api):
    assert api.get("/consents/marketable").status_code == 422
    response = api.get("/consents/marketable", {"channel": "fax"})
    assert response.status_code == 422
    assert "channel" in response.json()["error"]["fields"]


def test_unsubscribe_link_then_public_unsubscribe(api, anonymous_api, customer):
    api.post(f"/customers/{customer.code}/consents/email/grant", {})

    link = api.post(f"/customers/{customer.code}/consents/email/unsubscribe-link")
    assert link.status_code == 200
    body = link.json()
    assert body["url"] == f"http://127.0.0.1:8000/unsubscribe/{body['token']}"
    assert body["expires_at"] is None
    assert CommunicationConsent.objects.get().status == "opted_in"  # making a link changes nothing

    response = anonymous_api.post("/consent/unsubscribe", {"token": body["token"]})

    assert response.status_code == 200
    assert response.json() == {"channel": "email", "status": "opted_out"}
    change = ConsentChange.objects.order_by("-id").first()
    assert (change.source, change.actor) == ("unsubscribe_link", "system:unsubscribe_link")


@pytest.mark.parametrize(
    ("body", "field"),
    [({"token": "abc:def"}, "token"), ({"token": ""}, "token"), ({}, "token")],
)
def test_public_routes_refuse_a_bad_token(anonymous_api, customer, body, field):
    for path in ("/consent/unsubscribe", "/consent/confirm"):
        response = anonymous_api.post(path, body)

        assert response.status_code == 422, response.content
        assert field in response.json()["error"]["fields"]
    assert ConsentChange.objects.count() == 0


def test_request_confirmation_on_sms_returns_the_link_without_mail(api, customer, mailoutbox):
    response = api.post(
        f"/customers/{customer.code}/consents/sms/request-confirmation", {"notice_version": "v4"}
    )

    assert response.status_code == 200
    body = response.json()
    assert body["url"].startswith("http://127.0.0.1:8000/confirm/")
    assert body["expires_at"] is not None
    assert body["sent_to"] == ""
    assert mailoutbox == []
    assert CommunicationConsent.objects.count() == 0  # nothing changes until confirmed


def test_request_confirmation_by_email_needs_an_address(api, make_customer, mailoutbox):
    customer = make_customer(first_name="No mail")

    response = api.post(f"/customers/{customer.code}/consents/email/request-confirmation", {})

    assert response.status_code == 422
    assert "channel" in response.json()["error"]["fields"]
    assert mailoutbox == []
