"""Lifetime value and churn: the models' inputs, the choice of method, both predictions."""

import math

import numpy as np
import pytest

from rapport.insights.scoring import bgnbd, gamma_gamma, lifetime
from tests.insights.simulation import simulate_bgnbd, simulate_mean_values

PURCHASES = bgnbd.BgNbdParameters(r=0.25, alpha=4.0, a=0.8, b=2.5)
SPEND = gamma_gamma.GammaGammaParameters(p=6.0, q=4.0, v=15_000.0)


def simulated_tenant(n: int, *, seed: int, q: float = SPEND.q):
    rng = np.random.default_rng(seed)
    customers = simulate_bgnbd(rng, n, **vars(PURCHASES), T=rng.uniform(26, 78, n))
    m = np.full(n, np.nan)
    repeat = customers.x > 0
    m[repeat] = simulate_mean_values(rng, customers.x[repeat], p=SPEND.p, q=q, v=SPEND.v)
    return customers.x, customers.t_x, customers.T, m


def test_purchase_history_counts_purchase_days_and_leaves_the_first_out_of_m():
    # Given orders in no particular order: customer 0 buys twice on day 100, then on 107 and
    # 121; customer 1 never; customer 2 twice on day 120.
    customer = np.array([0, 2, 0, 0, 2, 0])
    day = np.array([107, 120, 100, 121, 120, 100])
    amount_q = np.array([2_000, 300, 1_000, 700, 200, 500])

    history = lifetime.purchase_history(
        customer, day, amount_q, customers=3, as_of_day=128, days_per_unit=7
    )

    assert list(history.x) == [2, 0, 0]
    assert list(history.t_x) == [3, 0, 0]
    assert list(history.T) == pytest.approx([4, 0, 8 / 7])
    assert history.m[0] == (2_000 + 700) / 2
    assert np.isnan(history.m[1:]).all()
    assert list(history.has_purchases) == [True, False, True]


def test_purchase_history_of_no_orders():
    history = lifetime.purchase_history([], [], [], customers=2, as_of_day=10)
    assert list(history.x) == [0, 0]
    assert not history.has_purchases.any()


def test_time_units_in_days():
    assert lifetime.DAYS_PER_UNIT == {"day": 1.0, "week": 7.0, "month": 365.25 / 12}


def test_too_few_repeat_customers_choose_the_heuristic_and_say_so():
    x = np.array([0, 1, 2, 0], dtype=float)
    t_x, T = np.array([0, 4, 10, 0.0]), np.array([5, 8, 12, 3.0])
    m = np.array([np.nan, 1_000, 2_000, np.nan])

    model = lifetime.choose_method(x, t_x, T, m)

    assert model.method == lifetime.METHOD_HEURISTIC
    assert (
        model.reason
        == "2 customers with repeat purchases, fewer than the 200 the models are fitted on"
    )
    assert model.bgnbd is None and model.gamma_gamma is None
    assert model.tenant_gap == pytest.approx(14 / 3)


def test_enough_history_chooses_the_fitted_models():
    x, t_x, T, m = simulated_tenant(5_000, seed=1)

    model = lifetime.choose_method(x, t_x, T, m)

    assert model.method == lifetime.METHOD_MODEL
    assert model.bgnbd.converged and model.gamma_gamma.converged
    repeat = int((x > 0).sum())
    assert (
        model.reason
        == f"BG/NBD fitted on 5000 customers, Gamma-Gamma on the {repeat} with repeat purchases"
    )


def test_a_fit_that_reaches_a_bound_does_not_serve():
    # Everyone bought every week and still does: no heterogeneity, no dropout to estimate.
    n = 500
    weeks = np.full(n, 52.0)

    model = lifetime.choose_method(weeks, weeks, weeks, np.full(n, 1_000.0))

    assert model.method == lifetime.METHOD_HEURISTIC
    assert model.reason == "the BG/NBD fit did not converge (a parameter reached its bound)"
    assert model.gamma_gamma is None


def test_q_at_most_1_chooses_the_heuristic():
    x, t_x, T, m = simulated_tenant(6_000, seed=4, q=0.7)

    model = lifetime.choose_method(x, t_x, T, m)

    assert model.method == lifetime.METHOD_HEURISTIC
    assert model.gamma_gamma.q <= 1
    assert model.reason.startswith("the Gamma-Gamma fit has q = 0.")
    assert model.reason.endswith("<= 1: no finite mean value")


def test_the_model_card_survives_a_trip_through_json():
    import json

    model = lifetime.choose_method(*simulated_tenant(2_000, seed=2))
    stored = (
        json.loads(json.dumps(model.parameters())),
        json.loads(json.dumps(model.log_likelihoods())),
    )

    again = lifetime.LifetimeModel.from_parameters(
        method=model.method, reason=model.reason, parameters=stored[0], log_likelihoods=stored[1]
    )

    assert again == model
    assert set(stored[0]) == {"tenant_gap", "bgnbd", "gamma_gamma"}
    assert set(stored[0]["bgnbd"]) == {"r", "alpha", "a", "b", "n", "converged", "message"}


def test_model_predictions_are_bgnbd_purchases_times_gamma_gamma_value():
    model = lifetime.LifetimeModel(
        lifetime.METHOD_MODEL,
        "given",
        3.0,
        _fit(bgnbd.BgNbdFit, PURCHASES),
        _fit(gamma_gamma.GammaGammaFit, SPEND),
    )
    x, t_x, T = np.array([0, 2, 10.0]), np.array([0, 30, 40.0]), np.array([20, 38, 41.0])
    m = np.array([np.nan, 4_000, 6_500.0])

    prediction = lifetime.predict(model, x, t_x, T, m, np.zeros(3), horizon=52)

    alive = bgnbd.p_alive(PURCHASES, x, t_x, T)
    purchases = bgnbd.expected_purchases(PURCHASES, 52, x, t_x, T)
    value = gamma_gamma.expected_average_value(SPEND, x, m)
    assert prediction.p_alive == pytest.approx(alive)
    assert prediction.churn_risk == pytest.approx(1 - alive)
    assert prediction.churn_risk[0] == 0  # BG/NBD: no dropout before a repeat purchase
    assert prediction.predicted_purchases == pytest.approx(purchases)
    assert prediction.predicted_value_q.dtype == np.int64
    assert list(prediction.predicted_value_q) == list(np.rint(purchases * value).astype(int))


def test_discounting_lowers_the_value_but_not_the_purchases():
    model = lifetime.LifetimeModel(
        lifetime.METHOD_MODEL,
        "given",
        3.0,
        _fit(bgnbd.BgNbdFit, PURCHASES),
        _fit(gamma_gamma.GammaGammaFit, SPEND),
    )
    x, t_x, T, m = np.array([4.0]), np.array([30.0]), np.array([38.0]), np.array([5_000.0])

    plain = lifetime.predict(model, x, t_x, T, m, [0], horizon=52)
    no_rate = lifetime.predict(model, x, t_x, T, m, [0], horizon=52, discount_rate=0.0)
    discounted = lifetime.predict(model, x, t_x, T, m, [0], horizon=52, discount_rate=0.002)

    assert no_rate == plain
    assert discounted.predicted_purchases == pytest.approx(plain.predicted_purchases)
    # About 0.2% a week over a year's purchases, which thin out as customers drop out.
    ratio = discounted.predicted_value_q[0] / plain.predicted_value_q[0]
    assert 1.002**-26 < ratio < 1


def test_the_heuristic_worked_by_hand():
    # A: x=3 over 9 weeks, silent 3 (its own gap 3). B: x=1, silent 6. C: one purchase 2 weeks
    # ago. B and C use the tenant's gap of 5 weeks.
    x, t_x, T = np.array([3, 1, 0.0]), np.array([9, 4, 0.0]), np.array([12, 10, 2.0])
    ticket_q = np.array([2_500, 1_000, 8_000])

    prediction = lifetime.heuristic_prediction(x, t_x, T, ticket_q, horizon=52, tenant_gap=5)

    alive = [math.exp(-3 / 3), math.exp(-6 / 5), math.exp(-2 / 5)]
    rate = [4 / 12, 2 / 10, 1 / 5]
    purchases = [a * r * 52 for a, r in zip(alive, rate, strict=True)]
    assert prediction.p_alive == pytest.approx(alive)
    assert prediction.churn_risk == pytest.approx([1 - a for a in alive])
    assert prediction.predicted_purchases == pytest.approx(purchases)
    assert list(prediction.predicted_value_q) == [
        round(p * t) for p, t in zip(purchases, ticket_q, strict=True)
    ]


def test_the_heuristic_discounts_its_even_purchases_like_a_continuous_rate():
    x, t_x, T = np.array([3.0]), np.array([9.0]), np.array([9.0])
    plain = lifetime.heuristic_prediction(x, t_x, T, [10_000], horizon=52, tenant_gap=5)
    discounted = lifetime.heuristic_prediction(
        x, t_x, T, [10_000], horizon=52, tenant_gap=5, discount_rate=0.01
    )
    continuous = (1 - 1.01**-52) / (52 * math.log(1.01))
    assert discounted.predicted_value_q[0] / plain.predicted_value_q[0] == pytest.approx(
        continuous, rel=1e-3
    )


def test_predict_uses_the_cards_tenant_gap_for_the_heuristic():
    model = lifetime.LifetimeModel(lifetime.METHOD_HEURISTIC, "too few", 4.0)
    x, t_x, T = np.array([1.0]), np.array([2.0]), np.array([6.0])

    prediction = lifetime.predict(model, x, t_x, T, [np.nan], [1_000], horizon=26)

    assert prediction == lifetime.heuristic_prediction(
        x, t_x, T, [1_000], horizon=26, tenant_gap=4.0
    )


def test_model_predictions_need_a_model_card_that_fitted():
    model = lifetime.LifetimeModel(lifetime.METHOD_HEURISTIC, "too few", 4.0)
    with pytest.raises(ValueError, match="too few"):
        lifetime.model_prediction(model, [1], [1], [2], [10], horizon=52)


def test_tenant_mean_gap_without_any_repeat_purchase_is_the_mean_age():
    assert lifetime.tenant_mean_gap([0, 0], [0, 0], [3.0, 5.0]) == 4.0
    assert lifetime.tenant_mean_gap([0], [0], [0.0]) == 1.0


def _fit(fit_class, params):
    return fit_class(**vars(params), log_likelihood=0.0, n=1, converged=True)
