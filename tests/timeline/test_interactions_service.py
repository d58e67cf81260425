"""InteractionService: logging with its timeline entry and event, corrections, follow-ups in the
tenant's day, and volume counts."""

import datetime as dt
import zoneinfo

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from rapport.events.models import OutboxEvent
from rapport.exceptions import Conflict, InvalidInput, NotFound
from rapport.tenancy.actors import Actor
from rapport.timeline.interactions import InteractionService, Volume
from rapport.timeline.models import Interaction, TimelineEvent

pytestmark = pytest.mark.django_db

KIRITIMATI = "Pacific/Kiritimati"  # UTC+14: its day starts ten hours before UTC's
PAGO_PAGO = "Pacific/Pago_Pago"  # UTC-11


@pytest.fixture
def actor(tenant):
    return Actor.for_system(tenant, "tests")


@pytest.fixture
def customer(make_customer):
    return make_customer(code="ADA-1", first_name="Ada")


def log(actor, customer, **fields):
    values = {"interaction_type": "call", "channel": "phone", "direction": "inbound", **fields}
    return InteractionService.log_interaction(actor=actor, customer=customer, **values)


def in_zone(tenant, name: str) -> None:
    tenant.timezone = name
    tenant.save(update_fields=["timezone"])


def test_log_interaction_writes_its_timeline_entry_and_one_event(actor, customer):
    interaction = log(
        actor,
        customer,
        subject="Appointment inquiry",
        notes="Asked about vaccines for a new puppy",
        duration_minutes=5,
        outcome="Appointment booked",
    )

    interaction.refresh_from_db()
    entry = interaction.timeline_event
    assert (entry.customer, entry.event_type, entry.channel) == (customer, "contact", "phone")
    assert entry.title == "Inbound phone call: Appointment inquiry"
    assert entry.description == "Asked about vaccines for a new puppy"
    assert entry.reference == f"interaction:{interaction.uuid}"
    # one timeline entry (no second one from the hooks), one event
    assert TimelineEvent.objects.filter(customer=customer, event_type="contact").count() == 1
    [event] = OutboxEvent.objects.filter(type="interaction.logged")
    assert event.data["code"] == "ADA-1"
    assert event.data["interaction"]["outcome"] == "Appointment booked"
    assert "notes" not in event.data["interaction"]


@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"channel": "pigeon"}, "channel"),
        ({"interaction_type": "telegram"}, "interaction_type"),
        ({"direction": "sideways"}, "direction"),
        ({"duration_minutes": -1}, "duration_minutes"),
        ({"subject": "x" * 201}, "subject"),
        ({"outcome": "x" * 101}, "outcome"),
        ({"follow_up_date": dt.date(2030, 1, 1)}, "follow_up_date"),
        ({"occurred_at": timezone.now() + dt.timedelta(days=1)}, "occurred_at"),
        ({"handled_by": "x" * 151}, "handled_by"),
    ],
)
def test_bad_interactions_are_refused_and_nothing_is_written(actor, customer, fields, bad):
    with pytest.raises(InvalidInput) as refused:
        log(actor, customer, **fields)

    assert bad in refused.value.fields
    assert not Interaction.objects.exists()
    assert not TimelineEvent.objects.filter(event_type="contact").exists()
    assert not OutboxEvent.objects.filter(type__startswith="interaction.").exists()


def test_handled_by_names_a_user_of_the_tenant_or_stays_text(
    actor, customer, tenant, other_tenant, make_key
):
    users = get_user_model()
    amaka = users.objects.create_user(username="amaka", first_name="Amaka")
    stranger = users.objects.create_user(username="stranger")
    make_key(tenant, ["write"], user=amaka)
    make_key(other_tenant, ["write"], user=stranger)

    by_user = log(actor, customer, handled_by="amaka")
    by_name = log(actor, customer, handled_by="Dr. Pablo")
    by_stranger = log(actor, customer, handled_by="stranger")
    by_actor = log(Actor(tenant=tenant, user=stranger), customer)

    assert (by_user.handled_by, by_user.handled_by_name, by_user.staff) == (amaka, "", "amaka")
    assert (by_name.handled_by, by_name.handled_by_name) == (None, "Dr. Pablo")
    # another tenant's user is not linked: the name is kept as text
    assert (by_stranger.handled_by, by_stranger.handled_by_name) == (None, "stranger")
    # left out, it is the acting user
    assert by_actor.handled_by == stranger


def test_update_changes_fields_keeps_the_timeline_entry_and_logs_changes(actor, customer):
    interaction = log(actor, customer, subject="Call")
    title = interaction.timeline_event.title

    updated = InteractionService.update_interaction(
        actor=actor, interaction=interaction, outcome="Booked", notes="secret", handled_by="Bola"
    )
    InteractionService.update_interaction(actor=actor, interaction=updated, outcome="Booked")

    assert (updated.outcome, updated.notes, updated.staff) == ("Booked", "secret", "Bola")
    assert TimelineEvent.objects.get(pk=interaction.timeline_event_id).title == title
    [event] = OutboxEvent.objects.filter(type="interaction.updated")
    with pytest.raises(InvalidInput) as unknown:
        InteractionService.update_interaction(actor=actor, interaction=updated, customer=None)
    assert set(unknown.value.fields) == {"customer"}
    with pytest.raises(InvalidInput):
        InteractionService.update_interaction(actor=actor, interaction=updated, channel=None)
    assert event.data["interaction"]["outcome"] == "Booked"


def test_follow_up_rules(actor, customer, tenant):
    # Given an interaction with no follow-up
    interaction = log(actor, customer)

    # Then a date alone is refused, and completing it is a conflict
    with pytest.raises(InvalidInput) as dated:
        InteractionService.update_interaction(
            actor=actor, interaction=interaction, follow_up_date=dt.date(2030, 1, 1)
        )
    assert set(dated.value.fields) == {"follow_up_date"}
    with pytest.raises(Conflict):
        InteractionService.complete_follow_up(actor=actor, interaction=interaction)

    # When one is required without a date, it is due the day it happened
    wanted = InteractionService.update_interaction(
        actor=actor, interaction=interaction, follow_up_required=True
    )
    assert wanted.follow_up_date == timezone.localdate(
        interaction.occurred_at, timezone=zoneinfo.ZoneInfo(tenant.timezone)
    )
    done = InteractionService.complete_follow_up(actor=actor, interaction=wanted)
    assert done.follow_up_done_at is not None
    with pytest.raises(Conflict):
        InteractionService.complete_follow_up(actor=actor, interaction=done)
    assert OutboxEvent.objects.filter(type="interaction.follow_up_completed").count() == 1
    assert TimelineEvent.objects.filter(
        customer=customer, metadata__kind="interaction_follow_up_completed"
    ).exists()

    # And turning the follow-up off clears it
    off = InteractionService.update_interaction(
        actor=actor, interaction=done, follow_up_required=False
    )
    assert (off.follow_up_date, off.follow_up_done_at) == (None, None)


def test_follow_ups_today_and_overdue_are_the_tenants_days(actor, customer, tenant):
    in_zone(tenant, KIRITIMATI)
    there = timezone.localdate(timezone=zoneinfo.ZoneInfo(KIRITIMATI))
    due_today = log(actor, customer, follow_up_required=True, follow_up_date=there)
    overdue = log(
        actor, customer, follow_up_required=True, follow_up_date=there - dt.timedelta(days=1)
    )
    later = log(
        actor, customer, follow_up_required=True, follow_up_date=there + dt.timedelta(days=1)
    )
    done = log(actor, customer, follow_up_required=True, follow_up_date=there)
    InteractionService.complete_follow_up(actor=actor, interaction=done)

    def ids(when: str) -> set:
        return {i.pk for i in InteractionService.follow_ups(tenant=tenant, when=when)}

    assert ids("today") == {due_today.pk}
    assert ids("overdue") == {overdue.pk}
    assert ids("due") == {due_today.pk, overdue.pk}
    assert later.pk not in ids("due")

    # Where the day has not begun yet (25 hours behind), Kiritimati's today is still ahead
    in_zone(tenant, PAGO_PAGO)
    assert due_today.pk not in ids("today") | ids("due")
    with pytest.raises(InvalidInput):
        InteractionService.follow_ups(tenant=tenant, when="someday")


def test_a_follow_up_without_a_date_is_due_on_the_tenants_day_it_happened(actor, customer, tenant):
    in_zone(tenant, KIRITIMATI)
    # 10:30 UTC is already 00:30 of the next day in Kiritimati
    at = dt.datetime(2025, 3, 1, 10, 30, tzinfo=dt.UTC)

    interaction = log(actor, customer, follow_up_required=True, occurred_at=at)

    assert interaction.follow_up_date == dt.date(2025, 3, 2)
    assert list(
        InteractionService.follow_ups(tenant=tenant, when="today", today=dt.date(2025, 3, 2))
    ) == [interaction]


def test_volume_per_day_counts_the_tenants_days_with_zeros(actor, customer, tenant):
    in_zone(tenant, KIRITIMATI)
    for hour in (9, 10, 11):  # 23:00 on the 1st, then 00:00 and 01:00 on the 2nd, their time
        log(actor, customer, occurred_at=dt.datetime(2025, 3, 1, hour, 0, tzinfo=dt.UTC))
    log(actor, customer, occurred_at=dt.datetime(2025, 3, 3, 12, 0, tzinfo=dt.UTC))

    days = InteractionService.volume_per_day(
        tenant=tenant, since=dt.date(2025, 2, 28), until=dt.date(2025, 3, 4)
    )

    assert days == [
        Volume("2025-02-28", 0),
        Volume("2025-03-01", 1),
        Volume("2025-03-02", 2),
        Volume("2025-03-03", 0),
        Volume("2025-03-04", 1),
    ]


def test_volume_by_channel_and_by_staff(actor, customer, tenant, make_key):
    amaka = get_user_model().objects.create_user(username="amaka")
    make_key(tenant, ["write"], user=amaka)
    at = dt.datetime(2025, 3, 1, 12, tzinfo=dt.UTC)
    log(actor, customer, occurred_at=at, handled_by="amaka")
    log(actor, customer, occurred_at=at, handled_by="amaka", channel="whatsapp")
    log(actor, customer, occurred_at=at, handled_by="Dr. Pablo", channel="whatsapp")
    log(actor, customer, occurred_at=at, channel="whatsapp")
    log(actor, customer, occurred_at=at - dt.timedelta(days=40))  # outside the period
    period = {"since": dt.date(2025, 2, 20), "until": dt.date(2025, 3, 1)}

    by_channel = InteractionService.volume_by_channel(tenant=tenant, **period)
    by_staff = InteractionService.volume_by_staff(tenant=tenant, **period)

    assert by_channel == [Volume("whatsapp", 3), Volume("phone", 1)]
    assert by_staff == [Volume("amaka", 2), Volume("", 1), Volume("Dr. Pablo", 1)]


def test_list_interactions_filters(actor, customer, make_customer, tenant):
    other = make_customer(code="BEN-2", first_name="Ben")
    at = dt.datetime(2025, 3, 1, 12, tzinfo=dt.UTC)
    call = log(actor, customer, occurred_at=at, handled_by="Dr. Pablo")
    chat = log(actor, other, occurred_at=at + dt.timedelta(hours=1), channel="chat")

    def found(**filters):
        return [i.pk for i in InteractionService.list_interactions(tenant=tenant, **filters)]

    assert found() == [chat.pk, call.pk]
    assert found(channel="chat") == [chat.pk]
    assert found(interaction_type="call", handled_by="Dr. Pablo") == [call.pk]
    assert found(since=at + dt.timedelta(minutes=1)) == [chat.pk]
    assert found(until=at + dt.timedelta(minutes=1)) == [call.pk]
    assert [i.pk for i in InteractionService.get_interactions(customer=other)] == [chat.pk]
    with pytest.raises(InvalidInput):
        found(channel="pigeon")


def test_another_tenants_interactions_are_out_of_reach(actor, customer, other_tenant):
    interaction = log(actor, customer)
    them = Actor.for_system(other_tenant, "tests")

    with pytest.raises(NotFound):
        InteractionService.get_interaction(tenant=other_tenant, interaction_id=interaction.uuid)
    with pytest.raises(NotFound):
        InteractionService.update_interaction(actor=them, interaction=interaction, subject="x")
    with pytest.raises(NotFound):
        InteractionService.log_interaction(
            actor=them,
            customer=customer,
            interaction_type="call",
            channel="phone",
            direction="inbound",
        )
    assert list(InteractionService.list_interactions(tenant=other_tenant)) == []
    assert Interaction.objects.count() == 1
