"""The fields segment conditions can test, and how each becomes a condition on Customer.

The core cannot import the apps built on it, yet a segment may ask about consent, loyalty,
pets, orders or insights. So each app registers its fields here in its `AppConfig.ready()`,
and the segments app compiles conditions through the registry:

    segment_fields.register(SegmentField("pets.species", CHOICE, "Species of a pet", ...))

A field's `compile(operator, value, now)` returns a `Q` over Customer: a lookup on a column,
or an `Exists` over a related table, never a query of its own. The value it gets is already
checked and converted by the segments app (a number, a date, a list for `in`, a `(low, high)`
pair for `between`, a bool for `is_null`), and `now` is the moment the whole segment is
evaluated at, so "days since" fields agree with each other within one query.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import reduce
from operator import or_
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from rapport.customers.models import ContactMethod, CustomerTag, Gender

# Field types: what a value looks like and which operators make sense.
NUMBER = "number"  # a count, a score, a rate
MONEY = "money"  # integer minor units of the tenant's currency (fields ending in _q)
TEXT = "text"  # compared in any case
CHOICE = "choice"  # one of `choices`
DATE = "date"  # YYYY-MM-DD
DATETIME = "datetime"  # ISO 8601, compared in UTC
BOOLEAN = "boolean"
TAGS = "tags"  # tag names, in any case
DAYS_AGO = "days_ago"  # whole days since a moment, counted back from now
TYPES = (NUMBER, MONEY, TEXT, CHOICE, DATE, DATETIME, BOOLEAN, TAGS, DAYS_AGO)

OPERATORS = {
    "eq": "equals",
    "neq": "has a value, and not this one",
    "gt": "greater than",
    "gte": "greater than or equal to",
    "lt": "less than",
    "lte": "less than or equal to",
    "between": "[low, high], both ends included",
    "in": "any of a list",
    "not_in": "none of a list",
    "contains": "text: contains, in any case; tags: has this tag",
    "is_null": "true: has no value (never, none, empty); false: has one",
}
_ORDERED = ("eq", "neq", "gt", "gte", "lt", "lte", "between")
DEFAULT_OPERATORS = {
    NUMBER: (*_ORDERED, "in", "not_in"),
    MONEY: (*_ORDERED, "in", "not_in"),
    DAYS_AGO: ("eq", "gt", "gte", "lt", "lte", "between"),
    DATE: _ORDERED,
    DATETIME: ("gt", "gte", "lt", "lte", "between"),
    TEXT: ("eq", "neq", "in", "not_in", "contains"),
    CHOICE: ("eq", "neq", "in", "not_in"),
    BOOLEAN: ("eq", "neq"),
    TAGS: ("contains", "in", "not_in"),
}

# operator, checked value, the moment of evaluation -> a condition on Customer
Compiler = Callable[[str, Any, dt.datetime], Q]
NOTHING = Q(pk__in=[])


@dataclass(frozen=True)
class SegmentField:
    """One field a condition can name: `{"field": name, "operator": …, "value": …}`."""

    name: str  # "total_spent_q", "consent.email", "pets.species"
    type: str  # one of TYPES
    label: str
    compile: Compiler = field(repr=False, compare=False)
    operators: tuple[str, ...] = ()  # empty: the type's defaults (and is_null when nullable)
    choices: tuple[str, ...] = ()  # the closed list of a CHOICE field
    nullable: bool = False  # some customers have no value: is_null is offered
    integer: bool = False  # a NUMBER that only holds whole numbers
    minimum: float | None = None  # values outside are refused (a month is 1 to 12)
    maximum: float | None = None
    app: str = "customers"  # the app that registered it
    description: str = ""

    def __post_init__(self) -> None:
        if self.type not in TYPES:
            raise ValueError(f"{self.name}: unknown field type {self.type!r}")
        if not self.operators:
            operators = DEFAULT_OPERATORS[self.type]
            if self.nullable:
                operators = (*operators, "is_null")
            object.__setattr__(self, "operators", operators)
        unknown = set(self.operators) - set(OPERATORS)
        if unknown:
            raise ValueError(f"{self.name}: unknown operators {sorted(unknown)}")


_fields: dict[str, SegmentField] = {}


def register(*fields: SegmentField) -> None:
    """Add fields (a name registered again is replaced), in the order apps became ready."""
    for item in fields:
        _fields[item.name] = item


def get(name: str) -> SegmentField | None:
    return _fields.get(name)


def all_fields() -> list[SegmentField]:
    """Every registered field, the core's first, then each app's in the order it registered."""
    return list(_fields.values())


# --- compilers ----------------------------------------------------------------------------------


def _holds(stored: Any, operator: str, value: Any, text: bool) -> bool:
    """Whether `stored` meets the condition, in Python: for customers without the row at all."""
    if text and isinstance(stored, str):
        stored = stored.casefold()
        value = [v.casefold() for v in value] if isinstance(value, list) else value
        value = value.casefold() if isinstance(value, str) else value
    if operator == "is_null":
        return (stored in (None, "")) == value
    if stored is None:
        return False
    checks = {
        "eq": lambda: stored == value,
        "neq": lambda: stored != value,
        "gt": lambda: stored > value,
        "gte": lambda: stored >= value,
        "lt": lambda: stored < value,
        "lte": lambda: stored <= value,
        "between": lambda: value[0] <= stored <= value[1],
        "in": lambda: stored in value,
        "not_in": lambda: stored not in value,
        "contains": lambda: isinstance(stored, str) and value in stored,
    }
    return checks[operator]()


def _any_of(lookup: str, values: list, text: bool) -> Q:
    if not text:
        return Q(**{f"{lookup}__in": values})
    return reduce(or_, (Q(**{f"{lookup}__iexact": value}) for value in values))


def lookup_condition(
    lookup: str, operator: str, value: Any, *, text: bool = False, blank: bool = False
) -> Q:
    """The condition on one column (or a column across a one-to-one): `neq` and `not_in` need
    a value, so customers without one never match them. `text` compares in any case; with
    `blank` (and `text`), `is_null` takes an empty string as no value."""
    present = Q(**{f"{lookup}__isnull": False})
    equal = "iexact" if text else "exact"
    if operator == "eq":
        return Q(**{f"{lookup}__{equal}": value})
    if operator == "neq":
        return present & ~Q(**{f"{lookup}__{equal}": value})
    if operator in ("gt", "gte", "lt", "lte"):
        return Q(**{f"{lookup}__{operator}": value})
    if operator == "between":
        return Q(**{f"{lookup}__gte": value[0], f"{lookup}__lte": value[1]})
    if operator == "in":
        return _any_of(lookup, value, text)
    if operator == "not_in":
        return present & ~_any_of(lookup, value, text)
    if operator == "contains":
        return Q(**{f"{lookup}__icontains": value})
    if operator == "is_null":
        empty = Q(**{f"{lookup}__isnull": True})
        if text or blank:
            empty |= Q(**{lookup: ""})
        return empty if value else ~empty
    raise ValueError(f"Unknown operator {operator!r}")


def column(
    lookup: str,
    *,
    text: bool = False,
    blank: bool = False,
    missing: str = "",
    default: Any = None,
) -> Compiler:
    """A compiler for a column of Customer, or of a row one-to-one with it (`insight__…`).

    `text` compares in any case; `blank`: an empty string is no value (choices left blank).
    `missing` names the lookup that is true when that row does not exist (`insight__isnull`);
    such a customer counts as holding `default` (no insight yet: no orders, nothing spent).
    """

    def compile(operator: str, value: Any, now: dt.datetime) -> Q:
        condition = lookup_condition(lookup, operator, value, text=text, blank=blank)
        if missing and _holds(default, operator, value, text):
            condition |= Q(**{missing: True})
        return condition

    return compile


def days_since(lookup: str) -> Compiler:
    """A compiler for whole days between a moment and now: 0 for the last 24 hours.

    Days are 24-hour periods counted back from now. A customer with no such moment (never
    ordered) matches only `is_null`.
    """

    def at_least(days: int, now: dt.datetime) -> Q:  # the moment is `days` or more days ago
        return Q(**{f"{lookup}__lte": now - dt.timedelta(days=days)})

    def at_most(days: int, now: dt.datetime) -> Q:  # fewer than days + 1 days ago
        if days < 0:
            return NOTHING
        return Q(**{f"{lookup}__gt": now - dt.timedelta(days=days + 1)})

    def compile(operator: str, value: Any, now: dt.datetime) -> Q:
        if operator == "is_null":
            return lookup_condition(lookup, operator, value)
        if operator == "gte":
            return at_least(value, now)
        if operator == "gt":
            return at_least(value + 1, now)
        if operator == "lte":
            return at_most(value, now)
        if operator == "lt":
            return at_most(value - 1, now)
        if operator == "eq":
            return at_least(value, now) & at_most(value, now)
        if operator == "neq":
            return Q(**{f"{lookup}__isnull": False}) & ~(at_least(value, now) & at_most(value, now))
        if operator == "between":
            return at_least(value[0], now) & at_most(value[1], now)
        raise ValueError(f"Unknown operator {operator!r}")

    return compile


def related(rows: Callable[[list | None], QuerySet]) -> Compiler:
    """A compiler for "has a related row with any of these values" (a tag, a pet's species).

    `rows(values)` is the related rows of the customer `OuterRef("pk")` holding any of the
    values (all of them for None). `eq`, `in` and `contains` ask for at least one such row;
    `neq` and `not_in` for none; `is_null` true for no related row at all.
    """

    def compile(operator: str, value: Any, now: dt.datetime) -> Q:
        if operator == "is_null":
            found = Exists(rows(None))
            return ~Q(found) if value else Q(found)
        values = value if isinstance(value, list) else [value]
        found = Exists(rows(values))
        if operator in ("eq", "in", "contains"):
            return Q(found)
        if operator in ("neq", "not_in"):
            return ~Q(found)
        raise ValueError(f"Unknown operator {operator!r}")

    return compile


def exists(rows: Callable[[], QuerySet]) -> Compiler:
    """A compiler for a yes/no field that is true when `rows()` (of `OuterRef("pk")`) exist."""

    def compile(operator: str, value: Any, now: dt.datetime) -> Q:
        found = Q(Exists(rows()))
        wanted = value if operator == "eq" else not value
        return found if wanted else ~found

    return compile


def flag(condition: Q) -> Compiler:
    """A compiler for a yes/no field that is a condition on Customer's own columns."""

    def compile(operator: str, value: Any, now: dt.datetime) -> Q:
        wanted = value if operator == "eq" else not value
        return condition if wanted else ~condition

    return compile


# --- the core's own fields ----------------------------------------------------------------------


def _tags(values: list | None) -> QuerySet:
    links = CustomerTag.objects.filter(customer=OuterRef("pk"))
    if values is None:
        return links
    return links.filter(reduce(or_, (Q(tag__name__iexact=value) for value in values)))


def _text(name: str, label: str, description: str = "") -> SegmentField:
    return SegmentField(
        name, TEXT, label, column(name, text=True), nullable=True, description=description
    )


PROFILE_FIELDS = (
    _text("first_name", "First name"),
    _text("last_name", "Last name"),
    _text("email", "Email address"),
    SegmentField("has_email", BOOLEAN, "Has an email address", flag(~Q(email=""))),
    _text("phone", "Phone number", "E.164 as stored, such as +234…; `contains` finds part of it"),
    SegmentField("has_phone", BOOLEAN, "Has a phone number", flag(~Q(phone=""))),
    SegmentField(
        "gender",
        CHOICE,
        "Gender",
        column("gender", blank=True),
        choices=tuple(value for value in Gender.values if value),
        nullable=True,
    ),
    SegmentField("date_of_birth", DATE, "Date of birth", column("date_of_birth"), nullable=True),
    SegmentField(
        "birth_month",
        NUMBER,
        "Month of birth, 1 to 12",
        column("date_of_birth__month"),
        nullable=True,
        integer=True,
        minimum=1,
        maximum=12,
        description="For birthday campaigns: the month of date_of_birth",
    ),
    _text("preferred_language", "Preferred language", "A language tag: en, pt-BR, yo"),
    SegmentField(
        "preferred_contact_method",
        CHOICE,
        "Preferred contact method",
        column("preferred_contact_method", blank=True),
        choices=tuple(value for value in ContactMethod.values if value),
        nullable=True,
    ),
    _text("source", "Source", "The channel they joined through: pos, online, …"),
    _text("acquisition_source", "Acquisition source", "Google, Instagram, a flyer…"),
    _text("customer_type", "Customer type", "A free label: regular, vip, business…"),
    SegmentField("created_at", DATETIME, "Joined at", column("created_at")),
    SegmentField(
        "days_since_joined",
        DAYS_AGO,
        "Days since joined",
        days_since("created_at"),
        description="Whole days since the customer was created, counted back from now",
    ),
    SegmentField(
        "tags",
        TAGS,
        "Tags",
        related(_tags),
        operators=("contains", "in", "not_in", "is_null"),
        description="contains: has the tag; in: any of them; not_in: none of them; "
        "is_null: no tags at all",
    ),
)
