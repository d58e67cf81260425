"""The condition language of dynamic segments: checking it, its shorthands, compiling it.

A condition is `{"field", "operator", "value"}`; groups nest them: `{"all": [...]}`,
`{"any": [...]}`, `{"not": {...}}`. A list at the top is read as `all`. The criteria of seeds
001 and 002 (`min_spent`, `tags_include`, `pet_species`, …) are accepted as shorthand, a dict of
those keys, and translated. `normalize` checks a tree and returns its canonical form (what a
segment stores); `compile` turns a canonical tree into one `Q` over Customer.
"""

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from functools import reduce
from operator import and_, or_
from typing import Any

from django.db.models import Q

from rapport.commerce.money import EXPONENTS
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
    SegmentField,
)
from rapport.exceptions import InvalidInput
from rapport.pagination import utc_datetime
from rapport.segments import conf
from rapport.tenancy.models import Tenant

GROUPS = ("all", "any", "not")
LEAF_KEYS = ("field", "operator", "value")
LIST_OPERATORS = ("in", "not_in")
EVERYONE = Q(pk__isnull=False)  # a real condition, so that its negation is nobody
NOBODY = Q(pk__in=[])
ROOT = "conditions"
FIELDS_HINT = "GET /api/v1/segments/fields lists them"


class _Bad(ValueError):
    """A value that breaks its field's rules; the message says how."""


# --- values ------------------------------------------------------------------------------------


def _number(definition: SegmentField, value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Bad("A number")
    if isinstance(value, float) and not math.isfinite(value):
        raise _Bad("A finite number")
    if abs(value) > conf.MAX_NUMBER:
        raise _Bad(f"At most {conf.MAX_NUMBER:.0e} either side of zero")
    if definition.type == MONEY or definition.integer:
        if isinstance(value, float) and not value.is_integer():
            what = "minor units (cents, kobo)" if definition.type == MONEY else "a count"
            raise _Bad(f"A whole number: {what}")
        value = int(value)
    if definition.minimum is not None and value < definition.minimum:
        raise _Bad(f"At least {definition.minimum:g}")
    if definition.maximum is not None and value > definition.maximum:
        raise _Bad(f"At most {definition.maximum:g}")
    return value


def _days(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Bad("A whole number of days")
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        raise _Bad("A whole number of days")
    if not 0 <= value <= conf.MAX_DAYS:
        raise _Bad(f"From 0 to {conf.MAX_DAYS:,} days")
    return int(value)


def _text(value: Any, limit: int = conf.MAX_TEXT) -> str:
    if not isinstance(value, str) or "\x00" in value:
        raise _Bad("Text")
    value = value.strip()
    if not value:
        raise _Bad("Not empty: use is_null for customers with no value")
    if len(value) > limit:
        raise _Bad(f"At most {limit} characters")
    return value


def _choice(definition: SegmentField, value: Any) -> str:
    if not isinstance(value, str) or value.strip().lower() not in definition.choices:
        raise _Bad(f"One of {', '.join(definition.choices)}")
    return value.strip().lower()


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    wrong = _Bad("A date, YYYY-MM-DD")
    if not isinstance(value, str) or len(value) != 10:
        raise wrong
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise wrong from None


def _datetime(value: Any) -> dt.datetime:
    wrong = _Bad("An ISO 8601 time, such as 2025-01-31T09:30:00Z")
    if isinstance(value, dt.datetime):
        return utc_datetime(value)
    if not isinstance(value, str):
        raise wrong
    try:
        return utc_datetime(dt.datetime.fromisoformat(value))
    except ValueError:
        raise wrong from None


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Bad("true or false")
    return value


def _scalar(definition: SegmentField, value: Any) -> Any:
    kind = definition.type
    if kind in (NUMBER, MONEY):
        return _number(definition, value)
    if kind == DAYS_AGO:
        return _days(value)
    if kind == TEXT:
        return _text(value)
    if kind == TAGS:
        return _text(value, limit=50)
    if kind == CHOICE:
        return _choice(definition, value)
    if kind == DATE:
        return _date(value)
    if kind == DATETIME:
        return _datetime(value)
    if kind == BOOLEAN:
        return _boolean(value)
    raise _Bad(f"Fields of type {kind} cannot be compared")


def clean_value(definition: SegmentField, operator: str, value: Any) -> Any:
    """The value as the field's compiler takes it; _Bad says what is wrong with it."""
    if operator == "is_null":
        return _boolean(value)
    if operator in LIST_OPERATORS:
        if not isinstance(value, list) or not value:
            raise _Bad("A list of at least one value")
        if len(value) > conf.MAX_LIST_VALUES:
            raise _Bad(f"At most {conf.MAX_LIST_VALUES} values")
        cleaned = []
        for number, item in enumerate(value):
            try:
                item = _scalar(definition, item)
            except _Bad as error:
                raise _Bad(f"Item {number}: {error}") from None
            if item not in cleaned:
                cleaned.append(item)
        return cleaned
    if operator == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise _Bad("[low, high]: a list of two values")
        low, high = (_scalar(definition, item) for item in value)
        if low > high:
            raise _Bad("[low, high] with low at most high")
        return (low, high)
    if isinstance(value, list):
        raise _Bad("One value, not a list (use in for any of several)")
    return _scalar(definition, value)


def _json(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_json(item) for item in value]
    return value


# --- shorthands --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shorthand:
    """A key of seed 001's criteria or seed 002's get_segment filters, and what it means."""

    key: str
    field: str
    operator: str
    description: str
    # the shorthand's value -> the conditions' values (one leaf each); _Bad when it cannot be
    translate: Callable[[Any, Tenant], list[Any]]


def _one_count(value: Any, tenant: Tenant) -> list[Any]:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise _Bad("A number, 0 or more")
    return [value]


def _one_day_count(value: Any, tenant: Tenant) -> list[Any]:
    return [_days(value)]


def _major_units(value: Any, tenant: Tenant) -> list[Any]:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _Bad(f"An amount in {tenant.currency}, such as 500 or 500.00")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise _Bad(f"An amount in {tenant.currency}, such as 500 or 500.00") from None
    if not amount.is_finite() or amount < 0 or amount > conf.MAX_NUMBER:
        raise _Bad(f"An amount in {tenant.currency}, 0 or more")
    places = EXPONENTS.get(tenant.currency.upper(), 2)
    # "At least 12.345" in a two-decimal currency is at least 12.35: round up.
    return [int(amount.scaleb(places).quantize(Decimal(1), rounding=ROUND_CEILING))]


def _names(value: Any, tenant: Tenant) -> list[Any]:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise _Bad("A list of names")
    return names


def _each(value: Any, tenant: Tenant) -> list[Any]:
    return _names(value, tenant)


def _all_at_once(value: Any, tenant: Tenant) -> list[Any]:
    return [_names(value, tenant)]


SHORTHANDS = {
    item.key: item
    for item in (
        Shorthand(
            "min_visits",
            "total_visits",
            "gte",
            "At least this many completed visits",
            _one_count,
        ),
        Shorthand(
            "min_spent",
            "total_spent_q",
            "gte",
            "Spent at least this much, in major units of the tenant's currency (500.00 NGN "
            "is total_spent_q gte 50000)",
            _major_units,
        ),
        Shorthand(
            "max_days_since_visit",
            "days_since_last_visit",
            "lte",
            "Visited within this many days",
            _one_day_count,
        ),
        Shorthand(
            "days_since_visit",
            "days_since_last_visit",
            "gte",
            "No visit for at least this many days (seed 002's lapsed customers)",
            _one_day_count,
        ),
        Shorthand(
            "tags_include",
            "tags",
            "contains",
            "Has every one of these tags",
            _each,
        ),
        Shorthand("tags", "tags", "contains", "The same as tags_include", _each),
        Shorthand(
            "tags_exclude",
            "tags",
            "not_in",
            "Has none of these tags",
            _all_at_once,
        ),
        Shorthand(
            "has_pets_species",
            "pets.species",
            "in",
            "Owns a living pet of any of these species",
            _all_at_once,
        ),
        Shorthand(
            "pet_species",
            "pets.species",
            "in",
            "Owns a living pet of this species (or any of a list)",
            _all_at_once,
        ),
    )
}
# The app whose fields a shorthand needs, for the message when it is not installed.
APPS = {
    "total_visits": "insights",
    "total_spent_q": "insights",
    "days_since_last_visit": "insights",
    "pets.species": "pets",
}


# --- trees -------------------------------------------------------------------------------------


@dataclass
class _Check:
    tenant: Tenant
    errors: dict[str, str] = field(default_factory=dict)
    conditions: int = 0

    def fail(self, path: str, message: str) -> None:
        self.errors.setdefault(path, message)


def _node(raw: Any, path: str, check: _Check, depth: int) -> dict | None:
    if depth > conf.MAX_DEPTH:
        check.fail(path, f"Nested too deep: at most {conf.MAX_DEPTH} levels")
        return None
    if not isinstance(raw, dict):
        check.fail(path, "An object: a condition, a group (all, any, not) or shorthand keys")
        return None
    keys = set(raw)
    groups = keys & set(GROUPS)
    if groups:
        if len(keys) != 1:
            check.fail(path, "A group has exactly one key: all, any or not")
            return None
        return _group(raw, groups.pop(), path, check, depth)
    if keys & set(LEAF_KEYS):
        return _leaf(raw, path, check)
    if keys and keys <= set(SHORTHANDS):
        return _shorthand(raw, path, check)
    if not keys:
        check.fail(path, "Empty: give a condition, a group (all, any, not) or shorthand keys")
    for key in sorted(keys - set(SHORTHANDS), key=str):
        check.fail(
            f"{path}.{key}",
            "Unknown key: a condition has field, operator and value; a group all, any or "
            f"not; shorthand keys are {', '.join(SHORTHANDS)}",
        )
    return None


def _group(raw: dict, key: str, path: str, check: _Check, depth: int) -> dict | None:
    inner = f"{path}.{key}"
    if key == "not":
        child = _node(raw["not"], inner, check, depth + 1)
        return {"not": child}
    items = raw[key]
    if not isinstance(items, list):
        check.fail(inner, "A list of conditions")
        return None
    if len(items) > conf.MAX_CONDITIONS:
        check.fail(inner, f"At most {conf.MAX_CONDITIONS} conditions")
        return None
    return {key: [_node(item, f"{inner}.{n}", check, depth + 1) for n, item in enumerate(items)]}


def _leaf(raw: dict, path: str, check: _Check) -> dict | None:
    for key in sorted(set(raw) - set(LEAF_KEYS), key=str):
        check.fail(f"{path}.{key}", "Unknown key: a condition has field, operator and value")
    check.conditions += 1
    if check.conditions > conf.MAX_CONDITIONS:
        check.fail(path, f"At most {conf.MAX_CONDITIONS} conditions in a segment")
        return None
    name = raw.get("field")
    definition = segment_fields.get(name) if isinstance(name, str) else None
    if definition is None:
        if isinstance(name, str) and name.strip():
            check.fail(f"{path}.field", f"Unknown field {name[:100]!r}: {FIELDS_HINT}")
        else:
            check.fail(f"{path}.field", f"Required: the name of a field; {FIELDS_HINT}")
        return None
    operator = raw.get("operator")
    if not isinstance(operator, str) or operator not in definition.operators:
        check.fail(f"{path}.operator", f"For {name}, one of {', '.join(definition.operators)}")
        return None
    if "value" not in raw and operator != "is_null":
        check.fail(f"{path}.value", "Required")
        return None
    try:
        value = clean_value(definition, operator, raw.get("value", True))
    except _Bad as error:
        check.fail(f"{path}.value", str(error))
        return None
    return {"field": name, "operator": operator, "value": _json(value)}


def _shorthand(raw: dict, path: str, check: _Check) -> dict | None:
    leaves: list[dict | None] = []
    for key, value in raw.items():
        shorthand = SHORTHANDS[key]
        where = f"{path}.{key}"
        if segment_fields.get(shorthand.field) is None:
            app = APPS.get(shorthand.field, "its")
            check.fail(where, f"Needs the {app} app, which is not installed")
            continue
        try:
            values = shorthand.translate(value, check.tenant)
        except _Bad as error:
            check.fail(where, str(error))
            continue
        for translated in values:
            # Problems with a translated condition are the shorthand key's problems.
            inner = _Check(check.tenant, conditions=check.conditions)
            leaf = _leaf(
                {"field": shorthand.field, "operator": shorthand.operator, "value": translated},
                where,
                inner,
            )
            check.conditions = inner.conditions
            for message in inner.errors.values():
                check.fail(where, message)
            leaves.append(leaf)
    return {"all": leaves}


def normalize(conditions: Any, *, tenant: Tenant, path: str = ROOT) -> dict:
    """The canonical form of a condition tree, or InvalidInput naming each problem's path.

    Shorthands are translated; a single condition is put in an `all` group; values are
    stored as JSON (dates as YYYY-MM-DD, times in UTC, choices lower-case).
    """
    check = _Check(tenant)
    raw = {"all": conditions} if isinstance(conditions, list) else conditions
    tree = _node(raw, path, check, depth=0)
    if check.errors or tree is None:
        raise InvalidInput("The segment's conditions are not valid", fields=check.errors)
    if "field" in tree:
        tree = {"all": [tree]}
    return tree


def compile(tree: dict, *, now: dt.datetime) -> Q:
    """One condition on Customer for a canonical tree, every "days since" counted from `now`.

    InvalidInput if a condition names a field no installed app registers any more.
    """
    if "all" in tree:
        parts = [compile(child, now=now) for child in tree["all"]]
        return reduce(and_, parts) if parts else EVERYONE
    if "any" in tree:
        parts = [compile(child, now=now) for child in tree["any"]]
        return reduce(or_, parts) if parts else NOBODY
    if "not" in tree:
        return ~compile(tree["not"], now=now)
    definition = segment_fields.get(tree.get("field"))
    if definition is None or tree.get("operator") not in definition.operators:
        raise InvalidInput(
            "The segment names a field that is not available",
            fields={ROOT: f"Unknown field {tree.get('field')!r}: is its app still installed?"},
        )
    try:
        value = clean_value(definition, tree["operator"], tree.get("value", True))
    except _Bad as error:
        raise InvalidInput(
            "The segment's conditions are not valid", fields={ROOT: str(error)}
        ) from None
    return definition.compile(tree["operator"], value, now)


def fields_of(tree: dict) -> set[str]:
    """Every field a canonical tree names."""
    if "field" in tree:
        return {tree["field"]}
    children = tree.get("all") or tree.get("any") or ([tree["not"]] if "not" in tree else [])
    return set().union(*(fields_of(child) for child in children)) if children else set()


SYMBOLS = {"eq": "=", "neq": "≠", "gt": ">", "gte": "≥", "lt": "<", "lte": "≤"}


def describe(tree: dict) -> str:
    """A canonical tree as one line a person reads: `total_orders ≥ 3 and tags contains VIP`."""
    if "field" in tree:
        operator, value = tree["operator"], tree["value"]
        if operator == "is_null":
            return f"{tree['field']} is {'empty' if value else 'set'}"
        if operator == "between":
            return f"{tree['field']} between {value[0]} and {value[1]}"
        if isinstance(value, list):
            value = ", ".join(str(item) for item in value)
            value = f"[{value}]"
        return f"{tree['field']} {SYMBOLS.get(operator, operator.replace('_', ' '))} {value}"
    if "not" in tree:
        return f"not ({describe(tree['not'])})"
    key = "all" if "all" in tree else "any"
    parts = [
        f"({describe(child)})"
        if len(child.get("all") or child.get("any") or []) > 1
        else describe(child)
        for child in tree[key]
    ]
    if not parts:
        return "everyone" if key == "all" else "no one"
    return f" {'and' if key == 'all' else 'or'} ".join(parts)
