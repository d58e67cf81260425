"""Visits and appointments: idempotency, forward status moves, conflicts, validation."""

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from rapport.commerce.models import Visit
from rapport.commerce.services import VisitInput, VisitService
from rapport.events.models import OutboxEvent
from rapport.exceptions import Conflict, InvalidInput, NotFound
from rapport.timeline.models import TimelineEvent

pytestmark = pytest.mark.django_db

PET = uuid.UUID("6f1c2c57-0000-4000-8000-000000000001")
SEEN = dt.datetime(2025, 3, 2, 9, 0, tzinfo=dt.UTC)


def visit_input(customer, external_id="V-1", **fields):
    fields.setdefault("service", "Grooming")
    return VisitInput(customer=customer, external_id=external_id, **fields)


def visit_events():
    return list(
        OutboxEvent.objects.filter(type__startswith="visit.")
        .order_by("id")
        .values_list("type", flat=True)
    )


def test_a_completed_visit_is_stored_and_published(actor, ada):
    recorded = VisitService.record_visit(
        actor=actor,
        visit=visit_input(
            ada, completed_at=SEEN, pet_uuid=PET, pet_name="Rex", price_q=800000, staff="Dr. Eze"
        ),
    )

    visit = recorded.visit
    assert (recorded.created, recorded.completed_now) == (True, True)
    assert (visit.status, visit.completed_at, visit.occurred_at, visit.currency) == (
        "completed",
        SEEN,
        SEEN,
        "NGN",
    )
    assert visit_events() == ["visit.recorded", "visit.completed"]
    assert OutboxEvent.objects.get(type="visit.recorded").data["pet"] == str(PET)
    [entry] = TimelineEvent.objects.filter(customer=ada, event_type="visit")
    assert entry.title == "Visit: Grooming (Rex)"


def test_a_booked_visit_completes_when_reported_again(actor, ada):
    booked_for = timezone.now() + dt.timedelta(days=2)
    booked = VisitService.record_visit(
        actor=actor, visit=visit_input(ada, status="scheduled", scheduled_at=booked_for)
    )
    assert (booked.visit.occurred_at, booked.completed_now) == (booked_for, False)

    same = VisitService.record_visit(
        actor=actor, visit=visit_input(ada, status="scheduled", scheduled_at=booked_for)
    )
    done = VisitService.record_visit(actor=actor, visit=visit_input(ada, completed_at=SEEN))
    again = VisitService.record_visit(actor=actor, visit=visit_input(ada, completed_at=SEEN))

    assert (same.created, same.completed_now) == (False, False)
    assert (done.created, done.completed_now, done.visit.completed_at) == (False, True, SEEN)
    assert again.completed_now is False
    assert Visit.objects.count() == 1
    assert visit_events() == ["visit.recorded", "visit.completed"]


def test_a_repeat_with_other_data_is_a_conflict(actor, ada, ben):
    VisitService.record_visit(actor=actor, visit=visit_input(ada, price_q=100))

    with pytest.raises(Conflict) as error:
        VisitService.record_visit(
            actor=actor, visit=visit_input(ben, service="Bath", price_q=200, status="no_show")
        )

    assert set(error.value.fields) == {"customer", "service", "price_q", "status"}


def test_set_status_moves_scheduled_visits_only(actor, ada):
    visit = VisitService.record_visit(
        actor=actor,
        visit=visit_input(ada, status="scheduled", scheduled_at=SEEN),
    ).visit

    same = VisitService.set_status(actor=actor, visit=visit, status="scheduled")
    missed = VisitService.set_status(actor=actor, visit=visit, status="no_show")

    assert same.status == "scheduled"
    assert (missed.status, missed.cancelled_at is not None) == ("no_show", True)
    with pytest.raises(Conflict):
        VisitService.set_status(actor=actor, visit=visit, status="completed")
    with pytest.raises(InvalidInput):
        VisitService.set_status(actor=actor, visit=visit, status="gone")
    assert visit_events() == ["visit.recorded", "visit.no_show"]
    assert TimelineEvent.objects.filter(title="Missed visit: Grooming").count() == 1


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"service": ""}, "service"),
        ({"status": "done"}, "status"),
        ({"status": "scheduled"}, "scheduled_at"),
        ({"scheduled_at": dt.datetime(2025, 1, 1)}, "scheduled_at"),
        ({"completed_at": timezone.now() + dt.timedelta(days=5)}, "completed_at"),
        ({"pet_uuid": "not-a-uuid"}, "pet_uuid"),
        ({"price_q": -1}, "price_q"),
        ({"currency": "ZZZ"}, "currency"),
        ({"staff": "s" * 151}, "staff"),
        ({"notes": "bad\x00text"}, "notes"),
        ({"metadata": {"n": 2**70}}, "metadata"),
    ],
)
def test_bad_visits_are_refused_naming_the_field(actor, ada, fields, named):
    with pytest.raises(InvalidInput) as error:
        VisitService.record_visit(actor=actor, visit=visit_input(ada, **fields))

    assert named in error.value.fields
    assert Visit.objects.count() == 0


def test_reads(actor, ada, other_tenant):
    visit = VisitService.record_visit(actor=actor, visit=visit_input(ada, source="Vetbook")).visit

    assert VisitService.get_visit(tenant=actor.tenant, visit_id=str(visit.uuid)).pk == visit.pk
    assert VisitService.find_visit(tenant=actor.tenant, source="vetbook", external_id="V-1")
    assert VisitService.find_visit(tenant=other_tenant, source="vetbook", external_id="V-1") is None
    assert [v.pk for v in VisitService.get_customer_visits(customer=ada)] == [visit.pk]
    with pytest.raises(NotFound):
        VisitService.get_visit(tenant=other_tenant, visit_id=visit.uuid)
