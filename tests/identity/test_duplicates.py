import pytest

from rapport.customers.models import Customer
from rapport.customers.services import AddressService, ContactPointService
from rapport.exceptions import InvalidInput, NotFound
from rapport.identity import conf
from rapport.identity.services import (
    MERGE_THRESHOLD,
    DuplicateService,
    IdentifierService,
    score_pair,
)
from rapport.tenancy.actors import Actor


@pytest.fixture
def actor(tenant):
    return Actor.for_system(tenant, "tests")


def test_same_phone_and_a_similar_name_are_enough_to_merge(make_customer):
    ada = make_customer(first_name="Ada", last_name="Obi", phone="08031234567")
    ada_again = make_customer(first_name="Ada", last_name="Obie", phone="+2348031234567")

    match = score_pair(ada, ada_again)

    assert match.score >= MERGE_THRESHOLD
    assert match.reasons == [
        "Same phone +2348031234567",
        "Similar names: Ada Obi / Ada Obie (93%)",
    ]


def test_a_shared_phone_with_different_names_is_weak(make_customer):
    ada = make_customer(first_name="Ada", last_name="Obi", phone="08031234567")
    chidi = make_customer(first_name="Chidi", last_name="Okeke", phone="08031234567")

    match = score_pair(ada, chidi)

    assert match.score < 0.5
    assert "Same phone +2348031234567" in match.reasons
    assert match.reasons[-1].startswith("Different names: Ada Obi / Chidi Okeke")


def test_contact_points_identifiers_and_addresses_count(actor, make_customer):
    ada = make_customer(first_name="Ada", last_name="Obi")
    other = make_customer(first_name="Adaeze", last_name="Obi", email="a.obi@example.com")
    ContactPointService.add_contact_point(
        actor=actor, code=ada.code, type="email", value="A.Obi@example.com"
    )
    IdentifierService.add_identifier(actor=actor, code=ada.code, type="telegram", value="@adaobi")
    ContactPointService.add_contact_point(
        actor=actor, code=other.code, type="telegram", value="https://t.me/AdaObi"
    )
    for customer in (ada, other):
        AddressService.add_address(
            actor=actor, code=customer.code, line1="1 Marina", city="Lagos", country="NG"
        )

    match = score_pair(ada, other)

    assert "Same email a.obi@example.com" in match.reasons
    assert "Same telegram adaobi" in match.reasons
    assert "Same address: 1 Marina, Lagos" in match.reasons
    assert match.score >= MERGE_THRESHOLD


def test_nothing_in_common_scores_zero(make_customer):
    match = score_pair(make_customer(first_name="Ada"), make_customer(first_name="Bola"))
    assert (match.score, match.reasons) == (0.0, [])


def test_find_duplicates_finds_the_pairs_best_first_and_leaves_out_merged(make_customer):
    ada = make_customer(first_name="Ada", last_name="Obi", phone="08031234567")
    ada_again = make_customer(first_name="Ada", last_name="Obi", email="ada@example.com")
    ada_phone = make_customer(first_name="Ada", last_name="Obie", phone="08031234567")
    make_customer(first_name="Bola", last_name="Ade")
    merged = make_customer(first_name="Ada", last_name="Obi", phone="08031234567")
    Customer.objects.filter(pk=merged.pk).update(merged_into=ada)

    report = DuplicateService.find_duplicates(tenant=ada.tenant, min_score=0.4, limit=10)

    pairs = [({pair.first.code, pair.second.code}, pair.score) for pair in report.pairs]
    assert pairs[0][0] == {ada.code, ada_phone.code}
    assert {ada.code, ada_again.code} in [codes for codes, _ in pairs]
    assert all(merged.code not in codes for codes, _ in pairs)
    assert [score for _, score in pairs] == sorted((score for _, score in pairs), reverse=True)


def test_an_oversized_block_is_reported_not_compared(make_customer, monkeypatch):
    monkeypatch.setattr(conf, "BLOCK_LIMIT", 3)
    names = ["Ada Obi", "Bola Ade", "Chidi Eze", "Dayo Ola"]
    customers = [
        make_customer(first_name=name.split()[0], last_name=name.split()[1], phone="08030000000")
        for name in names
    ]

    report = DuplicateService.find_duplicates(tenant=customers[0].tenant, min_score=0.1)

    assert [(block.key, block.size) for block in report.oversized] == [("phone +2348030000000", 4)]
    assert report.pairs == []


def test_duplicates_of_a_customer(make_customer):
    ada = make_customer(first_name="Ada", last_name="Obi", email="ada@example.com")
    twin = make_customer(first_name="Ada", last_name="Obi", email="ada@example.com")
    make_customer(first_name="Bola", last_name="Ade")

    report = DuplicateService.duplicates_of(tenant=ada.tenant, code=ada.code)

    assert [(pair.first, pair.second) for pair in report.pairs] == [(ada, twin)]
    assert report.pairs[0].reasons == ["Same email ada@example.com", "Same name: Ada Obi"]


def test_duplicates_of_an_unknown_code_or_bad_bounds(tenant, make_customer):
    with pytest.raises(NotFound):
        DuplicateService.duplicates_of(tenant=tenant, code="NOPE")
    with pytest.raises(InvalidInput) as error:
        DuplicateService.find_duplicates(tenant=tenant, min_score=2, limit=0)
    assert set(error.value.fields) == {"min_score", "limit"}


def test_duplicates_stay_within_their_tenant(make_customer, other_tenant):
    ada = make_customer(first_name="Ada", last_name="Obi", email="ada@example.com")
    make_customer(first_name="Ada", last_name="Obi", email="ada@example.com", tenant=other_tenant)

    assert DuplicateService.find_duplicates(tenant=ada.tenant).pairs == []
    assert DuplicateService.duplicates_of(tenant=ada.tenant, code=ada.code).pairs == []
