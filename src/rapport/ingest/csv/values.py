"""Reading one cell: yes/no, dates, moments, amounts, lists. Each raises RowProblem."""

import datetime as dt
import re
import zoneinfo
from decimal import Decimal, InvalidOperation

from rapport.customers.normalization import normalize_email, normalize_phone
from rapport.ingest.csv.engine import RowProblem

YES = {"yes", "y", "true", "1", "opted_in", "opt-in", "on", "x"}
NO = {"no", "n", "false", "0", "opted_out", "opt-out", "off"}
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
LIST_SEPARATORS = re.compile(r"[|;]")
CACHE_LIMIT = 200_000  # normal forms remembered per import: files repeat their customers


def yes_no(field: str, text: str) -> bool | None:
    """True for yes, False for no, None for an empty cell."""
    if not text:
        return None
    value = text.strip().lower()
    if value in YES:
        return True
    if value in NO:
        return False
    raise RowProblem(field, f"{text!r} is not yes or no")


def iso_date(field: str, text: str) -> dt.date:
    if not ISO_DATE.match(text):
        raise RowProblem(field, f"{text!r} is not a date as YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise RowProblem(field, f"{text!r} is not a date") from None


def moment(field: str, text: str, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """An ISO 8601 time; without an offset it is the tenant's local time, a date its midnight."""
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise RowProblem(
            field, f"{text!r} is not an ISO 8601 time such as 2025-01-31T09:30:00+01:00"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        raise RowProblem(field, f"{text!r} is out of range") from None


def decimal(field: str, text: str) -> Decimal:
    """A decimal number; a comma works as the decimal mark when there is no point."""
    cleaned = text.replace(" ", "").replace("\u00a0", "")
    if "," in cleaned and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
    else:
        cleaned = cleaned.replace(",", "")  # thousands separators: 1,250.50
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise RowProblem(field, f"{text!r} is not a number") from None
    if not value.is_finite():
        raise RowProblem(field, f"{text!r} is not a number")
    return value


def to_minor_units(field: str, amount: Decimal, places: int) -> int:
    """An amount in currency units as whole minor units; RowProblem if it has more decimals."""
    scaled = amount.scaleb(places)
    if scaled != scaled.to_integral_value():
        raise RowProblem(field, f"{amount} has more than {places} decimals for the currency")
    return int(scaled)


def names(text: str) -> list[str]:
    """A list cell ("VIP | Wholesale" or "VIP;Wholesale") as its names, blanks dropped."""
    return [name.strip() for name in LIST_SEPARATORS.split(text) if name.strip()]


class Normalizer:
    """Emails and phones in their normal form, remembered: a file names a customer many times."""

    def __init__(self, region: str) -> None:
        self.region = region
        self.emails: dict[str, str | RowProblem] = {}
        self.phones: dict[str, str | RowProblem] = {}

    def email(self, field: str, text: str) -> str:
        return self._remembered(self.emails, field, text, normalize_email)

    def phone(self, field: str, text: str) -> str:
        return self._remembered(
            self.phones, field, text, lambda raw: normalize_phone(raw, self.region)
        )

    @staticmethod
    def _remembered(cache: dict, field: str, text: str, normalize) -> str:
        if not text:
            return ""
        value = cache.get(text)
        if value is None:
            try:
                value = normalize(text)
            except ValueError as error:
                value = RowProblem(field, str(error))
            if len(cache) >= CACHE_LIMIT:
                cache.clear()
            cache[text] = value
        if isinstance(value, RowProblem):
            raise RowProblem(field, value.message)
        return value
