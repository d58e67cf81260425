"""Normal forms for the values customers are found by: E.164 phones, emails, social handles."""

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
    """The address trimmed and lower-cased, its domain in IDNA (punycode); ValueError if not one."""
    email = raw.strip().lower()
    local, at, domain = email.rpartition("@")
    if at and domain and not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            raise ValueError(f"{raw!r} is not an email address") from None
        email = f"{local}@{domain}"
    try:
        validate_email(email)
    except ValidationError:
        raise ValueError(f"{raw!r} is not an email address") from None
    return email


INSTAGRAM_HANDLE = re.compile(r"^[A-Za-z0-9._]{1,30}$")


def normalize_instagram_handle(raw: str) -> str:
    """The bare handle from '@name', 'name' or an instagram.com profile URL; ValueError."""
    return normalize_handle(raw, "instagram")


# The networks whose handles rapport knows: profile URL hosts, and what a handle may hold.
HANDLE_RULES = {
    "instagram": (("instagram.com", "instagr.am"), INSTAGRAM_HANDLE, "an Instagram handle"),
    "facebook": (
        ("facebook.com", "fb.com", "m.facebook.com", "web.facebook.com"),
        re.compile(r"^[a-z0-9.]{1,50}$"),
        "a Facebook username or profile id",
    ),
    "telegram": (
        ("t.me", "telegram.me", "telegram.dog"),
        re.compile(r"^[a-z][a-z0-9_]{3,31}$"),
        "a Telegram username",
    ),
    "": ((), re.compile(r"^[\w.\-]{1,100}$"), "a handle"),
}
PROFILE_URL = re.compile(r"^(?:https?://)?(?:www\.)?([^/?#]+)/+([^?#]*)(?:[?#](.*))?$")


def normalize_handle(raw: str, network: str = "") -> str:
    """The bare, lower-case handle from '@name', 'name' or a profile URL; ValueError.

    `network` is instagram, facebook or telegram, or empty for any other network (a URL's
    first path segment is its handle). A Facebook profile.php?id=… URL gives the id.
    """
    hosts, pattern, what = HANDLE_RULES.get(network, HANDLE_RULES[""])
    handle = raw.strip()
    match = PROFILE_URL.match(handle)
    if match and "." in match.group(1) and (not hosts or match.group(1).lower() in hosts):
        path, query = match.group(2).strip("/"), match.group(3) or ""
        if network == "facebook" and path == "profile.php":
            path = dict(p.partition("=")[::2] for p in query.split("&")).get("id", "")
        handle = path
    handle = handle.lstrip("@").lower()
    if not pattern.match(handle):
        raise ValueError(f"{raw!r} is not {what}")
    return handle


def normalize_text(raw: str) -> str:
    """The value trimmed, inner runs of spaces made one; ValueError when nothing is left."""
    text = " ".join(raw.split())
    if not text:
        raise ValueError("A value is required")
    return text


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
