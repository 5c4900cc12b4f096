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

The other route, every layer trained (`fit="train"`), is nnlab/nn/approximation_train.py.
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


# Activations torch can apply in place: features() then needs no second (S, n, D) array (a fresh 100 MB array
# costs more in page faults than the arithmetic on it).
IN_PLACE = {"sigmoid": "sigmoid_", "cos": "cos_", "tanh": "tanh_", "relu": "relu_"}


def features(act: activations.Activation, x, w, b, out=None):
    """sigma(x W1 + b1) without the ones column: x (S, n, d), w (S, d, D), b (S, D) torch -> (S, n, D),
    written into `out` (S, n, D) when given."""
    import torch

    z = torch.baddbmm(b[:, None, :], x, w, out=out) if out is not None else torch.baddbmm(b[:, None, :], x, w)
    method = IN_PLACE.get(act.name)
    return getattr(z, method)() if method else z.copy_(act.torch_fn(z))


def with_ones(h):
    """[1, h]: (S, n, D) -> (S, n, 1 + D)."""
    import torch

    return torch.cat([torch.ones_like(h[..., :1]), h], dim=-1)


def hidden(act: activations.Activation, x, w, b):
    """[1, sigma(x W1 + b1)]: x (S, n, d), w (S, d, D), b (S, D) torch tensors -> (S, n, 1 + D)."""
    return with_ones(features(act, x, w, b))


# ----------------------------------------------------------------------------------------------------
# Nested ridge least squares


def gram(h):
    """h^T h per batch: (S, n, D) -> (S, D, D). On the CPU through numpy, whose a.T @ a is BLAS's syrk (half a
    general product's work: only one triangle is computed); torch's bmm is a full gemm."""
    import torch

    if h.device.type != "cpu" or h.requires_grad:
        return h.mT @ h
    S, n, D = h.shape
    hn, out = h.numpy(), torch.empty(S, D, D, dtype=h.dtype)
    for s in range(S):  # at the caller's threads (commands/approx/fit.py keeps small Grams on one)
        out[s] = torch.from_numpy(hn[s].T @ hn[s])
    return out


def normal_equations(h, y, ones: bool = True):
    """G = phi^T phi (S, P, P) and phi^T y (S, P, T) of phi = [1, h] (ones) or phi = h, h (S, n, D), y (S, n, T),
    without forming phi: the ones column's entries are n, the column sums of h and those of y."""
    import torch

    rhs = (y.mT @ h).mT  # (S, D, T); y^T h reads h row by row (h^T y would stride down its columns)
    if not ones:
        return gram(h), rhs
    S, n, D = h.shape
    g = torch.empty(S, D + 1, D + 1, dtype=h.dtype, device=h.device)
    g[:, 1:, 1:] = gram(h)
    g[:, 0, 0] = n
    g[:, 0, 1:] = g[:, 1:, 0] = h.sum(dim=1)
    return g, torch.cat([y.sum(dim=1)[:, None, :], rhs], dim=1)


def nested_lstsq(phi, y, sizes: Sequence[int], ridge: float):
    """nested_solve of phi (S, n, P) with phi[..., 0] = 1 and y (S, n, T): (S, P, len(sizes), T)."""
    return nested_solve(*normal_equations(phi, y, ones=False), sizes, ridge)


def nested_solve(gram, rhs, sizes: Sequence[int], ridge: float):
    """Coefficients of min ||phi[:, :, :k] w - y||^2 + lam |w_{1:}|^2 for every k in `sizes`, from one Cholesky.

    gram = phi^T phi (S, P, P) and rhs = phi^T y (S, P, T) (normal_equations), phi's column 0 the unpenalised
    b2; returns (S, P, len(sizes), T), zero beyond each k. Normal equations (G + lam J) w = phi^T y with
    J = diag(0, 1, ..., 1) and lam = ridge * trace(G[1:, 1:]) / (P - 1), the same for every k. The Cholesky
    factor of a leading block of G + lam J is the leading block of its factor L, and so is the forward solve
    z = L^-1 phi^T y: one factorisation serves every width, and each width costs one triangular solve
    L_k^T w = z_k. Cholesky is backward stable: the computed w solves a system perturbed by ~ eps P max(G),
    far below lam for ridge >= 1e-12, so it behaves as the ridge solution it is meant to be. Should rounding
    still make the matrix indefinite (ridge 0 with collinear features), lam grows tenfold until it factors.
    """
    import torch

    S, P, _ = gram.shape
    diag = gram.diagonal(dim1=-2, dim2=-1)  # (S, P), a view
    scale = diag[:, 1:].mean(dim=-1) if P > 1 else diag[:, 0]  # (S,)
    lam = ridge * scale
    for _ in range(12):
        a = gram.clone()
        a.diagonal(dim1=-2, dim2=-1)[:, 1:] += lam[:, None]
        chol, info = torch.linalg.cholesky_ex(a)
        if not bool(info.any()):
            break
        lam = torch.where(lam > 0, lam * 10, 1e-15 * scale)
    else:
        raise FloatingPointError("the feature matrix is numerically singular even with a ridge")
    z = torch.linalg.solve_triangular(chol, rhs, upper=False)  # (S, P, T)
    upper = chol.mT.contiguous()  # L^T, so every width's back substitution reads a plain leading block
    coefs = torch.zeros(S, P, len(sizes), rhs.shape[-1], dtype=gram.dtype, device=gram.device)
    for j, k in enumerate(sizes):  # P^2 T multiply-adds each: best on one thread (commands/approx/fit.py)
        coefs[:, :k, j] = torch.linalg.solve_triangular(upper[:, :k, :k], z[:, :k], upper=True)
    return coefs


def predict(phi, coefs):
    """phi (S, m, P) @ coefs (S, P, W, T) -> (S, m, W, T)."""
    S, P, W, T = coefs.shape
    return (phi @ coefs.reshape(S, P, W * T)).reshape(S, phi.shape[1], W, T)


def predict_nested(h, coefs, sizes: Sequence[int], ones: bool = True):
    """predict([1, h] (ones) or h, coefs) with coefs from nested_solve for `sizes`, without the zeros: h (S, m, D)
    -> (S, m, W, T). Width j uses phi's first sizes[j] columns only, so the columns between two consecutive
    sizes a < b add to the widths with size >= b alone: for doubling widths about 2 P T multiply-adds a row
    instead of P W T."""
    import torch

    S, P, W, T = coefs.shape
    m, lead = h.shape[1], 1 if ones else 0  # phi's column c is h's column c - lead
    out = torch.zeros(S, m, W, T, dtype=h.dtype, device=h.device)
    if ones:
        out += coefs[:, None, 0]
    bounds = sorted({min(k, P) for k in sizes} | {lead})
    for a, b in itertools.pairwise(bounds):
        cols = [j for j, k in enumerate(sizes) if k >= b]  # the widths that use columns a..b-1
        if cols == list(range(cols[0], W)):
            cols = slice(cols[0], W)  # sorted sizes: a suffix, written in place rather than gathered
        part = coefs[:, a:b, cols].reshape(S, b - a, -1)
        out[:, :, cols] += (h[:, :, a - lead:b - lead] @ part).reshape(S, m, -1, T)
    return out


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
    """prod_i T_{a_i}(2 x_i - 1) for each multi-index a: x (..., n, d) -> (..., n, len(indices)).

    One multiplication a column: the column of a is that of a with its last nonzero a_i set to 0 (an index of
    the set, with one factor fewer) times T_{a_i}(t_i), so the columns are built level by level (by their
    number of nonconstant factors) in a work array, then put in the order of `indices`. The factors are
    multiplied in the order of i, as in the plain product over i (whose factors T_0 = 1 are exact)."""
    C, d = indices.shape
    degree = int(indices.max()) if indices.size else 0
    t = 2.0 * x - 1.0
    table = np.empty(x.shape[:-1] + (d, degree + 1))  # (..., n, d, degree + 1): T_k(t_i)
    table[..., 0] = 1.0
    if degree >= 1:
        table[..., 1] = t
    for k in range(2, degree + 1):  # T_{k+1} = 2 t T_k - T_{k-1}
        table[..., k] = 2 * t * table[..., k - 1] - table[..., k - 2]
    table = table.reshape(x.shape[:-1] + (d * (degree + 1),))  # column i (degree + 1) + k: T_k(t_i)
    nonzero = indices != 0
    level = nonzero.sum(axis=1)
    order = np.argsort(level, kind="stable")  # work column -> index row
    place = np.empty(C, dtype=np.int64)
    place[order] = np.arange(C)  # index row -> work column
    last = d - 1 - np.argmax(nonzero[:, ::-1], axis=1)  # each index's last nonzero coordinate (0 for a = 0)
    factor = last * (degree + 1) + indices[np.arange(C), last]  # its table column
    parent = indices.copy()
    parent[np.arange(C), last] = 0
    row = {tuple(a): j for j, a in enumerate(indices.tolist())}
    work = np.empty(x.shape[:-1] + (C,))
    start = 0
    for lv, size in enumerate(np.bincount(level, minlength=1).tolist()):
        cols, block = order[start:start + size], work[..., start:start + size]
        if lv == 0:
            block[...] = 1.0
        elif lv == 1:
            np.take(table, factor[cols], axis=-1, out=block)
        else:
            parents = place[[row[tuple(a)] for a in parent[cols].tolist()]]
            np.multiply(np.take(work, parents, axis=-1), np.take(table, factor[cols], axis=-1), out=block)
        start += size
    return np.take(work, place, axis=-1)


def gaussian_features(x, centres, bandwidth: float, out=None):
    """exp(-|x - c_j|^2 / (2 h^2)): torch x (S, n, d), centres (S, m, d) -> (S, n, m), into `out` when given.
    In place after the first op: each step of the formula on a fresh (S, n, m) array costs its page faults."""
    import torch

    sq = torch.add(x.square().sum(-1)[..., :, None], centres.square().sum(-1)[..., None, :], out=out)
    sq.baddbmm_(x, centres.mT, alpha=-2.0)  # |x|^2 + |c|^2 - 2 x.c
    return sq.clamp_min_(0.0).div_(-2.0 * bandwidth**2).exp_()


def gaussian_kernel(x, centres, bandwidth: float):
    """[1, exp(-|x - c_j|^2 / (2 h^2))]: torch x (S, n, d), centres (S, m, d) -> (S, n, 1 + m)."""
    return with_ones(gaussian_features(x, centres, bandwidth))


def network_parameters(width: int, d: int) -> int:
    """W1 (d x D) + b1 (D) + W2 (D) + b2 (1)."""
    return width * (d + 2) + 1


def polynomial_degree(budget: int, d: int, max_terms: int) -> int:
    """The largest total degree whose basis has at most min(budget, max_terms) terms (at least 1)."""
    k = 1
    while n_terms(d, k + 1) <= min(budget, max_terms):
        k += 1
    return k
