"""Every write to loyalty: programs and rules, accounts and their ledger, expiry, offline sync."""

from rapport.loyalty.services.accounts import LoyaltyService, LoyaltySummary
from rapport.loyalty.services.expiry import ExpiryRun, accounts_due, expire_points
from rapport.loyalty.services.ledger import LedgerResult, TierChange
from rapport.loyalty.services.offline import OfflineItem, OfflineOutcome, sync_offline
from rapport.loyalty.services.programs import LoyaltyProgramService
from rapport.loyalty.services.tiers import TierRecalculation, recalculate_tiers

__all__ = [
    "ExpiryRun",
    "LedgerResult",
    "LoyaltyProgramService",
    "LoyaltyService",
    "LoyaltySummary",
    "OfflineItem",
    "OfflineOutcome",
    "TierChange",
    "TierRecalculation",
    "accounts_due",
    "expire_points",
    "recalculate_tiers",
    "sync_offline",
]
