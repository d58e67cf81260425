"""Consent in exports, erasures and merges, through the registered handler."""

import pytest
from django.db import transaction

from rapport.consent.models import CommunicationConsent, ConsentChange
from rapport.consent.personal_data import ConsentData
from rapport.consent.services import ConsentService
from rapport.customers import personal_data
from rapport.customers.personal_data import Erasure

pytestmark = pytest.mark.django_db

handler = ConsentData()


def set_status(actor, code, channel, status, **proof):
    if status == "opted_in":
        ConsentService.grant_consent(actor=actor, code=code, channel=channel, **proof)
    elif status == "opted_out":
        ConsentService.revoke_consent(actor=actor, code=code, channel=channel, **proof)


def status_of(customer, channel="email") -> str:
    consent = CommunicationConsent.objects.filter(customer=customer, channel=channel).first()
    return consent.status if consent else "pending"


def merge(duplicate, survivor, actor) -> dict:
    with transaction.atomic():
        return handler.merge(duplicate, survivor, actor)


def undo(duplicate, survivor, journal, actor) -> None:
    with transaction.atomic():
        handler.undo_merge(duplicate, survivor, journal, actor)


def test_the_handler_is_registered_for_every_part():
    for method in ("export", "erase", "plan_merge", "merge", "blockers_to_undo", "undo_merge"):
        assert any(isinstance(h, ConsentData) for h in personal_data.handlers(method)), method


def test_export_holds_current_consents_and_the_full_history(system_actor, make_customer):
    customer = make_customer()
    ConsentService.grant_consent(
        actor=system_actor, code=customer.code, channel="email", ip_address="10.0.0.1"
    )
    ConsentService.revoke_consent(actor=system_actor, code=customer.code, channel="email")

    exported = handler.export(customer)

    [consent] = exported["consents"]
    assert (consent["channel"], consent["status"]) == ("email", "opted_out")
    assert consent["consented_at"] and consent["revoked_at"]
    assert [
        (c["previous_status"], c["new_status"], c["ip_address"]) for c in exported["history"]
    ] == [("pending", "opted_in", "10.0.0.1"), ("opted_in", "opted_out", None)]


def test_erasure_withdraws_opt_ins_and_blanks_identifying_proof(system_actor, make_customer):
    # Given consent given on a form and revoked by a link, both with IPs and user agents
    customer = make_customer()
    other = make_customer()
    proof = {"ip_address": "203.0.113.9", "user_agent": "Firefox", "source": "Ada's form"}
    ConsentService.grant_consent(actor=system_actor, code=customer.code, channel="sms", **proof)
    ConsentService.grant_consent(actor=system_actor, code=customer.code, channel="email", **proof)
    token = ConsentService.unsubscribe_link(
        tenant=customer.tenant, code=customer.code, channel="email"
    ).token
    ConsentService.unsubscribe(token=token, ip_address="203.0.113.9", user_agent="Firefox")
    ConsentService.grant_consent(actor=system_actor, code=other.code, channel="sms", **proof)

    # When the customer is erased
    with transaction.atomic():
        changed = handler.erase(customer, Erasure(actor=system_actor, originals=["Ada"]))

    # Then the opt-in is withdrawn, no IP, user agent or free-text source is left, and the
    # opt-out still holds
    assert changed == 1 + 1 + 3  # sms withdrawn; the email row and three older history rows
    for row in [
        *CommunicationConsent.objects.filter(customer=customer),
        *ConsentChange.objects.filter(customer=customer),
    ]:
        assert (row.ip_address, row.user_agent) == (None, "")
        assert row.source in {"", "unsubscribe_link", "erasure"}
    assert status_of(customer, "email") == "opted_out"
    assert status_of(customer, "sms") == "opted_out"
    assert not ConsentService.has_consent(tenant=customer.tenant, code=customer.code, channel="sms")
    assert ConsentChange.objects.filter(customer=customer, source="unsubscribe_link").count() == 1
    withdrawal = ConsentChange.objects.get(customer=customer, source="erasure")
    assert (withdrawal.channel, withdrawal.previous_status, withdrawal.new_status) == (
        "sms",
        "opted_in",
        "opted_out",
    )
    # And another customer's proof is untouched
    assert CommunicationConsent.objects.get(customer=other).ip_address == "203.0.113.9"
    # And erasing again changes nothing more
    assert handler.erase(customer, Erasure(actor=system_actor, originals=[])) == 0


RULE_TABLE = [
    # duplicate, survivor, survivor's status after the merge
    ("pending", "pending", "pending"),
    ("pending", "opted_in", "opted_in"),
    ("pending", "opted_out", "opted_out"),
    ("opted_in", "pending", "opted_in"),
    ("opted_in", "opted_in", "opted_in"),
    ("opted_in", "opted_out", "opted_out"),
    ("opted_out", "pending", "opted_out"),
    ("opted_out", "opted_in", "opted_out"),
    ("opted_out", "opted_out", "opted_out"),
]


@pytest.mark.parametrize(("theirs", "ours", "expected"), RULE_TABLE)
def test_merge_keeps_the_strictest_wish_and_undo_restores_it(
    system_actor, make_customer, theirs, ours, expected
):
    # Given a duplicate and a survivor with a status each on email
    duplicate, survivor = make_customer(code="DUP"), make_customer(code="SURV")
    set_status(system_actor, duplicate.code, "email", theirs, source="dup form", notice_version="d")
    set_status(system_actor, survivor.code, "email", ours, source="surv form", notice_version="s")
    before = {
        "survivor": list(CommunicationConsent.objects.filter(customer=survivor).values()),
        "duplicate": list(CommunicationConsent.objects.filter(customer=duplicate).values()),
        "history": list(ConsentChange.objects.values_list("pk", "customer_id")),
    }
    plan = handler.plan_merge(duplicate, survivor)

    # When merged
    journal = merge(duplicate, survivor, system_actor)

    # Then the survivor has the winning status with the winner's proof, and all the history
    assert status_of(survivor) == expected
    winner_changed = theirs != ours and expected == theirs
    if winner_changed:
        consent = CommunicationConsent.objects.get(customer=survivor, channel="email")
        assert (consent.source, consent.notice_version) == ("dup form", "d")
        assert ConsentChange.objects.filter(customer=survivor, source="merge").count() == 1
    assert ConsentChange.objects.filter(customer=duplicate).count() == 0
    assert [step.action for step in plan if step.what == "consent on email"] == (
        [] if theirs == "pending" else ["take duplicate's" if winner_changed else "keep survivor's"]
    )
    assert handler.blockers_to_undo(duplicate, survivor, journal) == []

    # When the merge is undone
    undo(duplicate, survivor, journal, system_actor)

    # Then both consent rows are exactly as before, the history is back with the duplicate, and
    # what the merge changed on the survivor is recorded, never erased
    assert (
        list(CommunicationConsent.objects.filter(customer=survivor).values()) == before["survivor"]
    )
    assert (
        list(CommunicationConsent.objects.filter(customer=duplicate).values())
        == before["duplicate"]
    )
    recorded = set(ConsentChange.objects.values_list("pk", "customer_id"))
    assert set(before["history"]) <= recorded
    assert ConsentChange.objects.filter(customer=survivor, source="merge_undone").count() == (
        1 if winner_changed else 0
    )


def test_merge_over_several_channels_and_undo_blocked_by_a_newer_change(
    system_actor, make_customer
):
    # Given a duplicate opted in on email and out of sms; the survivor opted in on sms
    duplicate, survivor = make_customer(code="DUP"), make_customer(code="SURV")
    set_status(system_actor, duplicate.code, "email", "opted_in")
    set_status(system_actor, duplicate.code, "sms", "opted_out")
    set_status(system_actor, survivor.code, "sms", "opted_in")
    set_status(system_actor, survivor.code, "push", "opted_in")

    journal = merge(duplicate, survivor, system_actor)

    assert [status_of(survivor, c) for c in ("email", "sms", "push")] == [
        "opted_in",
        "opted_out",
        "opted_in",
    ]
    assert sorted(entry["channel"] for entry in journal["channels"]) == ["email", "sms"]

    # When the survivor's push changes, the undo is still possible (the merge left push alone)
    set_status(system_actor, survivor.code, "push", "opted_out")
    assert handler.blockers_to_undo(duplicate, survivor, journal) == []

    # When the survivor's sms changes after the merge, the undo is blocked
    set_status(system_actor, survivor.code, "sms", "opted_in")
    assert handler.blockers_to_undo(duplicate, survivor, journal) == [
        "The survivor's sms consent changed after the merge"
    ]
