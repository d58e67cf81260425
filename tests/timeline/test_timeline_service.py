import datetime as dt

import pytest
from django.utils import timezone

from rapport.customers.services import CustomerService, NoteService, TagService
from rapport.exceptions import InvalidInput
from rapport.tenancy.actors import Actor
from rapport.timeline.models import TimelineEvent
from rapport.timeline.services import TimelineService


@pytest.fixture
def customer(make_customer):
    return make_customer(first_name="Ada")


@pytest.fixture
def staff(tenant, make_key):
    api_key, _ = make_key(tenant, ["write"], name="front desk")
    return Actor.for_api_key(api_key)


def _new_events(customer, since_pk):
    return list(TimelineEvent.objects.filter(customer=customer, pk__gt=since_pk))


def _last_pk():
    last = TimelineEvent.objects.order_by("-pk").first()
    return last.pk if last else 0


# --- log_event ----------------------------------------------------------------------------


def test_log_event_records_everything_it_is_given(customer, staff):
    event = TimelineService.log_event(
        customer=customer,
        event_type="contact",
        title="  Called about the order ",
        description="She will pick it up on Friday",
        channel="whatsapp",
        reference="ticket:456",
        metadata={"minutes": 4},
        actor=staff,
    )

    stored = TimelineEvent.objects.get(pk=event.pk)
    assert stored.tenant_id == customer.tenant_id
    assert stored.customer == customer
    assert (stored.event_type, stored.title) == ("contact", "Called about the order")
    assert stored.description == "She will pick it up on Friday"
    assert (stored.channel, stored.reference) == ("whatsapp", "ticket:456")
    assert stored.metadata == {"minutes": 4}
    assert stored.actor == "api_key:front desk"


def test_log_event_without_an_actor_leaves_it_blank(customer):
    event = TimelineService.log_event(customer=customer, event_type="visit", title="Walked in")

    assert (event.actor, event.metadata, event.channel) == ("", {}, "")


@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"event_type": "gossip"}, {"event_type"}),
        ({"event_type": ""}, {"event_type"}),
        ({"title": "   "}, {"title"}),
        ({"title": "x" * 201}, {"title"}),
        ({"reference": "r" * 201}, {"reference"}),
        ({"channel": "c" * 31}, {"channel"}),
        ({"event_type": "ORDER", "title": ""}, {"event_type", "title"}),
    ],
)
def test_log_event_rejects_bad_input_and_writes_nothing(customer, fields, bad):
    before = TimelineEvent.objects.count()
    given = {"event_type": "contact", "title": "Called", **fields}

    with pytest.raises(InvalidInput) as error:
        TimelineService.log_event(customer=customer, **given)

    assert set(error.value.fields) == bad
    assert TimelineEvent.objects.count() == before


# --- reading ------------------------------------------------------------------------------


def test_get_timeline_is_newest_first_with_ties_broken_by_insertion(customer):
    # given events whose times are out of insertion order, two of them at the same instant
    base = timezone.now() - dt.timedelta(days=1)
    titles_and_offsets = [("oldest", 0), ("newest", 30), ("tie one", 10), ("tie two", 10)]
    for title, minutes in titles_and_offsets:
        event = TimelineService.log_event(customer=customer, event_type="visit", title=title)
        TimelineEvent.objects.filter(pk=event.pk).update(
            created_at=base + dt.timedelta(minutes=minutes)
        )
    TimelineEvent.objects.filter(customer=customer, event_type="profile").update(
        created_at=base - dt.timedelta(days=1)
    )

    # when the timeline is read, then it runs newest first, the later-written tie first
    titles = [event.title for event in TimelineService.get_timeline(customer=customer)]
    assert titles == ["newest", "tie two", "tie one", "oldest", "Customer created"]


def test_get_timeline_filters_by_event_type(customer):
    TimelineService.log_event(customer=customer, event_type="visit", title="Visit 1")
    TimelineService.log_event(customer=customer, event_type="order", title="Order 1")
    TimelineService.log_event(customer=customer, event_type="visit", title="Visit 2")

    visits = TimelineService.get_timeline(customer=customer, event_type="visit")
    everything = TimelineService.get_timeline(customer=customer)

    assert [event.title for event in visits] == ["Visit 2", "Visit 1"]
    assert everything.count() == 4


def test_get_timeline_holds_only_that_customers_events(make_customer):
    ada = make_customer(first_name="Ada")
    bola = make_customer(first_name="Bola")
    TimelineService.log_event(customer=bola, event_type="visit", title="Bola came")

    assert [e.title for e in TimelineService.get_timeline(customer=ada)] == ["Customer created"]


def test_recent_across_customers_stays_within_the_tenant(make_customer, other_tenant):
    # given events for two customers here and one in another tenant
    ada = make_customer(first_name="Ada")
    bola = make_customer(first_name="Bola")
    stranger = make_customer(tenant=other_tenant, first_name="Zé")
    TimelineService.log_event(customer=ada, event_type="order", title="Ada ordered")
    TimelineService.log_event(customer=stranger, event_type="order", title="Zé ordered")
    TimelineService.log_event(customer=bola, event_type="order", title="Bola ordered")

    # when the feed is read
    feed = TimelineService.get_recent_across_customers(tenant=ada.tenant)
    orders = TimelineService.get_recent_across_customers(tenant=ada.tenant, event_type="order")

    # then it holds this tenant's customers only, newest first
    assert [(e.customer.first_name, e.title) for e in orders] == [
        ("Bola", "Bola ordered"),
        ("Ada", "Ada ordered"),
    ]
    assert {e.customer_id for e in feed} == {ada.pk, bola.pk}
    assert feed.count() == 4
    their_feed = TimelineService.get_recent_across_customers(tenant=other_tenant)
    assert [e.title for e in their_feed] == ["Zé ordered", "Customer created"]


# --- core changes on the timeline ---------------------------------------------------------


def test_creating_a_customer_logs_one_event(staff):
    customer = CustomerService.create_customer(actor=staff, phone="0803 123 4567")

    events = list(TimelineEvent.objects.filter(customer=customer))
    assert [(e.event_type, e.title, e.actor) for e in events] == [
        ("profile", "Customer created", "api_key:front desk")
    ]
    assert events[0].metadata == {"kind": "created"}
    assert events[0].tenant_id == customer.tenant_id


def test_an_update_logs_one_event_naming_the_changed_fields(customer, staff):
    since = _last_pk()

    CustomerService.update_customer(
        actor=staff, code=customer.code, first_name="Ada", last_name="Obi", email="a@b.ng"
    )

    [event] = _new_events(customer, since)
    assert (event.event_type, event.actor) == ("profile", "api_key:front desk")
    assert event.title == "Profile updated: last name, email"
    assert event.metadata == {
        "kind": "updated",
        "changes": {
            "last_name": {"old": "", "new": "Obi"},
            "email": {"old": "", "new": "a@b.ng"},
        },
    }


def test_tagging_logs_one_event_with_only_the_tags_added(customer, staff):
    TagService.add_tags(actor=staff, code=customer.code, names=["VIP"])
    since = _last_pk()

    TagService.add_tags(actor=staff, code=customer.code, names=["VIP", "Breeder", "Gold"])

    [event] = _new_events(customer, since)
    assert (event.event_type, event.title, event.actor) == (
        "profile",
        "Tagged Breeder, Gold",
        "api_key:front desk",
    )
    assert event.metadata == {"kind": "tagged", "tags": ["Breeder", "Gold"]}


def test_removing_a_tag_logs_one_event(customer, staff):
    TagService.add_tags(actor=staff, code=customer.code, names=["VIP"])
    since = _last_pk()

    TagService.remove_tag(actor=staff, code=customer.code, tag_name="vip")

    [event] = _new_events(customer, since)
    assert (event.title, event.metadata) == (
        "Tag removed: VIP",
        {"kind": "untagged", "tags": ["VIP"]},
    )


def test_adding_a_note_logs_one_event(customer, staff):
    since = _last_pk()

    note = NoteService.add_note(actor=staff, code=customer.code, content="Prefers mornings")

    [event] = _new_events(customer, since)
    assert (event.event_type, event.title, event.actor) == (
        "note",
        "Note added",
        "api_key:front desk",
    )
    assert (event.description, event.reference) == ("Prefers mornings", f"note:{note.uuid}")
    assert event.metadata == {"kind": "note_added", "note": str(note.uuid), "is_private": False}


def test_archiving_and_restoring_log_one_event_each(customer, staff):
    since = _last_pk()

    CustomerService.archive_customer(actor=staff, code=customer.code)
    CustomerService.archive_customer(actor=staff, code=customer.code)
    CustomerService.archive_customer(actor=staff, code=customer.code, is_archived=False)

    events = _new_events(customer, since)
    assert [(e.event_type, e.title, e.actor) for e in reversed(events)] == [
        ("profile", "Customer archived", "api_key:front desk"),
        ("profile", "Customer restored from the archive", "api_key:front desk"),
    ]


def test_a_rejected_change_logs_nothing(customer, staff):
    since = _last_pk()

    with pytest.raises(InvalidInput):
        CustomerService.update_customer(actor=staff, code=customer.code, email="not-an-email")
    with pytest.raises(InvalidInput):
        TagService.add_tags(actor=staff, code=customer.code, names=["   "])
    with pytest.raises(InvalidInput):
        NoteService.add_note(actor=staff, code=customer.code, content=" ")

    assert _new_events(customer, since) == []
