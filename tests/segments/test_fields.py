"""The field registry: every registered field, with every operator it offers, compiles to SQL
the database runs; and the fields of consent, loyalty, pets and orders select the right people.
"""

import pytest
from django.utils import timezone

from rapport.consent.services import ConsentService
from rapport.customers import segment_fields
from rapport.customers.segment_fields import (
    BOOLEAN,
    CHOICE,
    DATE,
    DATETIME,
    DAYS_AGO,
    MONEY,
    NUMBER,
    TAGS,
    TEXT,
)
from rapport.loyalty.models import LoyaltyAccount
from rapport.loyalty.services import LoyaltyService
from rapport.pets.services import PetService
from rapport.segments import conditions as language
from rapport.segments.services import live_customers

pytestmark = pytest.mark.django_db

FIELDS = segment_fields.all_fields()


def sample(definition, operator):
    """A valid value of the field for the operator."""
    low = definition.minimum if definition.minimum is not None else 1
    high = definition.maximum if definition.maximum is not None else 5
    scalars = {
        NUMBER: [low, high],
        MONEY: [100, 1000],
        DAYS_AGO: [1, 60],
        DATE: ["1990-01-01", "2000-01-01"],
        DATETIME: ["2020-01-01T00:00:00Z", "2030-01-01T00:00:00Z"],
        TEXT: ["Ada", "Ben"],
        CHOICE: list(definition.choices[:2]) * (2 if len(definition.choices) == 1 else 1),
        BOOLEAN: [True, False],
        TAGS: ["VIP", "Wholesale"],
    }[definition.type]
    if operator == "is_null":
        return True
    if operator in ("in", "not_in"):
        return scalars
    if operator == "between":
        return scalars if definition.type != BOOLEAN else None
    return scalars[0]


def matching(tenant, conditions) -> set[str]:
    tree = language.normalize(conditions, tenant=tenant)
    customers = live_customers(tenant).filter(language.compile(tree, now=timezone.now()))
    return set(customers.values_list("code", flat=True))


def test_the_registry_holds_the_core_and_every_installed_apps_fields():
    names = {definition.name for definition in FIELDS}

    assert {
        "first_name", "last_name", "email", "has_phone", "gender", "date_of_birth",
        "preferred_language", "source", "acquisition_source", "customer_type", "created_at",
        "days_since_joined", "tags",
        "consent.email", "consent.sms", "consent.whatsapp", "consent.push",
        "loyalty.tier", "loyalty.points_balance", "pets.species", "orders.channel",
        "total_orders", "total_spent_q", "average_ticket_q", "days_since_last_order",
        "days_since_last_visit", "total_visits", "rfm_segment", "rfm_group", "recency_score",
        "frequency_score", "monetary_score", "churn_risk", "predicted_ltv_q", "customer_score",
        "visit_pattern", "no_show_count",
    } <= names  # fmt: skip
    assert {d.app for d in FIELDS} == {
        "customers", "consent", "loyalty", "pets", "commerce", "insights"
    }  # fmt: skip
    for definition in FIELDS:
        assert definition.operators, definition.name
        assert definition.type != CHOICE or definition.choices, definition.name


@pytest.mark.parametrize("definition", FIELDS, ids=lambda definition: definition.name)
def test_every_field_and_operator_compiles_and_runs(tenant, make_customer, definition):
    make_customer(first_name="Ada")

    for operator in definition.operators:
        value = sample(definition, operator)
        condition = {"field": definition.name, "operator": operator, "value": value}
        tree = language.normalize(condition, tenant=tenant)
        live_customers(tenant).filter(language.compile(tree, now=timezone.now())).count()
        negated = language.compile({"not": tree}, now=timezone.now())
        live_customers(tenant).filter(negated).count()


def test_consent_fields_are_opted_in_now(tenant, actor, make_customer):
    make_customer(code="IN")
    make_customer(code="OUT")
    make_customer(code="NEVER")
    ConsentService.grant_consent(actor=actor, code="IN", channel="email")
    ConsentService.grant_consent(actor=actor, code="OUT", channel="email")
    ConsentService.revoke_consent(actor=actor, code="OUT", channel="email")

    yes = {"field": "consent.email", "operator": "eq", "value": True}
    no = {"field": "consent.email", "operator": "eq", "value": False}

    assert matching(tenant, yes) == {"IN"}
    assert matching(tenant, no) == {"OUT", "NEVER"}
    assert matching(tenant, {"field": "consent.sms", "operator": "eq", "value": True}) == set()


def test_loyalty_fields_count_the_unenrolled_as_no_points(tenant, actor, make_customer):
    make_customer(code="RICH")
    make_customer(code="MEMBER")
    make_customer(code="OUTSIDER")
    LoyaltyService.earn_points(actor=actor, code="RICH", reference="r1", points=500)
    LoyaltyService.enroll(actor=actor, code="MEMBER")

    def points(operator, value):
        return matching(
            tenant, {"field": "loyalty.points_balance", "operator": operator, "value": value}
        )

    assert points("gte", 100) == {"RICH"}
    assert points("eq", 0) == {"MEMBER", "OUTSIDER"}
    assert points("lt", 500) == {"MEMBER", "OUTSIDER"}
    assert matching(tenant, {"field": "loyalty.is_enrolled", "operator": "eq", "value": True}) == {
        "RICH",
        "MEMBER",
    }
    tier = LoyaltyAccount.objects.get(customer__code="RICH").tier
    in_tier = set(LoyaltyAccount.objects.filter(tier=tier).values_list("customer__code", flat=True))
    assert tier and "RICH" in in_tier
    tiered = {"field": "loyalty.tier", "operator": "eq", "value": tier.upper()}
    assert matching(tenant, tiered) == in_tier
    assert matching(tenant, {"field": "loyalty.tier", "operator": "is_null"}) == {"OUTSIDER"}


def test_pet_species_are_of_living_pets(tenant, actor, make_customer):
    dog = make_customer(code="DOG")
    cat = make_customer(code="CAT")
    make_customer(code="NONE")
    PetService.add_pet(actor=actor, owner=dog, name="Rex", species="dog")
    old = PetService.add_pet(actor=actor, owner=cat, name="Tom", species="dog")
    PetService.mark_deceased(actor=actor, pet=old, on=timezone.localdate())
    PetService.add_pet(actor=actor, owner=cat, name="Kit", species="cat")

    def pets(operator, value=True):
        return matching(tenant, {"field": "pets.species", "operator": operator, "value": value})

    assert pets("eq", "dog") == {"DOG"}
    assert pets("in", ["dog", "cat"]) == {"DOG", "CAT"}
    assert pets("neq", "dog") == {"CAT", "NONE"}
    assert pets("is_null") == {"NONE"}


def test_order_fields_count_sold_orders_only(tenant, make_customer, make_order):
    shop = make_customer(code="SHOP")
    web = make_customer(code="WEB")
    pending = make_customer(code="PENDING")
    make_order(shop, channel="pos", category="Dog food")
    make_order(web, channel="marketplace")
    make_order(pending, channel="online", status="pending")

    def orders(field, operator, value=True):
        return matching(tenant, {"field": field, "operator": operator, "value": value})

    assert orders("orders.channel", "eq", "pos") == {"SHOP"}
    assert orders("orders.channel", "in", ["online", "marketplace"]) == {"WEB"}
    assert orders("orders.channel", "not_in", ["pos"]) == {"WEB", "PENDING"}
    assert orders("orders.channel", "is_null") == {"PENDING"}
    assert orders("orders.category", "eq", "dog FOOD") == {"SHOP"}
