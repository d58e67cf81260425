"""Schemas every router shares: the error body, list pages and input conventions."""

from typing import Any

from ninja import Schema
from pydantic import ConfigDict, Field

from rapport.pagination import DEFAULT_LIMIT, MAX_LIMIT


class InputSchema(Schema):
    """Base for request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class ErrorDetail(Schema):
    code: str = Field(examples=["invalid"])
    message: str = Field(examples=["Some customer fields are not valid"])
    fields: dict[str, str] = Field(default_factory=dict, examples=[{"phone": "Not a number"}])


class ErrorOut(Schema):
    """The body of every 4xx answer."""

    error: ErrorDetail


class PageQuery(Schema):
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Rows per page")
    cursor: str | None = Field(None, description="The next_cursor of the previous page")


ERROR_DESCRIPTIONS = {
    400: "The body is not JSON",
    401: "No API key, or one that is unknown or revoked",
    403: "The key lacks the scope this operation needs",
    404: "No such record for this key's tenant",
    409: "Conflicts with stored data, or the Idempotency-Key is in use by a running request",
    422: "The input is not valid; `fields` names what is wrong",
}


def responses(ok: dict[int, Any], *errors: int) -> dict[int, Any]:
    """An operation's responses: its success schemas plus the error statuses it can return.

    401, 403 and 422 can come from any operation, so they are always declared.
    """
    declared = dict(ok)
    for status in sorted({401, 403, 422, *errors}):
        declared[status] = ErrorOut
    return declared


WRITE_ERRORS = (400, 409)  # every POST: a body to parse and an Idempotency-Key to honour
