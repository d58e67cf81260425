"""Normal forms for the values customers are found by: E.164 phones, lower-case emails."""

import re

import orjson
import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email


def normalize_phone(raw: str, region: str) -> str:
    """E.164 for a phone written locally (0803 123 4567 in NG) or with +country; ValueError."""
    text = raw.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region.upper() or None)
    except phonenumbers.NumberParseException as error:
        raise ValueError(f"{raw!r} is not a phone number ({error._msg})") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"{raw!r} is not a valid phone number for region {region.upper()}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(raw: str) -> str:
    """The address trimmed and lower-cased; ValueError when it is not an email address."""
    email = raw.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValueError(f"{raw!r} is not an email address") from None
    return email


INSTAGRAM_HANDLE = re.compile(r"^[A-Za-z0-9._]{1,30}$")


def normalize_instagram_handle(raw: str) -> str:
    """The bare handle from '@name', 'name' or an instagram.com profile URL; ValueError."""
    handle = raw.strip()
    match = re.match(r"^(?:https?://)?(?:www\.)?instagram\.com/([^/?#]+)", handle)
    if match:
        handle = match.group(1)
    handle = handle.lstrip("@").lower()
    if not INSTAGRAM_HANDLE.match(handle):
        raise ValueError(f"{raw!r} is not an Instagram handle")
    return handle


# PostgreSQL's jsonb writes 1e300 out in full digits, which comes back as a huge integer.
JSON_NUMBER_LIMIT = 2**63


def is_plain_json(value: object) -> bool:
    """Whether a value survives a JSON round trip unchanged (no NaN, huge numbers, deep nesting)."""
    # Stored metadata that cannot be rendered again would break every read of its row.
    try:
        if orjson.loads(orjson.dumps(value)) != value:
            return False
    except (TypeError, orjson.JSONDecodeError):
        return False
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, float) and abs(item) >= JSON_NUMBER_LIMIT:
            return False
    return True
