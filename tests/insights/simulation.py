"""Customers drawn from the BG/NBD and Gamma-Gamma processes themselves, with a seeded RNG."""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SimulatedCustomers:
    """A calibration period's (x, t_x, T) and what each customer bought in a holdout after T."""

    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    holdout_purchases: np.ndarray


def simulate_bgnbd(
    rng: np.random.Generator,
    n: int,
    *,
    r: float,
    alpha: float,
    a: float,
    b: float,
    T: np.ndarray,
    holdout: float = 0.0,
) -> SimulatedCustomers:
    """Draw customers who bought first at 0 and are observed until T, then for `holdout` more.

    Each has a purchase rate lambda ~ Gamma(r, alpha) and a dropout probability p ~ Beta(a, b);
    repeat purchases come at exponential intervals, and after each one the customer drops out
    with probability p, so it makes J ~ Geometric(p) repeat purchases at most.
    """
    rate = rng.gamma(r, 1 / alpha, n)
    dropout = rng.beta(a, b, n)
    most_purchases = rng.geometric(dropout)
    arrived = rng.poisson(rate * T)  # Poisson purchases over (0, T] if it never dropped out
    x = np.minimum(arrived, most_purchases)
    # Given `arrived` purchases in (0, T], the x-th is T times the x-th of `arrived` uniforms.
    has_repeat = x > 0
    t_x = np.zeros(n)
    t_x[has_repeat] = T[has_repeat] * rng.beta(
        x[has_repeat], arrived[has_repeat] - x[has_repeat] + 1
    )
    still_alive = most_purchases > arrived
    later = np.where(
        still_alive, np.minimum(most_purchases - arrived, rng.poisson(rate * holdout)), 0
    )
    return SimulatedCustomers(x.astype(np.float64), t_x, T.astype(np.float64), later)


def simulate_mean_values(
    rng: np.random.Generator, x: np.ndarray, *, p: float, q: float, v: float
) -> np.ndarray:
    """Each customer's mean of x purchase values Gamma(p, nu), nu ~ Gamma(q, v) (rates)."""
    nu = rng.gamma(q, 1 / v, x.size)
    return rng.gamma(p * x, 1 / (nu * x))
