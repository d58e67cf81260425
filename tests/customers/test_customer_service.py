import datetime as dt
import re

import pytest
from django.utils import timezone

from rapport.customers.models import Customer, CustomerTag, Note
from rapport.customers.services import CustomerService, NoteService, TagService
from rapport.events.models import OutboxEvent
from rapport.exceptions import Conflict, InvalidInput, NotFound
from rapport.tenancy.actors import Actor
from rapport.timeline.models import TimelineEvent


def _updates(customer):
    return list(
        TimelineEvent.objects.filter(customer=customer, metadata__kind="updated").values_list(
            "metadata", flat=True
        )
    )


def _nothing_written():
    return (
        Customer.objects.count(),
        TimelineEvent.objects.count(),
        OutboxEvent.objects.count(),
    ) == (0, 0, 0)


# --- create -------------------------------------------------------------------------------


def test_a_phone_alone_is_enough_and_is_stored_in_e164_with_the_tenant_region(system_actor):
    customer = CustomerService.create_customer(actor=system_actor, phone="0803 123 4567")

    stored = Customer.objects.get()
    assert stored.pk == customer.pk
    assert stored.tenant == system_actor.tenant
    assert stored.phone == "+2348031234567"
    assert (stored.first_name, stored.last_name, stored.email) == ("", "", "")
    assert re.fullmatch(r"[2-9A-HJ-NP-Z]{10}", stored.code)
    assert stored.display_name == "+2348031234567"


def test_an_international_number_keeps_its_own_country(system_actor):
    customer = CustomerService.create_customer(actor=system_actor, phone="+55 11 91234-5678")

    assert Customer.objects.get(pk=customer.pk).phone == "+5511912345678"


def test_a_local_number_is_read_with_the_region_of_the_customer_tenant(other_tenant):
    actor = Actor.for_system(other_tenant, "tests")

    customer = CustomerService.create_customer(actor=actor, phone="(11) 91234-5678")

    assert customer.tenant == other_tenant
    assert customer.phone == "+5511912345678"


def test_profile_fields_are_normalized_on_create(system_actor):
    customer = CustomerService.create_customer(
        actor=system_actor,
        first_name="  Ada ",
        email="  Ada@Example.COM ",
        phone_secondary="0805 555 0000",
        instagram_handle="@Ada.Lovelace",
        facebook_url="https://facebook.com/ada",
        date_of_birth=dt.date(1990, 5, 17),
        gender="female",
        preferred_language="pt-BR",
        preferred_contact_method="whatsapp",
    )

    stored = Customer.objects.get(pk=customer.pk)
    assert stored.first_name == "Ada"
    assert stored.email == "ada@example.com"
    assert stored.phone == ""
    assert stored.phone_secondary == "+2348055550000"
    assert stored.instagram_handle == "ada.lovelace"
    assert stored.facebook_url == "https://facebook.com/ada"
    assert stored.date_of_birth == dt.date(1990, 5, 17)
    assert (stored.gender, stored.preferred_language) == ("female", "pt-BR")
    assert stored.preferred_contact_method == "whatsapp"


def test_every_bad_field_is_named_and_nothing_is_written(system_actor):
    with pytest.raises(InvalidInput) as error:
        CustomerService.create_customer(
            actor=system_actor,
            first_name="Ada",
            phone="12345",
            email="ada-at-example.com",
            date_of_birth=timezone.localdate() + dt.timedelta(days=2),
            gender="robot",
            preferred_language="English!",
            preferred_contact_method="pigeon",
            facebook_url="facebook dot com slash ada",
            instagram_handle="not a handle!",
        )

    assert error.value.code == "invalid"
    assert set(error.value.fields) == {
        "phone",
        "email",
        "date_of_birth",
        "gender",
        "preferred_language",
        "preferred_contact_method",
        "facebook_url",
        "instagram_handle",
    }
    assert error.value.fields["date_of_birth"] == "A date of birth cannot be in the future"
    assert _nothing_written()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("phone", "0803"),
        ("phone", "call me maybe"),
        ("email", "ada@"),
        ("date_of_birth", dt.date(1850, 1, 1)),
        ("gender", "FEMALE"),
        ("preferred_language", "e"),
        ("facebook_url", "ftp://facebook.com/ada"),
        ("instagram_handle", "https://instagram.com/" + "a" * 31),
        ("first_name", "A" * 101),
        ("email", "a" * 64 + "@" + ".".join(["b" * 63] * 3) + ".com"),
        ("preferred_language", "en-abcdefgh"),
        ("facebook_url", "https://facebook.com/" + "a" * 180),
        ("metadata", ["not", "an", "object"]),
        # PostgreSQL's jsonb would give it back as a 229-digit integer no response can render.
        ("metadata", {"score": -2.0163628718743923e228}),
        ("metadata", {"nested": [{"score": 1e20}]}),
    ],
)
def test_one_bad_field_is_rejected_on_its_own(system_actor, field, value):
    with pytest.raises(InvalidInput) as error:
        CustomerService.create_customer(actor=system_actor, last_name="Obi", **{field: value})

    assert list(error.value.fields) == [field]
    assert _nothing_written()


def test_unknown_fields_are_rejected(system_actor):
    with pytest.raises(InvalidInput) as error:
        CustomerService.create_customer(actor=system_actor, phone="08031234567", is_archived=True)

    assert error.value.fields == {"is_archived": "Not a customer field"}
    assert _nothing_written()


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"first_name": "", "last_name": "  ", "email": "", "phone": None},
        {"customer_type": "vip", "phone_secondary": "08031234567"},
    ],
)
def test_a_customer_needs_a_name_an_email_or_a_phone(system_actor, fields):
    with pytest.raises(InvalidInput) as error:
        CustomerService.create_customer(actor=system_actor, **fields)

    assert error.value.fields == {"phone": "Give a name, an email or a phone number"}
    assert _nothing_written()


@pytest.mark.parametrize("fields", [{"first_name": "Ada"}, {"email": "ada@example.com"}])
def test_a_name_or_an_email_alone_is_enough(system_actor, fields):
    customer = CustomerService.create_customer(actor=system_actor, **fields)

    assert Customer.objects.filter(pk=customer.pk).exists()


def test_an_explicit_code_is_kept(system_actor):
    customer = CustomerService.create_customer(
        actor=system_actor, code="SHOP-0042_a", first_name="Ada"
    )

    assert Customer.objects.get(pk=customer.pk).code == "SHOP-0042_a"
    assert CustomerService.get_customer(tenant=system_actor.tenant, code="SHOP-0042_a") == customer


def test_a_taken_code_is_a_conflict_and_the_first_customer_is_untouched(system_actor):
    CustomerService.create_customer(actor=system_actor, code="VIP-1", first_name="Ada")

    with pytest.raises(Conflict) as error:
        CustomerService.create_customer(actor=system_actor, code="VIP-1", first_name="Bola")

    assert error.value.fields == {"code": "Already taken"}
    assert list(Customer.objects.values_list("code", "first_name")) == [("VIP-1", "Ada")]
    assert OutboxEvent.objects.filter(type="customer.created").count() == 1
    assert TimelineEvent.objects.count() == 1


def test_the_same_code_may_exist_in_another_tenant(system_actor, other_tenant):
    ours = CustomerService.create_customer(actor=system_actor, code="VIP-1", first_name="Ada")
    theirs = CustomerService.create_customer(
        actor=Actor.for_system(other_tenant, "tests"), code="VIP-1", first_name="Bia"
    )

    assert ours.pk != theirs.pk
    assert CustomerService.get_customer(tenant=other_tenant, code="VIP-1") == theirs


@pytest.mark.parametrize(
    "code", ["", "-starts-with-dash", "has space", "ümlaut", "x" * 41, "a/b", "SHOP-1\n"]
)
def test_a_badly_formed_code_is_rejected(system_actor, code):
    with pytest.raises(InvalidInput) as error:
        CustomerService.create_customer(actor=system_actor, code=code, first_name="Ada")

    assert list(error.value.fields) == ["code"]
    assert _nothing_written()


def test_a_referrer_is_found_by_code(system_actor, make_customer):
    referrer = make_customer(first_name="Ada")

    customer = CustomerService.create_customer(
        actor=system_actor, first_name="Bola", referred_by=referrer.code
    )

    assert Customer.objects.get(pk=customer.pk).referred_by == referrer


def test_an_unknown_referrer_is_rejected_and_nothing_is_written(system_actor):
    with pytest.raises(InvalidInput) as error:
        CustomerService.create_customer(actor=system_actor, first_name="Bola", referred_by="NOPE")

    assert error.value.fields == {"referred_by": "No customer with code 'NOPE'"}
    assert _nothing_written()


def test_a_customer_of_another_tenant_is_not_found(make_customer, other_tenant):
    customer = make_customer(first_name="Ada")

    with pytest.raises(NotFound):
        CustomerService.get_customer(tenant=other_tenant, code=customer.code)


# --- update -------------------------------------------------------------------------------


def test_only_the_fields_that_changed_are_recorded(system_actor, make_customer):
    customer = make_customer(first_name="Ada", last_name="Obi", phone="08031234567")

    CustomerService.update_customer(
        actor=system_actor,
        code=customer.code,
        first_name="Ada",
        last_name="Okafor",
        phone="+234 803 123 4567",
        email="ADA@example.com",
    )

    stored = Customer.objects.get(pk=customer.pk)
    assert (stored.first_name, stored.last_name) == ("Ada", "Okafor")
    assert (stored.phone, stored.email) == ("+2348031234567", "ada@example.com")
    assert _updates(customer) == [
        {
            "kind": "updated",
            "changes": {
                "last_name": {"old": "Obi", "new": "Okafor"},
                "email": {"old": "", "new": "ada@example.com"},
            },
        }
    ]


def test_dates_are_recorded_as_iso_text(system_actor, make_customer):
    customer = make_customer(first_name="Ada")

    CustomerService.update_customer(
        actor=system_actor, code=customer.code, date_of_birth=dt.date(1990, 5, 17)
    )

    assert _updates(customer)[0]["changes"] == {"date_of_birth": {"old": None, "new": "1990-05-17"}}


def test_an_update_that_changes_nothing_logs_nothing(system_actor, make_customer):
    customer = make_customer(first_name="Ada", phone="08031234567", gender="female")
    before = Customer.objects.get(pk=customer.pk)
    outbox_before = OutboxEvent.objects.count()
    timeline_before = TimelineEvent.objects.count()

    CustomerService.update_customer(
        actor=system_actor,
        code=customer.code,
        first_name=" Ada ",
        phone="0803 123 4567",
        gender="female",
    )

    after = Customer.objects.get(pk=customer.pk)
    assert after.updated_at == before.updated_at
    assert OutboxEvent.objects.count() == outbox_before
    assert TimelineEvent.objects.count() == timeline_before


def test_a_rejected_update_changes_nothing(system_actor, make_customer):
    customer = make_customer(first_name="Ada", email="ada@example.com")
    outbox_before = OutboxEvent.objects.count()

    with pytest.raises(InvalidInput) as error:
        CustomerService.update_customer(
            actor=system_actor, code=customer.code, first_name="Adaeze", email="nope"
        )

    assert list(error.value.fields) == ["email"]
    stored = Customer.objects.get(pk=customer.pk)
    assert (stored.first_name, stored.email) == ("Ada", "ada@example.com")
    assert _updates(customer) == []
    assert OutboxEvent.objects.count() == outbox_before


def test_updating_an_unknown_or_foreign_customer_is_not_found(make_customer, other_tenant):
    customer = make_customer(first_name="Ada")

    with pytest.raises(NotFound):
        CustomerService.update_customer(
            actor=Actor.for_system(other_tenant, "tests"), code=customer.code, first_name="X"
        )

    assert Customer.objects.get(pk=customer.pk).first_name == "Ada"


def test_a_referrer_can_be_set_and_cleared(system_actor, make_customer):
    referrer = make_customer(first_name="Ada")
    customer = make_customer(first_name="Bola")

    CustomerService.update_customer(
        actor=system_actor, code=customer.code, referred_by=referrer.code
    )
    assert Customer.objects.get(pk=customer.pk).referred_by == referrer

    CustomerService.update_customer(actor=system_actor, code=customer.code, referred_by=None)
    assert Customer.objects.get(pk=customer.pk).referred_by is None

    assert [update["changes"] for update in _updates(customer)] == [
        {"referred_by": {"old": referrer.code, "new": None}},
        {"referred_by": {"old": None, "new": referrer.code}},
    ]


def test_leaving_referred_by_out_keeps_the_referrer(system_actor, make_customer):
    referrer = make_customer(first_name="Ada")
    customer = make_customer(first_name="Bola", referred_by=referrer.code)

    CustomerService.update_customer(actor=system_actor, code=customer.code, last_name="Obi")

    assert Customer.objects.get(pk=customer.pk).referred_by == referrer


def test_a_customer_cannot_refer_themselves(system_actor, make_customer):
    customer = make_customer(first_name="Ada")

    with pytest.raises(InvalidInput) as error:
        CustomerService.update_customer(
            actor=system_actor, code=customer.code, referred_by=customer.code
        )

    assert error.value.fields == {"referred_by": "This would make a referral loop"}
    assert Customer.objects.get(pk=customer.pk).referred_by is None


def test_a_referral_loop_is_rejected(system_actor, make_customer):
    # given Ada referred Bola, who referred Chidi
    ada = make_customer(first_name="Ada")
    bola = make_customer(first_name="Bola", referred_by=ada.code)
    chidi = make_customer(first_name="Chidi", referred_by=bola.code)

    # when Ada is said to have been referred by Chidi
    with pytest.raises(InvalidInput) as error:
        CustomerService.update_customer(actor=system_actor, code=ada.code, referred_by=chidi.code)

    # then the loop is refused and nothing moved
    assert error.value.fields == {"referred_by": "This would make a referral loop"}
    assert Customer.objects.get(pk=ada.pk).referred_by is None
    assert _updates(ada) == []


def test_a_referrer_from_another_branch_is_fine(system_actor, make_customer):
    ada = make_customer(first_name="Ada")
    bola = make_customer(first_name="Bola", referred_by=ada.code)
    chidi = make_customer(first_name="Chidi")

    CustomerService.update_customer(actor=system_actor, code=chidi.code, referred_by=bola.code)

    assert Customer.objects.get(pk=chidi.pk).referred_by == bola


def test_clearing_the_only_contact_is_rejected(system_actor, make_customer):
    customer = make_customer(phone="08031234567")

    with pytest.raises(InvalidInput) as error:
        CustomerService.update_customer(actor=system_actor, code=customer.code, phone=None)

    assert error.value.fields == {"phone": "Give a name, an email or a phone number"}
    assert Customer.objects.get(pk=customer.pk).phone == "+2348031234567"
    assert _updates(customer) == []


def test_clearing_one_contact_while_another_remains_is_fine(system_actor, make_customer):
    customer = make_customer(phone="08031234567", email="ada@example.com")

    CustomerService.update_customer(actor=system_actor, code=customer.code, phone="")

    stored = Customer.objects.get(pk=customer.pk)
    assert (stored.phone, stored.email) == ("", "ada@example.com")


# --- archive, restore, delete -------------------------------------------------------------


def test_archive_and_restore(system_actor, make_customer):
    customer = make_customer(first_name="Ada")

    CustomerService.archive_customer(actor=system_actor, code=customer.code)
    archived = Customer.objects.get(pk=customer.pk)
    assert archived.is_archived is True
    assert archived.archived_at is not None

    CustomerService.archive_customer(actor=system_actor, code=customer.code, is_archived=False)
    restored = Customer.objects.get(pk=customer.pk)
    assert restored.is_archived is False
    assert restored.archived_at is None

    kinds = OutboxEvent.objects.filter(data__code=customer.code).values_list("type", flat=True)
    assert list(kinds) == ["customer.created", "customer.archived", "customer.restored"]


def test_archiving_twice_keeps_the_first_archive_time_and_logs_once(system_actor, make_customer):
    customer = make_customer(first_name="Ada")
    CustomerService.archive_customer(actor=system_actor, code=customer.code)
    first = Customer.objects.get(pk=customer.pk).archived_at

    CustomerService.archive_customer(actor=system_actor, code=customer.code)

    assert Customer.objects.get(pk=customer.pk).archived_at == first
    assert TimelineEvent.objects.filter(customer=customer, metadata__kind="archived").count() == 1
    assert OutboxEvent.objects.filter(type="customer.archived").count() == 1


def test_archiving_an_unknown_customer_is_not_found(system_actor):
    with pytest.raises(NotFound):
        CustomerService.archive_customer(actor=system_actor, code="NOPE")


def test_delete_removes_the_customer_and_unlinks_their_referrals(system_actor, make_customer):
    # given Ada, who referred Bola, with a tag and a note
    ada = make_customer(first_name="Ada")
    bola = make_customer(first_name="Bola", referred_by=ada.code)
    TagService.add_tags(actor=system_actor, code=ada.code, names=["VIP"])
    NoteService.add_note(actor=system_actor, code=ada.code, content="Likes mornings")

    # when Ada is deleted
    CustomerService.delete_customer(actor=system_actor, code=ada.code)

    # then Bola stays, unlinked; Ada's own things go with her; one deleted event is emitted
    assert not Customer.objects.filter(pk=ada.pk).exists()
    remaining = Customer.objects.get(pk=bola.pk)
    assert remaining.referred_by is None
    assert remaining.first_name == "Bola"
    assert not CustomerTag.objects.exists()
    assert not Note.objects.exists()
    assert not TimelineEvent.objects.filter(customer_id=ada.pk).exists()
    assert TimelineEvent.objects.filter(customer=bola).count() == 1
    deleted = OutboxEvent.objects.filter(type="customer.deleted")
    assert [event.data for event in deleted] == [{"code": ada.code}]


def test_deleting_an_unknown_or_foreign_customer_is_not_found(make_customer, other_tenant):
    customer = make_customer(first_name="Ada")

    with pytest.raises(NotFound):
        CustomerService.delete_customer(
            actor=Actor.for_system(other_tenant, "tests"), code=customer.code
        )

    assert Customer.objects.filter(pk=customer.pk).exists()
    assert not OutboxEvent.objects.filter(type="customer.deleted").exists()
