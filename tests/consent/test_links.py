"""Signed links: unsubscribe and double opt-in, on the public pages and the public API."""

import re

import pytest
from django.core import signing
from django.test import Client

from rapport.consent import tokens
from rapport.consent.models import CommunicationConsent, ConsentChange
from rapport.consent.services import ConsentService
from rapport.customers.services import ContactPointService
from rapport.exceptions import InvalidInput, NotFound
from rapport.tenancy.actors import Actor

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(make_customer):
    return make_customer(code="ADA-1", first_name="Ada", email="ada@example.com")


def unsubscribe_token(tenant, code="ADA-1", channel="email") -> str:
    return ConsentService.unsubscribe_link(tenant=tenant, code=code, channel=channel).token


def status(customer, channel="email") -> str:
    consent = CommunicationConsent.objects.filter(customer=customer, channel=channel).first()
    return consent.status if consent else "pending"


def test_the_unsubscribe_page_asks_first_and_a_get_changes_nothing(tenant, customer, system_actor):
    ConsentService.grant_consent(actor=system_actor, code=customer.code, channel="email")
    token = unsubscribe_token(tenant)

    page = Client().get(f"/unsubscribe/{token}")

    assert page.status_code == 200
    assert '<form method="post">' in page.content.decode()
    assert "Unsubscribe" in page.content.decode()
    assert status(customer) == "opted_in"


def test_posting_the_unsubscribe_page_revokes_with_the_visitors_details(
    tenant, customer, system_actor
):
    ConsentService.grant_consent(actor=system_actor, code=customer.code, channel="email")
    token = unsubscribe_token(tenant)

    response = Client().post(f"/unsubscribe/{token}", headers={"User-Agent": "Phone browser"})

    assert response.status_code == 200
    assert "You are unsubscribed" in response.content.decode()
    assert status(customer) == "opted_out"
    change = ConsentChange.objects.order_by("-id").first()
    assert (change.source, change.ip_address, change.user_agent) == (
        "unsubscribe_link",
        "127.0.0.1",
        "Phone browser",
    )


def test_rfc_8058_one_click_unsubscribes(tenant, customer, system_actor):
    ConsentService.grant_consent(actor=system_actor, code=customer.code, channel="email")
    token = unsubscribe_token(tenant)

    response = Client().post(f"/unsubscribe/{token}", {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    assert status(customer) == "opted_out"
    assert ConsentChange.objects.order_by("-id").first().source == "one_click_unsubscribe"


def test_unsubscribing_twice_records_once(tenant, customer, system_actor):
    ConsentService.grant_consent(actor=system_actor, code=customer.code, channel="email")
    token = unsubscribe_token(tenant)

    Client().post(f"/unsubscribe/{token}")
    Client().post(f"/unsubscribe/{token}")
    ConsentService.unsubscribe(token=token)

    assert ConsentChange.objects.filter(new_status="opted_out").count() == 1


def test_a_tampered_token_is_a_clear_4xx_everywhere(tenant, customer, system_actor):
    ConsentService.grant_consent(actor=system_actor, code=customer.code, channel="email")
    token = unsubscribe_token(tenant)
    # the payload names another channel, the signature is the old one
    payload, rest = token.split(":", 1)
    tampered = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + ":" + rest

    page = Client().get(f"/unsubscribe/{tampered}")
    posted = Client().post(f"/unsubscribe/{tampered}")
    with pytest.raises(InvalidInput) as raised:
        ConsentService.unsubscribe(token=tampered)

    assert page.status_code == 422
    assert "This link does not work" in page.content.decode()
    assert posted.status_code == 422
    assert set(raised.value.fields) == {"token"}
    assert status(customer) == "opted_in"


def test_an_unsubscribe_token_does_not_confirm_and_back(tenant, customer):
    unsubscribe = unsubscribe_token(tenant)
    confirm = ConsentService.request_confirmation(
        actor=Actor.for_system(tenant, "tests"), code=customer.code, channel="sms"
    ).token

    with pytest.raises(InvalidInput):
        ConsentService.confirm(token=unsubscribe)
    with pytest.raises(InvalidInput):
        ConsentService.unsubscribe(token=confirm)
    assert ConsentChange.objects.count() == 0


def test_a_token_acts_only_in_its_own_tenant(tenant, other_tenant, make_customer):
    # Given two tenants each with a customer of the same code
    ours = make_customer(code="SAME-1")
    theirs = make_customer(actor=Actor.for_system(other_tenant, "tests"), code="SAME-1")
    for customer, owner in ((ours, tenant), (theirs, other_tenant)):
        ConsentService.grant_consent(
            actor=Actor.for_system(owner, "tests"), code=customer.code, channel="email"
        )

    # When our customer's token is used
    ConsentService.unsubscribe(token=unsubscribe_token(tenant, code="SAME-1"))

    # Then only our customer is opted out
    assert status(ours) == "opted_out"
    assert status(theirs) == "opted_in"


def test_a_token_signed_with_another_tenants_id_but_no_customer_is_404(
    tenant, other_tenant, customer
):
    token = tokens.sign(
        tokens.Claim(tenant_id=other_tenant.pk, code=customer.code, channel="email"),
        salt=tokens.UNSUBSCRIBE_SALT,
    )

    with pytest.raises(NotFound):
        ConsentService.unsubscribe(token=token)
    assert Client().post(f"/unsubscribe/{token}").status_code == 404
    assert ConsentChange.objects.count() == 0


def test_a_token_for_a_deleted_customer_is_404(tenant, customer, anonymous_api):
    token = unsubscribe_token(tenant)
    customer.delete()

    response = anonymous_api.post("/consent/unsubscribe", {"token": token})

    assert response.status_code == 404


def test_double_opt_in_by_email(
    tenant, customer, mailoutbox, anonymous_api, settings, django_capture_on_commit_callbacks
):
    # Given a confirmation requested on email (mailed by a task once the request commits)
    settings.RAPPORT_PUBLIC_URL = "https://crm.example.com/"
    with django_capture_on_commit_callbacks(execute=True):
        link = ConsentService.request_confirmation(
            actor=Actor.for_system(tenant, "tests"),
            code=customer.code,
            channel="email",
            notice_version="2025-01",
        )

    # Then a mail with the link went to the customer, and nothing changed yet
    [mail] = mailoutbox
    assert mail.to == ["ada@example.com"]
    assert link.sent_to == "ada@example.com"
    [url] = re.findall(r"https://\S+", mail.body)
    assert url == link.url
    assert url.startswith("https://crm.example.com/confirm/")
    assert status(customer) == "pending"

    # When the customer opens the link (a GET) and then presses the button (a POST)
    path = url.removeprefix("https://crm.example.com")
    page = Client().get(path)
    assert page.status_code == 200 and "Confirm" in page.content.decode()
    assert status(customer) == "pending"
    confirmed = Client().post(path, headers={"User-Agent": "Mail app"})

    # Then they are opted in by double opt-in, with the notice they saw
    assert confirmed.status_code == 200
    consent = CommunicationConsent.objects.get(customer=customer, channel="email")
    assert (consent.status, consent.source, consent.legal_basis) == (
        "opted_in",
        "double_opt_in",
        "consent",
    )
    assert (consent.notice_version, consent.user_agent, consent.ip_address) == (
        "2025-01",
        "Mail app",
        "127.0.0.1",
    )
    # And the same confirmation again, through the public API, records nothing more
    again = anonymous_api.post(
        "/consent/confirm", {"token": link.token}, headers={"User-Agent": "Mail app"}
    )
    assert again.json() == {"channel": "email", "status": "opted_in"}
    assert ConsentChange.objects.count() == 1


def test_the_confirmation_mail_uses_an_email_contact_point(
    tenant, make_customer, mailoutbox, django_capture_on_commit_callbacks
):
    customer = make_customer(first_name="Bola")
    ContactPointService.add_contact_point(
        actor=Actor.for_system(tenant, "tests"),
        code=customer.code,
        type="email",
        value="bola@example.com",
    )

    with django_capture_on_commit_callbacks(execute=True):
        ConsentService.request_confirmation(
            actor=Actor.for_system(tenant, "tests"), code=customer.code, channel="email"
        )

    assert mailoutbox[0].to == ["bola@example.com"]


def test_a_confirmation_link_expires(tenant, customer, settings, anonymous_api, monkeypatch):
    token = ConsentService.request_confirmation(
        actor=Actor.for_system(tenant, "tests"), code=customer.code, channel="sms"
    ).token
    settings.RAPPORT_CONSENT_CONFIRMATION_MAX_AGE = 60
    real_time = signing.time.time
    monkeypatch.setattr(signing.time, "time", lambda: real_time() + 61)

    response = anonymous_api.post("/consent/confirm", {"token": token})
    page = Client().post(f"/confirm/{token}")

    assert response.status_code == 422
    assert response.json()["error"]["message"] == "The link has expired"
    assert page.status_code == 422
    assert status(customer, "sms") == "pending"


def test_a_confirmation_within_its_age_works_through_the_api(tenant, customer, anonymous_api):
    token = ConsentService.request_confirmation(
        actor=Actor.for_system(tenant, "tests"), code=customer.code, channel="whatsapp"
    ).token

    response = anonymous_api.post("/consent/confirm", {"token": token})

    assert response.status_code == 200
    assert response.json() == {"channel": "whatsapp", "status": "opted_in"}
    assert ConsentChange.objects.get().actor == "system:double_opt_in"


def test_the_public_pages_answer_only_get_and_post(tenant, customer):
    token = unsubscribe_token(tenant)

    assert Client().put(f"/unsubscribe/{token}").status_code == 405
    assert Client().delete(f"/confirm/{token}").status_code == 405


def test_the_links_address_and_lifetime_come_from_the_environment():
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "rapport.settings",
        "RAPPORT_PUBLIC_URL": "https://crm.example.com/",
        "RAPPORT_CONSENT_CONFIRMATION_MAX_AGE": "3600",
    }
    script = (
        "import django; django.setup(); from rapport.consent import conf; "
        "print(conf.public_url(), conf.confirmation_max_age())"
    )

    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["https://crm.example.com", "3600"]
