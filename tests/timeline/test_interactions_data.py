"""Interactions in export, erasure and merges, and their admin pages."""

import pytest
from django.contrib import admin
from django.urls import reverse

from rapport.customers import personal_data
from rapport.events.models import OutboxEvent
from rapport.identity.services import MergeService
from rapport.privacy.services import PrivacyService
from rapport.tenancy.actors import Actor
from rapport.timeline.interactions import InteractionService
from rapport.timeline.models import Interaction, TimelineEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def actor(tenant):
    return Actor.for_system(tenant, "tests")


def log(actor, customer, **fields):
    values = {"interaction_type": "call", "channel": "phone", "direction": "inbound", **fields}
    return InteractionService.log_interaction(actor=actor, customer=customer, **values)


def url(model, view: str, *args) -> str:
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


def test_the_interactions_handler_is_registered():
    assert [h.name for h in personal_data.handlers("export") if h.name == "interactions"] == [
        "interactions"
    ]


def test_export_holds_the_customers_interactions(actor, make_customer):
    ada = make_customer(code="ADA-1", first_name="Ada")
    interaction = log(actor, ada, subject="Vaccines", notes="Puppy", handled_by="Bola")

    sections = PrivacyService.export_customer(actor=actor, code="ADA-1")["sections"]

    [row] = sections["interactions"]
    assert (row["id"], row["subject"], row["notes"], row["handled_by"]) == (
        str(interaction.uuid),
        "Vaccines",
        "Puppy",
        "Bola",
    )
    assert row["timeline_event"] in [event["id"] for event in sections["timeline"]]


def test_erasure_scrubs_the_person_from_interactions_and_keeps_staff_names(actor, make_customer):
    ada = make_customer(code="ADA-1", first_name="Adaeze", last_name="Okafor")
    interaction = log(
        actor,
        ada,
        subject="Adaeze called",
        notes="Adaeze Okafor asked about Max",
        outcome="Called Adaeze back",
        handled_by="Bola",
    )

    PrivacyService.erase_customer(actor=actor, code="ADA-1")

    interaction.refresh_from_db()
    assert (interaction.subject, interaction.notes, interaction.outcome) == (
        "[erased] called",
        "[erased] asked about Max",
        "Called [erased] back",
    )
    assert interaction.handled_by_name == "Bola"
    entry = TimelineEvent.objects.get(pk=interaction.timeline_event_id)
    assert "Adaeze" not in entry.title + entry.description


def test_merge_moves_interactions_and_undo_gives_them_back(actor, make_customer):
    survivor = make_customer(code="KEEP", first_name="Ada", last_name="Obi", email="a@example.com")
    duplicate = make_customer(code="DUP", first_name="Ada", last_name="Obi", email="a@example.com")
    theirs = log(actor, duplicate, subject="Theirs", follow_up_required=True)
    ours = log(actor, survivor, subject="Ours")

    preview = MergeService.preview(actor=actor, survivor="KEEP", duplicate="DUP")
    merge = MergeService.merge(actor=actor, survivor="KEEP", duplicate="DUP")

    assert ("timeline", "1 interaction", "move") in {
        (s.app, s.what, s.action) for s in preview.plan
    }
    assert {i.pk for i in InteractionService.get_interactions(customer=survivor)} == {
        theirs.pk,
        ours.pk,
    }
    assert Interaction.objects.get(pk=theirs.pk).timeline_event.customer == survivor

    MergeService.undo(actor=actor, merge_id=merge.uuid)

    assert Interaction.objects.get(pk=theirs.pk).customer == duplicate
    assert Interaction.objects.get(pk=theirs.pk).timeline_event.customer == duplicate
    assert Interaction.objects.get(pk=ours.pk).customer == survivor


def test_admin_pages_answer_and_write_through_the_service(admin_client, actor, make_customer):
    ada = make_customer(code="ADA-1", first_name="Ada")
    interaction = log(actor, ada, subject="Vaccines", follow_up_required=True)

    assert Interaction in admin.site._registry
    for page in (
        url(Interaction, "changelist"),
        url(Interaction, "changelist") + "?follow_up=open&channel=phone",
        url(Interaction, "changelist") + "?q=Vaccines",
        url(Interaction, "add"),
        url(Interaction, "change", interaction.pk),
    ):
        assert admin_client.get(page).status_code == 200, page

    added = admin_client.post(
        url(Interaction, "add"),
        {
            "customer": ada.pk,
            "interaction_type": "whatsapp",
            "channel": "whatsapp",
            "direction": "outbound",
            "subject": "Reminder",
            "staff": "",
            "occurred_at_0": "2025-03-01",
            "occurred_at_1": "10:00:00",
        },
    )
    assert added.status_code == 302, added.context["adminform"].form.errors
    created = Interaction.objects.get(subject="Reminder")
    assert created.timeline_event is not None
    assert created.handled_by.username == "admin"  # the staff member who logged it

    refused = admin_client.post(
        url(Interaction, "add"),
        {
            "customer": ada.pk,
            "interaction_type": "call",
            "channel": "phone",
            "direction": "inbound",
            "follow_up_date": "2025-03-02",
            "occurred_at_0": "2025-03-01",
            "occurred_at_1": "10:00:00",
        },
    )
    assert refused.status_code == 200
    assert "follow_up_date" in refused.context["adminform"].form.errors
    assert Interaction.objects.count() == 2

    admin_client.post(
        url(Interaction, "changelist"),
        {"action": "complete_follow_ups", "_selected_action": [interaction.pk]},
    )
    assert Interaction.objects.get(pk=interaction.pk).follow_up_done_at is not None
    assert OutboxEvent.objects.filter(type="interaction.follow_up_completed").count() == 1
