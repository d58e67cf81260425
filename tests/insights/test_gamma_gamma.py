"""Gamma-Gamma against the note's density worked by hand, and against simulated spend."""

import math

import numpy as np
import pytest

from rapport.insights.scoring import gamma_gamma
from tests.insights.simulation import simulate_mean_values

TRUTH = gamma_gamma.GammaGammaParameters(p=6.0, q=4.0, v=15_000.0)


def test_the_likelihood_is_the_density_of_the_mean_worked_by_hand():
    # f(m | p, q, v, x) = Γ(px+q) / (Γ(px) Γ(q)) · v^q m^(px-1) x^(px) / (v + m x)^(px+q)
    p, q, v = 6.0, 4.0, 150.0
    x, m = 3, 42.5
    density = (
        math.gamma(p * x + q)
        / (math.gamma(p * x) * math.gamma(q))
        * v**q
        * m ** (p * x - 1)
        * x ** (p * x)
        / (v + m * x) ** (p * x + q)
    )
    params = gamma_gamma.GammaGammaParameters(p=p, q=q, v=v)

    assert gamma_gamma.log_likelihood(params, [x], [m])[0] == pytest.approx(
        math.log(density), rel=1e-12
    )


def test_the_likelihood_of_a_single_repeat_purchase_worked_by_hand():
    # x = 1 leaves v^q m^(p-1) Γ(p+q) / (Γ(p) Γ(q) (v + m)^(p+q)).
    params = gamma_gamma.GammaGammaParameters(p=2.0, q=3.0, v=10.0)
    m = 4.0
    density = 10**3 * 4.0 * math.gamma(5) / (math.gamma(2) * math.gamma(3) * 14.0**5)

    assert gamma_gamma.log_likelihood(params, [1], [m])[0] == pytest.approx(
        math.log(density), rel=1e-12
    )


def test_the_likelihood_needs_repeat_purchases_of_positive_value():
    with pytest.raises(ValueError, match="x > 0 and m > 0"):
        gamma_gamma.log_likelihood(TRUTH, [0], [10.0])


def test_expected_value_weighs_the_population_mean_against_the_customers_own():
    # E[M | x, m] = p (v + x m) / (p x + q - 1)
    params = gamma_gamma.GammaGammaParameters(p=6.0, q=4.0, v=150.0)
    population = 6.0 * 150.0 / 3.0

    expected = gamma_gamma.expected_average_value(params, [0, 1, 4, 1000], [np.nan, 80, 80, 80])

    assert gamma_gamma.population_mean_value(params) == population
    assert expected[0] == population
    assert expected[1] == pytest.approx(6.0 * (150 + 80) / (6 + 3), rel=1e-12)
    assert expected[2] == pytest.approx(6.0 * (150 + 320) / (24 + 3), rel=1e-12)
    assert expected[3] == pytest.approx(6.0 * (150 + 80_000) / (6_000 + 3), rel=1e-12)
    assert expected[3] == pytest.approx(80, rel=2e-3)


def test_the_mean_value_needs_q_above_1():
    params = gamma_gamma.GammaGammaParameters(p=2.0, q=1.0, v=10.0)
    with pytest.raises(ValueError, match="q > 1"):
        gamma_gamma.expected_average_value(params, [1], [5.0])


def test_fitting_recovers_the_parameters_it_simulated_from():
    rng = np.random.default_rng(8)
    x = rng.integers(1, 15, 20_000).astype(float)
    m = simulate_mean_values(rng, x, **vars(TRUTH))

    fit = gamma_gamma.fit_gamma_gamma(x, m)

    assert fit.converged
    assert fit.n == 20_000
    assert fit.p == pytest.approx(TRUTH.p, rel=0.1)
    assert fit.q == pytest.approx(TRUTH.q, rel=0.1)
    assert fit.v == pytest.approx(TRUTH.v, rel=0.1)
    assert fit.log_likelihood == pytest.approx(gamma_gamma.log_likelihood(fit, x, m).sum())
    assert fit.log_likelihood >= gamma_gamma.log_likelihood(TRUTH, x, m).sum()


def test_fitting_leaves_out_customers_without_repeat_purchases():
    rng = np.random.default_rng(9)
    x = rng.integers(1, 10, 3_000).astype(float)
    m = simulate_mean_values(rng, x, **vars(TRUTH))
    with_others = gamma_gamma.fit_gamma_gamma(
        np.concatenate([x, np.zeros(500), [2.0]]), np.concatenate([m, np.full(500, np.nan), [0]])
    )

    alone = gamma_gamma.fit_gamma_gamma(x, m)

    assert with_others.n == alone.n == 3_000
    assert with_others.p == pytest.approx(alone.p, rel=1e-9)


def test_expected_value_agrees_with_the_simulated_customers_next_purchases():
    # Given customers whose rates are known to the simulation,
    rng = np.random.default_rng(10)
    n, x = 30_000, 3.0
    nu = rng.gamma(TRUTH.q, 1 / TRUTH.v, n)
    m = rng.gamma(TRUTH.p * x, 1 / (nu * x))
    # when their mean value is predicted from three purchases,
    expected = gamma_gamma.expected_average_value(TRUTH, np.full(n, x), m)
    # then customers predicted high spend more on average next time, as predicted.
    next_purchase = rng.gamma(TRUTH.p, 1 / nu)
    high = expected > np.median(expected)
    for group in (high, ~high):
        standard_error = next_purchase[group].std() / math.sqrt(group.sum())
        assert abs(next_purchase[group].mean() - expected[group].mean()) < 3.5 * standard_error
