import json
import uuid

import pytest

from rapport.customers import selectors
from rapport.customers.models import Customer, CustomerAddress, CustomerTag, Note, Tag
from rapport.customers.services import AddressService, NoteService, TagService
from rapport.exceptions import Conflict, InvalidInput, NotFound, PermissionDenied
from rapport.tenancy.actors import Actor
from rapport.timeline.models import TimelineEvent


@pytest.fixture
def customer(make_customer):
    return make_customer(first_name="Ada", last_name="Obi")


@pytest.fixture
def key_actor(tenant, make_key):
    """make_key_actor(scopes, name) -> an Actor acting through a new API key."""

    def make(scopes=("write",), name="staff key"):
        api_key, _ = make_key(tenant, scopes, name=name)
        return Actor.for_api_key(api_key)

    return make


def _tag_names(customer):
    return sorted(CustomerTag.objects.filter(customer=customer).values_list("tag__name", flat=True))


# --- tags ---------------------------------------------------------------------------------


def test_a_tag_is_created_with_a_tidy_name_and_a_lower_case_colour(system_actor):
    tag = TagService.create_tag(
        actor=system_actor, name="  Big   Spender ", color="#FFC107", description=" Top 5% "
    )

    stored = Tag.objects.get(pk=tag.pk)
    assert (stored.name, stored.color, stored.description) == ("Big Spender", "#ffc107", "Top 5%")
    assert stored.tenant == system_actor.tenant
    assert stored.is_active is True


def test_a_short_hex_colour_is_expanded(system_actor):
    tag = TagService.create_tag(actor=system_actor, name="VIP", color="#ABC")

    assert Tag.objects.get(pk=tag.pk).color == "#aabbcc"


def test_the_default_colour_is_grey(system_actor):
    assert TagService.create_tag(actor=system_actor, name="VIP").color == "#6c757d"


@pytest.mark.parametrize(
    "color", ["red", "ffc107", "#12", "#12345g", "#1234", "#ffc1077", "", "#abc\n"]
)
def test_a_colour_that_is_not_hex_is_rejected(system_actor, color):
    with pytest.raises(InvalidInput) as error:
        TagService.create_tag(actor=system_actor, name="VIP", color=color)

    assert error.value.fields == {"color": "Use a hex colour such as #ffc107"}
    assert not Tag.objects.exists()


@pytest.mark.parametrize("name", ["", "   ", "x" * 51])
def test_a_tag_name_must_be_present_and_short(system_actor, name):
    with pytest.raises(InvalidInput) as error:
        TagService.create_tag(actor=system_actor, name=name)

    assert list(error.value.fields) == ["name"]
    assert not Tag.objects.exists()


def test_tag_names_are_unique_whatever_their_case(system_actor):
    TagService.create_tag(actor=system_actor, name="VIP")

    with pytest.raises(Conflict) as error:
        TagService.create_tag(actor=system_actor, name="vip")

    assert error.value.fields == {"name": "Already taken"}
    assert list(Tag.objects.values_list("name", flat=True)) == ["VIP"]


def test_another_tenant_may_use_the_same_tag_name(system_actor, other_tenant):
    TagService.create_tag(actor=system_actor, name="VIP")
    TagService.create_tag(actor=Actor.for_system(other_tenant, "tests"), name="VIP")

    assert Tag.objects.filter(name="VIP").count() == 2


def test_renaming_a_tag_to_a_taken_name_is_a_conflict(system_actor):
    vip = TagService.create_tag(actor=system_actor, name="VIP")
    TagService.create_tag(actor=system_actor, name="Wholesale")

    with pytest.raises(Conflict):
        TagService.update_tag(actor=system_actor, tag_id=vip.uuid, name="WHOLESALE")

    assert Tag.objects.get(pk=vip.pk).name == "VIP"


def test_a_tag_can_change_the_case_of_its_own_name_and_its_colour(system_actor):
    vip = TagService.create_tag(actor=system_actor, name="Vip")

    TagService.update_tag(actor=system_actor, tag_id=vip.uuid, name="VIP", color="#F00")

    stored = Tag.objects.get(pk=vip.pk)
    assert (stored.name, stored.color) == ("VIP", "#ff0000")


def test_add_tags_creates_missing_tags_and_reuses_existing_ones_by_any_case(
    key_actor, customer, system_actor
):
    # given a VIP tag
    vip = TagService.create_tag(actor=system_actor, name="VIP", color="#ffc107")
    actor = key_actor(name="front desk")

    # when the customer is tagged "vip" and "Breeder"
    tags = TagService.add_tags(actor=actor, code=customer.code, names=["vip", "Breeder", "VIP"])

    # then the existing VIP is used, Breeder is created, and who tagged is recorded
    assert [tag.name for tag in tags] == ["VIP", "Breeder"]
    assert tags[0].pk == vip.pk
    assert sorted(Tag.objects.values_list("name", flat=True)) == ["Breeder", "VIP"]
    assert _tag_names(customer) == ["Breeder", "VIP"]
    links = CustomerTag.objects.filter(customer=customer)
    assert {link.added_by for link in links} == {"api_key:front desk"}
    assert {link.tenant_id for link in links} == {customer.tenant_id}


def test_add_tags_is_idempotent(system_actor, customer):
    TagService.add_tags(actor=system_actor, code=customer.code, names=["VIP"])
    first_link = CustomerTag.objects.get()

    TagService.add_tags(actor=system_actor, code=customer.code, names=["VIP", "vip"])

    assert list(CustomerTag.objects.all()) == [first_link]
    assert CustomerTag.objects.get().added_at == first_link.added_at
    assert Tag.objects.count() == 1
    assert TimelineEvent.objects.filter(customer=customer, metadata__kind="tagged").count() == 1


def test_adding_an_inactive_tag_is_rejected_and_nothing_is_added(system_actor, customer):
    TagService.create_tag(actor=system_actor, name="Retired", is_active=False)

    with pytest.raises(InvalidInput) as error:
        TagService.add_tags(actor=system_actor, code=customer.code, names=["retired", "Fresh"])

    assert list(error.value.fields) == ["tags"]
    assert not CustomerTag.objects.exists()
    assert list(Tag.objects.values_list("name", flat=True)) == ["Retired"]


def test_add_tags_without_creating_missing_ones(system_actor, customer):
    with pytest.raises(InvalidInput) as error:
        TagService.add_tags(
            actor=system_actor, code=customer.code, names=["Ghost"], create_missing=False
        )

    assert list(error.value.fields) == ["tags"]
    assert not Tag.objects.exists()


def test_add_tags_needs_a_name(system_actor, customer):
    with pytest.raises(InvalidInput) as error:
        TagService.add_tags(actor=system_actor, code=customer.code, names=[])

    assert error.value.fields == {"tags": "Required"}


def test_tags_with_regex_characters_in_their_names_match_literally(system_actor, customer):
    TagService.create_tag(actor=system_actor, name="A+ (gold)")
    TagService.create_tag(actor=system_actor, name="AA (gold)")

    TagService.add_tags(actor=system_actor, code=customer.code, names=["a+ (GOLD)", "A."])

    assert _tag_names(customer) == ["A+ (gold)", "A."]
    assert Tag.objects.count() == 3


def test_tagging_a_customer_of_another_tenant_is_not_found(customer, other_tenant):
    with pytest.raises(NotFound):
        TagService.add_tags(
            actor=Actor.for_system(other_tenant, "tests"), code=customer.code, names=["VIP"]
        )

    assert not Tag.objects.exists()


def test_remove_tag_takes_it_off_the_customer_but_keeps_the_tag(system_actor, make_customer):
    ada = make_customer(first_name="Ada")
    bola = make_customer(first_name="Bola")
    TagService.add_tags(actor=system_actor, code=ada.code, names=["VIP", "Breeder"])
    TagService.add_tags(actor=system_actor, code=bola.code, names=["VIP"])

    TagService.remove_tag(actor=system_actor, code=ada.code, tag_name="vip")

    assert _tag_names(ada) == ["Breeder"]
    assert _tag_names(bola) == ["VIP"]
    assert sorted(Tag.objects.values_list("name", flat=True)) == ["Breeder", "VIP"]


def test_removing_a_tag_the_customer_does_not_have_is_not_found(system_actor, customer):
    TagService.create_tag(actor=system_actor, name="VIP")

    with pytest.raises(NotFound):
        TagService.remove_tag(actor=system_actor, code=customer.code, tag_name="VIP")

    assert not TimelineEvent.objects.filter(metadata__kind="untagged").exists()


def test_delete_tag_removes_it_from_every_customer(system_actor, make_customer):
    ada = make_customer(first_name="Ada")
    bola = make_customer(first_name="Bola")
    TagService.add_tags(actor=system_actor, code=ada.code, names=["VIP", "Breeder"])
    TagService.add_tags(actor=system_actor, code=bola.code, names=["VIP"])
    vip = Tag.objects.get(name="VIP")

    TagService.delete_tag(actor=system_actor, tag_id=vip.uuid)

    assert not Tag.objects.filter(pk=vip.pk).exists()
    assert _tag_names(ada) == ["Breeder"]
    assert _tag_names(bola) == []
    assert Customer.objects.filter(pk__in=[ada.pk, bola.pk]).count() == 2


def test_deleting_another_tenants_tag_is_not_found(system_actor, other_tenant):
    theirs = TagService.create_tag(actor=Actor.for_system(other_tenant, "tests"), name="VIP")

    with pytest.raises(NotFound):
        TagService.delete_tag(actor=system_actor, tag_id=theirs.uuid)

    assert Tag.objects.filter(pk=theirs.pk).exists()


def test_tag_list_counts_customers(system_actor, make_customer):
    ada = make_customer(first_name="Ada")
    bola = make_customer(first_name="Bola")
    TagService.add_tags(actor=system_actor, code=ada.code, names=["VIP", "Breeder"])
    TagService.add_tags(actor=system_actor, code=bola.code, names=["VIP"])
    TagService.create_tag(actor=system_actor, name="Unused", is_active=False)

    counts = {tag.name: tag.customer_count for tag in selectors.tag_list(tenant=ada.tenant)}
    active = selectors.tag_list(tenant=ada.tenant, is_active=True)

    assert counts == {"Breeder": 1, "Unused": 0, "VIP": 2}
    assert [tag.name for tag in active] == ["Breeder", "VIP"]


# --- notes --------------------------------------------------------------------------------


def test_pinned_notes_come_first_then_the_newest(key_actor, customer):
    actor = key_actor(["admin"])
    contents = [("first", False), ("pinned early", True), ("third", False), ("pinned late", True)]
    for content, is_pinned in contents:
        NoteService.add_note(actor=actor, code=customer.code, content=content, is_pinned=is_pinned)

    notes = selectors.customer_notes(actor=actor, customer=customer)

    assert [note.content for note in notes] == ["pinned late", "pinned early", "third", "first"]


def test_pinning_moves_a_note_to_the_top(key_actor, customer):
    actor = key_actor()
    old = NoteService.add_note(actor=actor, code=customer.code, content="old")
    NoteService.add_note(actor=actor, code=customer.code, content="new")

    NoteService.pin_note(actor=actor, code=customer.code, note_id=old.uuid)

    notes = selectors.customer_notes(actor=actor, customer=customer)
    assert [note.content for note in notes] == ["old", "new"]


def test_a_note_records_its_author(key_actor, customer):
    actor = key_actor(name="front desk")

    note = NoteService.add_note(actor=actor, code=customer.code, content="  Allergic to nuts ")

    stored = Note.objects.get(pk=note.pk)
    assert stored.content == "Allergic to nuts"
    assert stored.author == "api_key:front desk"
    assert stored.author_api_key == actor.api_key
    assert stored.customer == customer
    assert stored.tenant == customer.tenant


@pytest.mark.parametrize("content", ["", "   ", "x" * 10_001])
def test_a_note_needs_content_of_reasonable_length(system_actor, customer, content):
    with pytest.raises(InvalidInput) as error:
        NoteService.add_note(actor=system_actor, code=customer.code, content=content)

    assert list(error.value.fields) == ["content"]
    assert not Note.objects.exists()
    assert not TimelineEvent.objects.filter(event_type="note").exists()


def test_private_notes_show_only_to_their_author_and_to_admins(key_actor, customer):
    # given a private note by one key and a public one by another
    author = key_actor(name="author")
    colleague = key_actor(name="colleague")
    reader = key_actor(["read"], name="reader")
    admin = key_actor(["admin"], name="admin")
    private = NoteService.add_note(
        actor=author, code=customer.code, content="private", is_private=True
    )
    NoteService.add_note(actor=colleague, code=customer.code, content="public")

    def visible_to(actor):
        return [note.content for note in selectors.customer_notes(actor=actor, customer=customer)]

    # then only the author and the admin see the private one
    assert visible_to(author) == ["public", "private"]
    assert visible_to(admin) == ["public", "private"]
    assert visible_to(colleague) == ["public"]
    assert visible_to(reader) == ["public"]
    assert visible_to(Actor.for_system(customer.tenant, "worker")) == ["public"]
    assert NoteService.get_note(actor=author, code=customer.code, note_id=private.uuid) == private
    with pytest.raises(NotFound):
        NoteService.get_note(actor=colleague, code=customer.code, note_id=private.uuid)


def test_a_note_is_not_found_through_another_customer_or_tenant(
    key_actor, make_customer, other_tenant
):
    actor = key_actor(["admin"])
    ada = make_customer(first_name="Ada")
    bola = make_customer(first_name="Bola")
    note = NoteService.add_note(actor=actor, code=ada.code, content="hello")

    with pytest.raises(NotFound):
        NoteService.get_note(actor=actor, code=bola.code, note_id=note.uuid)
    with pytest.raises(NotFound):
        NoteService.get_note(
            actor=Actor.for_system(other_tenant, "tests"), code=ada.code, note_id=note.uuid
        )
    with pytest.raises(NotFound):
        NoteService.get_note(actor=actor, code=ada.code, note_id=uuid.uuid4())


def test_only_the_author_or_an_admin_may_delete_a_note(key_actor, customer):
    author = key_actor(name="author")
    colleague = key_actor(name="colleague")
    admin = key_actor(["admin"], name="admin")
    mine = NoteService.add_note(actor=author, code=customer.code, content="mine")
    other = NoteService.add_note(actor=author, code=customer.code, content="other")

    with pytest.raises(PermissionDenied):
        NoteService.delete_note(actor=colleague, code=customer.code, note_id=mine.uuid)
    assert Note.objects.filter(pk=mine.pk).exists()

    NoteService.delete_note(actor=author, code=customer.code, note_id=mine.uuid)
    NoteService.delete_note(actor=admin, code=customer.code, note_id=other.uuid)
    assert not Note.objects.exists()


def test_someone_elses_private_note_cannot_even_be_found_for_deletion(key_actor, customer):
    author = key_actor(name="author")
    colleague = key_actor(name="colleague")
    note = NoteService.add_note(
        actor=author, code=customer.code, content="private", is_private=True
    )

    with pytest.raises(NotFound):
        NoteService.delete_note(actor=colleague, code=customer.code, note_id=note.uuid)

    assert Note.objects.filter(pk=note.pk).exists()


def test_private_note_content_never_reaches_the_timeline(key_actor, customer):
    actor = key_actor(name="vet")

    note = NoteService.add_note(
        actor=actor, code=customer.code, content="Diagnosis: secret ailment", is_private=True
    )

    event = TimelineEvent.objects.get(customer=customer, event_type="note")
    assert event.title == "Private note added"
    assert event.description == ""
    assert event.reference == f"note:{note.uuid}"
    assert event.metadata == {"kind": "note_added", "note": str(note.uuid), "is_private": True}
    for stored in TimelineEvent.objects.all():
        text = json.dumps([stored.title, stored.description, stored.metadata])
        assert "secret ailment" not in text


def test_a_public_note_is_shown_on_the_timeline(system_actor, customer):
    NoteService.add_note(actor=system_actor, code=customer.code, content="Prefers mornings")

    event = TimelineEvent.objects.get(customer=customer, event_type="note")
    assert (event.title, event.description) == ("Note added", "Prefers mornings")
    assert "content" not in event.metadata


# --- addresses ----------------------------------------------------------------------------


def _defaults(customer):
    return list(
        CustomerAddress.objects.filter(customer=customer, is_default=True).values_list(
            "line1", flat=True
        )
    )


def test_the_first_address_becomes_the_default(system_actor, customer):
    first = AddressService.add_address(
        actor=system_actor, code=customer.code, line1="1 Marina", country="ng"
    )
    second = AddressService.add_address(actor=system_actor, code=customer.code, line1="2 Broad St")

    assert CustomerAddress.objects.get(pk=first.pk).is_default is True
    assert CustomerAddress.objects.get(pk=second.pk).is_default is False
    assert CustomerAddress.objects.get(pk=first.pk).country == "NG"


def test_only_one_address_is_the_default(system_actor, customer):
    AddressService.add_address(actor=system_actor, code=customer.code, line1="1 Marina")
    second = AddressService.add_address(actor=system_actor, code=customer.code, line1="2 Broad")
    AddressService.add_address(
        actor=system_actor, code=customer.code, line1="3 Awolowo", is_default=True
    )
    assert _defaults(customer) == ["3 Awolowo"]

    AddressService.update_address(
        actor=system_actor, code=customer.code, address_id=second.uuid, is_default=True
    )
    assert _defaults(customer) == ["2 Broad"]


def test_deleting_the_default_address_promotes_another(system_actor, customer):
    first = AddressService.add_address(actor=system_actor, code=customer.code, line1="1 Marina")
    AddressService.add_address(actor=system_actor, code=customer.code, line1="2 Broad")
    AddressService.add_address(actor=system_actor, code=customer.code, line1="3 Awolowo")

    AddressService.delete_address(actor=system_actor, code=customer.code, address_id=first.uuid)

    assert _defaults(customer) == ["2 Broad"]
    assert CustomerAddress.objects.filter(customer=customer).count() == 2


def test_deleting_another_address_keeps_the_default(system_actor, customer):
    AddressService.add_address(actor=system_actor, code=customer.code, line1="1 Marina")
    second = AddressService.add_address(actor=system_actor, code=customer.code, line1="2 Broad")

    AddressService.delete_address(actor=system_actor, code=customer.code, address_id=second.uuid)

    assert _defaults(customer) == ["1 Marina"]


def test_deleting_the_last_address_leaves_none(system_actor, customer):
    only = AddressService.add_address(actor=system_actor, code=customer.code, line1="1 Marina")

    AddressService.delete_address(actor=system_actor, code=customer.code, address_id=only.uuid)

    assert not CustomerAddress.objects.exists()


def test_a_bad_address_is_rejected_and_nothing_is_written(system_actor, customer):
    with pytest.raises(InvalidInput) as error:
        AddressService.add_address(
            actor=system_actor, code=customer.code, line1=" ", label="castle", country="XX"
        )

    assert set(error.value.fields) == {"line1", "label", "country"}
    assert not CustomerAddress.objects.exists()


def test_addresses_of_another_tenant_are_out_of_reach(system_actor, customer, other_tenant):
    address = AddressService.add_address(actor=system_actor, code=customer.code, line1="1 Marina")
    stranger = Actor.for_system(other_tenant, "tests")

    with pytest.raises(NotFound):
        AddressService.delete_address(actor=stranger, code=customer.code, address_id=address.uuid)
    with pytest.raises(NotFound):
        AddressService.add_address(actor=stranger, code=customer.code, line1="2 Broad")

    assert list(CustomerAddress.objects.values_list("line1", flat=True)) == ["1 Marina"]


# --- referrals ----------------------------------------------------------------------------


def test_referrals_of_lists_exactly_the_customers_referred(make_customer):
    ada = make_customer(first_name="Ada")
    bola = make_customer(first_name="Bola", referred_by=ada.code)
    chidi = make_customer(first_name="Chidi", referred_by=ada.code)
    make_customer(first_name="Dayo", referred_by=bola.code)
    make_customer(first_name="Efe")

    assert {c.pk for c in selectors.referrals_of(customer=ada)} == {bola.pk, chidi.pk}
    assert [c.first_name for c in selectors.referrals_of(customer=chidi)] == []


def test_top_referrers_counts_referrals_and_ranks_by_count(make_customer, other_tenant):
    # given Ada referred three, Bola one, Chidi none, and a busy referrer in another tenant
    ada = make_customer(first_name="Ada")
    bola = make_customer(first_name="Bola", referred_by=ada.code)
    for name in ("Chidi", "Dayo"):
        make_customer(first_name=name, referred_by=ada.code)
    make_customer(first_name="Efe", referred_by=bola.code)
    stranger = make_customer(tenant=other_tenant, first_name="Zé")
    for name in ("Ana", "Bia", "Caio", "Duda"):
        make_customer(tenant=other_tenant, first_name=name, referred_by=stranger.code)

    # when the tenant's top referrers are read
    top = list(selectors.top_referrers(tenant=ada.tenant))

    # then only this tenant's referrers with at least one referral show, most first
    assert [(c.first_name, c.referral_count) for c in top] == [("Ada", 3), ("Bola", 1)]
    assert [c.first_name for c in selectors.top_referrers(tenant=ada.tenant, limit=1)] == ["Ada"]
