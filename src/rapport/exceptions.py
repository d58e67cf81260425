"""One error base with stable codes, mapped to HTTP once in rapport.api."""

from collections.abc import Mapping


class RapportError(Exception):
    """A failure a caller can act on: a stable `code`, a message and per-field details."""

    code = "error"
    status = 400

    def __init__(
        self, message: str, *, code: str | None = None, fields: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.fields = dict(fields or {})


class InvalidInput(RapportError):
    """The input breaks a rule; `fields` names which."""

    code = "invalid"
    status = 422


class NotFound(RapportError):
    code = "not_found"
    status = 404


class Conflict(RapportError):
    """The change collides with what is already stored (a taken code, a duplicate name)."""

    code = "conflict"
    status = 409


class PermissionDenied(RapportError):
    code = "forbidden"
    status = 403
