"""ConsentService: grants and revocations with proof, the history, and the reads before sending."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.consent.models import CommunicationConsent, ConsentChange
from rapport.consent.services import ConsentService
from rapport.customers.models import Customer
from rapport.customers.services import CustomerService
from rapport.events.models import OutboxEvent
from rapport.exceptions import InvalidInput, NotFound
from rapport.tenancy.actors import Actor
from rapport.timeline.models import TimelineEvent

pytestmark = pytest.mark.django_db


def grant(actor, code, channel="email", **proof):
    return ConsentService.grant_consent(actor=actor, code=code, channel=channel, **proof)


def revoke(actor, code, channel="email", **proof):
    return ConsentService.revoke_consent(actor=actor, code=code, channel=channel, **proof)


def test_a_channel_never_recorded_is_pending_and_not_marketable(tenant, make_customer):
    customer = make_customer()

    consents = ConsentService.get_consents(tenant=tenant, code=customer.code)

    assert [(c.channel, c.status, c.pk) for c in consents] == [
        ("whatsapp", "pending", None),
        ("email", "pending", None),
        ("sms", "pending", None),
        ("push", "pending", None),
    ]
    assert ConsentService.has_consent(tenant=tenant, code=customer.code, channel="email") is False
    assert ConsentService.get_opted_in_channels(tenant=tenant, code=customer.code) == []
    assert CommunicationConsent.objects.count() == 0


def test_granting_records_the_proof_the_history_the_timeline_and_the_event(
    tenant, system_actor, make_customer
):
    customer = make_customer()

    consent = grant(
        system_actor,
        customer.code,
        legal_basis="consent",
        source="signup_form",
        ip_address="203.0.113.7",
        user_agent="Mozilla/5.0",
        notice_version="v3",
    )

    assert consent.status == "opted_in"
    assert (consent.legal_basis, consent.source, consent.ip_address) == (
        "consent",
        "signup_form",
        "203.0.113.7",
    )
    assert (consent.user_agent, consent.notice_version) == ("Mozilla/5.0", "v3")
    assert consent.consented_at is not None and consent.revoked_at is None
    assert ConsentService.has_consent(tenant=tenant, code=customer.code, channel="email") is True
    assert ConsentService.has_consent(tenant=tenant, code=customer.code, channel="sms") is False
    [change] = ConsentChange.objects.all()
    assert (change.channel, change.previous_status, change.new_status) == (
        "email",
        "pending",
        "opted_in",
    )
    assert (change.source, change.ip_address, change.notice_version) == (
        "signup_form",
        "203.0.113.7",
        "v3",
    )
    assert change.actor == "system:tests"
    event = TimelineEvent.objects.get(customer=customer, metadata__kind="consent_changed")
    assert (event.title, event.event_type) == ("Opted in to email marketing", "contact")
    outbox = OutboxEvent.objects.get(type="consent.changed")
    assert outbox.data == {
        "code": customer.code,
        "channel": "email",
        "status": "opted_in",
        "previous_status": "pending",
        "legal_basis": "consent",
        "source": "signup_form",
    }


def test_revoking_keeps_when_consent_was_given(tenant, system_actor, make_customer):
    customer = make_customer()
    granted = grant(system_actor, customer.code, source="pos")

    revoked = revoke(system_actor, customer.code, source="reply STOP")

    assert revoked.pk == granted.pk
    assert revoked.status == "opted_out"
    assert revoked.consented_at == granted.consented_at
    assert revoked.revoked_at is not None and revoked.revoked_at >= revoked.consented_at
    assert revoked.legal_basis == "consent"  # a revocation keeps the basis it revokes
    assert ConsentService.has_consent(tenant=tenant, code=customer.code, channel="email") is False
    assert [(c.previous_status, c.new_status) for c in ConsentChange.objects.order_by("id")] == [
        ("pending", "opted_in"),
        ("opted_in", "opted_out"),
    ]


def test_opting_back_in_keeps_the_revocation_time(system_actor, make_customer):
    customer = make_customer()
    grant(system_actor, customer.code)
    revoked = revoke(system_actor, customer.code)

    again = grant(system_actor, customer.code, notice_version="v2")

    assert again.status == "opted_in"
    assert again.revoked_at == revoked.revoked_at
    assert again.consented_at > revoked.consented_at
    assert ConsentChange.objects.count() == 3


def test_revoking_a_pending_channel_records_an_explicit_opt_out(
    tenant, system_actor, make_customer
):
    customer = make_customer()

    consent = revoke(system_actor, customer.code, channel="sms")

    assert consent.status == "opted_out"
    assert consent.consented_at is None
    assert ConsentChange.objects.get().previous_status == "pending"


def test_the_same_grant_again_records_nothing(system_actor, make_customer):
    customer = make_customer()
    first = grant(system_actor, customer.code, source="form", ip_address="10.0.0.1")
    events = OutboxEvent.objects.count()

    again = grant(system_actor, customer.code, source="form", ip_address="10.0.0.1")

    assert again.pk == first.pk
    assert again.consented_at == first.consented_at
    assert ConsentChange.objects.count() == 1
    assert OutboxEvent.objects.count() == events


def test_a_grant_with_new_proof_is_recorded(system_actor, make_customer):
    customer = make_customer()
    first = grant(system_actor, customer.code, notice_version="v1")

    again = grant(system_actor, customer.code, notice_version="v2")

    assert again.notice_version == "v2"
    assert again.consented_at > first.consented_at
    latest = ConsentChange.objects.order_by("-id").first()
    assert (latest.previous_status, latest.new_status, latest.notice_version) == (
        "opted_in",
        "opted_in",
        "v2",
    )


def test_revoking_again_keeps_the_first_revocation(system_actor, make_customer):
    customer = make_customer()
    first = revoke(system_actor, customer.code, source="unsubscribe page")

    again = revoke(system_actor, customer.code, source="called the shop")

    assert (again.revoked_at, again.source) == (first.revoked_at, "unsubscribe page")
    assert ConsentChange.objects.count() == 1


@pytest.mark.parametrize(
    ("proof", "field"),
    [
        ({"channel": "fax"}, "channel"),
        ({"legal_basis": "because"}, "legal_basis"),
        ({"ip_address": "999.1.1.1"}, "ip_address"),
        ({"ip_address": "localhost"}, "ip_address"),
        ({"source": "x" * 101}, "source"),
        ({"user_agent": "x" * 501}, "user_agent"),
        ({"notice_version": "x" * 51}, "notice_version"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(system_actor, make_customer, proof, field):
    customer = make_customer()
    arguments = {"channel": "email", **proof}

    with pytest.raises(InvalidInput) as raised:
        ConsentService.grant_consent(actor=system_actor, code=customer.code, **arguments)

    assert set(raised.value.fields) == {field}
    assert CommunicationConsent.objects.count() == 0
    assert ConsentChange.objects.count() == 0


def test_an_unknown_customer_is_not_found(tenant, system_actor):
    with pytest.raises(NotFound):
        grant(system_actor, "NOPE")
    with pytest.raises(NotFound):
        ConsentService.has_consent(tenant=tenant, code="NOPE", channel="email")


def test_another_tenants_customer_is_not_found(other_tenant, make_customer):
    customer = make_customer()
    theirs = Actor.for_system(other_tenant, "tests")

    with pytest.raises(NotFound):
        grant(theirs, customer.code)
    assert CommunicationConsent.objects.count() == 0


def test_opted_in_channels_are_listed_in_channel_order(tenant, system_actor, make_customer):
    customer = make_customer()
    for channel in ("push", "whatsapp", "sms"):
        grant(system_actor, customer.code, channel=channel)
    revoke(system_actor, customer.code, channel="sms")

    channels = ConsentService.get_opted_in_channels(tenant=tenant, code=customer.code)

    assert channels == ["whatsapp", "push"]


def test_marketable_customers_leave_out_archived_merged_and_other_tenants(
    tenant, other_tenant, system_actor, make_customer
):
    # Given customers in every state, all opted in on email but one
    live = [make_customer(code=f"LIVE-{n}") for n in range(3)]
    archived = make_customer(code="ARCHIVED")
    merged = make_customer(code="MERGED")
    opted_out = make_customer(code="OPTED-OUT")
    sms_only = make_customer(code="SMS-ONLY")
    for customer in [*live, archived, merged, opted_out]:
        grant(system_actor, customer.code)
    revoke(system_actor, opted_out.code)
    grant(system_actor, sms_only.code, channel="sms")
    CustomerService.archive_customer(actor=system_actor, code=archived.code)
    Customer.objects.filter(pk=merged.pk).update(merged_into=live[0])
    theirs = make_customer(actor=Actor.for_system(other_tenant, "tests"), code="LIVE-9")
    grant(Actor.for_system(other_tenant, "tests"), theirs.code)

    # When the audience is read
    with CaptureQueriesContext(connection) as context:
        codes = ConsentService.get_marketable_customers(tenant=tenant, channel="email")

    # Then it is the live, opted-in customers only, in one query
    assert codes == ["LIVE-0", "LIVE-1", "LIVE-2"]
    assert len(context.captured_queries) == 1
    assert ConsentService.get_marketable_customers(tenant=tenant, channel="sms") == ["SMS-ONLY"]


def test_a_merged_duplicates_code_reaches_the_survivor(tenant, system_actor, make_customer):
    survivor, duplicate = make_customer(code="SURVIVOR"), make_customer(code="DUPLICATE")
    Customer.objects.filter(pk=duplicate.pk).update(merged_into=survivor)

    consent = grant(system_actor, duplicate.code)

    assert consent.customer_id == survivor.pk
    assert ConsentService.has_consent(tenant=tenant, code="SURVIVOR", channel="email") is True


def test_history_is_newest_first_and_filters_by_channel(tenant, system_actor, make_customer):
    customer = make_customer()
    grant(system_actor, customer.code, channel="email")
    grant(system_actor, customer.code, channel="sms")
    revoke(system_actor, customer.code, channel="email")

    history = ConsentService.get_history(tenant=tenant, code=customer.code)
    email = ConsentService.get_history(tenant=tenant, code=customer.code, channel="email")

    assert [(c.channel, c.new_status) for c in history] == [
        ("email", "opted_out"),
        ("sms", "opted_in"),
        ("email", "opted_in"),
    ]
    assert [c.new_status for c in email] == ["opted_out", "opted_in"]


def test_no_service_edits_or_deletes_history(tenant, system_actor, make_customer):
    # Given a history of three changes
    customer = make_customer()
    grant(system_actor, customer.code, source="form")
    revoke(system_actor, customer.code)
    grant(system_actor, customer.code, source="counter")
    before = list(ConsentChange.objects.order_by("id").values())

    # When the consent keeps changing
    revoke(system_actor, customer.code)
    grant(system_actor, customer.code, source="again")

    # Then the first rows are exactly as they were, and two were appended
    after = list(ConsentChange.objects.order_by("id").values())
    assert after[:3] == before
    assert len(after) == 5
