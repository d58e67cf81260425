"""The customer score's spend thresholds in a tenant's currency (reads Django settings)."""

from rapport.commerce.money import scaled_amount_q
from rapport.insights.scoring.score import MONEY_POINTS_USD


def score_thresholds_q(currency: str) -> tuple[int, int, int, int]:
    """The customer score's four spend thresholds in minor units of `currency`, smallest first."""
    amounts = sorted(amount for amount, _ in MONEY_POINTS_USD)
    low, mid, high, top = (scaled_amount_q(amount, "USD", currency) for amount in amounts)
    return low, mid, high, top
