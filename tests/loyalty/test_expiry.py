"""Points expiry: oldest points first, never more than the balance, safe to run twice."""

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from rapport.events.models import OutboxEvent
from rapport.exceptions import InvalidInput
from rapport.loyalty.models import LoyaltyTransaction
from rapport.loyalty.services import LoyaltyService, accounts_due, expire_points
from tests.loyalty.helpers import account_of, assert_ledger_adds_up

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)


@pytest.fixture
def yearly(configure):
    """Points expire a year after they were earned."""
    return configure(points_expire_after_days=365)


@pytest.fixture
def now():
    return timezone.now()


def earn(actor, points, when, reference, code="ADA-1"):
    return LoyaltyService.earn_points(
        actor=actor, code=code, points=points, reference=reference, occurred_at=when
    )


def expired(account) -> list[int]:
    return list(
        LoyaltyTransaction.objects.filter(account=account, transaction_type="expire")
        .order_by("id")
        .values_list("points", flat=True)
    )


def test_the_oldest_unspent_points_expire_first(actor, ada, tenant, yearly, now):
    # Given 100 points from 400 days ago, 200 from 370 days ago, and 50 spent since
    earn(actor, 100, now - 400 * DAY, "a")
    earn(actor, 200, now - 370 * DAY, "b")
    LoyaltyService.redeem_points(actor=actor, code="ADA-1", points=50, reference="r")

    # When points expire as of ten days ago: only the first lot is older than a year then
    first = expire_points(tenant=tenant, at=now - 10 * DAY)

    # Then the spend came out of the oldest lot, and only its 50 unspent points expire
    assert (first.accounts, first.points) == (1, 50)
    assert account_of(ada).points_balance == 200
    # When they expire as of now, the second lot is a year old too, and goes whole
    second = expire_points(tenant=tenant, at=now)
    assert (second.accounts, second.points) == (1, 200)
    account = account_of(ada)
    assert account.points_balance == 0
    assert expired(account) == [-50, -200]
    assert account.lifetime_points == 300  # expiry does not undo what was earned
    assert_ledger_adds_up(account)


def test_running_expiry_again_expires_nothing_more(actor, ada, tenant, yearly, now):
    earn(actor, 100, now - 400 * DAY, "a")
    expire_points(tenant=tenant, at=now)
    before = (LoyaltyTransaction.objects.count(), OutboxEvent.objects.count())

    again = expire_points(tenant=tenant, at=now)

    assert (again.accounts, again.points) == (0, 0)
    assert (LoyaltyTransaction.objects.count(), OutboxEvent.objects.count()) == before


def test_expiry_takes_the_balance_and_never_more(actor, ada, tenant, yearly, now):
    # Given old points of which most were spent, and a refund of a newer order
    earn(actor, 500, now - 500 * DAY, "a")
    newer = earn(actor, 100, now - 30 * DAY, "b")
    LoyaltyService.redeem_points(actor=actor, code="ADA-1", points=450, reference="r")
    LoyaltyService.reverse_transaction(
        actor=actor, code="ADA-1", transaction_id=newer.transaction.uuid, reference="refund"
    )
    assert account_of(ada).points_balance == 50

    run = expire_points(tenant=tenant, at=now)

    assert run.points == 50
    account = account_of(ada)
    assert account.points_balance == 0
    assert_ledger_adds_up(account)


def test_a_refund_of_an_old_order_takes_from_that_orders_points(actor, ada, tenant, yearly, now):
    old = earn(actor, 100, now - 400 * DAY, "a")
    earn(actor, 100, now - 10 * DAY, "b")
    LoyaltyService.reverse_transaction(
        actor=actor, code="ADA-1", transaction_id=old.transaction.uuid, reference="refund"
    )

    run = expire_points(tenant=tenant, at=now)

    assert run.points == 0  # the old lot was refunded; the new one is not due
    assert account_of(ada).points_balance == 100


def test_points_given_back_from_a_redemption_keep_their_age(actor, ada, tenant, yearly, now):
    earn(actor, 100, now - 400 * DAY, "a")
    redeemed = LoyaltyService.redeem_points(actor=actor, code="ADA-1", points=100, reference="r")
    LoyaltyService.reverse_transaction(
        actor=actor, code="ADA-1", transaction_id=redeemed.transaction.uuid, reference="void"
    )

    run = expire_points(tenant=tenant, at=now)

    assert run.points == 100


def test_every_due_account_of_the_tenant_expires_in_batches(
    actor, ada, make_customer, tenant, other_tenant, yearly, now
):
    # Given four customers with old points, one with new points only, and another tenant
    codes = ["ADA-1"]
    for number in range(3):
        codes.append(make_customer(code=f"C-{number}", first_name=f"C{number}").code)
    for number, code in enumerate(codes):
        earn(actor, 10 * (number + 1), now - 400 * DAY, f"old-{number}", code=code)
    make_customer(code="NEW", first_name="New")
    earn(actor, 99, now - DAY, "new", code="NEW")
    batches = []

    # When
    assert sorted(accounts_due(tenant=tenant, at=now).values()) == [10, 20, 30, 40]
    run = expire_points(tenant=tenant, at=now, batch_size=3, on_batch=batches.append)

    # Then
    assert (run.accounts, run.points, batches) == (4, 100, [3, 1])
    assert LoyaltyService.get_balance(tenant=tenant, code="NEW") == 99
    assert OutboxEvent.objects.filter(type="loyalty.points_expired").count() == 4
    event = OutboxEvent.objects.filter(type="loyalty.points_expired", data__code="ADA-1").get()
    assert (event.data["points"], event.data["balance_after"]) == (-10, 0)
    assert expire_points(tenant=other_tenant, at=now).accounts == 0


def test_a_program_without_expiry_expires_nothing(actor, ada, tenant, now):
    earn(actor, 100, now - 4000 * DAY, "a")

    assert expire_points(tenant=tenant, at=now).points == 0


def test_expiry_as_of_the_future_is_refused(tenant, yearly, now):
    with pytest.raises(InvalidInput) as raised:
        expire_points(tenant=tenant, at=now + 2 * DAY)

    assert raised.value.fields == {"at": "Is in the future"}


def test_the_summary_shows_what_expires_soon(actor, ada, tenant, yearly, now):
    earn(actor, 100, now - 350 * DAY, "a")
    earn(actor, 40, now - 10 * DAY, "b")

    summary = LoyaltyService.get_summary(tenant=tenant, code="ADA-1", at=now)

    assert summary.points_expiring_soon == 100
    assert summary.expiring_soon_until == now + 30 * DAY


def test_the_command_expires_and_reports(actor, ada, yearly, now):
    earn(actor, 75, now - 400 * DAY, "a")
    out = io.StringIO()

    call_command("expire_points", "--at", now.isoformat(), stdout=out)

    assert out.getvalue().startswith("Expired 75 points on 1 account of tenant 'default', as of")
    assert account_of(ada).points_balance == 0
    out = io.StringIO()
    call_command("expire_points", "--all-tenants", stdout=out)
    assert out.getvalue().startswith("Expired 0 points on 0 accounts of tenant 'default'")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--at", "yesterday"], "--at 'yesterday' is not an ISO 8601 date and time"),
        (["--at", "2025-01-01T00:00:00"], "needs its UTC offset"),
        (
            ["--at", "2999-01-01T00:00:00+00:00"],
            "The expiry time is not valid (at: Is in the future)",
        ),
        (["--batch-size", "0"], "--batch-size must be at least 1"),
        (["--tenant", "nowhere"], "No tenant with slug 'nowhere'"),
        (["--tenant", "default", "--all-tenants"], "Give --tenant or --all-tenants, not both"),
    ],
)
def test_the_command_refuses_bad_arguments_and_writes_nothing(
    actor, ada, yearly, now, args, message
):
    earn(actor, 75, now - 400 * DAY, "a")

    with pytest.raises(CommandError) as raised:
        call_command("expire_points", *args)

    assert message in str(raised.value)
    assert account_of(ada).points_balance == 75
