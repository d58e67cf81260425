"""Lifetime value and churn: the fitted models where history allows, a heuristic elsewhere."""

from dataclasses import asdict, dataclass

import numpy as np

from rapport.insights.scoring import bgnbd, gamma_gamma
from rapport.insights.scoring.bgnbd import BgNbdFit
from rapport.insights.scoring.gamma_gamma import GammaGammaFit

# The strings equal rapport.insights.models.Method's values.
METHOD_MODEL = "bgnbd_gamma_gamma"
METHOD_HEURISTIC = "heuristic"

# The models are fitted only on a tenant with at least this many customers who came back.
MIN_REPEAT_CUSTOMERS = 200

# Days in each time unit a caller may measure x's times in.
DAYS_PER_UNIT = {"day": 1.0, "week": 7.0, "month": 365.25 / 12}

# A discounted horizon is cut into this many equal slices, each discounted at its midpoint
# (a year in quarters; the midpoint rule is within 0.1% of continuous discounting at 1% a week).
DISCOUNT_SLICES = 4


@dataclass(frozen=True)
class PurchaseHistory:
    """The models' inputs per customer, in one time unit (see docs/insights.md)."""

    x: np.ndarray  # repeat purchase occasions: distinct purchase days minus one
    t_x: np.ndarray  # the last purchase day, counted from the first
    T: np.ndarray  # the as-of moment, counted from the first purchase day
    m: np.ndarray  # mean value of the repeat occasions, minor units; NaN where x = 0
    has_purchases: np.ndarray


def purchase_history(
    customer: np.ndarray,
    day: np.ndarray,
    amount_q: np.ndarray,
    *,
    customers: int,
    as_of_day: float,
    days_per_unit: float = DAYS_PER_UNIT["week"],
) -> PurchaseHistory:
    """x, t_x, T and m for customers 0 … customers-1 from their orders' rows.

    `customer` indexes each order's customer, `day` is its day number (in the tenant's
    timezone) and `amount_q` its value; orders on one day make one purchase occasion, worth
    their sum. Customers without orders get x = 0, t_x = T = 0 and has_purchases False.
    """
    customer = np.asarray(customer, dtype=np.int64)
    day = np.asarray(day, dtype=np.int64)
    amount = np.asarray(amount_q, dtype=np.int64)
    # One int64 key per order sorts by customer, then day, faster than a lexsort.
    first_possible_day = day.min() if day.size else 0
    order = np.argsort((customer << 32) + (day - first_possible_day))
    customer, day, amount = customer[order], day[order], amount[order]
    new_occasion = np.concatenate(([True], (np.diff(customer) != 0) | (np.diff(day) != 0)))
    starts = np.flatnonzero(new_occasion[: customer.size])
    occasion_customer, occasion_day = customer[starts], day[starts]
    occasion_value = np.add.reduceat(amount, starts) if starts.size else amount

    occasions = np.bincount(occasion_customer, minlength=customers)
    has_purchases = occasions > 0
    first_day = np.zeros(customers, dtype=np.int64)
    last_day = np.zeros(customers, dtype=np.int64)
    first_value = np.zeros(customers, dtype=np.int64)
    # Occasions are sorted by customer then day: the first and last of each customer's run.
    is_first = np.concatenate(([True], np.diff(occasion_customer) != 0))
    is_last = np.concatenate((np.diff(occasion_customer) != 0, [True]))
    if starts.size:
        first_day[occasion_customer[is_first]] = occasion_day[is_first]
        first_value[occasion_customer[is_first]] = occasion_value[is_first]
        last_day[occasion_customer[is_last]] = occasion_day[is_last]
    total_value = np.bincount(occasion_customer, weights=occasion_value, minlength=customers)

    x = np.maximum(occasions - 1, 0).astype(np.float64)
    t_x = np.where(has_purchases, (last_day - first_day) / days_per_unit, 0.0)
    T = np.where(has_purchases, (as_of_day - first_day) / days_per_unit, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        m = np.where(x > 0, (total_value - first_value) / x, np.nan)
    return PurchaseHistory(x=x, t_x=t_x, T=T, m=m, has_purchases=has_purchases)


@dataclass(frozen=True)
class LifetimeModel:
    """The model card: the method a tenant's predictions use, why, and what they rest on."""

    method: str
    reason: str
    tenant_gap: float  # the heuristic's mean gap between purchase days, in time units
    bgnbd: BgNbdFit | None = None
    gamma_gamma: GammaGammaFit | None = None

    def parameters(self) -> dict:
        """What the predictions need, as JSON for the run, so that every chunk scores alike."""
        card: dict = {"tenant_gap": self.tenant_gap}
        for name in ("bgnbd", "gamma_gamma"):
            fit = getattr(self, name)
            if fit is not None:
                card[name] = {k: v for k, v in asdict(fit).items() if k != "log_likelihood"}
        return card

    def log_likelihoods(self) -> dict:
        """Each fit's total log-likelihood, as JSON for the run (None where not finite)."""
        fits = {"bgnbd": self.bgnbd, "gamma_gamma": self.gamma_gamma}
        return {
            name: fit.log_likelihood if np.isfinite(fit.log_likelihood) else None
            for name, fit in fits.items()
            if fit is not None
        }

    @classmethod
    def from_parameters(
        cls, *, method: str, reason: str, parameters: dict, log_likelihoods: dict
    ) -> "LifetimeModel":
        """The model card again, from what `parameters` and `log_likelihoods` stored."""
        fits = {}
        for name, fit_class in (
            ("bgnbd", BgNbdFit),
            ("gamma_gamma", GammaGammaFit),
        ):
            if name in parameters:
                stored = log_likelihoods.get(name)
                fits[name] = fit_class(
                    **parameters[name],
                    log_likelihood=float("nan") if stored is None else float(stored),
                )
        return cls(method, reason, float(parameters["tenant_gap"]), **fits)


def choose_method(
    x, t_x, T, m, *, min_repeat_customers: int = MIN_REPEAT_CUSTOMERS
) -> LifetimeModel:
    """Fit both models over a whole tenant, or say why the heuristic serves instead.

    The heuristic serves when fewer than `min_repeat_customers` customers have a repeat
    purchase of positive value, when either fit does not converge, or when the fitted
    Gamma-Gamma q is at most 1 (its mean value would be infinite).
    """
    x = np.asarray(x, dtype=np.float64)
    m = np.asarray(m, dtype=np.float64)
    gap = tenant_mean_gap(x, t_x, T)
    with np.errstate(invalid="ignore"):
        repeat_customers = int(np.count_nonzero((x > 0) & (m > 0)))
    if repeat_customers < min_repeat_customers:
        reason = (
            f"{repeat_customers} customers with repeat purchases, fewer than the "
            f"{min_repeat_customers} the models are fitted on"
        )
        return LifetimeModel(METHOD_HEURISTIC, reason, gap)
    purchases = bgnbd.fit_bgnbd(x, t_x, T)
    if not purchases.converged:
        reason = f"the BG/NBD fit did not converge ({purchases.message})"
        return LifetimeModel(METHOD_HEURISTIC, reason, gap, purchases)
    spend = gamma_gamma.fit_gamma_gamma(x, m)
    if not spend.converged:
        reason = f"the Gamma-Gamma fit did not converge ({spend.message})"
        return LifetimeModel(METHOD_HEURISTIC, reason, gap, purchases, spend)
    if spend.q <= 1:
        reason = f"the Gamma-Gamma fit has q = {spend.q:.3g} <= 1: no finite mean value"
        return LifetimeModel(METHOD_HEURISTIC, reason, gap, purchases, spend)
    reason = (
        f"BG/NBD fitted on {purchases.n} customers, Gamma-Gamma on the {spend.n} "
        "with repeat purchases"
    )
    return LifetimeModel(METHOD_MODEL, reason, gap, purchases, spend)


@dataclass(frozen=True)
class LifetimePrediction:
    """Per customer: P(alive), churn risk, expected purchases and value over the horizon."""

    p_alive: np.ndarray
    churn_risk: np.ndarray
    predicted_purchases: np.ndarray  # not discounted
    predicted_value_q: np.ndarray  # int64, minor units, discounted when a rate was given


def _discount_slices(horizon: float, discount_rate: float) -> tuple[np.ndarray, np.ndarray]:
    """The slices' ends and the discount factor at each slice's midpoint."""
    ends = horizon * np.arange(1, DISCOUNT_SLICES + 1) / DISCOUNT_SLICES
    midpoints = ends - horizon / (2 * DISCOUNT_SLICES)
    return ends, (1 + discount_rate) ** -midpoints


def model_prediction(
    model: LifetimeModel,
    x,
    t_x,
    T,
    m,
    *,
    horizon: float,
    discount_rate: float | None = None,
) -> LifetimePrediction:
    """Predictions from the fitted models: purchases from BG/NBD, each worth E[M | x, m]."""
    if model.method != METHOD_MODEL:
        raise ValueError(f"the model card says {model.method}: {model.reason}")
    purchases_model, spend_model = model.bgnbd, model.gamma_gamma
    alive = bgnbd.p_alive(purchases_model, x, t_x, T)
    if discount_rate:
        # Expected purchases slice by slice, each slice discounted at its midpoint.
        ends, factors = _discount_slices(horizon, discount_rate)
        purchases = np.zeros(np.shape(alive))
        discounted = np.zeros(np.shape(alive))
        for end, factor in zip(ends, factors, strict=True):
            until_end = bgnbd.expected_purchases(purchases_model, end, x, t_x, T)
            discounted += factor * (until_end - purchases)
            purchases = until_end
    else:
        purchases = bgnbd.expected_purchases(purchases_model, horizon, x, t_x, T)
        discounted = purchases
    value = gamma_gamma.expected_average_value(spend_model, x, m)
    return LifetimePrediction(
        p_alive=alive,
        churn_risk=1 - alive,
        predicted_purchases=purchases,
        predicted_value_q=np.rint(discounted * value).astype(np.int64),
    )


def tenant_mean_gap(x, t_x, T) -> float:
    """The tenant's mean time between purchase days: sum of t_x over sum of x.

    With no repeat purchases at all, the mean time since the first purchase (at least 1).
    """
    x = np.asarray(x, dtype=np.float64)
    repeats = x.sum()
    if repeats > 0:
        return float(np.asarray(t_x, dtype=np.float64).sum() / repeats)
    T = np.asarray(T, dtype=np.float64)
    return max(float(T.mean()) if T.size else 0.0, 1.0)


def heuristic_prediction(
    x,
    t_x,
    T,
    average_ticket_q,
    *,
    horizon: float,
    tenant_gap: float,
    discount_rate: float | None = None,
) -> LifetimePrediction:
    """Predictions without a fit: silence measured against the usual gap between purchases.

    gap = t_x / x for customers with x >= 2, else `tenant_gap`;
    P(alive) = exp(-(T - t_x) / gap), the chance of a silence this long at the usual pace;
    purchases = P(alive) x (x + 1) / max(T, gap) x horizon; value = purchases x average ticket.
    """
    x = np.asarray(x, dtype=np.float64)
    t_x = np.asarray(t_x, dtype=np.float64)
    T = np.asarray(T, dtype=np.float64)
    if tenant_gap <= 0:
        raise ValueError("tenant_gap must be positive")
    with np.errstate(invalid="ignore", divide="ignore"):
        own_gap = np.where(x >= 2, t_x / np.where(x >= 2, x, 1.0), tenant_gap)
    gap = np.where(own_gap > 0, own_gap, tenant_gap)
    alive = np.exp(-(T - t_x) / gap)
    rate = (x + 1) / np.maximum(T, gap)
    purchases = alive * rate * horizon
    if discount_rate:
        _, factors = _discount_slices(horizon, discount_rate)
        discounted = purchases * factors.mean()
    else:
        discounted = purchases
    ticket = np.asarray(average_ticket_q, dtype=np.float64)
    return LifetimePrediction(
        p_alive=alive,
        churn_risk=1 - alive,
        predicted_purchases=purchases,
        predicted_value_q=np.rint(discounted * ticket).astype(np.int64),
    )


def predict(
    model: LifetimeModel,
    x,
    t_x,
    T,
    m,
    average_ticket_q,
    *,
    horizon: float,
    discount_rate: float | None = None,
) -> LifetimePrediction:
    """Predictions by the method the model card names (any chunk of the tenant's customers)."""
    if model.method == METHOD_MODEL:
        return model_prediction(model, x, t_x, T, m, horizon=horizon, discount_rate=discount_rate)
    return heuristic_prediction(
        x,
        t_x,
        T,
        average_ticket_q,
        horizon=horizon,
        tenant_gap=model.tenant_gap,
        discount_rate=discount_rate,
    )
