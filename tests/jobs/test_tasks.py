"""The tasks other apps hand to the worker: points expiry, double opt-in mail."""

import datetime as dt
import re

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from rapport.consent.services import ConsentService
from rapport.loyalty.models import LoyaltyAccount, LoyaltyTransaction
from rapport.loyalty.services import LoyaltyProgramService, LoyaltyService
from rapport.loyalty.tasks import expire_points
from rapport.tenancy.actors import Actor
from tests.loyalty.helpers import assert_ledger_adds_up

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)


def earned_long_ago(tenant, customer, points: int) -> None:
    actor = Actor.for_system(tenant, "tests")
    LoyaltyService.earn_points(
        actor=actor,
        code=customer.code,
        points=points,
        reference=f"old-{customer.code}",
        occurred_at=timezone.now() - 400 * DAY,
    )


def test_the_daily_expiry_expires_every_tenants_points(tenant, other_tenant, make_customer):
    # Given two tenants whose points last a year, each with a customer's points from 400 days ago
    accounts = []
    for owner, points in ((tenant, 100), (other_tenant, 30)):
        actor = Actor.for_system(owner, "tests")
        LoyaltyProgramService.configure_program(actor=actor, points_expire_after_days=365)
        customer = make_customer(actor=actor, first_name="Ada")
        earned_long_ago(owner, customer, points)
        accounts.append(LoyaltyAccount.objects.get(customer=customer))

    # When the scheduled task runs
    result = expire_points.enqueue()

    # Then it handed each tenant to a task of its own, and every point due expired
    assert result.return_value == {"tenants": 2}
    for account in accounts:
        account.refresh_from_db()
        assert account.points_balance == 0
        assert_ledger_adds_up(account)
    assert LoyaltyTransaction.objects.filter(transaction_type="expire").count() == 2
    # And running it again expires nothing more
    expire_points.enqueue()
    assert LoyaltyTransaction.objects.filter(transaction_type="expire").count() == 2


def test_a_tenant_whose_points_never_expire_gets_no_task(tenant, make_customer):
    LoyaltyProgramService.configure_program(
        actor=Actor.for_system(tenant, "tests"), points_expire_after_days=None
    )
    earned_long_ago(tenant, make_customer(first_name="Ada"), 100)

    assert expire_points.enqueue().return_value == {"tenants": 0}
    assert LoyaltyTransaction.objects.filter(transaction_type="expire").count() == 0


def test_the_confirmation_mail_is_sent_by_a_task_after_commit(
    tenant, make_customer, mailoutbox, django_capture_on_commit_callbacks
):
    customer = make_customer(first_name="Ada", email="ada@example.com")

    # When a double opt-in is requested, in a transaction that has not committed yet
    with django_capture_on_commit_callbacks(execute=False) as pending:
        link = ConsentService.request_confirmation(
            actor=Actor.for_system(tenant, "tests"), code=customer.code, channel="email"
        )
        # Then nothing is sent before the commit
        assert mailoutbox == []

    # When the transaction commits, the task sends the mail with the link
    assert len(pending) == 1
    pending[0]()
    [mail] = mailoutbox
    assert mail.to == ["ada@example.com"]
    assert re.findall(r"http://\S+", mail.body) == [link.url]


def test_the_confirmation_mail_waits_in_the_queue_with_the_database_backend(
    tenant, make_customer, mailoutbox, database_tasks, django_capture_on_commit_callbacks
):
    customer = make_customer(first_name="Ada", email="ada@example.com")

    with django_capture_on_commit_callbacks(execute=True):
        ConsentService.request_confirmation(
            actor=Actor.for_system(tenant, "tests"), code=customer.code, channel="email"
        )

    [queued] = DBTaskResult.objects.all()
    assert queued.task_path == "rapport.consent.tasks.send_confirmation_email"
    # Ids, not personal data, wait in the queue
    assert set(queued.args_kwargs["kwargs"]) == {"tenant_id", "code", "token"}
    assert "ada@example.com" not in str(queued.args_kwargs)
    assert mailoutbox == []
