"""BG/NBD (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy Way"): repeat purchases.

Per customer: x repeat purchases, the last at t_x, observed until T (0 <= t_x <= T, t_x = 0
when x = 0), all in one time unit. While alive a customer buys at rate lambda ~ Gamma(r, alpha);
after each purchase it drops out with probability p ~ Beta(a, b).
"""

from dataclasses import dataclass

import numpy as np
from scipy import optimize
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

# Bounds on the logarithms of the parameters while fitting: wide, but away from overflow.
LOG_PARAMETER_BOUND = 18.0


@dataclass(frozen=True)
class BgNbdParameters:
    """The four BG/NBD parameters: lambda ~ Gamma(r, alpha), p ~ Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float


@dataclass(frozen=True)
class BgNbdFit(BgNbdParameters):
    """Parameters fitted by maximum likelihood, with the total log-likelihood they reach."""

    log_likelihood: float
    n: int
    converged: bool
    message: str = ""


def _arrays(x, t_x, T) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, t_x, T = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (x, t_x, T)))
    if np.any(x < 0) or np.any(t_x < 0) or np.any(t_x > T):
        raise ValueError("BG/NBD needs x >= 0 and 0 <= t_x <= T")
    return x, t_x, T


def log_likelihood(params: BgNbdParameters, x, t_x, T) -> np.ndarray:
    """Each customer's log-likelihood, the logarithm of eq. 6 of the paper."""
    x, t_x, T = _arrays(x, t_x, T)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    repeat = x > 0
    # ln[Gamma(r+x) alpha^r / Gamma(r)] + ln[B(a, b+x) / B(a, b)]
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + betaln(a, b + x) - betaln(a, b)
    alive_term = -(r + x) * np.log(alpha + T)
    # B(a+1, b+x-1) / B(a, b+x) = a / (b+x-1): the customer dropped out right after t_x.
    x_safe = np.where(repeat, x, 1.0)
    dropout_term = np.where(
        repeat, np.log(a) - np.log(b + x_safe - 1) - (r + x) * np.log(alpha + t_x), -np.inf
    )
    return common + np.logaddexp(alive_term, dropout_term)


def p_alive(params: BgNbdParameters, x, t_x, T) -> np.ndarray:
    """P(alive at T | x, t_x, T): 1 where x = 0, since customers drop out only after a purchase.

    From Fader, Hardie & Lee (2008), "Computing P(alive) Using the BG/NBD Model".
    """
    x, t_x, T = _arrays(x, t_x, T)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x_safe = np.where(x > 0, x, 1.0)
    log_odds_dead = (
        np.log(a) - np.log(b + x_safe - 1) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
    )
    return np.where(x > 0, expit(-log_odds_dead), 1.0)


def _a_away_from_one(a: float) -> float:
    # The closed forms divide by a - 1: next to 1, a moves to 1 + 1e-7, close to their limit.
    return a if abs(a - 1.0) > 1e-7 else 1.0 + 1e-7


def expected_purchases(params: BgNbdParameters, t, x, t_x, T) -> np.ndarray:
    """E[Y(t) | x, t_x, T]: expected purchases in the next t time units, eq. 10 of the paper.

    The paper's 2F1(r+x, b+x; a+b+x-1; z) with z = t/(alpha+T+t) overflows for large x; it is
    evaluated through Euler's transformation, which leaves parameters that do not grow with x:
    ((alpha+T)/(alpha+T+t))^(r+x) 2F1(...) = (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z).
    """
    x, t_x, T = _arrays(x, t_x, T)
    shape = np.broadcast_shapes(x.shape, np.shape(t))
    x, t_x, T, t = (np.broadcast_to(v, shape).astype(np.float64).ravel() for v in (x, t_x, T, t))
    r, alpha, b = params.r, params.alpha, params.b
    a = _a_away_from_one(params.a)
    c = a + b + x - 1
    z = t / (alpha + T + t)
    with np.errstate(divide="ignore", invalid="ignore"):
        hyp = hyp2f1(a + b - 1 - r, a - 1, c, z)
        bracket = -np.expm1((a - 1) * np.log1p(-z) + np.log(hyp))
        failed = ~np.isfinite(bracket)
        if failed.any():
            # The paper's own form, where the transformed one cannot be evaluated.
            x_f, T_f, t_f = x[failed], T[failed], t[failed]
            shrink = (r + x_f) * (np.log(alpha + T_f) - np.log(alpha + T_f + t_f))
            bracket[failed] = 1 - np.exp(shrink) * hyp2f1(r + x_f, b + x_f, c[failed], z[failed])
    expected = p_alive(params, x, t_x, T) * c / (a - 1) * bracket
    return np.where(t > 0, expected, 0.0).reshape(shape)


def unconditional_expected_purchases(params: BgNbdParameters, t) -> np.ndarray:
    """E[X(t)] for a customer picked at random at its first purchase, eq. 9 of the paper."""
    t = np.asarray(t, dtype=np.float64)
    r, alpha, b = params.r, params.alpha, params.b
    a = _a_away_from_one(params.a)
    hyp = hyp2f1(r, b, a + b - 1, t / (alpha + t))
    return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp)


@dataclass(frozen=True)
class _Data:
    """Customers grouped by equal (x, t_x, T), and their x values grouped apart."""

    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    weight: np.ndarray
    x_values: np.ndarray  # distinct x
    x_of_row: np.ndarray  # index into x_values
    x_weight: np.ndarray  # customers per distinct x


def _group(x, t_x, T, weights) -> _Data:
    order = np.lexsort((T, t_x, x))
    xs, ts, Ts = x[order], t_x[order], T[order]
    ws = np.ones(x.size) if weights is None else np.asarray(weights, dtype=np.float64)[order]
    starts = np.flatnonzero(
        np.concatenate(([True], (np.diff(xs) != 0) | (np.diff(ts) != 0) | (np.diff(Ts) != 0)))
    )
    xg, tg, Tg, wg = xs[starts], ts[starts], Ts[starts], np.add.reduceat(ws, starts)
    x_values, x_of_row = np.unique(xg, return_inverse=True)
    x_weight = np.bincount(x_of_row, weights=wg, minlength=x_values.size)
    return _Data(xg, tg, Tg, wg, x_values, x_of_row, x_weight)


def _negative_mean_log_likelihood(theta: np.ndarray, data: _Data) -> tuple[float, np.ndarray]:
    """Minus the mean log-likelihood and its gradient in the log-parameters."""
    r, alpha, a, b = np.exp(theta)
    total = data.weight.sum()
    xv, has_repeat = data.x_values, data.x_values > 0
    xv_safe = np.where(has_repeat, xv, 1.0)

    # Terms that depend on x alone, once per distinct x.
    per_x = gammaln(r + xv) + gammaln(b + xv) - gammaln(a + b + xv)
    ll = (data.x_weight * per_x).sum() + total * (
        -gammaln(r) + r * np.log(alpha) + gammaln(a + b) - gammaln(b)
    )
    dropout_constant = np.where(has_repeat, np.log(a) - np.log(b + xv_safe - 1), -np.inf)

    # The two-term mixture, once per group of customers.
    log_alpha_T = np.log(alpha + data.T)
    log_alpha_t = np.log(alpha + data.t_x)
    r_x = r + data.x
    alive_term = -r_x * log_alpha_T
    dropout_term = dropout_constant[data.x_of_row] - r_x * log_alpha_t
    mixture = np.logaddexp(alive_term, dropout_term)
    ll += (data.weight * mixture).sum()
    dropped = np.exp(dropout_term - mixture)  # the dropout term's share of the likelihood
    alive = 1 - dropped

    w = data.weight
    d_r = (
        (data.x_weight * digamma(r + xv)).sum()
        + total * (np.log(alpha) - digamma(r))
        - (w * (alive * log_alpha_T + dropped * log_alpha_t)).sum()
    )
    d_alpha = (
        total * r / alpha
        - (w * r_x * (alive / (alpha + data.T) + dropped / (alpha + data.t_x))).sum()
    )
    dropped_per_x = np.bincount(data.x_of_row, weights=w * dropped, minlength=xv.size)
    d_a = (
        total * digamma(a + b)
        - (data.x_weight * digamma(a + b + xv)).sum()
        + dropped_per_x.sum() / a
    )
    d_b = (
        total * (digamma(a + b) - digamma(b))
        + (data.x_weight * (digamma(b + xv) - digamma(a + b + xv))).sum()
        - (np.where(has_repeat, dropped_per_x / (b + xv_safe - 1), 0.0)).sum()
    )
    gradient = np.array([d_r * r, d_alpha * alpha, d_a * a, d_b * b])
    return -ll / total, -gradient / total


def fit_bgnbd(
    x, t_x, T, *, weights=None, initial: BgNbdParameters | None = None, max_iterations: int = 500
) -> BgNbdFit:
    """Fit r, alpha, a, b by maximum likelihood (L-BFGS-B on their logarithms).

    `weights` counts customers per row when the caller has already grouped equal rows.
    Customers with equal (x, t_x, T) are grouped here, so histories measured in whole days
    fit in a fraction of the time continuous ones take.
    """
    x, t_x, T = (a.ravel() for a in _arrays(x, t_x, T))
    if x.size == 0:
        raise ValueError("BG/NBD needs at least one customer")
    data = _group(x, t_x, T, weights)
    if initial is None:
        # lambda's mean r/alpha starts at the observed repeat-purchase rate.
        rate = (data.weight * data.x).sum() / max((data.weight * data.T).sum(), 1e-12)
        r0 = 1.0
        alpha0 = r0 / rate if rate > 0 else max(float(np.mean(T)), 1.0)
        initial = BgNbdParameters(r=r0, alpha=alpha0, a=1.0, b=1.0)
    theta0 = np.log([initial.r, initial.alpha, initial.a, initial.b])
    bound = LOG_PARAMETER_BOUND
    result = optimize.minimize(
        _negative_mean_log_likelihood,
        theta0,
        args=(data,),
        jac=True,
        method="L-BFGS-B",
        bounds=[(-bound, bound)] * 4,
        options={"maxiter": max_iterations},
    )
    r, alpha, a, b = (float(v) for v in np.exp(result.x))
    total = float(data.weight.sum())
    log_likelihood_total = float(-result.fun * total)
    at_bound = bool(np.any(np.abs(result.x) >= bound - 1e-6))
    converged = bool(result.success) and np.isfinite(log_likelihood_total) and not at_bound
    message = "a parameter reached its bound" if at_bound else str(result.message)
    return BgNbdFit(
        r=r,
        alpha=alpha,
        a=a,
        b=b,
        log_likelihood=log_likelihood_total,
        n=round(total),
        converged=converged,
        message=message,
    )
