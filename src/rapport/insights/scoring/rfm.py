"""RFM scores, codes, the 11 named segments and Guestman's six groups (docs/insights.md, "RFM")."""

import numpy as np

# The named segments; the strings equal rapport.insights.models.RfmSegment's values.
CHAMPIONS = "champions"
LOYAL_CUSTOMERS = "loyal_customers"
POTENTIAL_LOYALISTS = "potential_loyalists"
NEW_CUSTOMERS = "new_customers"
PROMISING = "promising"
NEED_ATTENTION = "need_attention"
ABOUT_TO_SLEEP = "about_to_sleep"
AT_RISK = "at_risk"
CANT_LOSE_THEM = "cant_lose_them"
HIBERNATING = "hibernating"
LOST = "lost"
SEGMENTS = (
    CHAMPIONS,
    LOYAL_CUSTOMERS,
    POTENTIAL_LOYALISTS,
    NEW_CUSTOMERS,
    PROMISING,
    NEED_ATTENTION,
    ABOUT_TO_SLEEP,
    AT_RISK,
    CANT_LOSE_THEM,
    HIBERNATING,
    LOST,
)

# Guestman's coarse groups; the strings equal rapport.insights.models.RfmGroup's values.
CHAMPION = "champion"
LOYAL_CUSTOMER = "loyal_customer"
RECENT_CUSTOMER = "recent_customer"
AT_RISK_GROUP = "at_risk"
LOST_GROUP = "lost"
REGULAR = "regular"
GROUPS = (CHAMPION, LOYAL_CUSTOMER, RECENT_CUSTOMER, AT_RISK_GROUP, LOST_GROUP, REGULAR)

GROUP_OF_SEGMENT = {
    CHAMPIONS: CHAMPION,
    LOYAL_CUSTOMERS: LOYAL_CUSTOMER,
    NEW_CUSTOMERS: RECENT_CUSTOMER,
    PROMISING: RECENT_CUSTOMER,
    POTENTIAL_LOYALISTS: REGULAR,
    NEED_ATTENTION: REGULAR,
    ABOUT_TO_SLEEP: AT_RISK_GROUP,
    AT_RISK: AT_RISK_GROUP,
    CANT_LOSE_THEM: AT_RISK_GROUP,
    HIBERNATING: LOST_GROUP,
    LOST: LOST_GROUP,
}

# Seed codes the grid of `segment_rule` would place elsewhere.
OVERRIDES = {"553": POTENTIAL_LOYALISTS}


def segment_rule(recency: int, frequency: int, monetary: int) -> str:
    """The grid rule on R and F + M, before `OVERRIDES`, for scores 1 to 5."""
    r, f, m = recency, frequency, monetary
    s = f + m
    if r <= 2 and r + s >= 11:
        return CANT_LOSE_THEM
    if r == 1:
        if s >= 6:
            return AT_RISK
        return HIBERNATING if s >= 3 else LOST
    if r == 2:
        return AT_RISK if s >= 7 else ABOUT_TO_SLEEP
    if r == 3:
        if f >= 3 and m >= 3 and s >= 7:
            return LOYAL_CUSTOMERS
        return NEED_ATTENTION if s >= 3 else ABOUT_TO_SLEEP
    if (r == 5 and f >= 4 and m >= 4) or (r == 4 and s >= 9):
        return CHAMPIONS
    if f >= 3 and m >= 3:
        return LOYAL_CUSTOMERS
    if m >= 3:
        return PROMISING
    return POTENTIAL_LOYALISTS if f >= 2 else NEW_CUSTOMERS


def segment_of_code(code: str) -> str:
    """The segment of one three-digit code such as "543"."""
    return OVERRIDES.get(code) or segment_rule(int(code[0]), int(code[1]), int(code[2]))


def _tables() -> tuple[np.ndarray, np.ndarray]:
    size = 6 * 6 * 6
    codes = np.full(size, "", dtype="<U3")
    segments_ = np.full(size, "", dtype="<U19")
    for r in range(1, 6):
        for f in range(1, 6):
            for m in range(1, 6):
                code = f"{r}{f}{m}"
                codes[r * 36 + f * 6 + m] = code
                segments_[r * 36 + f * 6 + m] = segment_of_code(code)
    return codes, segments_


# Indexed by r * 36 + f * 6 + m; "" wherever a score is 0 (no orders).
CODE_TABLE, SEGMENT_TABLE = _tables()
_GROUP_OF_NAME = {**GROUP_OF_SEGMENT, "": ""}


def recency_scores(days: np.ndarray) -> np.ndarray:
    """R from days since the last order: 5 up to 30, 4 to 60, 3 to 90, 2 to 180, else 1."""
    d = np.asarray(days)
    return 1 + (d <= 180).astype(np.int64) + (d <= 90) + (d <= 60) + (d <= 30)


def frequency_scores(orders: np.ndarray) -> np.ndarray:
    """F from the number of orders: 5 for 10+, 4 for 5-9, 3 for 3-4, 2 for 2, 1 for 1, 0 for 0."""
    n = np.asarray(orders)
    return (n >= 1).astype(np.int64) + (n >= 2) + (n >= 3) + (n >= 5) + (n >= 10)


def monetary_edges(spent: np.ndarray) -> list[int]:
    """The four cut points of M over a whole tenant's customers with orders (ties: see docs).

    A group of equal spends shares the middle of its ranks; it scores
    1 + floor(5 * (customers spending less + half of those spending the same) / n), at most 5.
    Edge k is the largest spend scoring at most k (one below the least spend when none does),
    so that `monetary_scores` gives every spend the score of its group.
    """
    values, counts = np.unique(np.asarray(spent, dtype=np.int64), return_counts=True)
    if values.size == 0:
        return [0, 0, 0, 0]
    n = int(counts.sum())
    below = np.cumsum(counts) - counts
    scores = np.minimum(1 + (5 * (2 * below + counts)) // (2 * n), 5)
    edges = []
    for k in range(1, 5):
        at_most_k = values[scores <= k]
        edges.append(int(at_most_k[-1]) if at_most_k.size else int(values[0]) - 1)
    return edges


def monetary_scores(spent: np.ndarray, edges: list[int]) -> np.ndarray:
    """M from total spend: 1 plus the number of edges the spend is above."""
    if len(edges) != 4:
        raise ValueError("monetary_scores needs the four edges of monetary_edges")
    cut_points = np.asarray(edges, dtype=np.int64)
    spent_q = np.asarray(spent, dtype=np.int64)
    return 1 + np.searchsorted(cut_points, spent_q, side="left").astype(np.int64)


def rfm_scores(
    days_since_last_order: np.ndarray, orders: np.ndarray, spent: np.ndarray, edges: list[int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """R, F and M together, all three 0 for customers without orders."""
    has_orders = np.asarray(orders) > 0
    r = np.where(has_orders, recency_scores(days_since_last_order), 0)
    f = frequency_scores(orders)
    m = np.where(has_orders, monetary_scores(spent, edges), 0)
    return r, f, m


def _index(r: np.ndarray, f: np.ndarray, m: np.ndarray) -> np.ndarray:
    r, f, m = (np.asarray(score, dtype=np.intp) for score in (r, f, m))
    for score in (r, f, m):
        if score.size and (score.min() < 0 or score.max() > 5):
            raise ValueError("RFM scores run from 0 to 5")
    index = r * 36 + f * 6 + m
    # A code is only as complete as its scores: a 0 anywhere gives "".
    return np.where((r == 0) | (f == 0) | (m == 0), 0, index)


def rfm_codes(r: np.ndarray, f: np.ndarray, m: np.ndarray) -> np.ndarray:
    """The three-digit codes ("543"), "" where a score is 0."""
    return CODE_TABLE[_index(r, f, m)]


def segments(r: np.ndarray, f: np.ndarray, m: np.ndarray) -> np.ndarray:
    """The named segment of each customer, "" where a score is 0."""
    return SEGMENT_TABLE[_index(r, f, m)]


def groups(segment_names: np.ndarray) -> np.ndarray:
    """Guestman's coarse group of each named segment ("" stays ""), as an array of str."""
    names = np.asarray(segment_names).tolist()
    try:
        return np.array([_GROUP_OF_NAME[name] for name in names], dtype=object)
    except KeyError as unknown:
        raise ValueError(f"not a segment: {unknown.args[0]!r}") from None
