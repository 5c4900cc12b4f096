"""Two-layer networks F(x) = W2 sigma(W1 x + b1) + b2 on [0, 1]^d, and the lecture's baselines.

The convex route (`fit="features"`): draw the hidden layer (W1, b1) at random, then solve for the outer
layer (W2, b2) by ridge least squares, min ||Phi w - y||^2 + lam ||w||^2 with Phi = [1, sigma(X W1 + b1)].
Barron's proof is exactly this kind of sampling: f(x) = E_w[a(w) sigma(w.x + b)] for a suitable
distribution of (w, b), and the Monte-Carlo average of D samples has squared L2 error E[a^2] / D; least
squares on the same D features does at least as well (in the training measure), so log MSE against log D
should fall with slope -1 or steeper, whatever d, once the feature distribution covers f's spectrum.

Every width at once: the features of width D are the first D columns of one draw of width D_max (nested
features). The Cholesky factor of a leading block of the Gram matrix is the leading block of the full
factor, so one factorisation of the widest problem gives the ridge least-squares solution of every width
(one triangular solve each). Seeds are a batch dimension of the same matrix products.

Baselines at a comparable budget, fitted the same nested way: linear regression [1, x]; polynomials
(Weierstrass) in a total-degree Chebyshev basis T_a(2x - 1); kernel ridge regression with D Gaussian
kernels centred on training points (subset of regressors: D weights and D centres).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from nnlab.nn import activations, expressions

Array = np.ndarray

# ----------------------------------------------------------------------------------------------------
# Targets on [0, 1]^d. Their parameters are fixed (not drawn from the run's seed), so seeds only vary
# the samples and the features.

BUMP_WIDTH = 0.2  # s: f = exp(-|x - c|^2 / (2 s^2 d)); the sqrt(d) keeps f's range the same in every d


@dataclass(frozen=True)
class Target:
    name: str
    kind: str      # smooth (finite Barron constant) | lipschitz | linear | expression
    formula: str   # for people
    fn: Callable[[Array], Array]  # (n, d) -> (n,)


def _bump(d: int) -> Target:
    # Fourier transform: a Gaussian N(0, I / (s^2 d)) of total mass 1, so C_f = int |f^| = f(c) = 1 for
    # every d (cos form), and |w| concentrates at 1/s = 5: a Barron constant independent of d.
    c, s2d = 0.5, BUMP_WIDTH**2 * d
    return Target("bump", "smooth", f"exp(-|x - 1/2|^2 / (2 * {BUMP_WIDTH}^2 * d))",
                  lambda x: np.exp(-np.sum((x - c) ** 2, axis=-1) / (2 * s2d)))


def cosine_directions(d: int) -> Array:
    """The cosines target's three frequency vectors w_k (3, d), |w_k| = 2 pi, fixed directions."""
    u = np.random.default_rng(1993).standard_normal((3, d))
    return 2 * math.pi * u / np.linalg.norm(u, axis=1, keepdims=True)


def _cosines(d: int) -> Target:
    # Three plane waves of frequency norm 2 pi in fixed directions: C_f = sum |a_k| = 1 for every d, but the
    # directions are specific, which random (isotropic) features must find by chance.
    rng = np.random.default_rng(1993)
    rng.standard_normal((3, d))  # the directions' draw (cosine_directions), so the phases stay as they were
    omega = cosine_directions(d)  # (3, d)
    phase = rng.uniform(0, 2 * math.pi, 3)
    return Target("cosines", "smooth", "(1/3) sum_k cos(w_k . x + p_k), |w_k| = 2 pi",
                  lambda x: np.cos(x @ omega.T + phase).mean(axis=-1))


def _distance(d: int) -> Target:
    # 1-Lipschitz with a cone point at c: |f^(w)| ~ |w|^-(d+1), so C_f (sigmoid form) diverges.
    c = np.full(d, 0.3)
    return Target("distance", "lipschitz", "|x - 0.3|  (1-Lipschitz, a cone at x = 0.3)",
                  lambda x: np.linalg.norm(x - c, axis=-1))


def _sawtooth(d: int) -> Target:
    # A triangle wave of period 1/2 in each coordinate, averaged: Lipschitz (L = 4 / sqrt d), kinks everywhere.
    def tri(t: Array) -> Array:
        return np.abs(2 * (t - np.floor(t + 0.5)))

    return Target("sawtooth", "lipschitz", "mean_i tri(2 x_i), tri(t) = |2 (t - round t)|",
                  lambda x: tri(2 * x).mean(axis=-1))


def _linear(d: int) -> Target:
    a = np.array([(-1) ** i / (i + 1) for i in range(d)])
    return Target("linear", "linear", "1/2 + x1 - x2/2 + x3/3 - ...", lambda x: 0.5 + x @ a)


TARGETS: dict[str, Callable[[int], Target]] = {
    "bump": _bump, "cosines": _cosines, "distance": _distance, "sawtooth": _sawtooth, "linear": _linear,
}


def check_target(spec: str, dims: int) -> str | None:
    """Why `spec` is neither a named target nor a formula in x usable in `dims` dimensions, or None."""
    if spec in TARGETS:
        return None
    if spec.isidentifier() and spec != "x" and not spec.startswith("x"):
        import difflib

        close = difflib.get_close_matches(spec, list(TARGETS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"unknown target {spec!r}{hint}; named targets: {', '.join(TARGETS)}, or a formula in x"
    problem = expressions.check(spec, dims, extra=dense_grid(dims))
    return f"{spec!r}: {problem}" if problem else None


def dense_grid(d: int) -> Array | None:
    """The grid the sup error is measured on: 4097 points for d = 1, 129^2 for d = 2; None above."""
    if d == 1:
        return np.linspace(0, 1, 4097)[:, None]
    if d == 2:
        g = np.linspace(0, 1, 129)
        return np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)
    return None


def get_target(spec: str, d: int) -> Target:
    if spec in TARGETS:
        return TARGETS[spec](d)
    return Target(spec, "expression", spec, expressions.compile_expression(spec, d))


# ----------------------------------------------------------------------------------------------------
# Random hidden layers


SPREAD = (0.5, 4.0)  # |w| = scale * r, r log-uniform on this interval


def draw_features(rng: np.random.Generator, activation: str, d: int, width: int, scale: float,
                  batch: int = 1) -> tuple[Array, Array]:
    """W1 (batch, d, width), b1 (batch, width) for [0, 1]^d.

    W1 = scale * r * g / sqrt(d), g ~ N(0, I_d), r log-uniform on SPREAD: |w| is about scale * r in every d.
    The bump's spectrum sits at |w| = 1 / s = 5 (the default scale); the spread up to 4x lets the same
    features resolve kinks (a Lipschitz target's spectrum has no end), at a constant-factor cost for the bump.
    cos: phase b ~ U(0, 2 pi) (random Fourier features). Any other activation: b = -w . c with c uniform in
    the cube, so every kink (sigmoid's steepest point, relu's corner) crosses the cube.
    """
    r = np.exp(rng.uniform(math.log(SPREAD[0]), math.log(SPREAD[1]), (batch, 1, width)))
    w = rng.standard_normal((batch, d, width)) * r * (scale / math.sqrt(d))
    if activations.get(activation).name == "cos":
        b = rng.uniform(0.0, 2 * math.pi, (batch, width))
    else:
        c = rng.random((batch, d, width))
        b = -np.sum(w * c, axis=1)
    return w, b


def hidden(act: activations.Activation, x, w, b):
    """[1, sigma(x W1 + b1)]: x (S, n, d), w (S, d, D), b (S, D) torch tensors -> (S, n, 1 + D)."""
    import torch

    h = act.torch_fn(torch.baddbmm(b[:, None, :], x, w))  # (S, n, D)
    return torch.cat([torch.ones_like(h[..., :1]), h], dim=-1)


# ----------------------------------------------------------------------------------------------------
# Nested ridge least squares


def nested_lstsq(phi, y, sizes: Sequence[int], ridge: float):
    """Coefficients of min ||phi[:, :, :k] w - y||^2 + lam |w_{1:}|^2 for every k in `sizes`, from one Cholesky.

    phi: (S, n, P) with phi[..., 0] = 1 (the unpenalised b2); y: (S, n, T); returns (S, P, len(sizes), T),
    zero beyond each k. Normal equations (G + lam J) w = phi^T y with G = phi^T phi, J = diag(0, 1, ..., 1)
    and lam = ridge * trace(G[1:, 1:]) / (P - 1), the same for every k. The Cholesky factor of a leading
    block of G + lam J is the leading block of its factor L, and so is the forward solve z = L^-1 phi^T y:
    one factorisation serves every width, and each width costs one triangular solve L_k^T w = z_k.
    Cholesky is backward stable: the computed w solves a system perturbed by ~ eps P max(G), far below
    lam for ridge >= 1e-12, so it behaves as the ridge solution it is meant to be. Should rounding still make
    the matrix indefinite (ridge 0 with collinear features), lam grows tenfold until it factors.
    """
    import torch

    S, n, P = phi.shape
    gram = phi.mT @ phi  # (S, P, P)
    rhs = phi.mT @ y     # (S, P, T)
    idx = torch.arange(1, P, device=phi.device)
    scale = gram[:, idx, idx].mean(dim=-1) if P > 1 else gram[:, 0, 0]  # (S,)
    lam = ridge * scale
    for _ in range(12):
        a = gram.clone()
        a[:, idx, idx] += lam[:, None]
        chol, info = torch.linalg.cholesky_ex(a)
        if not bool(info.any()):
            break
        lam = torch.where(lam > 0, lam * 10, 1e-15 * scale)
    else:
        raise FloatingPointError("the feature matrix is numerically singular even with a ridge")
    z = torch.linalg.solve_triangular(chol, rhs, upper=False)  # (S, P, T)
    coefs = torch.zeros(S, P, len(sizes), y.shape[-1], dtype=phi.dtype, device=phi.device)
    for j, k in enumerate(sizes):
        coefs[:, :k, j] = torch.linalg.solve_triangular(chol[:, :k, :k].mT, z[:, :k], upper=True)
    return coefs


def predict(phi, coefs):
    """phi (S, m, P) @ coefs (S, P, W, T) -> (S, m, W, T)."""
    S, P, W, T = coefs.shape
    return (phi @ coefs.reshape(S, P, W * T)).reshape(S, phi.shape[1], W, T)


# ----------------------------------------------------------------------------------------------------
# Baseline bases


def linear_basis(x: Array) -> Array:
    """[1, x]: (..., n, d) -> (..., n, 1 + d)."""
    return np.concatenate([np.ones_like(x[..., :1]), x], axis=-1)


def chebyshev_indices(d: int, degree: int) -> Array:
    """Multi-indices a in N^d with |a| <= degree, sorted by total degree (so lower degrees are a prefix)."""
    rows = []
    for total in range(degree + 1):
        # Each way of placing `total` units in d slots is one multi-index: C(total + d - 1, d - 1) of them,
        # generated directly (the product over (total + 1)^d tuples took minutes at d = 16).
        exact = {tuple(np.bincount(c, minlength=d)) for c in itertools.combinations_with_replacement(range(d), total)}
        rows += sorted(exact)
    return np.array(rows, dtype=np.int64).reshape(-1, d)


def n_terms(d: int, degree: int) -> int:
    return math.comb(degree + d, d)


def chebyshev_basis(x: Array, indices: Array) -> Array:
    """prod_i T_{a_i}(2 x_i - 1) for each multi-index a: x (..., n, d) -> (..., n, len(indices))."""
    degree = int(indices.max()) if indices.size else 0
    t = 2.0 * x - 1.0
    table = [np.ones_like(t), t]  # T_0, T_1; T_{k+1} = 2 t T_k - T_{k-1}
    for _ in range(2, degree + 1):
        table.append(2 * t * table[-1] - table[-2])
    table = np.stack(table[: degree + 1], axis=-1)  # (..., n, d, degree + 1)
    d = x.shape[-1]
    out = np.ones(x.shape[:-1] + (len(indices),))
    for i in range(d):
        out *= table[..., i, :][..., indices[:, i]]
    return out


def gaussian_kernel(x, centres, bandwidth: float):
    """[1, exp(-|x - c_j|^2 / (2 h^2))]: torch x (S, n, d), centres (S, m, d) -> (S, n, 1 + m)."""
    import torch

    sq = x.square().sum(-1)[..., :, None] + centres.square().sum(-1)[..., None, :]
    sq = torch.baddbmm(sq, x, centres.mT, alpha=-2.0)  # |x|^2 + |c|^2 - 2 x.c
    k = torch.exp(sq.clamp_min(0.0) / (-2.0 * bandwidth**2))
    return torch.cat([torch.ones_like(k[..., :1]), k], dim=-1)


def network_parameters(width: int, d: int) -> int:
    """W1 (d x D) + b1 (D) + W2 (D) + b2 (1)."""
    return width * (d + 2) + 1


def polynomial_degree(budget: int, d: int, max_terms: int) -> int:
    """The largest total degree whose basis has at most min(budget, max_terms) terms (at least 1)."""
    k = 1
    while n_terms(d, k + 1) <= min(budget, max_terms):
        k += 1
    return k


# ----------------------------------------------------------------------------------------------------
# Errors and rates


def loglog_slope(widths: Sequence[float], errors: Sequence[float], floor: float = 0.0) -> float | None:
    """Least-squares slope of log(error) against log(width), over the points with error > floor."""
    pts = [(math.log(w), math.log(e)) for w, e in zip(widths, errors, strict=True)
           if e is not None and e > floor and math.isfinite(e)]
    if len(pts) < 3:
        return None
    xs, ys = np.array(pts).T
    return float(np.polyfit(xs, ys, 1)[0])


def decay_points(widths: Sequence[float], errors: Sequence[float], floor: float) -> list[tuple[float, float]]:
    """(width, error) from the first width on, up to the first error that is missing, not finite or at or below
    `floor` (where ridge and rounding take over from the decay)."""
    pts = []
    for w, e in zip(widths, errors, strict=True):
        if e is None or not math.isfinite(e) or e <= floor:
            break
        pts.append((float(w), float(e)))
    return pts


def exponential_fit(widths: Sequence[float], errors: Sequence[float], floor: float = 0.0) -> dict | None:
    """Is the decay of `errors` with width exponential (log e linear in D) rather than a power (log e linear
    in log D)? Fits both by least squares on the points before the curve reaches `floor` (where ridge and
    rounding take over: the first point at or below it ends the decay).

    Returns rate (d log e / d D), the coefficient of determination R^2 of each fit, and the points used;
    None with fewer than 3 points.
    """
    pts = decay_points(widths, errors, floor)
    if len(pts) < 3:
        return None
    d, log_e = np.array([p[0] for p in pts]), np.log([p[1] for p in pts])

    def r_squared(x: np.ndarray) -> tuple[float, float]:
        slope, icpt = np.polyfit(x, log_e, 1)
        residual = float(np.sum((log_e - (slope * x + icpt)) ** 2))
        total = float(np.sum((log_e - log_e.mean()) ** 2))
        return float(slope), 1.0 - residual / total if total > 0 else 1.0

    rate, r2_exp = r_squared(d)
    _, r2_power = r_squared(np.log(d))
    return {"rate": rate, "r2_exponential": r2_exp, "r2_power": r2_power, "points": len(pts)}


def width_needed(widths: Sequence[float], errors: Sequence[float], eps: float) -> float | None:
    """The smallest width at which the error reaches eps, interpolated on log-log axes; None if never."""
    for i, e in enumerate(errors):
        if e <= eps:
            if i == 0:
                return float(widths[0])
            w0, w1, e0, e1 = widths[i - 1], widths[i], errors[i - 1], errors[i]
            t = (math.log(eps) - math.log(e0)) / (math.log(e1) - math.log(e0))
            return float(math.exp(math.log(w0) + t * (math.log(w1) - math.log(w0))))
    return None


# ----------------------------------------------------------------------------------------------------
# Full training


def train_width(act: activations.Activation, x, y, w0, b0, steps: int, lr: float, check_stop=lambda: None):
    """Adam on every layer of S * T width-D networks at once (one per seed and target), full batch, float32.

    x (S, n, d), y (S, n, T), start (w0 (S, d, D), b0 (S, D)) shared by a seed's T networks; W2 starts at
    0 and b2 at the mean of y. Loss: the sum over networks of each one's MSE, so every network gets its
    own gradient (Adam is elementwise, hence independent per network). Returns predict(x (S, m, d))
    -> (S, m, 1, T). Deterministic given its inputs: nothing here draws random numbers. Runs on the
    caller's torch thread count (the caller knows the machine; see nnlab/commands/approx). `check_stop()` is
    called before every step, so a Ctrl-C (which makes it raise) stops a long training within one step.
    """
    import torch

    from nnlab.nn.param_rules import lecture_adam

    out_dtype = x.dtype
    # float32: Adam's own noise is far above float32 rounding, and it is 2-3x faster on CPU.
    x, y, w0, b0 = (t.to(torch.float32) for t in (x, y, w0, b0))
    S, n, T = y.shape
    D = w0.shape[-1]
    w1 = w0[:, None].expand(S, T, *w0.shape[1:]).reshape(S * T, -1, D).clone().requires_grad_(True)
    b1 = b0[:, None].expand(S, T, D).reshape(S * T, D).clone().requires_grad_(True)
    w2 = torch.zeros(S * T, D, 1, dtype=x.dtype, device=x.device, requires_grad=True)
    b2 = y.mean(dim=1).reshape(S * T, 1, 1).clone().requires_grad_(True)
    xs = x[:, None].expand(S, T, n, x.shape[-1]).reshape(S * T, n, -1)  # (S T, n, d)
    ys = y.permute(0, 2, 1).reshape(S * T, n, 1)

    def forward(inputs):
        return act.torch_fn(torch.baddbmm(b1[:, None, :], inputs, w1)) @ w2 + b2  # (S T, m, 1)

    opt = lecture_adam([w1, b1, w2, b2], lr=lr)
    for _ in range(steps):
        check_stop()
        opt.zero_grad(set_to_none=True)
        loss = (forward(xs) - ys).square().mean(dim=(1, 2)).sum()
        loss.backward()
        opt.step()

    @torch.no_grad()
    def predict_trained(inputs):
        m = inputs.shape[1]
        inputs = inputs.to(torch.float32)
        out = forward(inputs[:, None].expand(S, T, m, inputs.shape[-1]).reshape(S * T, m, -1))
        return out.reshape(S, T, m).permute(0, 2, 1)[:, :, None, :].to(out_dtype)

    return predict_trained
