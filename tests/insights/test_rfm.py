"""RFM scores, codes, segments and groups against the seed's table (003, "RFM Segmentation")."""

import re
from pathlib import Path

import numpy as np
import pytest

from rapport.insights.scoring import rfm

# Every code the seed lists, segment by segment; 155 is listed under both At Risk and
# Can't Lose Them, and lives in Can't Lose Them (docs/insights.md says why).
SEED_CODES = {
    rfm.CHAMPIONS: ["555", "554", "545"],
    rfm.LOYAL_CUSTOMERS: ["543", "444", "435"],
    rfm.POTENTIAL_LOYALISTS: ["553", "551", "532"],
    rfm.NEW_CUSTOMERS: ["512", "511", "412"],
    rfm.PROMISING: ["525", "524", "513"],
    rfm.NEED_ATTENTION: ["333", "332", "321"],
    rfm.ABOUT_TO_SLEEP: ["231", "241", "251"],
    rfm.AT_RISK: ["154", "144"],
    rfm.CANT_LOSE_THEM: ["155", "254", "245"],
    rfm.HIBERNATING: ["122", "121", "112"],
    rfm.LOST: ["111"],
}

ALL_CODES = [f"{r}{f}{m}" for r in range(1, 6) for f in range(1, 6) for m in range(1, 6)]


def _scores(codes: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    digits = np.array([[int(c) for c in code] for code in codes])
    return digits[:, 0], digits[:, 1], digits[:, 2]


@pytest.mark.parametrize(
    ("segment", "code"), [(s, code) for s, codes in SEED_CODES.items() for code in codes]
)
def test_every_code_the_seed_lists_is_in_its_segment(segment, code):
    assert rfm.segment_of_code(code) == segment
    assert rfm.segments(*_scores([code]))[0] == segment


def test_155_is_cant_lose_them_and_its_neighbours_at_risk_stay_at_risk():
    assert rfm.segment_of_code("155") == rfm.CANT_LOSE_THEM
    assert rfm.segment_of_code("154") == rfm.AT_RISK
    assert rfm.segment_of_code("255") == rfm.CANT_LOSE_THEM


def test_all_125_codes_map_to_exactly_one_of_the_11_segments():
    mapped = rfm.segments(*_scores(ALL_CODES))
    assert len(ALL_CODES) == 125
    assert set(mapped) == set(rfm.SEGMENTS)
    assert all(segment in rfm.SEGMENTS for segment in mapped)
    # The table agrees with the rule it was built from, code by code.
    assert list(mapped) == [rfm.segment_of_code(code) for code in ALL_CODES]


def test_only_553_is_overridden_and_the_grid_alone_would_call_it_loyal():
    assert rfm.OVERRIDES == {"553": rfm.POTENTIAL_LOYALISTS}
    assert rfm.segment_rule(5, 5, 3) == rfm.LOYAL_CUSTOMERS
    overridden = [c for c in ALL_CODES if rfm.segment_rule(*map(int, c)) != rfm.segment_of_code(c)]
    assert overridden == ["553"]


def test_every_segment_belongs_to_one_of_the_six_groups():
    assert set(rfm.GROUP_OF_SEGMENT) == set(rfm.SEGMENTS)
    assert set(rfm.GROUP_OF_SEGMENT.values()) == set(rfm.GROUPS)
    segments = rfm.segments(*_scores(ALL_CODES))
    groups = rfm.groups(segments)
    assert [rfm.GROUP_OF_SEGMENT[s] for s in segments] == list(groups)
    assert list(rfm.groups(np.array(list(segments), dtype=object))) == list(groups)


def test_a_group_is_asked_of_segments_only():
    with pytest.raises(ValueError, match="not a segment: 'vip'"):
        rfm.groups(np.array(["champions", "vip"]))


def test_codes_and_segments_are_empty_where_a_score_is_zero():
    r, f, m = np.array([0, 5, 3]), np.array([0, 4, 0]), np.array([0, 3, 2])
    assert list(rfm.rfm_codes(r, f, m)) == ["", "543", ""]
    assert list(rfm.segments(r, f, m)) == ["", rfm.LOYAL_CUSTOMERS, ""]
    assert list(rfm.groups(rfm.segments(r, f, m))) == ["", rfm.LOYAL_CUSTOMER, ""]


def test_scores_outside_0_to_5_are_refused():
    with pytest.raises(ValueError, match="0 to 5"):
        rfm.segments(np.array([6]), np.array([1]), np.array([1]))


def test_recency_bands_at_each_edge():
    days = np.array([0, 30, 31, 60, 61, 90, 91, 180, 181, 5000])
    assert list(rfm.recency_scores(days)) == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]


def test_frequency_bands_at_each_edge():
    orders = np.array([0, 1, 2, 3, 4, 5, 9, 10, 250])
    assert list(rfm.frequency_scores(orders)) == [0, 1, 2, 3, 3, 4, 4, 5, 5]


def test_monetary_quintiles_without_ties():
    spent = np.arange(1, 11) * 1000  # ten customers, two per fifth
    edges = rfm.monetary_edges(spent)
    assert edges == [2000, 4000, 6000, 8000]
    assert list(rfm.monetary_scores(spent, edges)) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_equal_spend_gets_equal_score_at_the_middle_of_its_ranks():
    # Ranks 1-6 share 100: their middle, 3 of 10, lies in the second fifth.
    spent = np.array([100] * 6 + [200, 300, 400, 500])
    edges = rfm.monetary_edges(spent)
    assert list(rfm.monetary_scores(spent, edges)) == [2] * 6 + [4, 4, 5, 5]


def test_everyone_spending_the_same_scores_3():
    spent = np.full(7, 4_500)
    edges = rfm.monetary_edges(spent)
    assert edges == [4_499, 4_499, 4_500, 4_500]
    assert set(rfm.monetary_scores(spent, edges)) == {3}


def test_a_tenant_scored_in_chunks_scores_as_a_whole():
    rng = np.random.default_rng(3)
    spent = rng.integers(0, 50, 10_000) * 500  # many ties
    edges = rfm.monetary_edges(spent)
    whole = rfm.monetary_scores(spent, edges)
    chunks = np.concatenate([rfm.monetary_scores(c, edges) for c in np.array_split(spent, 7)])
    assert np.array_equal(whole, chunks)
    # Each score holds about a fifth, and a higher spend never scores lower.
    order = np.argsort(spent, kind="stable")
    assert np.all(np.diff(whole[order]) >= 0)
    assert set(whole) == {1, 2, 3, 4, 5}


def test_customers_without_orders_score_zero_with_no_code_or_segment():
    days = np.array([10, 0, 200])
    orders = np.array([12, 0, 1])
    spent = np.array([90_000, 0, 1_000])
    edges = rfm.monetary_edges(spent[orders > 0])
    r, f, m = rfm.rfm_scores(days, orders, spent, edges)
    # Of two customers with orders, the middles of their ranks are 1/4 and 3/4.
    assert (list(r), list(f), list(m)) == ([5, 0, 1], [5, 0, 1], [4, 0, 2])
    assert list(rfm.rfm_codes(r, f, m)) == ["554", "", "112"]
    assert list(rfm.segments(r, f, m)) == [rfm.CHAMPIONS, "", rfm.HIBERNATING]


def test_a_million_customers_score_in_well_under_a_second():
    import time

    rng = np.random.default_rng(0)
    n = 1_000_000
    days, orders = rng.integers(0, 400, n), rng.integers(0, 20, n)
    spent = rng.integers(0, 10**7, n)
    started = time.perf_counter()
    edges = rfm.monetary_edges(spent[orders > 0])
    r, f, m = rfm.rfm_scores(days, orders, spent, edges)
    rfm.rfm_codes(r, f, m), rfm.groups(rfm.segments(r, f, m))
    assert time.perf_counter() - started < 5.0  # about 0.5 s; the room is for a busy machine


ABBREVIATIONS = {
    "CH": rfm.CHAMPIONS,
    "LC": rfm.LOYAL_CUSTOMERS,
    "PL": rfm.POTENTIAL_LOYALISTS,
    "NC": rfm.NEW_CUSTOMERS,
    "PR": rfm.PROMISING,
    "NA": rfm.NEED_ATTENTION,
    "AS": rfm.ABOUT_TO_SLEEP,
    "AR": rfm.AT_RISK,
    "CL": rfm.CANT_LOSE_THEM,
    "HI": rfm.HIBERNATING,
    "LO": rfm.LOST,
}


def test_the_table_in_the_docs_is_the_table_in_the_code():
    docs = Path(__file__).parents[2] / "docs" / "insights.md"
    rows = re.findall(
        r"^\| (\d) \| (\d) \|((?: \*{0,2}[A-Z]{2}\*{0,2} \|){5})$", docs.read_text(), re.M
    )
    documented = {}
    for r, f, cells in rows:
        for m, cell in enumerate(re.findall(r"[A-Z]{2}", cells), start=1):
            documented[f"{r}{f}{m}"] = ABBREVIATIONS[cell]
    assert documented == {code: rfm.segment_of_code(code) for code in ALL_CODES}
