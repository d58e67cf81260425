"""Keyset (cursor) pagination: every page costs the same, the first or the ten-thousandth."""

import base64
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from django.db.models import Q, QuerySet

from rapport.exceptions import InvalidInput

DEFAULT_LIMIT = 50
MAX_LIMIT = 500

# How a sortable field's value comes back out of a cursor.
Parser = Callable[[Any], Any]


def utc_datetime(value: dt.datetime) -> dt.datetime:
    """The same instant in UTC (a naive value is taken as UTC); ValueError if UTC cannot hold it.

    Databases reject offsets beyond their range (PostgreSQL: ±15:59) and instants outside
    years 1 to 9999, which Python's offsets can otherwise express.
    """
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError("The time is out of range") from None


def _datetime(value: Any) -> dt.datetime:
    if not isinstance(value, str):
        raise ValueError("not a timestamp")
    return utc_datetime(dt.datetime.fromisoformat(value))


def _text(value: Any) -> str:
    if not isinstance(value, str) or "\x00" in value:
        raise ValueError("not storable text")
    return value


DATETIME: Parser = _datetime
TEXT: Parser = _text


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("not a boolean")
    return value


BOOLEAN: Parser = _boolean


@dataclass
class Page:
    items: list
    next_cursor: str | None


def sort_order(order_by: str, sortable: dict[str, Parser]) -> list[str]:
    """The ordering for an `?order_by=` value, or InvalidInput naming the choices."""
    if order_by.removeprefix("-") not in sortable:
        choices = ", ".join(f"{name}, -{name}" for name in sortable)
        raise InvalidInput("Cannot sort by that", fields={"order_by": f"Use one of {choices}"})
    return [order_by]


def _encode(values: list) -> str:
    raw = orjson.dumps([v.isoformat() if isinstance(v, dt.datetime) else v for v in values])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _bad_cursor() -> InvalidInput:
    return InvalidInput("The cursor is not valid", fields={"cursor": "Use a next_cursor as given"})


def _decode(cursor: str, parsers: list[Parser]) -> list:
    try:
        values = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        raise _bad_cursor() from None
    if not isinstance(values, list) or len(values) != len(parsers) + 1:
        raise _bad_cursor()
    if not isinstance(values[-1], int) or isinstance(values[-1], bool):
        raise _bad_cursor()
    try:
        return [parse(value) for parse, value in zip(parsers, values, strict=False)] + values[-1:]
    except (TypeError, ValueError):
        raise _bad_cursor() from None


def _after(ordering: list[str], values: list) -> Q:
    """Rows strictly after `values` in `ordering` (+ pk), as one lexicographic condition."""
    keys = [*ordering, "-pk" if ordering[-1].startswith("-") else "pk"]
    condition = Q(pk__in=[])
    equal: dict[str, Any] = {}
    for key, value in zip(keys, values, strict=True):
        field = key.lstrip("-")
        op = "lt" if key.startswith("-") else "gt"
        condition |= Q(**equal, **{f"{field}__{op}": value})
        equal[field] = value
    # The redundant bound on the first field lets the database start its index scan at the
    # cursor instead of filtering every row before it.
    first = keys[0].lstrip("-")
    bound = "lte" if keys[0].startswith("-") else "gte"
    return Q(**{f"{first}__{bound}": values[0]}) & condition


def paginate(
    queryset: QuerySet,
    *,
    ordering: list[str],
    parsers: dict[str, Parser],
    cursor: str | None,
    limit: int,
) -> Page:
    """One page of `queryset` in `ordering`; the primary key breaks ties so nothing repeats.

    The ordered fields must not be null. The tie-breaker follows the last field's direction.
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput("The limit is out of range", fields={"limit": f"From 1 to {MAX_LIMIT}"})
    fields = [key.lstrip("-") for key in ordering]
    if cursor:
        values = _decode(cursor, [parsers[field] for field in fields])
        queryset = queryset.filter(_after(ordering, values))
    tie_breaker = "-pk" if ordering[-1].startswith("-") else "pk"
    rows = list(queryset.order_by(*ordering, tie_breaker)[: limit + 1])
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = _encode([getattr(last, field) for field in fields] + [last.pk])
    return Page(items=rows, next_cursor=next_cursor)
