"""`rapport demo`: realistic, reproducible demo data, written in bulk."""

from io import StringIO

import phonenumbers
import pytest
from django.core.management import CommandError, call_command

from rapport.customers.models import Customer, CustomerAddress, CustomerTag, Note, Tag
from rapport.demo.generator import customer_code
from rapport.tenancy.services import TenantService
from rapport.timeline.models import TimelineEvent

pytestmark = pytest.mark.django_db


def run_demo(*args: str) -> str:
    out = StringIO()
    call_command("demo", *args, stdout=out)
    return out.getvalue()


def snapshot(tenant) -> list[tuple]:
    return list(
        Customer.objects.filter(tenant=tenant)
        .order_by("id")
        .values_list("code", "first_name", "last_name", "email", "phone", "customer_type")
    )


def test_fills_the_default_tenant_with_customers_and_their_history(tenant):
    output = run_demo("--customers", "200", "--seed", "7", "--batch-size", "64")

    customers = Customer.objects.filter(tenant=tenant)
    assert customers.count() == 200
    assert "200 customers" in output
    assert Tag.objects.filter(tenant=tenant, name="VIP", color="#ffc107").exists()
    assert CustomerTag.objects.filter(tenant=tenant).count() > 0
    assert Note.objects.filter(tenant=tenant, is_pinned=True).exists()
    assert Note.objects.filter(tenant=tenant, is_private=True).exists()
    assert CustomerAddress.objects.filter(tenant=tenant).count() > 20
    assert customers.filter(referred_by__isnull=False).count() > 5
    assert customers.filter(date_of_birth__isnull=False).count() > 40
    assert customers.exclude(email="").count() > 40
    assert set(customers.values_list("source", flat=True)) <= {
        "pos", "online", "marketplace", "walk_in", "referral"
    }  # fmt: skip
    events = TimelineEvent.objects.filter(tenant=tenant)
    assert events.filter(title="Customer created").count() == 200
    assert events.filter(event_type__in=["order", "visit", "contact"]).count() > 100
    # History is spread over two years, not all stamped "now".
    created = customers.order_by("created_at").values_list("created_at", flat=True)
    assert (created.last() - created.first()).days > 600
    assert events.dates("created_at", "month").count() > 12


def test_phone_only_customers_exist_and_every_phone_is_valid_e164(tenant):
    run_demo("--customers", "200")

    customers = Customer.objects.filter(tenant=tenant)
    phone_only = customers.filter(first_name="", last_name="", email="")
    assert 10 <= phone_only.count() <= 60
    phones = [p for p in customers.values_list("phone", flat=True) if p]
    assert len(phones) > 150
    for phone in phones:
        number = phonenumbers.parse(phone)
        assert phonenumbers.is_valid_number(number), phone
        assert phone == phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        assert phone.startswith("+234")


def test_the_same_seed_gives_the_same_data_and_another_seed_different_data(tenant):
    run_demo("--customers", "200", "--seed", "11")
    first = snapshot(tenant)
    Customer.objects.all().delete()

    run_demo("--customers", "200", "--seed", "11", "--batch-size", "37")
    again = snapshot(tenant)
    Customer.objects.all().delete()

    run_demo("--customers", "200", "--seed", "12")
    other = snapshot(tenant)

    assert again == first
    assert other != first
    assert first[0][0] == customer_code(11, 0)
    assert len({row[0] for row in first}) == 200


def test_a_second_run_adds_customers_with_new_codes(tenant):
    run_demo("--customers", "50", "--seed", "3")
    run_demo("--customers", "50", "--seed", "3")

    codes = list(Customer.objects.filter(tenant=tenant).values_list("code", flat=True))
    assert len(codes) == len(set(codes)) == 100
    assert Tag.objects.filter(tenant=tenant, name="VIP").count() == 1


def test_names_and_phones_follow_the_tenant_country(db):
    TenantService.create_tenant(
        name="Clínica Veterinaria", slug="vet", country="MX", currency="MXN",
        timezone_name="America/Mexico_City",
    )  # fmt: skip
    run_demo("--customers", "60", "--tenant", "vet")

    customers = Customer.objects.filter(tenant__slug="vet")
    assert customers.count() == 60
    assert all(
        p.startswith("+52") for p in customers.exclude(phone="").values_list("phone", flat=True)
    )
    assert Tag.objects.filter(tenant__slug="vet", name="Breeder").exists()
    assert not Customer.objects.filter(tenant__slug="default").exists()


def test_if_empty_does_nothing_when_the_tenant_has_customers(tenant, make_customer):
    make_customer(first_name="Ada")

    output = run_demo("--customers", "20", "--if-empty")

    assert "already has 1 customers" in output
    assert Customer.objects.filter(tenant=tenant).count() == 1
    assert not Tag.objects.filter(tenant=tenant).exists()


def test_if_empty_fills_an_empty_tenant(tenant):
    run_demo("--customers", "20", "--if-empty")

    assert Customer.objects.filter(tenant=tenant).count() == 20


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--customers", "0"], "--customers must be at least 1"),
        (["--customers", "-5"], "--customers must be at least 1"),
        (["--batch-size", "0"], "--batch-size must be at least 1"),
        (["--tenant", "nope"], "No tenant with slug 'nope'"),
    ],
)
def test_bad_arguments_are_a_one_line_error_and_write_nothing(db, args, message):
    with pytest.raises(CommandError, match=message) as error:
        run_demo(*args)

    assert "\n" not in str(error.value)
    assert not Customer.objects.exists()
