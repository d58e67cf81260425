"""Checks of what callers hand the loyalty services, with the field names errors report."""

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone

from rapport.loyalty import conf
from rapport.loyalty.rules import OrderLine

REFERENCE_LIMIT = 200
DESCRIPTION_LIMIT = 200
LABEL_LIMIT = 100
# The largest amount or point count accepted: far beyond any till, well inside 64 bits.
AMOUNT_LIMIT = 10**15
LINES_LIMIT = 500


def is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def positive_whole(errors: dict[str, str], name: str, value: Any, *, limit: int = AMOUNT_LIMIT):
    """`value` if it is a whole number from 1 to `limit`; otherwise an error under `name`."""
    if not is_whole(value) or value < 1:
        errors[name] = "Must be a positive whole number"
    elif value > limit:
        errors[name] = f"At most {limit:,}"
    return value


def whole_at_least(errors: dict[str, str], name: str, value: Any, minimum: int = 0):
    if not is_whole(value) or value < minimum:
        errors[name] = f"Must be a whole number of at least {minimum}"
    elif value > AMOUNT_LIMIT:
        errors[name] = f"At most {AMOUNT_LIMIT:,}"
    return value


def decimal(
    errors: dict[str, str],
    name: str,
    value: Any,
    *,
    minimum: Decimal = Decimal(0),
    inclusive: bool = True,
    maximum: Decimal = Decimal(10**6),
    places: int = 4,
) -> Decimal | None:
    """`value` (a Decimal, int or numeric string) as a Decimal in range; else an error."""
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal | float):
        errors[name] = "Must be a number"
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        errors[name] = "Must be a number"
        return None
    if not number.is_finite():
        errors[name] = "Must be a finite number"
        return None
    if number < minimum or (not inclusive and number == minimum):
        errors[name] = f"Must be {'at least' if inclusive else 'more than'} {minimum}"
    elif number > maximum:
        errors[name] = f"At most {maximum}"
    elif number != number.quantize(Decimal(1).scaleb(-places)):
        errors[name] = f"At most {places} decimal places"
    return number


def text(
    errors: dict[str, str], name: str, value: Any, *, limit: int, required: bool = False
) -> str:
    """`value` stripped; an error if it is not text, is too long, or is required and blank."""
    if not isinstance(value, str):
        errors[name] = "Must be text"
        return ""
    value = value.strip()
    if required and not value:
        errors[name] = "Required"
    elif len(value) > limit:
        errors[name] = f"At most {limit} characters"
    return value


def reference(errors: dict[str, str], value: Any, *, name: str = "reference") -> str:
    """The idempotency reference every earn, redeem, stamp and reversal carries."""
    return text(errors, name, value, limit=REFERENCE_LIMIT, required=True)


def moment(
    errors: dict[str, str], name: str, value: Any, *, max_age_days: int | None = None
) -> dt.datetime | None:
    """An aware time not in the future (a clock skew allowed) and, if given, not too old."""
    if value is None:
        return None
    if not isinstance(value, dt.datetime) or timezone.is_naive(value):
        errors[name] = "Must be a date and time with its UTC offset"
        return None
    now = timezone.now()
    if value > now + dt.timedelta(seconds=conf.offline_clock_skew_seconds()):
        errors[name] = "Is in the future"
    elif max_age_days is not None and value < now - dt.timedelta(days=max_age_days):
        errors[name] = f"Is more than {max_age_days} days old"
    return value


def order_lines(errors: dict[str, str], value: Any) -> list[OrderLine]:
    """Order lines as OrderLine, from OrderLine objects or mappings with the same fields."""
    if value is None:
        return []
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        errors["lines"] = "Must be a list of order lines"
        return []
    lines = []
    for index, line in enumerate(value):
        if index >= LINES_LIMIT:
            errors["lines"] = f"At most {LINES_LIMIT} lines"
            break
        if isinstance(line, Mapping):
            unknown = set(line) - {"amount_q", "category", "product"}
            if unknown:
                errors[f"lines[{index}]"] = f"Unknown fields: {', '.join(sorted(unknown))}"
                continue
            line = OrderLine(
                amount_q=line.get("amount_q"),
                category=line.get("category", ""),
                product=line.get("product", ""),
            )
        if not isinstance(line, OrderLine):
            errors[f"lines[{index}]"] = "Must be an order line"
            continue
        if not is_whole(line.amount_q) or line.amount_q < 0:
            errors[f"lines[{index}].amount_q"] = "Must be a whole number of at least 0"
        category = text(errors, f"lines[{index}].category", line.category, limit=LABEL_LIMIT)
        product = text(errors, f"lines[{index}].product", line.product, limit=LABEL_LIMIT)
        lines.append(OrderLine(amount_q=line.amount_q, category=category, product=product))
    return lines


def labels(errors: dict[str, str], name: str, value: Any) -> list[str]:
    """A list of category or product names, stripped, without blanks or repeats."""
    if value is None:
        return []
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        errors[name] = "Must be a list of names"
        return []
    found: list[str] = []
    for item in value:
        if not isinstance(item, str) or not item.strip() or len(item.strip()) > LABEL_LIMIT:
            errors[name] = f"Names must be text of 1 to {LABEL_LIMIT} characters"
            return []
        if item.strip() not in found:
            found.append(item.strip())
    if len(found) > LINES_LIMIT:
        errors[name] = f"At most {LINES_LIMIT} names"
    return found
