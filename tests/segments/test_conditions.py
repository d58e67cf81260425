"""The condition language: each operator and group, the shorthands, the canonical form, and
bad input named by its path."""

import datetime as dt

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rapport.customers import segment_fields
from rapport.customers.services import TagService
from rapport.exceptions import InvalidInput
from rapport.pets.services import PetService
from rapport.segments import conditions as language
from rapport.segments.models import Segment
from rapport.segments.services import live_customers

pytestmark = pytest.mark.django_db


def matching(tenant, conditions) -> set[str]:
    tree = language.normalize(conditions, tenant=tenant)
    customers = live_customers(tenant).filter(language.compile(tree, now=timezone.now()))
    return set(customers.values_list("code", flat=True))


def leaf(field, operator, value=True):
    return {"field": field, "operator": operator, "value": value}


@pytest.fixture
def people(actor, make_customer, make_insight):
    """ADA: 5 orders, ₦2,000 spent, last 10 days ago, VIP; BEN: 1 order 100 days ago,
    Wholesale; CHI: never recalculated, no tags, an email."""
    ada = make_customer(
        code="ADA", first_name="Ada", gender="female", date_of_birth=dt.date(1990, 4, 2)
    )
    ben = make_customer(code="BEN", first_name="Ben", gender="male")
    make_customer(code="CHI", first_name="Chi", email="chi@example.com")
    TagService.add_tags(actor=actor, code="ADA", names=["VIP"])
    TagService.add_tags(actor=actor, code="BEN", names=["Wholesale"])
    make_insight(
        ada, total_orders=5, total_spent_q=200_000, last_order_days=10, total_visits=3,
        last_visit_days=5,
    )  # fmt: skip
    make_insight(ben, total_orders=1, total_spent_q=5_000, last_order_days=100, last_visit_days=95)


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        ("eq", 5, {"ADA"}),
        ("neq", 5, {"BEN", "CHI"}),  # CHI has no insight yet: no orders
        ("gt", 1, {"ADA"}),
        ("gte", 1, {"ADA", "BEN"}),
        ("lt", 1, {"CHI"}),
        ("lte", 1, {"BEN", "CHI"}),
        ("between", [1, 5], {"ADA", "BEN"}),
        ("in", [1, 0], {"BEN", "CHI"}),
        ("not_in", [5], {"BEN", "CHI"}),
    ],
)
def test_each_ordered_operator_on_a_count(tenant, people, operator, value, expected):
    assert matching(tenant, leaf("total_orders", operator, value)) == expected


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        ("lte", 30, {"ADA"}),
        ("gte", 90, {"BEN"}),
        ("eq", 10, {"ADA"}),
        ("gt", 10, {"BEN"}),
        ("lt", 10, set()),
        ("between", [5, 15], {"ADA"}),
        ("is_null", True, {"CHI"}),
        ("is_null", False, {"ADA", "BEN"}),
    ],
)
def test_days_since_count_back_from_now(tenant, people, operator, value, expected):
    assert matching(tenant, leaf("days_since_last_order", operator, value)) == expected


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (leaf("first_name", "eq", "ADA"), {"ADA"}),
        (leaf("first_name", "neq", "ada"), {"BEN", "CHI"}),
        (leaf("first_name", "contains", "e"), {"BEN"}),
        (leaf("first_name", "in", ["ada", "Chi"]), {"ADA", "CHI"}),
        (leaf("first_name", "not_in", ["ada"]), {"BEN", "CHI"}),
        (leaf("email", "is_null", True), {"ADA", "BEN"}),
        (leaf("has_email", "eq", True), {"CHI"}),
        (leaf("has_email", "neq", True), {"ADA", "BEN"}),
        (leaf("gender", "in", ["FEMALE", "male"]), {"ADA", "BEN"}),
        (leaf("gender", "is_null", True), {"CHI"}),
        (leaf("date_of_birth", "lt", "1991-01-01"), {"ADA"}),
        (leaf("date_of_birth", "is_null", True), {"BEN", "CHI"}),
        (leaf("birth_month", "eq", 4), {"ADA"}),
        (leaf("tags", "contains", "vip"), {"ADA"}),
        (leaf("tags", "in", ["VIP", "wholesale"]), {"ADA", "BEN"}),
        (leaf("tags", "not_in", ["VIP"]), {"BEN", "CHI"}),
        (leaf("tags", "is_null", True), {"CHI"}),
        (leaf("days_since_joined", "lte", 0), {"ADA", "BEN", "CHI"}),
        (leaf("created_at", "gte", "2000-01-01T00:00:00Z"), {"ADA", "BEN", "CHI"}),
    ],
)
def test_text_choice_date_boolean_and_tag_operators(tenant, people, condition, expected):
    assert matching(tenant, condition) == expected


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        ({"all": [leaf("total_orders", "gte", 1), leaf("tags", "contains", "VIP")]}, {"ADA"}),
        ({"any": [leaf("tags", "contains", "VIP"), leaf("has_email", "eq")]}, {"ADA", "CHI"}),
        ({"not": leaf("tags", "contains", "VIP")}, {"BEN", "CHI"}),
        ({"not": {"any": [leaf("first_name", "eq", "Ada"), leaf("first_name", "eq", "Ben")]}},
         {"CHI"}),
        ({"all": []}, {"ADA", "BEN", "CHI"}),
        ({"any": []}, set()),
        ({"not": {"all": []}}, set()),
        ([leaf("total_orders", "gte", 1), leaf("total_orders", "lte", 1)], {"BEN"}),
        ({"any": [{"all": [leaf("tags", "contains", "VIP")]}, {"not": leaf("has_email", "eq")}]},
         {"ADA", "BEN"}),
    ],
)  # fmt: skip
def test_groups_nest(tenant, people, conditions, expected):
    assert matching(tenant, conditions) == expected


def test_the_canonical_form_is_a_group_with_checked_values(tenant):
    tree = language.normalize(
        {"field": "gender", "operator": "in", "value": ["FEMALE", " female "]}, tenant=tenant
    )

    assert tree == {"all": [{"field": "gender", "operator": "in", "value": ["female"]}]}
    assert language.normalize(tree, tenant=tenant) == tree
    assert language.normalize(
        [leaf("date_of_birth", "between", ["1990-01-01", "1999-12-31"])], tenant=tenant
    ) == {"all": [leaf("date_of_birth", "between", ["1990-01-01", "1999-12-31"])]}
    assert language.normalize({"field": "email", "operator": "is_null"}, tenant=tenant) == {
        "all": [leaf("email", "is_null", True)]
    }


# --- shorthands --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shorthand", "canonical"),
    [
        ({"min_spent": 1000}, [leaf("total_spent_q", "gte", 100_000)]),  # ₦1,000 in kobo
        ({"min_spent": "12.345"}, [leaf("total_spent_q", "gte", 1235)]),
        ({"min_visits": 2}, [leaf("total_visits", "gte", 2)]),
        ({"max_days_since_visit": 30}, [leaf("days_since_last_visit", "lte", 30)]),
        ({"days_since_visit": 90}, [leaf("days_since_last_visit", "gte", 90)]),
        (
            {"tags_include": ["VIP", "Dog owner"]},
            [leaf("tags", "contains", "VIP"), leaf("tags", "contains", "Dog owner")],
        ),
        ({"tags": ["VIP"]}, [leaf("tags", "contains", "VIP")]),
        ({"tags_exclude": ["Inactive"]}, [leaf("tags", "not_in", ["Inactive"])]),
        ({"has_pets_species": ["dog", "CAT"]}, [leaf("pets.species", "in", ["dog", "cat"])]),
        ({"pet_species": "dog"}, [leaf("pets.species", "in", ["dog"])]),
    ],
)
def test_each_shorthand_translates_to_conditions(tenant, shorthand, canonical):
    assert language.normalize(shorthand, tenant=tenant) == {"all": canonical}


def test_min_spent_is_read_in_the_tenants_currency(other_tenant, tenant):
    # BRL has two decimals, like NGN; the amount is the tenant's own, not converted.
    assert language.normalize({"min_spent": 10.5}, tenant=other_tenant) == {
        "all": [leaf("total_spent_q", "gte", 1050)]
    }
    tenant.currency = "JPY"  # no minor unit
    assert language.normalize({"min_spent": 1000}, tenant=tenant) == {
        "all": [leaf("total_spent_q", "gte", 1000)]
    }


def test_shorthands_select_like_the_seeds_get_segment_customers(
    tenant, actor, people, make_customer
):
    dog_owner = make_customer(code="DOG", first_name="Dayo")
    PetService.add_pet(actor=actor, owner=dog_owner, name="Rex", species="dog")

    assert matching(tenant, {"min_spent": 1000, "tags_include": ["VIP"]}) == {"ADA"}
    assert matching(tenant, {"tags_exclude": ["VIP", "Wholesale"]}) == {"CHI", "DOG"}
    assert matching(tenant, {"max_days_since_visit": 30}) == {"ADA"}
    assert matching(tenant, {"days_since_visit": 90}) == {"BEN"}
    assert matching(tenant, {"min_visits": 1}) == {"ADA"}
    assert matching(tenant, {"pet_species": "dog"}) == {"DOG"}
    assert matching(tenant, {"any": [{"pet_species": "dog"}, {"tags": ["VIP"]}]}) == {
        "ADA",
        "DOG",
    }


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("conditions", "path"),
    [
        ({"all": [leaf("total_orders", "gte", 3), leaf("total_orders", "gte", "x")]},
         "conditions.all.1.value"),
        (leaf("nope", "eq", 1), "conditions.field"),
        ({"operator": "eq", "value": 1}, "conditions.field"),
        (leaf("total_orders", "contains", 1), "conditions.operator"),
        (leaf("total_orders", "between", [3]), "conditions.value"),
        (leaf("total_orders", "between", [5, 1]), "conditions.value"),
        (leaf("total_orders", "gte", 2.5), "conditions.value"),
        (leaf("total_orders", "gte", True), "conditions.value"),
        (leaf("total_orders", "in", []), "conditions.value"),
        (leaf("total_orders", "eq", [1, 2]), "conditions.value"),
        (leaf("total_spent_q", "gte", 10**20), "conditions.value"),
        ({"field": "total_orders", "operator": "eq"}, "conditions.value"),
        (leaf("gender", "eq", "robot"), "conditions.value"),
        (leaf("date_of_birth", "eq", "2025-13-01"), "conditions.value"),
        (leaf("created_at", "gt", "yesterday"), "conditions.value"),
        (leaf("days_since_joined", "lte", -1), "conditions.value"),
        (leaf("birth_month", "eq", 13), "conditions.value"),
        (leaf("first_name", "eq", "a\x00b"), "conditions.value"),
        (leaf("has_email", "eq", "yes"), "conditions.value"),
        ({"any": [{"not": {"all": [leaf("tags", "contains", "")]}}]},
         "conditions.any.0.not.all.0.value"),
        ({"field": "total_orders", "operator": "eq", "value": 1, "extra": 1}, "conditions.extra"),
        ({"any": "x"}, "conditions.any"),
        ({"all": [], "any": []}, "conditions"),
        ({"not": [leaf("tags", "contains", "VIP")]}, "conditions.not"),
        ({"min_spent": "abc"}, "conditions.min_spent"),
        ({"min_spent": -1}, "conditions.min_spent"),
        ({"pet_species": "dragon"}, "conditions.pet_species"),
        ({"tags_include": "VIP", "min_visits": "many"}, "conditions.min_visits"),
        ({"foo": 1}, "conditions.foo"),
        ({}, "conditions"),
        ("everyone", "conditions"),
        (None, "conditions"),
        ([leaf("tags", "contains", "VIP"), 3], "conditions.all.1"),
    ],
)  # fmt: skip
def test_bad_conditions_name_the_path_of_the_problem(tenant, conditions, path):
    with pytest.raises(InvalidInput) as raised:
        language.normalize(conditions, tenant=tenant)

    assert path in raised.value.fields, raised.value.fields


def test_too_deep_or_too_many_conditions_are_refused(tenant):
    deep = leaf("tags", "contains", "VIP")
    for _ in range(12):
        deep = {"not": deep}
    many = {"any": [leaf("total_orders", "eq", n) for n in range(101)]}

    with pytest.raises(InvalidInput) as too_deep:
        language.normalize(deep, tenant=tenant)
    with pytest.raises(InvalidInput) as too_many:
        language.normalize(many, tenant=tenant)

    assert any("too deep" in message for message in too_deep.value.fields.values())
    assert too_many.value.fields == {"conditions.any": "At most 100 conditions"}


def test_compiling_writes_and_reads_nothing(tenant, django_assert_num_queries):
    tree = language.normalize(
        {"all": [leaf("tags", "contains", "VIP"), leaf("pets.species", "eq", "dog"),
                 leaf("consent.email", "eq"), leaf("loyalty.tier", "eq", "Gold"),
                 leaf("orders.channel", "in", ["online"]), leaf("total_spent_q", "gt", 1)]},
        tenant=tenant,
    )  # fmt: skip

    with django_assert_num_queries(0):
        condition = language.compile(tree, now=timezone.now())
    with django_assert_num_queries(1):
        live_customers(tenant).filter(condition).count()


def test_describe_reads_as_a_sentence():
    tree = {
        "all": [
            leaf("total_orders", "gte", 3),
            {"any": [leaf("tags", "contains", "VIP"), leaf("gender", "in", ["female"])]},
            {"not": leaf("email", "is_null", True)},
        ]
    }

    assert language.describe(tree) == (
        "total_orders ≥ 3 and (tags contains VIP or gender in [female]) and not (email is empty)"
    )


def test_tenants_from_before_the_app_got_the_defaults_from_its_migration(tenant):
    keys = set(Segment.objects.filter(tenant=tenant, is_default=True).values_list("key", flat=True))

    assert len(keys) == 8 and "vip-customers" in keys


NAMES = [definition.name for definition in segment_fields.all_fields()] + ["nope", ""]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["2025-01-31", "2025-01-31T09:30:00Z", "dog", "pos", "VIP", "female"]),
)
JSON = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.sampled_from(["all", "any", "not", "field", "operator", "value", "min_spent",
                             "tags", "pet_species", "x"]),
            children,
            max_size=3,
        ),
        st.fixed_dictionaries(
            {"field": st.sampled_from(NAMES),
             "operator": st.sampled_from([*segment_fields.OPERATORS, "like"]),
             "value": st.one_of(SCALARS, st.lists(SCALARS, min_size=1, max_size=2))}
        ),
    ),
    max_leaves=12,
)  # fmt: skip


@pytest.mark.django_db
@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(conditions=JSON)
def test_any_json_is_either_refused_naming_a_path_or_runs(tenant, conditions):
    try:
        tree = language.normalize(conditions, tenant=tenant)
    except InvalidInput as error:
        assert error.fields and all(path.startswith("conditions") for path in error.fields)
        return
    assert language.normalize(tree, tenant=tenant) == tree
    live_customers(tenant).filter(language.compile(tree, now=timezone.now())).count()
