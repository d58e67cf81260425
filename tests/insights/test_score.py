"""The 0-100 customer score of seed 001, at every edge of every band."""

import numpy as np
import pytest

from rapport.insights.scoring.score import customer_scores
from rapport.insights.scoring.thresholds import score_thresholds_q

USD_Q = (50_000, 100_000, 500_000, 1_000_000)  # 500, 1,000, 5,000 and 10,000.00 USD


def recency_points(days) -> list[int]:
    n = len(days)
    return list(customer_scores(np.array(days, dtype=float), np.zeros(n), np.zeros(n), USD_Q))


def test_recency_points_at_each_edge():
    days = [0, 30, 31, 90, 91, 180, 181, 1_000]
    assert recency_points(days) == [30, 30, 20, 20, 10, 10, 0, 0]


def test_no_order_and_no_visit_earns_no_recency_points():
    assert recency_points([np.nan, -1]) == [0, 0]


def test_frequency_points_at_each_edge():
    counts = np.array([0, 2, 3, 5, 6, 11, 12, 400])
    scores = customer_scores(np.full(8, np.nan), counts, np.zeros(8), USD_Q)
    assert list(scores) == [0, 0, 10, 10, 20, 20, 30, 30]


def test_money_points_at_each_edge_in_dollars():
    spent_q = np.array([0, 49_999, 50_000, 99_999, 100_000, 499_999, 500_000, 999_999, 1_000_000])
    scores = customer_scores(np.full(9, np.nan), np.zeros(9), spent_q, USD_Q)
    assert list(scores) == [0, 0, 10, 10, 20, 20, 30, 30, 40]


def test_the_three_add_up_to_100_at_most():
    assert list(customer_scores([12.0], [12], [1_000_000], USD_Q)) == [100]
    assert list(customer_scores([200.0], [1], [0], USD_Q)) == [0]
    assert list(customer_scores([45.0], [7], [120_000], USD_Q)) == [20 + 20 + 20]


def test_thresholds_must_be_four_and_rise():
    with pytest.raises(ValueError, match="four spend thresholds"):
        customer_scores([1.0], [1], [1], (100, 50, 200, 300))


@pytest.mark.parametrize(
    ("currency", "thresholds_q"),
    [
        ("USD", USD_Q),
        # 1,500 naira weigh like a dollar; 100 kobo to the naira.
        ("NGN", (75_000_000, 150_000_000, 750_000_000, 1_500_000_000)),
        # 0.9 euro weighs like a dollar; 100 cents to the euro.
        ("EUR", (45_000, 90_000, 450_000, 900_000)),
    ],
)
def test_thresholds_in_the_tenants_currency(currency, thresholds_q):
    assert score_thresholds_q(currency) == thresholds_q


@pytest.mark.parametrize("currency", ["NGN", "EUR"])
def test_money_edges_in_the_tenants_currency(currency):
    thresholds_q = score_thresholds_q(currency)
    below = [t - 1 for t in thresholds_q]
    spent_q = np.array([value for pair in zip(below, thresholds_q, strict=True) for value in pair])
    n = spent_q.size
    scores = customer_scores(np.full(n, np.nan), np.zeros(n), spent_q, thresholds_q)
    assert list(scores) == [0, 10, 10, 20, 20, 30, 30, 40]


def test_thresholds_follow_the_currency_scale_setting(settings):
    settings.RAPPORT_CURRENCY_SCALE = {"NGN": 1_000}
    assert score_thresholds_q("NGN")[0] == 500 * 1_000 * 100
