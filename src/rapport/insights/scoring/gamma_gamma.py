"""The Gamma-Gamma model of spend per purchase (Fader, Hardie & Lee 2005; Fader & Hardie 2013).

Each purchase's value is Gamma(p, nu) with a rate nu ~ Gamma(q, v) that differs between
customers; a customer's mean m of x repeat purchases is then Gamma(p x, nu x). Values are in
minor units; a fitted v is in minor units too.
"""

from dataclasses import dataclass

import numpy as np
from scipy import optimize
from scipy.special import digamma, gammaln

# Bounds on the logarithms of the parameters while fitting (values are scaled to mean 1).
LOG_PARAMETER_BOUND = 18.0


@dataclass(frozen=True)
class GammaGammaParameters:
    """The three Gamma-Gamma parameters: shape p per purchase, nu ~ Gamma(q, v)."""

    p: float
    q: float
    v: float


@dataclass(frozen=True)
class GammaGammaFit(GammaGammaParameters):
    """Parameters fitted by maximum likelihood, with the total log-likelihood they reach."""

    log_likelihood: float
    n: int
    converged: bool
    message: str = ""


def log_likelihood(params: GammaGammaParameters, x, m) -> np.ndarray:
    """Each customer's log-density of its mean repeat value m over x > 0 repeat purchases."""
    x = np.asarray(x, dtype=np.float64)
    m = np.asarray(m, dtype=np.float64)
    if np.any(x <= 0) or np.any(m <= 0):
        raise ValueError("the Gamma-Gamma likelihood needs x > 0 and m > 0")
    p, q, v = params.p, params.q, params.v
    px = p * x
    return (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(v)
        + (px - 1) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(v + m * x)
    )


def population_mean_value(params: GammaGammaParameters) -> float:
    """E[M] for a customer about whom nothing is known, p v / (q - 1): needs q > 1."""
    if params.q <= 1:
        raise ValueError("the Gamma-Gamma mean value needs q > 1")
    return params.p * params.v / (params.q - 1)


def expected_average_value(params: GammaGammaParameters, x, m) -> np.ndarray:
    """E[M | x, m] = p (v + x m) / (p x + q - 1): the population mean where x = 0."""
    if params.q <= 1:
        raise ValueError("the Gamma-Gamma mean value needs q > 1")
    x = np.asarray(x, dtype=np.float64)
    m = np.asarray(m, dtype=np.float64)
    p, q, v = params.p, params.q, params.v
    x_m = np.where(x > 0, x * np.where(x > 0, m, 0.0), 0.0)
    return p * (v + x_m) / (p * x + q - 1)


@dataclass(frozen=True)
class _Data:
    x: np.ndarray
    m: np.ndarray
    weight: np.ndarray
    x_values: np.ndarray
    x_weight: np.ndarray
    sum_log_m: float
    sum_x_log_m: float
    sum_x_log_x: float


def _negative_mean_log_likelihood(theta: np.ndarray, data: _Data) -> tuple[float, np.ndarray]:
    """Minus the mean log-likelihood and its gradient in the log-parameters."""
    p, q, v = np.exp(theta)
    total = data.weight.sum()
    w, xv, wx = data.weight, data.x_values, data.x_weight
    log_v_mx = np.log(v + data.m * data.x)
    pxq = p * data.x + q
    ll = (
        (wx * (gammaln(p * xv + q) - gammaln(p * xv))).sum()
        + total * (q * np.log(v) - gammaln(q))
        + p * (data.sum_x_log_m + data.sum_x_log_x)
        - data.sum_log_m
        - (w * pxq * log_v_mx).sum()
    )
    d_p = (
        (wx * xv * (digamma(p * xv + q) - digamma(p * xv))).sum()
        + data.sum_x_log_m
        + data.sum_x_log_x
        - (w * data.x * log_v_mx).sum()
    )
    d_q = (wx * digamma(p * xv + q)).sum() + total * (np.log(v) - digamma(q)) - (w * log_v_mx).sum()
    d_v = total * q / v - (w * pxq / (v + data.m * data.x)).sum()
    gradient = np.array([d_p * p, d_q * q, d_v * v])
    return -ll / total, -gradient / total


def fit_gamma_gamma(
    x, m, *, weights=None, initial: GammaGammaParameters | None = None, max_iterations: int = 500
) -> GammaGammaFit:
    """Fit p, q, v by maximum likelihood on the customers with x > 0 and m > 0.

    Values are divided by their mean while fitting (v scales with them, the others do not),
    and the log-likelihood is reported in the caller's units.
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    m = np.asarray(m, dtype=np.float64).ravel()
    w = np.ones(x.size) if weights is None else np.asarray(weights, dtype=np.float64).ravel()
    with np.errstate(invalid="ignore"):
        used = (x > 0) & (m > 0)
    x, m, w = x[used], m[used], w[used]
    if x.size == 0:
        raise ValueError("Gamma-Gamma needs customers with repeat purchases")
    scale = float((w * m).sum() / w.sum())
    m_scaled = m / scale
    x_values, x_of_row = np.unique(x, return_inverse=True)
    data = _Data(
        x=x,
        m=m_scaled,
        weight=w,
        x_values=x_values,
        x_weight=np.bincount(x_of_row, weights=w, minlength=x_values.size),
        sum_log_m=float((w * np.log(m_scaled)).sum()),
        sum_x_log_m=float((w * x * np.log(m_scaled)).sum()),
        sum_x_log_x=float((w * x * np.log(x)).sum()),
    )
    if initial is None:
        # Mean value p v / (q - 1) starts at the observed mean, 1 once scaled.
        theta0 = np.log([1.0, 3.0, 2.0])
    else:
        theta0 = np.log([initial.p, initial.q, initial.v / scale])
    bound = LOG_PARAMETER_BOUND
    result = optimize.minimize(
        _negative_mean_log_likelihood,
        theta0,
        args=(data,),
        jac=True,
        method="L-BFGS-B",
        bounds=[(-bound, bound)] * 3,
        options={"maxiter": max_iterations},
    )
    p, q, v_scaled = (float(value) for value in np.exp(result.x))
    total = float(w.sum())
    log_likelihood_total = float(-result.fun * total - total * np.log(scale))
    at_bound = bool(np.any(np.abs(result.x) >= bound - 1e-6))
    converged = bool(result.success) and np.isfinite(log_likelihood_total) and not at_bound
    return GammaGammaFit(
        p=p,
        q=q,
        v=v_scaled * scale,
        log_likelihood=log_likelihood_total,
        n=round(total),
        converged=converged,
        message="a parameter reached its bound" if at_bound else str(result.message),
    )
