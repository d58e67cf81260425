"""The 0-100 customer score of seed 001: recency, frequency and money, in points."""

import numpy as np

# (most days since the last order or visit, points), checked from the top.
RECENCY_POINTS = ((30, 30), (90, 20), (180, 10))
# (least orders plus completed visits, points).
FREQUENCY_POINTS = ((12, 30), (6, 20), (3, 10))
# (least spent in US dollars, points): scaled to the tenant's currency by `thresholds`.
MONEY_POINTS_USD = ((10_000, 40), (5_000, 30), (1_000, 20), (500, 10))


def customer_scores(days_since_last, visits_or_orders, spent_q, thresholds_q) -> np.ndarray:
    """Each customer's score, 0 to 100.

    `days_since_last` counts from the later of the last order and the last completed visit
    (NaN or negative for neither: no recency points); `visits_or_orders` is orders plus completed visits;
    `thresholds_q` are the four spend thresholds of MONEY_POINTS_USD in the tenant's minor
    units, from the 10-point one up (`thresholds.score_thresholds_q`).
    """
    if len(thresholds_q) != 4 or list(thresholds_q) != sorted(thresholds_q):
        raise ValueError("customer_scores needs four spend thresholds, smallest first")
    days = np.asarray(days_since_last, dtype=np.float64)
    count = np.asarray(visits_or_orders)
    spent = np.asarray(spent_q, dtype=np.int64)
    # Days since an activity before the as-of moment are never negative: -1 means none.
    days = np.where(days >= 0, days, np.nan)
    recency = np.select(
        [days <= most_days for most_days, _ in RECENCY_POINTS],
        [points for _, points in RECENCY_POINTS],
        0,
    )
    frequency = np.select(
        [count >= least for least, _ in FREQUENCY_POINTS],
        [points for _, points in FREQUENCY_POINTS],
        0,
    )
    # thresholds_q rise with the amounts of MONEY_POINTS_USD; the largest reached counts.
    money_points = [points for _, points in sorted(MONEY_POINTS_USD)]
    money = np.select(
        [spent >= threshold_q for threshold_q in reversed(thresholds_q)],
        list(reversed(money_points)),
        0,
    )
    return (recency + frequency + money).astype(np.int64)
