"""The loyalty app's errors, on the project's one base (mapped to HTTP once in rapport.api)."""

from rapport.exceptions import Conflict, NotFound


class InsufficientPoints(Conflict):
    """A redemption or debit asks for more points than the account holds."""

    code = "insufficient_points"


class NotEnrolled(NotFound):
    """The customer exists but has no loyalty account."""

    code = "not_enrolled"


class AlreadyReversed(Conflict):
    """Nothing is left to reverse of the transaction."""

    code = "already_reversed"
