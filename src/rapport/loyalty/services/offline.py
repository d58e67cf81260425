"""Offline sync: earnings and redemptions a till recorded while it had no connection.

Each item carries the till's own id, which becomes the entry's reference, and the time it
happened. Items are applied oldest first, each in its own transaction (a savepoint when the
caller holds one), so an item is applied whole or not at all. Each is answered `applied`,
`duplicate` (its id was synced before: the first entry is returned, nothing changes) or
`rejected` with the reason (an unknown customer, too few points, a time in the future...).

An order synced late earns by the rules in force when it happened, and by the tier the
account is in when it is synced.
"""

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from django.db import transaction
from django.utils import timezone

from rapport.exceptions import InvalidInput, RapportError
from rapport.loyalty import conf
from rapport.loyalty.models import LoyaltyTransaction
from rapport.loyalty.rules import OrderLine
from rapport.loyalty.services import inputs, ledger, postings
from rapport.tenancy.actors import Actor

APPLIED, DUPLICATE, REJECTED = "applied", "duplicate", "rejected"
KINDS = ("earn", "redeem")
DEVICE_LIMIT = 100


@dataclass(frozen=True)
class OfflineItem:
    """One earning or redemption recorded offline."""

    id: str  # the till's own id for it, unique on that till: the entry's reference
    kind: str  # "earn" or "redeem"
    code: str  # the customer's code
    occurred_at: dt.datetime
    points: int | None = None  # an earning as points, or the points redeemed
    amount_q: int | None = None  # an earning as an order for the rules to price
    lines: Sequence[OrderLine | Mapping[str, Any]] | None = None
    description: str = ""


@dataclass(frozen=True)
class OfflineOutcome:
    """How one item was answered."""

    id: Any
    status: str  # applied, duplicate or rejected
    reason: str = ""
    error_code: str = ""
    fields: dict[str, str] = field(default_factory=dict)
    transaction: LoyaltyTransaction | None = None
    points: int = 0  # the change to the balance
    balance_after: int | None = None


ITEM_FIELDS = {f.name for f in fields(OfflineItem)}


def _rejected(item_id: Any, error: RapportError) -> OfflineOutcome:
    return OfflineOutcome(
        id=item_id,
        status=REJECTED,
        reason=error.message,
        error_code=error.code,
        fields=dict(error.fields),
    )


def _as_item(raw: Any) -> OfflineItem:
    """An OfflineItem from itself or a mapping of its fields; InvalidInput otherwise."""
    if isinstance(raw, OfflineItem):
        return raw
    if not isinstance(raw, Mapping):
        raise InvalidInput("The item is not valid", fields={"item": "Must be an offline item"})
    unknown = set(raw) - ITEM_FIELDS
    missing = {"id", "kind", "code", "occurred_at"} - set(raw)
    errors = dict.fromkeys(sorted(unknown), "Not an item field")
    errors.update(dict.fromkeys(sorted(missing), "Required"))
    if errors:
        raise InvalidInput("The item is not valid", fields=errors)
    return OfflineItem(**raw)


def _checked(item: OfflineItem) -> tuple[str, list[OrderLine]]:
    """The item's reference and order lines; InvalidInput naming what is wrong."""
    errors: dict[str, str] = {}
    reference = inputs.reference(errors, item.id, name="id")
    if item.kind not in KINDS:
        errors["kind"] = f"Use one of {', '.join(KINDS)}"
    if not isinstance(item.code, str) or not item.code.strip():
        errors["code"] = "Required"
    if item.occurred_at is None:
        errors["occurred_at"] = "Required"
    inputs.moment(errors, "occurred_at", item.occurred_at, max_age_days=conf.offline_max_age_days())
    inputs.text(errors, "description", item.description, limit=inputs.DESCRIPTION_LIMIT)
    lines: list[OrderLine] = []
    if item.kind == "redeem":
        inputs.positive_whole(errors, "points", item.points)
        if item.amount_q is not None or item.lines is not None:
            errors["amount_q"] = "A redemption is in points only"
    elif item.kind == "earn":
        _, lines = postings.check_amount_fields(item.points, item.amount_q, item.lines, errors)
    if errors:
        raise InvalidInput("The item is not valid", fields=errors)
    return reference, lines


def _apply(actor: Actor, item: OfflineItem, device: str) -> OfflineOutcome:
    reference, lines = _checked(item)
    extra = {
        "offline": {"id": reference, "device": device, "synced_at": timezone.now().isoformat()}
    }
    with transaction.atomic():
        customer = ledger.lock_customer(actor.tenant, item.code.strip())
        program = ledger.program_for(actor.tenant)
        postings.require_points(
            program, "points" if item.kind == "redeem" or item.points else "amount_q"
        )
        now = timezone.now()
        if item.kind == "earn":
            account = postings.account_for_earning(customer, program, actor, now)
            amount_q = item.amount_q
            if amount_q is None and item.lines is not None:
                amount_q = sum(line.amount_q for line in lines)
            result = postings.earn_locked(
                account,
                program,
                customer=customer,
                actor=actor,
                at=now,
                reference=reference,
                points=item.points,
                amount_q=amount_q,
                lines=lines,
                description=item.description.strip(),
                occurred_at=item.occurred_at,
                extra_detail=extra,
            )
        else:
            result = postings.redeem_locked(
                ledger.require_account(customer),
                program,
                customer=customer,
                actor=actor,
                at=now,
                points=item.points,
                reference=reference,
                description=item.description.strip(),
                occurred_at=item.occurred_at,
                extra_detail=extra,
            )
    entry = result.transaction
    return OfflineOutcome(
        id=item.id,
        status=DUPLICATE if result.is_replay else APPLIED,
        transaction=entry,
        points=entry.points,
        balance_after=entry.balance_after,
    )


def _order_key(index: int, raw: Any) -> tuple:
    """Oldest first; items whose time cannot be read go last (they are rejected anyway)."""
    moment = raw.occurred_at if isinstance(raw, OfflineItem) else None
    if isinstance(raw, Mapping):
        moment = raw.get("occurred_at")
    if isinstance(moment, dt.datetime) and not timezone.is_naive(moment):
        return (0, moment, index)
    return (1, dt.datetime.min.replace(tzinfo=dt.UTC), index)


def sync_offline(
    *, actor: Actor, items: Sequence[OfflineItem | Mapping[str, Any]], device: str = ""
) -> list[OfflineOutcome]:
    """Apply a batch recorded offline; one outcome per item, in the order they were given."""
    errors: dict[str, str] = {}
    if isinstance(items, str | bytes | Mapping) or not isinstance(items, Sequence):
        errors["items"] = "Must be a list of items"
    elif len(items) > conf.offline_batch_limit():
        errors["items"] = f"At most {conf.offline_batch_limit()} items per batch"
    device = inputs.text(errors, "device", device, limit=DEVICE_LIMIT)
    if errors:
        raise InvalidInput("The offline batch is not valid", fields=errors)
    outcomes: dict[int, OfflineOutcome] = {}
    kinds_by_id: dict[str, str] = {}
    for index in sorted(range(len(items)), key=lambda i: _order_key(i, items[i])):
        raw = items[index]
        item_id = raw.get("id") if isinstance(raw, Mapping) else getattr(raw, "id", None)
        try:
            item = _as_item(raw)
            if kinds_by_id.setdefault(str(item.id), item.kind) != item.kind:
                raise InvalidInput(
                    "Another item of this batch has the same id",
                    fields={"id": "Ids must differ between an earning and a redemption"},
                )
            outcomes[index] = _apply(actor, item, device)
        except RapportError as error:
            outcomes[index] = _rejected(item_id, error)
    return [outcomes[index] for index in range(len(items))]
