import pytest

from rapport.customers import personal_data
from rapport.customers.models import Customer
from rapport.customers.personal_data import Erasure
from rapport.identity.models import CustomerIdentifier
from rapport.identity.personal_data import IdentityData
from rapport.identity.services import IdentifierService
from rapport.tenancy.actors import Actor


@pytest.fixture
def actor(tenant):
    return Actor.for_system(tenant, "tests")


def add(actor, customer, type, value, **options):
    return IdentifierService.add_identifier(
        actor=actor, code=customer.code, type=type, value=value, **options
    )


def test_the_handler_is_registered_for_every_part():
    for method in ("export", "erase", "plan_merge", "merge", "blockers_to_undo", "undo_merge"):
        assert any(isinstance(h, IdentityData) for h in personal_data.handlers(method))


def test_export_lists_the_identifiers(actor, make_customer):
    ada = make_customer(first_name="Ada")
    add(actor, ada, "instagram", "@ada", source="import")

    exported = IdentityData().export(ada)

    assert [
        (row["type"], row["value"], row["is_primary"], row["source"])
        for row in exported["identifiers"]
    ] == [("instagram", "ada", True, "import")]


def test_erase_leaves_no_value_that_finds_the_customer(actor, make_customer):
    ada = make_customer(first_name="Ada")
    add(actor, ada, "whatsapp", "08031234567")
    add(actor, ada, "telegram", "@ada_obi")

    assert IdentityData().erase(ada, Erasure(actor=actor, originals=["Ada"])) == 2

    for type, value in (("whatsapp", "08031234567"), ("telegram", "ada_obi")):
        assert (
            IdentifierService.find_by_identifier(tenant=actor.tenant, type=type, value=value)
            is None
        )


def test_merge_moves_identifiers_and_the_survivor_keeps_its_primary(actor, make_customer):
    survivor, duplicate = make_customer(first_name="Ada"), make_customer(first_name="Ada")
    kept = add(actor, survivor, "phone", "08031110000")
    moved_phone = add(actor, duplicate, "phone", "08031110001")
    moved_email = add(actor, duplicate, "email", "ada@example.com")
    handler = IdentityData()

    plan = handler.plan_merge(duplicate, survivor)
    journal = handler.merge(duplicate, survivor, actor)

    assert sorted((step.what, step.action, step.detail["is_primary"]) for step in plan) == [
        ("email ada@example.com", "move", True),
        ("phone +2348031110001", "move", False),
    ]
    rows = CustomerIdentifier.objects.filter(customer=survivor)
    assert sorted(rows.values_list("value", "is_primary")) == [
        ("+2348031110000", True),
        ("+2348031110001", False),
        ("ada@example.com", True),
    ]
    assert handler.blockers_to_undo(duplicate, survivor, journal) == []

    handler.undo_merge(duplicate, survivor, journal, actor)

    for identifier, owner, is_primary in (
        (kept, survivor, True),
        (moved_phone, duplicate, True),
        (moved_email, duplicate, True),
    ):
        identifier.refresh_from_db()
        assert (identifier.customer_id, identifier.is_primary) == (owner.pk, is_primary)


def test_undo_is_blocked_once_a_moved_identifier_was_removed(actor, make_customer):
    survivor, duplicate = make_customer(first_name="Ada"), make_customer(first_name="Ada")
    moved = add(actor, duplicate, "instagram", "@ada")
    handler = IdentityData()
    journal = handler.merge(duplicate, survivor, actor)
    Customer.objects.filter(pk=duplicate.pk).update(merged_into=survivor)

    IdentifierService.remove_identifier(actor=actor, code=survivor.code, identifier_id=moved.uuid)

    assert handler.blockers_to_undo(duplicate, survivor, journal) == [
        "The instagram identifier ada moved in the merge was removed since"
    ]
