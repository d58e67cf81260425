"""Importing customers from CSV: creating, updating, deduplicating, and reporting bad rows."""

import io

import pytest

from rapport.consent.models import CommunicationConsent, ConsentChange
from rapport.customers.models import Customer, CustomerAddress, ExternalIdentity, Note
from rapport.exceptions import InvalidInput
from rapport.identity.models import CustomerIdentifier
from rapport.ingest.csv.jobs import import_file
from rapport.tenancy.actors import Actor

HEADER = "First name,Last name,E-mail,Mobile,Birthday,Tags,Email marketing,SMS marketing"


def run(tenant, text: str, **options):
    actor = Actor.for_system(tenant, "tests")
    return import_file(actor=actor, kind="customers", file=io.BytesIO(text.encode()), **options)


def lines(*rows: str) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


def test_new_customers_are_created_with_tags_birthday_and_consent(tenant):
    text = lines(
        "Ada,Obi,ada@example.com,0803 123 4567,1990-05-01,VIP | Wholesale,yes,no",
        "Bola,,,08031234568,,,,",
    )

    report = run(tenant, text)

    assert (report.created, report.updated, report.unchanged, report.error_rows) == (2, 0, 0, 0)
    ada = Customer.objects.get(email="ada@example.com")
    assert (ada.first_name, ada.last_name, ada.phone) == ("Ada", "Obi", "+2348031234567")
    assert ada.date_of_birth.isoformat() == "1990-05-01"
    assert ada.source == "import"
    assert sorted(ada.tags.values_list("name", flat=True)) == ["VIP", "Wholesale"]
    consents = dict(
        CommunicationConsent.objects.filter(customer=ada).values_list("channel", "status")
    )
    assert consents == {"email": "opted_in", "sms": "opted_out"}
    grant = ConsentChange.objects.get(customer=ada, channel="email")
    assert (grant.legal_basis, grant.source, grant.actor) == ("consent", "import", "system:tests")
    # Identity links the new customer to the email it was found by
    assert CustomerIdentifier.objects.filter(
        customer=ada, type="email", value="ada@example.com"
    ).exists()
    assert Customer.objects.get(phone="+2348031234568").first_name == "Bola"


def test_the_same_person_twice_in_a_file_is_one_customer(tenant):
    # Given the same phone written two ways, and the same email in another case
    text = lines(
        "Ada,,ada@example.com,0803 123 4567,,VIP,,",
        "Ada,Obi,,+234 803 123 4567,,Regular,,",
        "Ada,Obi,ADA@Example.com,,,,,",
    )

    report = run(tenant, text)

    assert (report.created, report.updated, report.unchanged) == (1, 1, 1)
    ada = Customer.objects.get()
    assert ada.last_name == "Obi"
    assert sorted(ada.tags.values_list("name", flat=True)) == ["Regular", "VIP"]


def test_existing_customers_are_found_by_email_phone_or_code_and_updated(tenant, make_customer):
    by_email = make_customer(email="ada@example.com", first_name="Ada")
    by_phone = make_customer(phone="+2348031234599", first_name="Old")
    by_code = make_customer(code="C-1", first_name="Chi")
    text = (
        "code,first_name,email,phone\n"
        ",Adaeze,ada@example.com,\n"
        ",Bola,,08031234599\n"
        "C-1,Chioma,chi@example.com,\n"
        "C-2,New,,\n"
    )

    report = run(tenant, text)

    assert (report.created, report.updated, report.error_rows) == (1, 3, 0)
    by_email.refresh_from_db()
    by_phone.refresh_from_db()
    by_code.refresh_from_db()
    assert by_email.first_name == "Adaeze"
    assert by_phone.first_name == "Bola"
    assert (by_code.first_name, by_code.email) == ("Chioma", "chi@example.com")
    assert Customer.objects.get(code="C-2").first_name == "New"
    assert Customer.objects.count() == 4


def test_importing_the_same_file_again_changes_nothing(tenant):
    text = (
        "first_name,email,tags,email_marketing,note,address_line1,city,country,provider,external_id\n"
        "Ada,ada@example.com,VIP,yes,Likes sourdough,1 Marina,Lagos,NG,shopify,991\n"
    )
    run(tenant, text)
    changes = ConsentChange.objects.count()

    again = run(tenant, text)

    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    assert Customer.objects.count() == 1
    assert Note.objects.count() == 1
    assert CustomerAddress.objects.get().city == "Lagos"
    assert ExternalIdentity.objects.get().external_id == "991"
    assert ConsentChange.objects.count() == changes


def test_a_dry_run_counts_what_a_real_run_would_do_and_writes_nothing(tenant, make_customer):
    make_customer(email="ada@example.com", first_name="Ada")
    text = lines(
        "Adaeze,,ada@example.com,,,VIP,yes,",
        "Bola,,bola@example.com,,,,,",
        "Bola,B,bola@example.com,,,,,",
        "Chi,,not-an-email,,,,,",
    )
    customers = Customer.objects.count()

    report = run(tenant, text, dry_run=True)

    assert report.dry_run
    assert (report.created, report.updated, report.unchanged, report.error_rows) == (1, 2, 0, 1)
    assert Customer.objects.count() == customers
    assert Customer.objects.get(email="ada@example.com").first_name == "Ada"
    assert not CommunicationConsent.objects.exists()
    # And the real run does what the dry run said
    real = run(tenant, text)
    assert (real.created, real.updated, real.unchanged, real.error_rows) == (1, 2, 0, 1)


def test_bad_rows_are_reported_by_row_and_field_and_the_others_imported(tenant):
    text = lines(
        "Ada,,ada@example.com,,,,,",
        "Bola,,bola-at-example,,,,,",
        "Chi,,chi@example.com,,1990-31-12,,,",
        "Dayo,,dayo@example.com,,2999-01-01,,,",
        "Efe,,efe@example.com,,,,maybe,",
        ",,,,,VIP,,",
        "Femi,,femi@example.com,12,,,,",
    )

    report = run(tenant, text, chunk_rows=100)

    assert (report.created, report.error_rows) == (1, 6)
    assert [(e.row, e.field) for e in report.errors] == [
        (3, "email"),
        (4, "birthday"),
        (5, "birthday"),
        (6, "email_marketing"),
        (7, ""),
        (8, "phone"),
    ]
    assert report.errors[2].message == "A date of birth cannot be in the future"
    assert list(Customer.objects.values_list("first_name", flat=True)) == ["Ada"]


def test_a_row_is_all_or_nothing(tenant, make_customer):
    # Given a row whose tag is inactive: its profile change must not stay either
    from rapport.customers.services import TagService

    actor = Actor.for_system(tenant, "tests")
    TagService.create_tag(actor=actor, name="Banned", is_active=False)
    ada = make_customer(email="ada@example.com", first_name="Ada")

    report = run(tenant, lines("Adaeze,,ada@example.com,,,Banned,yes,", "Bola,,b@example.com,,,,,"))

    assert report.error_rows == 1
    assert report.errors[0].row == 2 and report.errors[0].field == "tags"
    ada.refresh_from_db()
    assert ada.first_name == "Ada"
    assert not CommunicationConsent.objects.filter(customer=ada).exists()
    assert Customer.objects.filter(email="b@example.com").exists()


def test_an_email_and_a_phone_of_two_different_customers_are_an_error(tenant, make_customer):
    ada = make_customer(email="ada@example.com", first_name="Ada")
    other = make_customer(phone="+2348031234599", first_name="Other")

    report = run(tenant, "email,phone,first_name\nada@example.com,08031234599,Ada\n")

    assert report.error_rows == 1
    assert f"customer {ada.code}" in report.errors[0].message
    assert f"customer {other.code}" in report.errors[0].message


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("tags,notes\nVIP,x\n", "email"),
        ("email,provider\na@example.com,shopify\n", "external_id"),
    ],
)
def test_a_mapping_that_cannot_import_anything_is_refused_before_any_row(tenant, header, field):
    with pytest.raises(InvalidInput) as caught:
        run(tenant, header)

    assert field in caught.value.fields
    assert not Customer.objects.exists()
