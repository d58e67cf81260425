"""The doors of delivery: the background tasks and `rapport dispatch`."""

import io
import socket

import pytest
from django.core.management import CommandError, call_command
from django.utils.module_loading import import_string
from django_tasks.base import Task

from rapport.events.models import OutboxEvent, WebhookDelivery

pytestmark = pytest.mark.django_db


def test_the_tasks_are_where_the_schedule_finds_them(receiver, make_endpoint, make_event):
    make_endpoint(receiver.url)
    make_event()
    dispatch = import_string("rapport.events.tasks.dispatch_outbox")
    deliver = import_string("rapport.events.tasks.deliver_webhooks")
    assert isinstance(dispatch, Task)
    assert isinstance(deliver, Task)

    assert dispatch.call() == 1
    assert deliver.call() == {
        "claimed": 1,
        "delivered": 1,
        "retrying": 0,
        "dead": 0,
        "disabled": 0,
        "released": 0,
    }
    # Safe to run twice: nothing is left to do
    assert dispatch.call() == 0
    assert deliver.call()["claimed"] == 0
    assert len(receiver.requests) == 1


def test_dispatch_once_delivers_what_waits(receiver, make_endpoint, make_event):
    make_endpoint(receiver.url)
    make_event()
    make_event()
    out = io.StringIO()

    call_command("dispatch", "--once", stdout=out)

    assert out.getvalue().strip() == (
        "dispatched 2 events; webhooks: 2 delivered, 0 to retry, 0 dead, 0 put back"
    )
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"delivered"}
    assert len(receiver.requests) == 2


def test_dispatch_once_with_nothing_to_do_says_so(tenant):
    out = io.StringIO()

    call_command("dispatch", "--once", stdout=out)

    assert out.getvalue().strip() == "nothing to deliver"


def test_dispatch_once_fails_when_the_broker_is_down(settings, make_event):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.RABBITMQ_URL = f"amqp://guest:guest@127.0.0.1:{port}//"
    settings.RAPPORT_EVENTS_BROKER_TIMEOUT = 1
    make_event()

    with pytest.raises(CommandError, match="Publishing to the broker failed"):
        call_command("dispatch", "--once")

    assert OutboxEvent.objects.get().dispatched_at is None


def test_dispatch_refuses_a_bad_interval(tenant):
    with pytest.raises(CommandError, match="--interval"):
        call_command("dispatch", "--interval", "0")
