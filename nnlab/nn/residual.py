"""Residual blocks as steps of an ODE solver (lecture: 残差连接模块, ODE解释).

A residual network with L blocks that share one vector field f, each scaled by h = T / L,

    x_{l+1} = x_l + h f(x_l),        l = 0 .. L-1

is Euler's method for dx/dt = f(x) on [0, T]; its output x_L approaches the flow x(T) with an error
O(h) = O(1/L) (Euler is a first-order method). A two-evaluation block (Heun's method,
x + h/2 (f(x) + f(x + h f(x)))) is second order: O(1/L^2). The reference x(T) comes from classical RK4
with many small steps (error O(1/steps^4)).

The vector field here is one layer of the lecture's modules: f(x) = tanh(A x + c), x of shape (B, d).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Field = Callable[[np.ndarray], np.ndarray]
SCHEMES = ("euler", "heun")


def tanh_field(A: np.ndarray, c: np.ndarray) -> Field:
    """f(x) = tanh(x A^T + c) for a batch of row vectors x (B, d); A (d, d), c (d,)."""
    return lambda x: np.tanh(x @ A.T + c)


def residual_net(f: Field, x: np.ndarray, blocks: int, T: float = 1.0, scheme: str = "euler") -> np.ndarray:
    """The output of `blocks` residual blocks of step h = T / blocks (Euler or Heun blocks)."""
    if blocks < 1:
        raise ValueError(f"blocks must be >= 1, got {blocks}")
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
    h = T / blocks
    for _ in range(blocks):
        k1 = f(x)
        x = x + h * k1 if scheme == "euler" else x + 0.5 * h * (k1 + f(x + h * k1))
    return x


def rk4(f: Field, x: np.ndarray, steps: int, T: float = 1.0) -> np.ndarray:
    """Classical Runge-Kutta: x(T) for dx/dt = f(x), x(0) = x, in `steps` steps (global error O(h^4))."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    h = T / steps
    for _ in range(steps):
        k1 = f(x)
        k2 = f(x + 0.5 * h * k1)
        k3 = f(x + 0.5 * h * k2)
        k4 = f(x + h * k3)
        x = x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return x


def loglog_slope(xs, ys) -> tuple[float, float, float]:
    """Least-squares fit log y = slope log x + intercept: (slope, intercept, r^2)."""
    lx, ly = np.log(np.asarray(xs, float)), np.log(np.asarray(ys, float))
    slope, intercept = np.polyfit(lx, ly, 1)
    resid = ly - (slope * lx + intercept)
    ss = float(((ly - ly.mean()) ** 2).sum())
    r2 = 1.0 - float((resid**2).sum()) / ss if ss > 0 else 1.0
    return float(slope), float(intercept), r2
