"""Two-dimensional loss landscapes for watching optimizers move, with exact gradients and Hessians.

    quadratic   f(x, y) = (x^2 + kappa y^2) / 2            one minimum (0, 0); L = kappa, mu = 1
    rosenbrock  f(x, y) = (1 - x)^2 + 100 (y - x^2)^2      one minimum (1, 1) at the end of a curved valley
    saddle      f(x, y) = x^2 / 2 + y^4 / 4 - y^2 / 2      saddle (0, 0), minima (0, +-1) with f = -1/4
    nonconvex   f(x, y) = (x^2 + y^2) / 20 + 1 - cos x cos y
                                                          global minimum (0, 0), local ones near (+-pi, +-pi),
                                                          (+-2 pi, 0), (0, +-2 pi), ...

`value` works on numpy arrays (any shape, for contour grids) and on torch tensors (for autograd checks).

The lecture's SGD needs a sum over examples: each landscape becomes the mean of n components
J^(i)(p) = f(p) + <c_i, p> with offsets c_i drawn once and centred (sum c_i = 0), so the full-batch
objective is exactly f and a minibatch gradient is grad f(p) + mean_{i in B} c_i (`offsets`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def _lib(a):
    """numpy for arrays and floats, torch for tensors (only for sin/cos)."""
    if type(a).__module__.startswith("torch"):
        import torch

        return torch
    return np


@dataclass(frozen=True)
class Landscape:
    name: str
    kappa: float = 50.0
    bounds: tuple[float, float, float, float] = (-1.0, 1.0, -1.0, 1.0)  # xmin, xmax, ymin, ymax for plots
    minimum: float = 0.0                      # the global minimum value

    def value(self, x, y):
        if self.name == "quadratic":
            return (x * x + self.kappa * y * y) / 2
        if self.name == "rosenbrock":
            return (1 - x) ** 2 + 100 * (y - x * x) ** 2
        if self.name == "saddle":
            return x * x / 2 + y ** 4 / 4 - y * y / 2
        lib = _lib(x)
        return (x * x + y * y) / 20 + 1 - lib.cos(x) * lib.cos(y)

    def grad(self, x, y) -> tuple:
        if self.name == "quadratic":
            return x, self.kappa * y
        if self.name == "rosenbrock":
            r = y - x * x
            return -2 * (1 - x) - 400 * x * r, 200 * r
        if self.name == "saddle":
            return x, y ** 3 - y
        return x / 10 + np.sin(x) * np.cos(y), y / 10 + np.cos(x) * np.sin(y)

    def hessian(self, x: float, y: float) -> np.ndarray:
        if self.name == "quadratic":
            return np.array([[1.0, 0.0], [0.0, self.kappa]])
        if self.name == "rosenbrock":
            return np.array([[2 - 400 * (y - 3 * x * x), -400 * x], [-400 * x, 200.0]])
        if self.name == "saddle":
            return np.array([[1.0, 0.0], [0.0, 3 * y * y - 1]])
        cxy, sxy = math.cos(x) * math.cos(y), math.sin(x) * math.sin(y)
        return np.array([[0.1 + cxy, -sxy], [-sxy, 0.1 + cxy]])

    # -- on points p = array([x, y]) --------------------------------------------------------------
    def f(self, p: np.ndarray) -> float:
        return float(self.value(p[0], p[1]))

    def gradient(self, p: np.ndarray) -> np.ndarray:
        return np.array(self.grad(p[0], p[1]), dtype=np.float64)


PROBLEMS_2D = ["quadratic", "rosenbrock", "saddle", "nonconvex"]


def get(name: str, kappa: float = 50.0) -> Landscape:
    """The landscape `name`, its plot box framing the default start of `nnlab optimize` (-4, 1), (-1.2, 1),
    (1.5, 1e-3) and (4.2, 3) and the minima."""
    if name == "quadratic":
        # Wide enough in x that the slow direction is visible.
        return Landscape("quadratic", kappa, (-4.5, 4.5, -1.5, 1.5), 0.0)
    if name == "rosenbrock":
        return Landscape("rosenbrock", kappa, (-2.0, 2.0, -1.0, 3.0), 0.0)
    if name == "saddle":
        return Landscape("saddle", kappa, (-2.0, 2.0, -1.6, 1.6), -0.25)
    if name == "nonconvex":
        return Landscape("nonconvex", kappa, (-7.0, 7.0, -7.0, 7.0), 0.0)
    raise KeyError(name)


def offsets(rng: np.random.Generator, n: int, noise: float) -> np.ndarray:
    """c_i, i = 1..n: noise * N(0, I_2) draws, centred so that sum c_i = 0 exactly.  # (n, 2)"""
    c = noise * rng.standard_normal((n, 2))
    return c - c.mean(axis=0)
