"""BG/NBD against the paper's formulas worked by hand, and against its own simulated process."""

import math

import numpy as np
import pytest
from scipy.special import hyp2f1

from rapport.insights.scoring import bgnbd
from tests.insights.simulation import simulate_bgnbd

# The paper's CDNOW estimates (Fader, Hardie & Lee 2005, section 4).
CDNOW = bgnbd.BgNbdParameters(r=0.243, alpha=4.414, a=0.793, b=2.426)
TRUTH = bgnbd.BgNbdParameters(r=0.25, alpha=4.0, a=0.8, b=2.5)


def beta_function(u: float, v: float) -> float:
    return math.gamma(u) * math.gamma(v) / math.gamma(u + v)


def test_the_likelihood_of_a_customer_with_repeat_purchases_is_eq_6():
    r, alpha, a, b = CDNOW.r, CDNOW.alpha, CDNOW.a, CDNOW.b
    x, t_x, T = 2, 30.43, 38.86
    purchases = math.gamma(r + x) * alpha**r / math.gamma(r)
    alive = beta_function(a, b + x) / beta_function(a, b) * purchases / (alpha + T) ** (r + x)
    dead = (
        beta_function(a + 1, b + x - 1) / beta_function(a, b) * purchases / (alpha + t_x) ** (r + x)
    )
    by_hand = math.log(alive + dead)

    assert bgnbd.log_likelihood(CDNOW, [x], [t_x], [T])[0] == pytest.approx(by_hand, rel=1e-12)


def test_the_likelihood_of_a_customer_without_repeat_purchases_is_eq_6():
    # With x = 0 only the first term is left: B(a, b)/B(a, b) * (alpha / (alpha + T))^r.
    T = 20.0
    by_hand = CDNOW.r * math.log(CDNOW.alpha / (CDNOW.alpha + T))

    assert bgnbd.log_likelihood(CDNOW, [0], [0], [T])[0] == pytest.approx(by_hand, rel=1e-12)


def test_p_alive_is_the_papers_note_by_hand():
    r, alpha, a, b = CDNOW.r, CDNOW.alpha, CDNOW.a, CDNOW.b
    x, t_x, T = 2, 30.43, 38.86
    by_hand = 1 / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x))

    assert bgnbd.p_alive(CDNOW, x, t_x, T) == pytest.approx(by_hand, rel=1e-12)


def test_p_alive_is_1_without_repeat_purchases_however_long_ago():
    T = np.array([0.0, 1.0, 52.0, 520.0])
    assert np.array_equal(bgnbd.p_alive(CDNOW, np.zeros(4), np.zeros(4), T), np.ones(4))


def test_a_customer_who_bought_at_T_may_still_have_dropped_out_right_after():
    # t_x = T leaves P(alive) = 1 / (1 + a / (b + x - 1)) = (b + x - 1) / (a + b + x - 1).
    x = np.array([1.0, 3.0, 40.0])
    by_hand = (CDNOW.b + x - 1) / (CDNOW.a + CDNOW.b + x - 1)
    assert bgnbd.p_alive(CDNOW, x, np.full(3, 30.0), np.full(3, 30.0)) == pytest.approx(by_hand)


def test_p_alive_falls_with_the_silence_since_the_last_purchase():
    alive = bgnbd.p_alive(CDNOW, np.full(4, 5), np.array([39, 30, 20, 5]), np.full(4, 39))
    assert np.all(np.diff(alive) < 0)


def test_expected_purchases_match_the_papers_worked_example():
    # x = 2, t_x = 30.43, T = 38.86: 1.226 purchases in the next 39 weeks (the paper, section 4).
    assert bgnbd.expected_purchases(CDNOW, 39, 2, 30.43, 38.86) == pytest.approx(1.226, abs=5e-4)


@pytest.mark.parametrize(("x", "t_x", "T"), [(0, 0, 20), (1, 3, 10), (7, 30, 38), (30, 50, 52)])
def test_expected_purchases_are_eq_10_as_the_paper_writes_it(x, t_x, T):
    r, alpha, a, b = CDNOW.r, CDNOW.alpha, CDNOW.a, CDNOW.b
    t = 26.0
    hyp = hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
    numerator = (a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp)
    denominator = 1 + (x > 0) * a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x)

    assert bgnbd.expected_purchases(CDNOW, t, x, t_x, T) == pytest.approx(
        numerator / denominator, rel=1e-9
    )


def test_expected_purchases_stay_finite_where_the_papers_form_overflows():
    r, alpha, a, b = CDNOW.r, CDNOW.alpha, CDNOW.a, CDNOW.b
    x = np.array([200.0, 1_000.0, 5_000.0])
    t_x, T, t = np.full(3, 51.99), np.full(3, 52.0), 52.0
    # The paper's form multiplies 2F1 ~ 1e283 by a power ~ 1e-284 at x = 1,000, inf by 0 at 5,000.
    hyp = hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
    shrink = ((alpha + T) / (alpha + T + t)) ** (r + x)
    with np.errstate(invalid="ignore"):
        papers = bgnbd.p_alive(CDNOW, x, t_x, T) * (a + b + x - 1) / (a - 1) * (1 - shrink * hyp)

    expected = bgnbd.expected_purchases(CDNOW, t, x, t_x, T)

    assert expected[:2] == pytest.approx(papers[:2], rel=1e-9)
    assert not np.isfinite(hyp[2])
    # Below what the customer would buy at its mean rate (r + x) / (alpha + T) never dropping out.
    assert 0.5 * t * (r + x[2]) / (alpha + T[2]) < expected[2] < t * (r + x[2]) / (alpha + T[2])


def test_expected_purchases_over_no_time_are_zero():
    assert bgnbd.expected_purchases(CDNOW, 0.0, 4, 10, 20) == 0


def test_unconditional_expectation_is_eq_9_and_the_conditional_one_at_birth():
    t = np.array([1.0, 13.0, 39.0, 78.0])
    unconditional = bgnbd.unconditional_expected_purchases(CDNOW, t)
    at_birth = bgnbd.expected_purchases(CDNOW, t, np.zeros(4), np.zeros(4), np.zeros(4))
    assert unconditional == pytest.approx(at_birth, rel=1e-9)


def test_unconditional_expectation_matches_simulation():
    rng = np.random.default_rng(11)
    n, t = 40_000, 39.0
    simulated = simulate_bgnbd(rng, n, **vars(TRUTH), T=np.full(n, t))
    standard_error = simulated.x.std() / math.sqrt(n)
    expected = bgnbd.unconditional_expected_purchases(TRUTH, t)
    assert abs(simulated.x.mean() - expected) < 3 * standard_error


def test_fitting_recovers_the_parameters_it_simulated_from():
    rng = np.random.default_rng(2024)
    n = 20_000
    simulated = simulate_bgnbd(rng, n, **vars(TRUTH), T=rng.uniform(26, 78, n))

    fit = bgnbd.fit_bgnbd(simulated.x, simulated.t_x, simulated.T)

    assert fit.converged
    assert fit.n == n
    assert fit.r == pytest.approx(TRUTH.r, rel=0.05)
    assert fit.alpha == pytest.approx(TRUTH.alpha, rel=0.05)
    assert fit.a == pytest.approx(TRUTH.a, rel=0.2)
    assert fit.b == pytest.approx(TRUTH.b, rel=0.2)
    total = bgnbd.log_likelihood(fit, simulated.x, simulated.t_x, simulated.T).sum()
    assert fit.log_likelihood == pytest.approx(total, rel=1e-9)
    assert (
        fit.log_likelihood
        >= bgnbd.log_likelihood(TRUTH, simulated.x, simulated.t_x, simulated.T).sum()
    )


def test_fitting_grouped_rows_with_weights_is_fitting_every_customer():
    rng = np.random.default_rng(5)
    n = 5_000
    simulated = simulate_bgnbd(rng, n, **vars(TRUTH), T=rng.integers(10, 60, n).astype(float))
    x, t_x, T = simulated.x, np.round(simulated.t_x), simulated.T
    rows, counts = np.unique(np.column_stack([x, t_x, T]), axis=0, return_counts=True)

    each = bgnbd.fit_bgnbd(x, t_x, T)
    grouped = bgnbd.fit_bgnbd(rows[:, 0], rows[:, 1], rows[:, 2], weights=counts)

    assert grouped.n == each.n == n
    assert grouped.r == pytest.approx(each.r, rel=1e-5)
    assert grouped.b == pytest.approx(each.b, rel=1e-4)
    assert grouped.log_likelihood == pytest.approx(each.log_likelihood, rel=1e-9)


def test_expected_purchases_agree_with_a_simulated_holdout():
    # Given customers simulated over a calibration period and 39 weeks after it,
    rng = np.random.default_rng(99)
    n = 20_000
    simulated = simulate_bgnbd(rng, n, **vars(TRUTH), T=rng.uniform(26, 78, n), holdout=39)
    # when their next 39 weeks are predicted from the calibration period alone,
    expected = bgnbd.expected_purchases(TRUTH, 39, simulated.x, simulated.t_x, simulated.T)
    # then the prediction matches what they went on to buy, overall and by past behaviour.
    for group in (np.ones(n, bool), simulated.x == 0, simulated.x >= 3):
        actual = simulated.holdout_purchases[group]
        standard_error = actual.std() / math.sqrt(group.sum())
        assert abs(expected[group].mean() - actual.mean()) < 3.5 * standard_error


def test_inconsistent_histories_are_refused():
    with pytest.raises(ValueError, match="t_x <= T"):
        bgnbd.p_alive(CDNOW, [1], [10], [5])
    with pytest.raises(ValueError, match="x >= 0"):
        bgnbd.log_likelihood(CDNOW, [-1], [0], [5])
