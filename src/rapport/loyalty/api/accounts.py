"""A customer's loyalty: enrolment, account, summary, ledger, and every write to it."""

from uuid import UUID

from ninja import Query, Router

from rapport.loyalty import selectors
from rapport.loyalty.api.schemas import (
    AccountQuery,
    AdjustIn,
    BalanceOut,
    BonusIn,
    EarnIn,
    LedgerResultOut,
    LoyaltyAccountOut,
    LoyaltyAccountPage,
    LoyaltySummaryOut,
    LoyaltyTransactionOut,
    LoyaltyTransactionPage,
    OfflineSyncIn,
    OfflineSyncOut,
    RedeemIn,
    ReverseIn,
    StampIn,
    TransactionQuery,
)
from rapport.loyalty.services import LoyaltyService, sync_offline
from rapport.pagination import DATETIME, paginate
from rapport.schemas import WRITE_ERRORS, responses
from rapport.tenancy.api import ADMIN, READ, WRITE, actor_of

router = Router(tags=["loyalty"], auth=READ)

NEWEST_FIRST = ["-created_at"]
ENROLLED_FIRST = ["-enrolled_at"]
PARSERS = {"created_at": DATETIME, "enrolled_at": DATETIME}
LEDGER_WRITE = responses({200: LedgerResultOut}, 404, *WRITE_ERRORS)


@router.get("/loyalty/accounts", response=responses({200: LoyaltyAccountPage}))
def list_accounts(request, query: Query[AccountQuery]):
    """Every member's account, newest enrolment first; filter with `?tier=`."""
    accounts = selectors.accounts(tenant=actor_of(request).tenant, tier=query.tier)
    return paginate(
        accounts, ordering=ENROLLED_FIRST, parsers=PARSERS, cursor=query.cursor, limit=query.limit
    )


@router.post(
    "/customers/{code}/loyalty/enroll",
    response=responses({200: LoyaltyAccountOut}, 404, *WRITE_ERRORS),
    auth=WRITE,
)
def enroll(request, code: str):
    """Enroll the customer; enrolling an enrolled customer returns their account unchanged."""
    return LoyaltyService.enroll(actor=actor_of(request), code=code)


@router.get("/customers/{code}/loyalty", response=responses({200: LoyaltyAccountOut}, 404))
def get_account(request, code: str):
    """The customer's account; 404 `not_enrolled` when they have none."""
    return LoyaltyService.get_account(tenant=actor_of(request).tenant, code=code)


@router.get("/customers/{code}/loyalty/summary", response=responses({200: LoyaltySummaryOut}, 404))
def get_summary(request, code: str):
    """Balance and its value, tier and the next one, stamps, totals, what expires soon."""
    return LoyaltyService.get_summary(tenant=actor_of(request).tenant, code=code)


@router.get("/customers/{code}/loyalty/balance", response=responses({200: BalanceOut}, 404))
def get_balance(request, code: str):
    """The customer's points balance; 0 when they are not enrolled."""
    balance = LoyaltyService.get_balance(tenant=actor_of(request).tenant, code=code)
    return {"code": code, "points_balance": balance}


@router.get(
    "/customers/{code}/loyalty/transactions",
    response=responses({200: LoyaltyTransactionPage}, 404),
)
def list_transactions(request, code: str, query: Query[TransactionQuery]):
    """The customer's ledger, newest first; filter with `?transaction_type=`."""
    entries = LoyaltyService.get_transactions(
        tenant=actor_of(request).tenant, code=code, transaction_type=query.transaction_type
    )
    return paginate(
        entries,
        ordering=NEWEST_FIRST,
        parsers=PARSERS,
        cursor=query.cursor,
        limit=query.limit,
    )


@router.get(
    "/customers/{code}/loyalty/transactions/{transaction_id}",
    response=responses({200: LoyaltyTransactionOut}, 404),
)
def get_transaction(request, code: str, transaction_id: UUID):
    """One entry of the customer's ledger, with how it was computed."""
    return LoyaltyService.get_transaction(
        tenant=actor_of(request).tenant, code=code, transaction_id=transaction_id
    )


@router.post("/customers/{code}/loyalty/earn", response=LEDGER_WRITE, auth=WRITE)
def earn_points(request, code: str, payload: EarnIn):
    """Award points, or what the rules make of an order; enrolls the customer if need be."""
    fields = payload.model_dump(exclude={"lines"})
    if payload.lines is not None:
        fields["lines"] = [line.model_dump() for line in payload.lines]
    return LoyaltyService.earn_points(actor=actor_of(request), code=code, **fields)


@router.post("/customers/{code}/loyalty/redeem", response=LEDGER_WRITE, auth=WRITE)
def redeem_points(request, code: str, payload: RedeemIn):
    """Spend points: never more than the balance, never less than the minimum in force."""
    return LoyaltyService.redeem_points(actor=actor_of(request), code=code, **payload.model_dump())


@router.post("/customers/{code}/loyalty/stamps", response=LEDGER_WRITE, auth=WRITE)
def add_stamp(request, code: str, payload: StampIn):
    """Stamp the customer's card; a full card completes and issues its reward."""
    return LoyaltyService.add_stamp(actor=actor_of(request), code=code, **payload.model_dump())


@router.post("/customers/{code}/loyalty/bonus", response=LEDGER_WRITE, auth=WRITE)
def award_bonus(request, code: str, payload: BonusIn):
    """Award the bonus rules in force for an event: signup, birthday, referral, first order."""
    return LoyaltyService.award_bonus(actor=actor_of(request), code=code, **payload.model_dump())


@router.post("/customers/{code}/loyalty/adjust", response=LEDGER_WRITE, auth=ADMIN)
def adjust_points(request, code: str, payload: AdjustIn):
    """Correct a balance by hand, with the reason; it does not count toward tiers."""
    return LoyaltyService.adjust_points(actor=actor_of(request), code=code, **payload.model_dump())


@router.post(
    "/customers/{code}/loyalty/transactions/{transaction_id}/reverse",
    response=LEDGER_WRITE,
    auth=WRITE,
)
def reverse_transaction(request, code: str, transaction_id: UUID, payload: ReverseIn):
    """Reverse an earn (a refund) or a redeem, wholly or in part, as a new entry."""
    return LoyaltyService.reverse_transaction(
        actor=actor_of(request), code=code, transaction_id=transaction_id, **payload.model_dump()
    )


@router.post(
    "/loyalty/offline-sync", response=responses({200: OfflineSyncOut}, *WRITE_ERRORS), auth=WRITE
)
def offline_sync(request, payload: OfflineSyncIn):
    """Apply what tills recorded offline; each item is answered applied, duplicate or rejected."""
    items = []
    for item in payload.items:
        fields = item.model_dump(exclude={"lines"})
        if item.lines is not None:
            fields["lines"] = [line.model_dump() for line in item.lines]
        items.append(fields)
    outcomes = sync_offline(actor=actor_of(request), items=items, device=payload.device)
    counts = {status: 0 for status in ("applied", "duplicate", "rejected")}
    for outcome in outcomes:
        counts[outcome.status] += 1
    return {**counts, "items": outcomes}
