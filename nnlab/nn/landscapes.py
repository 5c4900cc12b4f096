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
    start: tuple[float, float] = (0.0, 0.0)   # the default starting point
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
    if name == "quadratic":
        # Wide enough in x that the slow direction is visible, the box scaled to the start (-4, 1).
        return Landscape("quadratic", kappa, (-4.0, 1.0), (-4.5, 4.5, -1.5, 1.5), 0.0)
    if name == "rosenbrock":
        return Landscape("rosenbrock", kappa, (-1.2, 1.0), (-2.0, 2.0, -1.0, 3.0), 0.0)
    if name == "saddle":
        # Just off the saddle's stable line y = 0: gd crawls along it before y grows away.
        return Landscape("saddle", kappa, (1.5, 1e-3), (-2.0, 2.0, -1.6, 1.6), -0.25)
    if name == "nonconvex":
        return Landscape("nonconvex", kappa, (4.2, 3.0), (-7.0, 7.0, -7.0, 7.0), 0.0)
    raise KeyError(name)


def offsets(rng: np.random.Generator, n: int, noise: float) -> np.ndarray:
    """c_i, i = 1..n: noise * N(0, I_2) draws, centred so that sum c_i = 0 exactly.  # (n, 2)"""
    c = noise * rng.standard_normal((n, 2))
    return c - c.mean(axis=0)


# ----------------------------------------------------------------------------------------------------
# The `mlp` problem: a 784-H-10 tanh network on MNIST, its parameters one flat tensor theta so that the
# update rules above apply to it unchanged, and two sharpness measures of a point theta.


def mlp_shapes(n_in: int, hidden: int, classes: int = 10) -> list[tuple[int, ...]]:
    """Shapes of W1 (n_in, H), b1 (H,), W2 (H, C), b2 (C,), packed in this order into theta."""
    return [(n_in, hidden), (hidden,), (hidden, classes), (classes,)]


def mlp_unpack(theta, shapes: list[tuple[int, ...]]) -> list:
    out, i = [], 0
    for shape in shapes:
        n = math.prod(shape)
        out.append(theta[i:i + n].reshape(shape))
        i += n
    return out


def mlp_init(shapes: list[tuple[int, ...]], generator, dtype, device):
    """W ~ N(0, 1 / n_in) (Xavier-like for tanh), b = 0, packed into one flat tensor."""
    import torch

    parts = []
    for shape in shapes:
        if len(shape) == 2:
            parts.append(torch.randn(shape, generator=generator, dtype=dtype, device=device).flatten()
                         / math.sqrt(shape[0]))
        else:
            parts.append(torch.zeros(shape, dtype=dtype, device=device))
    return torch.cat(parts)


def mlp_loss(theta, shapes, X, y):
    """J(theta) = mean_i cross_entropy(tanh(X_i W1 + b1) W2 + b2, y_i).  X: (n, n_in), y: (n,) int."""
    import torch.nn.functional as F

    W1, b1, W2, b2 = mlp_unpack(theta, shapes)
    return F.cross_entropy((X @ W1 + b1).tanh() @ W2 + b2, y)


def mlp_logits(theta, shapes, X):
    W1, b1, W2, b2 = mlp_unpack(theta, shapes)
    return (X @ W1 + b1).tanh() @ W2 + b2


def hvp(loss_fn, theta, v):
    """Hessian-vector product H(theta) v by double backward: grad_theta <grad_theta J(theta), v>."""
    import torch

    theta = theta.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(loss_fn(theta), theta, create_graph=True)
    (hv,) = torch.autograd.grad(g @ v, theta)
    return hv


def top_eigenvalue(loss_fn, theta, generator, iters: int = 30) -> float:
    """The Hessian's largest-magnitude eigenvalue by power iteration v <- Hv / ||Hv||; returns v^T H v."""
    import torch

    v = torch.randn(theta.shape, generator=generator, dtype=theta.dtype, device=theta.device)
    v = v / v.norm()
    lam = 0.0
    for _ in range(iters):
        hv = hvp(loss_fn, theta, v)
        lam = float(v @ hv)
        v = hv / hv.norm()
    return lam


def perturbed_increase(loss_fn, theta, shapes, generator, rho: float = 0.05, draws: int = 10) -> float:
    """Mean of J(theta + delta) - J(theta) over random delta, each block of delta (W1, b1, W2, b2) of norm
    rho times that block's norm (a relative, scale-aware perturbation; zero blocks stay unperturbed)."""
    import torch

    base = float(loss_fn(theta))
    blocks = mlp_unpack(theta, shapes)
    rises = []
    for _ in range(draws):
        parts = []
        for b in blocks:
            u = torch.randn(b.shape, generator=generator, dtype=theta.dtype, device=theta.device)
            parts.append((rho * b.norm() * u / u.norm()).flatten())
        rises.append(float(loss_fn(theta + torch.cat(parts))) - base)
    return sum(rises) / draws
