"""Erasure: the person is gone from every table, while their code and history's shape stay."""

import json

import pytest
from django.apps import apps
from django.db import models

from rapport.customers.models import (
    ContactPoint,
    Customer,
    CustomerAddress,
    ExternalIdentity,
    Note,
)
from rapport.customers.services import (
    AddressService,
    ContactPointService,
    CustomerService,
    ExternalIdentityService,
    NoteService,
    TagService,
)
from rapport.events.models import OutboxEvent
from rapport.exceptions import Conflict, InvalidInput, PermissionDenied
from rapport.privacy.models import DataSubjectRequest, ErasureRecord
from rapport.privacy.services import DataSubjectRequestService, PrivacyService
from rapport.tenancy.actors import Actor
from rapport.tenancy.models import IdempotencyRecord
from rapport.timeline.models import TimelineEvent
from rapport.timeline.services import TimelineService

pytestmark = pytest.mark.django_db

FIRST, LAST = "Ngozika", "Adeyemi-Quist"
OLD_FIRST = "Amarachi"  # the first name before a rename: it lives on in change records
EMAIL = "ngozika.quist@example.com"
PHONE = "+2348031234567"
# What must be found nowhere after the erasure, in any spelling the data held.
NEEDLES = [FIRST, LAST, OLD_FIRST, EMAIL, "8031234567", "803 123 4567"]
# Held only as identifiers, and written into the timeline and events when they were added.
MANYCHAT_ID, WHATSAPP = "998877665", "0805 987 6543"
NEEDLES += [MANYCHAT_ID, "8059876543"]

TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField, models.BinaryField)


def occurrences(needles: list[str]) -> list[tuple[str, str, int, str]]:
    """(model, field, pk, needle) for every text, JSON or binary value in the database."""
    found = []
    for model in apps.get_models():
        fields = [f for f in model._meta.concrete_fields if isinstance(f, TEXT_FIELDS)]
        if not fields:
            continue
        names = [f.attname for f in fields]
        for row in model.objects.values_list("pk", *names):
            for name, value in zip(names, row[1:], strict=True):
                if value is None:
                    continue
                if isinstance(value, bytes | memoryview):
                    text = bytes(value).decode("utf-8", "replace")
                elif isinstance(value, str):
                    text = value
                else:
                    text = json.dumps(value, ensure_ascii=False)
                for needle in needles:
                    if needle.lower() in text.lower():
                        found.append((model.__name__, name, row[0], needle))
    return found


def add_other_apps_data(actor: Actor, code: str) -> None:
    """Data in the apps beside the core that hold personal data, when they are installed."""
    if apps.is_installed("rapport.identity"):
        from rapport.identity.services import IdentifierService

        IdentifierService.add_identifier(actor=actor, code=code, type="email", value=EMAIL)
        IdentifierService.add_identifier(actor=actor, code=code, type="manychat", value=MANYCHAT_ID)
        IdentifierService.add_identifier(actor=actor, code=code, type="whatsapp", value=WHATSAPP)
    if apps.is_installed("rapport.consent"):
        from rapport.consent.services import ConsentService

        ConsentService.grant_consent(
            actor=actor, code=code, channel="email", source=f"form signed by {FIRST} {LAST}"
        )
    if apps.is_installed("rapport.preferences"):
        from rapport.preferences.services import PreferenceService

        PreferenceService.set_preference(
            actor=actor, code=code, category="contact", key="call_name", value=FIRST
        )


@pytest.fixture
def person(admin_api, tenant, make_customer):
    """A customer with data everywhere, created through the API with an Idempotency-Key."""
    actor = Actor.for_system(tenant, "tests")
    referrer = make_customer(first_name="Referrer")
    created = admin_api.post(
        "/customers",
        {
            "first_name": OLD_FIRST,
            "last_name": LAST,
            "email": EMAIL,
            "phone": "0803 123 4567",
            "date_of_birth": "1990-04-02",
            "gender": "female",
            "instagram_handle": "@ngozika_q",
            "facebook_url": "https://facebook.com/ngozika.quist",
            "metadata": {"loyalty_card": "NQ-7781", "spouse": f"Mr {LAST}"},
            "referred_by": referrer.code,
        },
        headers={"Idempotency-Key": "create-ngozika"},
    )
    assert created.status_code == 201, created.content
    code = created.json()["code"]
    CustomerService.update_customer(actor=actor, code=code, first_name=FIRST)
    make_customer(first_name="Referred friend", referred_by=code)
    ContactPointService.add_contact_point(
        actor=actor, code=code, type="whatsapp", value="0803 123 4567"
    )
    ContactPointService.add_contact_point(
        actor=actor, code=code, type="email", value="ngozika.work@example.com"
    )
    AddressService.add_address(
        actor=actor, code=code, line1="14 Adeyemi-Quist Close", city="Lagos", country="NG"
    )
    ExternalIdentityService.link(
        actor=actor, code=code, provider="shopify", external_id="ngozika-shop-1"
    )
    TagService.add_tags(actor=actor, code=code, names=["VIP"])
    NoteService.add_note(actor=actor, code=code, content=f"{FIRST} prefers calls on {PHONE}")
    NoteService.add_note(
        actor=actor, code=code, content=f"{FIRST} {LAST}: mail {EMAIL}", is_private=True
    )
    customer = Customer.objects.get(tenant=tenant, code=code)
    TimelineService.log_event(
        customer=customer,
        event_type="contact",
        title=f"Called {FIRST} on 0803 123 4567",
        description=f"{FIRST} {LAST} asked about delivery",
        metadata={"caller": {"name": f"{FIRST} {LAST}", "numbers": [PHONE, "ok"]}, "minutes": 4},
        actor=actor,
    )
    DataSubjectRequestService.open_request(
        actor=actor, kind="erasure", customer_code=code, channel="email", notes=f"From {EMAIL}"
    )
    add_other_apps_data(actor, code)
    # Someone else's stored response, which must survive the erasure.
    other = admin_api.post(
        "/customers", {"first_name": "Bystander"}, headers={"Idempotency-Key": "create-bystander"}
    )
    assert other.status_code == 201
    return customer


def test_erasure_leaves_no_trace_of_the_person_in_any_table(tenant, person):
    actor = Actor.for_system(tenant, "tests")
    assert {needle for *_, needle in occurrences(NEEDLES)} == set(NEEDLES)  # the search works
    notes, addresses = Note.objects.count(), CustomerAddress.objects.count()
    events = TimelineEvent.objects.filter(customer=person).count()

    record = PrivacyService.erase_customer(actor=actor, code=person.code)

    assert occurrences(NEEDLES) == []
    # The code still finds the customer, and the history keeps its shape.
    customer = CustomerService.get_customer(tenant=tenant, code=person.code)
    assert customer.pk == person.pk
    assert customer.erased_at is not None
    assert customer.is_archived
    assert (customer.first_name, customer.email, customer.phone) == ("", "", "")
    assert (customer.date_of_birth, customer.metadata, customer.gender) == (None, {}, "")
    assert customer.referred_by is not None
    assert Customer.objects.filter(referred_by=customer).count() == 1
    assert Note.objects.count() == notes
    assert set(Note.objects.filter(customer=customer).values_list("content", flat=True)) == {
        "[erased]"
    }
    assert CustomerAddress.objects.count() == addresses
    assert ContactPoint.objects.filter(customer=customer).count() == 0
    assert ExternalIdentity.objects.filter(customer=customer).count() == 0
    # Two entries more: the email opt-in withdrawn, and the erasure itself.
    assert TimelineEvent.objects.filter(customer=customer).count() == events + 2
    last = TimelineEvent.objects.filter(customer=customer).first()
    assert (last.title, last.event_type, last.metadata) == (
        "Personal data erased",
        "system",
        {"kind": "erased"},
    )
    logged = TimelineEvent.objects.get(customer=customer, title="Called [erased] on [erased]")
    assert logged.description == "[erased] asked about delivery"  # the full name, at once
    assert logged.metadata == {
        "caller": {"name": "[erased]", "numbers": ["[erased]", "ok"]},
        "minutes": 4,
    }
    erased_event = OutboxEvent.objects.filter(type="customer.erased").get()
    assert erased_event.data == {"code": customer.code}
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["create-bystander"]
    # The record proves the erasure and holds no personal data.
    assert record.customer_code == customer.code
    assert record.erased_by == "system:tests"
    assert record.counts["customers"] == 2 + 1 + 1 + 2  # contact points, identity, address, notes
    assert record.counts["idempotency"] == 1
    assert record.counts["profile"] == 1
    assert set(record.counts) >= {"customers", "timeline", "events", "privacy", "idempotency"}


def test_erasure_scrubs_every_app_that_registered_a_handler(tenant, person):
    from rapport.customers import personal_data

    record = PrivacyService.erase_customer(
        actor=Actor.for_system(tenant, "tests"), code=person.code
    )

    assert set(record.counts) == {h.name for h in personal_data.handlers("erase")} | {
        "idempotency",
        "profile",
    }


def test_erasing_twice_is_a_conflict_and_changes_nothing(tenant, make_customer):
    actor = Actor.for_system(tenant, "tests")
    customer = make_customer(first_name="Once")
    PrivacyService.erase_customer(actor=actor, code=customer.code)
    rows = (
        ErasureRecord.objects.count(),
        TimelineEvent.objects.count(),
        OutboxEvent.objects.count(),
    )

    with pytest.raises(Conflict):
        PrivacyService.erase_customer(actor=actor, code=customer.code)

    assert rows == (
        ErasureRecord.objects.count(),
        TimelineEvent.objects.count(),
        OutboxEvent.objects.count(),
    )


def test_only_an_admin_may_erase(tenant, make_customer, make_key):
    customer = make_customer(first_name="Kept")
    key, _ = make_key(tenant, ["write"])

    with pytest.raises(PermissionDenied):
        PrivacyService.erase_customer(actor=Actor.for_api_key(key), code=customer.code)

    customer.refresh_from_db()
    assert (customer.first_name, customer.erased_at) == ("Kept", None)


def test_other_customers_keep_the_same_words(tenant, make_customer):
    # Given two customers, one of them named in the other's note
    actor = Actor.for_system(tenant, "tests")
    erased = make_customer(first_name="Chidinma", last_name="Obi")
    kept = make_customer(first_name="Tolu")
    NoteService.add_note(actor=actor, code=kept.code, content="Came in with Chidinma")

    PrivacyService.erase_customer(actor=actor, code=erased.code)

    # Only the erased person's rows are scrubbed: the note is another customer's data.
    assert Note.objects.get(customer=kept).content == "Came in with Chidinma"
    kept.refresh_from_db()
    assert kept.first_name == "Tolu"


def test_an_erasure_answers_its_request(tenant, make_customer):
    actor = Actor.for_system(tenant, "tests")
    customer = make_customer(first_name="Requester")
    request = DataSubjectRequestService.open_request(
        actor=actor, kind="erasure", customer_code=customer.code
    )

    record = DataSubjectRequestService.complete_erasure(actor=actor, request_id=request.uuid)

    request.refresh_from_db()
    assert record.request == request
    assert request.status == "completed"
    assert request.completed_at is not None
    assert request.handled_by == "system:tests"
    updated = OutboxEvent.objects.filter(type="data_subject_request.updated").get()
    assert updated.data == {
        "code": customer.code,
        "request": str(request.uuid),
        "request_kind": "erasure",
        "status": "completed",
    }
    entry = TimelineEvent.objects.filter(customer=customer).first()
    assert entry.title == "Data-subject request completed: erasure"
    assert entry.metadata["kind"] == "data_subject_request_updated"


@pytest.mark.parametrize("kind", ["access", "erasure"])
def test_an_erasure_refuses_a_request_it_does_not_answer(tenant, make_customer, kind):
    actor = Actor.for_system(tenant, "tests")
    customer = make_customer(first_name="Requester")
    other = make_customer(first_name="Someone else")
    request = DataSubjectRequestService.open_request(
        actor=actor, kind=kind, customer_code=other.code if kind == "erasure" else customer.code
    )

    with pytest.raises(InvalidInput) as error:
        PrivacyService.erase_customer(actor=actor, code=customer.code, request_id=request.uuid)

    assert set(error.value.fields) == {"request_id"}
    customer.refresh_from_db()
    assert customer.erased_at is None
    assert DataSubjectRequest.objects.get(pk=request.pk).status == "received"


def test_erasing_a_survivor_erases_the_records_merged_into_it(tenant, make_customer):
    actor = Actor.for_system(tenant, "tests")
    survivor = make_customer(first_name="Halima", email="halima@example.com")
    duplicate = make_customer(first_name="Halimat", email="halimat@example.com")
    Customer.objects.filter(pk=duplicate.pk).update(merged_into=survivor)

    PrivacyService.erase_customer(actor=actor, code=duplicate.code)  # the code finds the survivor

    assert occurrences(["halima"]) == []
    duplicate.refresh_from_db()
    assert duplicate.erased_at is not None
