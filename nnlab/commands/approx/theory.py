"""`nnlab approx`'s side measurements at d = 1 (or the smallest d): what the theorems need beyond the sweep.

- kernel ridge on every integer width 1..KERNEL_WIDTHS, so its decay law (exponential or power) is told
  from many points, not from the sweep's few doubling widths;
- polynomials of growing degree fitted at Chebyshev nodes, their sup error on the dense grid (Weierstrass);
- learned against random features at one width: the same start, least squares on the fixed features
  against Adam on every layer (the lecture's 同时学习权重和特征);
- Barron's constant C_f of each smooth target, computed in every d.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from nnlab.core.device import thread_limit
from nnlab.core.seeding import stream
from nnlab.nn import activations
from nnlab.nn import approximation as ap
from nnlab.nn import approximation_theory as at
from nnlab.nn import approximation_train as learn

if TYPE_CHECKING:
    from nnlab.commands.approx.config import ApproxConfig

KERNEL_WIDTHS = 64     # kernel ridge on D = 1, 2, ..., 64 (capped by the training samples)
CHEBYSHEV_NODES = 1024  # least-squares points of the polynomial fits: well conditioned up to degree ~ 1000
LEARN_ACTIVATION = "sigmoid"  # Cybenko's sigmoid for the learned-versus-random comparison


def degrees(max_degree: int) -> list[int]:
    """1, 2, 4, ... up to max_degree (and max_degree itself)."""
    out = [2**k for k in range(int(math.log2(max_degree)) + 1)]
    return out if out[-1] == max_degree else [*out, max_degree]


def kernel_dense(config: ApproxConfig, x: np.ndarray, y: np.ndarray, x_test: np.ndarray, truth: np.ndarray,
                 variance: float) -> dict[str, Any]:
    """Relative MSE per seed of kernel ridge with D = 1..KERNEL_WIDTHS Gaussians on one target at d = 1.

    x (S, n, 1), y (S, n) training values, x_test (m, 1) with truth (m,); the same bandwidth and ridge as the
    sweep's kernel baseline."""
    import torch

    S, n = x.shape[0], x.shape[1]
    widths = list(range(1, min(KERNEL_WIDTHS, n - 1) + 1))
    xt = torch.from_numpy(x)
    centres = xt[:, : widths[-1]]
    h = config.kernel_width
    coefs = ap.nested_lstsq(ap.gaussian_kernel(xt, centres, h), torch.from_numpy(y[..., None]),
                            [k + 1 for k in widths], config.ridge)
    test = torch.from_numpy(np.broadcast_to(x_test, (S, *x_test.shape)).copy())
    pred = ap.predict(ap.gaussian_kernel(test, centres, h), coefs).numpy()[..., 0]  # (S, m, W)
    rel = np.mean((pred - truth[None, :, None]) ** 2, axis=1) / (variance if variance > 0 else 1.0)  # (S, W)
    return {"widths": widths, "rel_mse_seeds": rel.T.tolist(), "rel_mse": rel.mean(0).tolist()}


def weierstrass(targets: list[ap.Target], max_degree: int) -> dict[str, Any]:
    """Sup error on the 4097-point grid of [0, 1] of the least-squares polynomial of each degree (Chebyshev
    basis, fitted at CHEBYSHEV_NODES Chebyshev nodes), per target; deterministic (no seed draws anything)."""
    import torch

    nodes, grid = at.chebyshev_nodes(CHEBYSHEV_NODES), ap.dense_grid(1)
    shown = degrees(max_degree)
    indices = ap.chebyshev_indices(1, max_degree)
    basis = torch.from_numpy(ap.chebyshev_basis(nodes, indices)[None])  # (1, N, degree + 1)
    values = torch.from_numpy(np.stack([tg.fn(nodes) for tg in targets], -1)[None])  # (1, N, T)
    coefs = ap.nested_lstsq(basis, values, [k + 1 for k in shown], 0.0)
    pred = ap.predict(torch.from_numpy(ap.chebyshev_basis(grid, indices)[None]), coefs).numpy()[0]  # (m, W, T)
    out: dict[str, Any] = {"degrees": shown, "targets": {}}
    for j, tg in enumerate(targets):
        truth = tg.fn(grid)
        sup = np.max(np.abs(pred[:, :, j] - truth[:, None]), axis=0)
        out["targets"][tg.name] = {"sup": sup.tolist(), "range": float(np.ptp(truth))}
    return out


def learned_features(config: ApproxConfig, target: ap.Target, d: int, device: str, check_stop) -> dict[str, Any]:
    """Relative MSE per seed at width config.learn_width: least squares on random sigmoid features, and Adam on
    every layer for config.learn_steps steps from the same features (W2 from 0). Own samples and features
    (streams "learned-*"), 512 training points and 4096 held-out ones."""
    import torch

    S, D = config.seeds, config.learn_width
    x = stream(config.seed, "learned-train", d).random((S, 512, d))
    x_test = stream(config.seed, "learned-test", d).random((4096, d))
    w, b = ap.draw_features(stream(config.seed, "learned-features", d), LEARN_ACTIVATION, d, D,
                            config.feature_scale, S)
    y, truth = target.fn(x)[..., None], target.fn(x_test)
    variance = float(truth.var()) or 1.0
    act = activations.get(LEARN_ACTIVATION)

    def t(a):
        return torch.as_tensor(np.require(a, requirements=("C", "W")), dtype=torch.float64, device=device)

    xt, yt, wt, bt = t(x), t(y), t(w), t(b)
    test = t(np.broadcast_to(x_test, (S, *x_test.shape)))
    coefs = ap.nested_lstsq(ap.hidden(act, xt, wt, bt), yt, [D + 1], config.ridge)
    fixed = ap.predict(ap.hidden(act, test, wt, bt), coefs).cpu().numpy()[:, :, 0, 0]
    with thread_limit(1):  # a few thousand numbers a step: one thread is fastest (see fit.fit_network)
        trained = learn.train_width(act, xt, yt, wt, bt, config.learn_steps, config.lr, check_stop)
        learned = trained(test).cpu().numpy()[:, :, 0, 0]

    def rel(pred):
        return (np.mean((pred - truth[None]) ** 2, axis=1) / variance).tolist()

    return {"target": target.name, "d": d, "width": D, "steps": config.learn_steps, "lr": config.lr,
            "activation": LEARN_ACTIVATION, "random": rel(fixed), "learned": rel(learned)}


def barron_constants(config: ApproxConfig) -> dict[str, dict[str, dict[str, float]]]:
    """{target: {d: {"cos": C_f, "sigmoid": C_f}}} for the named targets with a finite constant."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for spec in config.target:
        for d in config.dims:
            c = at.barron_constant(spec, d, stream(config.seed, "barron-constant", d))
            if c is not None:
                out.setdefault(spec, {})[str(d)] = c
    return out
