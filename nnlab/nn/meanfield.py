"""The infinite-width (mean-field) limit of the initialization experiment: what a wide random network does.

For h_l = phi(pre_l), pre_l = h_(l-1) @ W_l with W_ij ~ N(0, w^2) and n_in inputs, each pre-activation is,
given the layer below, a sum of n_in independent terms: Gaussian with variance w^2 |h_(l-1)|^2 = g^2 E[h^2]
as n_in grows, with g = w sqrt(n_in) the gain. So, for inputs of second moment m_0 = E[x^2],

    q_1 = g^2 m_0,    q_(l+1) = g^2 E_(u ~ N(0, q_l))[phi(u)^2]

and layer l's activations have mean E[phi(u)], std sqrt(E[phi(u)^2] - E[phi(u)]^2) with u ~ N(0, q_l).
Gaussian expectations are the trapezoid rule on a uniform grid over +-10 standard deviations with a node at 0:
spectrally accurate for smooth phi such as tanh (the integrand and all its derivatives vanish at the ends),
and O(h^2) ~ 1e-5 for a kink at 0 such as ReLU's, where Gauss-Hermite quadrature would be off by about 1%.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

POINTS = 4001  # odd: a node at 0
_NODES = np.linspace(-10.0, 10.0, POINTS)  # in standard deviations
_WEIGHTS = np.exp(-0.5 * _NODES**2)
_WEIGHTS[[0, -1]] *= 0.5  # trapezoid end weights
_WEIGHTS /= _WEIGHTS.sum()  # sum to 1: the standard normal's mass, less the 1e-23 beyond 10 sds


def gaussian_mean(fn: Callable[[np.ndarray], np.ndarray], variance: float) -> float:
    """E[fn(u)] for u ~ N(0, variance)."""
    return float(np.dot(_WEIGHTS, fn(math.sqrt(variance) * _NODES)))


def layer_statistics(fn: Callable[[np.ndarray], np.ndarray], gain: float, depth: int,
                     input_second_moment: float = 1.0) -> list[dict[str, float]]:
    """Per layer l = 1..depth: {"pre_var": q_l, "mean", "std"} of the activations phi(u), u ~ N(0, q_l)."""
    rows = []
    second = input_second_moment
    for _ in range(depth):
        q = gain**2 * second
        mean = gaussian_mean(fn, q)
        second = gaussian_mean(lambda u: fn(u) ** 2, q)
        rows.append({"pre_var": q, "mean": mean, "std": math.sqrt(max(second - mean**2, 0.0))})
    return rows


def share_beyond(pre_var: float, low: float, high: float) -> float:
    """P(u < low or u > high) for u ~ N(0, pre_var): for a monotone phi, the share of units whose activation is
    beyond phi(low) or phi(high) (tanh's |h| > 0.99 is |u| > atanh(0.99))."""
    if pre_var <= 0:
        return float(low > 0 or high < 0)
    s = math.sqrt(2 * pre_var)
    return 0.5 * math.erfc(high / s) + 0.5 * math.erfc(-low / s)
