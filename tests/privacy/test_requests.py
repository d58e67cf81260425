"""The data-subject request log: deadlines by country, valid transitions, the overdue filter."""

import datetime as dt

import pytest
from django.test import override_settings

from rapport.exceptions import InvalidInput, NotFound
from rapport.privacy.models import DataSubjectRequest
from rapport.privacy.services import DataSubjectRequestService, PrivacyService, due_date
from rapport.tenancy.actors import Actor
from rapport.timeline.models import TimelineEvent

pytestmark = pytest.mark.django_db

RECEIVED = dt.datetime(2025, 1, 31, 10, 0, tzinfo=dt.UTC)


def test_a_nigerian_tenant_has_one_calendar_month(tenant):
    request = DataSubjectRequestService.open_request(
        actor=Actor.for_system(tenant, "tests"), kind="access", received_at=RECEIVED
    )

    # 31 January in Lagos: one month later is the last day of February, same hour.
    assert request.due_at == dt.datetime(2025, 2, 28, 10, 0, tzinfo=dt.UTC)


def test_a_brazilian_tenant_has_fifteen_days(other_tenant):
    request = DataSubjectRequestService.open_request(
        actor=Actor.for_system(other_tenant, "tests"), kind="access", received_at=RECEIVED
    )

    assert request.due_at == dt.datetime(2025, 2, 15, 10, 0, tzinfo=dt.UTC)


def test_the_month_is_counted_where_the_business_is(tenant):
    # 23:30 UTC on 31 March is already 1 April in Lagos: the month runs to 1 May there.
    received = dt.datetime(2025, 3, 31, 23, 30, tzinfo=dt.UTC)

    assert due_date(tenant, received) == dt.datetime(2025, 4, 30, 23, 30, tzinfo=dt.UTC)


def test_a_project_may_set_its_own_deadlines(tenant):
    with override_settings(RAPPORT_PRIVACY_RESPONSE_TIMES={"NG": {"days": 10}}):
        assert due_date(tenant, RECEIVED) == RECEIVED + dt.timedelta(days=10)


def test_a_request_keeps_an_unknown_code_and_links_a_known_one(tenant, make_customer):
    actor = Actor.for_system(tenant, "tests")
    customer = make_customer(code="KNOWN-1", first_name="Known")

    unknown = DataSubjectRequestService.open_request(
        actor=actor, kind="access", customer_code="NOBODY-9"
    )
    known = DataSubjectRequestService.open_request(
        actor=actor, kind="portability", customer_code="KNOWN-1", channel="email"
    )

    assert (unknown.customer, unknown.customer_code) == (None, "NOBODY-9")
    assert (known.customer, known.customer_code) == (customer, "KNOWN-1")
    assert TimelineEvent.objects.filter(
        customer=customer, title="Data-subject request received: portability"
    ).exists()


def test_bad_input_names_every_field_and_writes_nothing(tenant):
    with pytest.raises(InvalidInput) as error:
        DataSubjectRequestService.open_request(
            actor=Actor.for_system(tenant, "tests"),
            kind="gossip",
            customer_code="X" * 41,
            received_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=2),
        )

    assert set(error.value.fields) == {"kind", "customer_code", "received_at"}
    assert not DataSubjectRequest.objects.exists()


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        (["in_progress", "completed"], True),
        (["in_progress", "received"], False),
        (["completed", "in_progress"], False),
        (["rejected", "completed"], False),
    ],
)
def test_only_valid_transitions_are_taken(tenant, path, allowed):
    actor = Actor.for_system(tenant, "tests")
    request = DataSubjectRequestService.open_request(
        actor=actor, kind="access", notes="Identity checked"
    )
    *steps, last = path
    for status in steps:
        DataSubjectRequestService.update_request(
            actor=actor, request_id=request.uuid, status=status
        )

    if allowed:
        changed = DataSubjectRequestService.update_request(
            actor=actor, request_id=request.uuid, status=last
        )
        assert changed.status == last
        assert changed.completed_at is not None
    else:
        with pytest.raises(InvalidInput) as error:
            DataSubjectRequestService.update_request(
                actor=actor, request_id=request.uuid, status=last
            )
        assert set(error.value.fields) == {"status"}
        assert DataSubjectRequest.objects.get(pk=request.pk).status == steps[-1]


def test_a_rejection_needs_a_reason(tenant):
    actor = Actor.for_system(tenant, "tests")
    request = DataSubjectRequestService.open_request(actor=actor, kind="objection")

    with pytest.raises(InvalidInput) as error:
        DataSubjectRequestService.update_request(
            actor=actor, request_id=request.uuid, status="rejected"
        )
    assert set(error.value.fields) == {"notes"}

    rejected = DataSubjectRequestService.update_request(
        actor=actor, request_id=request.uuid, status="rejected", notes="Could not verify identity"
    )
    assert (rejected.status, rejected.notes) == ("rejected", "Could not verify identity")


def test_an_erasure_request_is_completed_by_erasing(tenant, make_customer):
    actor = Actor.for_system(tenant, "tests")
    customer = make_customer(first_name="Waiting")
    request = DataSubjectRequestService.open_request(
        actor=actor, kind="erasure", customer_code=customer.code
    )

    with pytest.raises(InvalidInput) as error:
        DataSubjectRequestService.update_request(
            actor=actor, request_id=request.uuid, status="completed"
        )
    assert set(error.value.fields) == {"status"}

    PrivacyService.erase_customer(actor=actor, code=customer.code, request_id=request.uuid)
    request.refresh_from_db()
    assert request.status == "completed"


def test_the_overdue_filter_finds_open_requests_past_their_deadline(tenant, other_tenant):
    actor = Actor.for_system(tenant, "tests")
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=40)
    late = DataSubjectRequestService.open_request(actor=actor, kind="access", received_at=long_ago)
    done = DataSubjectRequestService.open_request(actor=actor, kind="access", received_at=long_ago)
    DataSubjectRequestService.update_request(actor=actor, request_id=done.uuid, status="completed")
    fresh = DataSubjectRequestService.open_request(actor=actor, kind="access")
    DataSubjectRequestService.open_request(
        actor=Actor.for_system(other_tenant, "tests"), kind="access", received_at=long_ago
    )

    overdue = DataSubjectRequestService.list_requests(actor=actor, is_overdue=True)
    on_time = DataSubjectRequestService.list_requests(actor=actor, is_overdue=False)

    assert list(overdue) == [late]
    assert set(on_time) == {done, fresh}


def test_another_tenants_request_is_not_found(tenant, other_tenant):
    request = DataSubjectRequestService.open_request(
        actor=Actor.for_system(tenant, "tests"), kind="access"
    )

    with pytest.raises(NotFound):
        DataSubjectRequestService.get_request(
            actor=Actor.for_system(other_tenant, "tests"), request_id=request.uuid
        )
