"""Schemas every router shares: the error body, list pages and input conventions."""

import datetime as dt
from typing import Annotated, Any

from ninja import Schema
from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field

from rapport.pagination import DEFAULT_LIMIT, MAX_LIMIT, utc_datetime


class InputSchema(Schema):
    """Base for request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


def _iso_8601(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError("Use an ISO 8601 timestamp such as 2025-01-31T09:30:00Z")


# An input timestamp: ISO 8601 text only (no Unix seconds), stored and compared in UTC.
Timestamp = Annotated[dt.datetime, BeforeValidator(_iso_8601), AfterValidator(utc_datetime)]


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
