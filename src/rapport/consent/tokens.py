"""Signed links a customer follows without logging in: unsubscribe from a channel, confirm one."""

from dataclasses import dataclass

from django.core import signing

from rapport.exceptions import InvalidInput

UNSUBSCRIBE_SALT = "rapport.consent.unsubscribe"
CONFIRMATION_SALT = "rapport.consent.confirmation"
TOKEN_LIMIT = 1000  # characters; a real token is about 120


@dataclass(frozen=True)
class Claim:
    """What a token vouches for: one channel of one customer of one tenant."""

    tenant_id: int
    code: str
    channel: str
    notice_version: str = ""


def sign(claim: Claim, *, salt: str) -> str:
    """A URL-safe token for `claim`; it carries the time it was made, for expiry."""
    data = {"t": claim.tenant_id, "c": claim.code, "ch": claim.channel}
    if claim.notice_version:
        data["n"] = claim.notice_version
    return signing.dumps(data, salt=salt, compress=True)


def read(token: str, *, salt: str, max_age: int | None = None) -> Claim:
    """The claim of a genuine token; InvalidInput naming `token` if tampered with or expired."""
    if not isinstance(token, str) or not token or len(token) > TOKEN_LIMIT:
        raise InvalidInput("The link is not valid", fields={"token": "Not a link rapport made"})
    try:
        data = signing.loads(token, salt=salt, max_age=max_age)
    except signing.SignatureExpired:
        raise InvalidInput(
            "The link has expired", fields={"token": "Expired: ask for a new link"}
        ) from None
    except (signing.BadSignature, ValueError, UnicodeError):
        raise InvalidInput(
            "The link is not valid", fields={"token": "Not a link rapport made"}
        ) from None
    if not (
        isinstance(data, dict)
        and isinstance(data.get("t"), int)
        and isinstance(data.get("c"), str)
        and isinstance(data.get("ch"), str)
        and isinstance(data.get("n", ""), str)
    ):
        raise InvalidInput("The link is not valid", fields={"token": "Not a link rapport made"})
    return Claim(
        tenant_id=data["t"], code=data["c"], channel=data["ch"], notice_version=data.get("n", "")
    )
