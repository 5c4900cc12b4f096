"""`nnlab approx` at one dimension d: fit every network and baseline at every width and seed, and measure it."""

from __future__ import annotations

import math

import numpy as np

from nnlab.commands.approx.config import ApproxConfig
from nnlab.core.device import thread_limit
from nnlab.core.seeding import stream
from nnlab.nn import activations
from nnlab.nn import approximation as ap
from nnlab.nn import approximation_train as learn


def sup_points(d: int, rng: np.random.Generator) -> np.ndarray:
    """A dense grid for d = 1 (4097 points) and d = 2 (129^2), else 8192 uniform samples."""
    grid = ap.dense_grid(d)
    return grid if grid is not None else rng.random((8192, d))

def evaluate(pred: np.ndarray, truth: np.ndarray, n_test: int) -> tuple[np.ndarray, np.ndarray]:
    """pred (S, m, W, T), truth (m, T), the first n_test rows held-out samples -> mse, sup: (S, W, T)."""
    err = pred - truth[None, :, None, :]
    return np.mean(err[:, :n_test] ** 2, axis=1), np.max(np.abs(err[:, n_test:]), axis=1)


def solve(h, y, sizes: list[int], ridge: float, ones: bool = True):
    """ap.nested_solve of ap.normal_equations(h, y, ones), with the threads each part is fastest on: on the CPU
    a Gram below ~1e9 multiply-adds (30 ms on a core) on one thread, where a second BLAS thread spins more than
    it computes (a (3, 1024, 256) Gram took 10x the CPU time on two threads of a busy machine), and the
    per-width back substitutions on one (P^2 T multiply-adds each: 2 threads took 20x longer)."""
    S, n, D = h.shape
    cpu = h.device.type == "cpu"
    with thread_limit(1 if cpu and S * n * D * D < 2**30 else None):
        normal = ap.normal_equations(h, y, ones)
    with thread_limit(1 if cpu else None):
        return ap.nested_solve(*normal, sizes, ridge)


CHUNK = 256  # evaluation rows a step: features (S, 256, D) stay in cache for the products that use them


def fit_network(config: ApproxConfig, act_spec: str, d: int, x, y, x_eval, device: str, run_track=iter,
                check_stop=lambda: None):
    """Predictions (S, m, W, T) on x_eval (m, d) of the networks of every width in config.widths; `check_stop`
    (the run's) is called at every training step of --fit train."""
    import torch

    act = activations.get(act_spec)
    S = x.shape[0]
    index = config.activation.index(act_spec)
    rng = stream(config.seed, "features", d, index)
    w, b = ap.draw_features(rng, act_spec, d, max(config.widths), config.feature_scale, S)

    def t(a):
        # writable: torch warns on a read-only array (a target formula may give a broadcast view); same values
        return torch.as_tensor(np.require(a, requirements=("C", "W")), dtype=torch.float64, device=device)

    xt, yt, wt, bt = t(x), t(y), t(w), t(b)
    x_all = np.broadcast_to(x_eval, (S, *x_eval.shape))
    if config.fit == "features":
        sizes = [k + 1 for k in config.widths]
        coefs = solve(ap.features(act, xt, wt, bt), yt, sizes, config.ridge)
        return predict_in_chunks(lambda xc, out: ap.features(act, t(xc), wt, bt, out), x_all, coefs, sizes,
                                 max(config.widths))
    # Small problems are many tiny elementwise ops (Adam's on a few thousand numbers): on a busy CPU,
    # OpenMP's synchronisation then costs more than the arithmetic, so they run on one thread. Measure
    # the crossover with `python benchmarks/approx_vectorised.py` under OMP_NUM_THREADS=1 and =2.
    small = xt.device.type == "cpu" and S * y.shape[-1] * x.shape[1] * max(config.widths) < 2**22
    with thread_limit(1 if small else None):
        trained = [learn.train_width(act, xt, yt, wt[..., :k], bt[..., :k], config.steps, config.lr, check_stop)
                   for k in run_track(config.widths)]
    preds = []
    for start in range(0, x_eval.shape[0], 4096):  # chunks keep (S T, 4096, D_max) in memory
        chunk = t(x_all[:, start:start + 4096])
        preds.append(np.concatenate([predict(chunk).cpu().numpy() for predict in trained], axis=2))
    return np.concatenate(preds, axis=1)


def predict_in_chunks(features, x_all, coefs, sizes: list[int], width: int, ones: bool = True) -> np.ndarray:
    """ap.predict_nested on `features`(rows of x_all, out) for CHUNK rows at a time: x_all (B, m, d) with B = S
    or 1 (points shared by the seeds), coefs (S, P, W, T) -> numpy (S, m, W, T). `features(x, out)` writes
    the (B, rows, width) features of x (B, rows, d) into `out` (a reused buffer) or returns new ones."""
    import torch

    B, m = x_all.shape[:2]
    S, _, W, T = coefs.shape
    preds = np.empty((S, m, W, T))
    buffer = torch.empty(B * CHUNK * width, dtype=coefs.dtype, device=coefs.device)
    # One thread on the CPU: a chunk's products are a few million multiply-adds each, and a second OpenMP
    # thread's synchronisation costs more than that on a busy machine (measured 30x slower on 2 threads).
    with thread_limit(1 if coefs.device.type == "cpu" else None):
        for start in range(0, m, CHUNK):
            rows = min(CHUNK, m - start)
            h = features(x_all[:, start:start + rows], buffer[:B * rows * width].view(B, rows, width))
            preds[:, start:start + rows] = ap.predict_nested(h, coefs, sizes, ones).cpu().numpy()
    return preds


def fit_baselines(config: ApproxConfig, d: int, x, y, x_eval) -> dict[str, tuple[np.ndarray, list[int]]]:
    """Linear, Chebyshev and kernel predictions (S, m, W, T) with each method's parameter count per width."""
    import torch

    S, n = x.shape[0], x.shape[1]
    yt = torch.from_numpy(y)
    out: dict[str, tuple[np.ndarray, list[int]]] = {}
    # Linear and Chebyshev bases of the evaluation points do not depend on the seed: (1, m, P), broadcast.
    coefs = solve(torch.from_numpy(ap.linear_basis(x)), yt, [d + 1], 0.0, ones=False)  # [1, x] is well posed
    lin = ap.predict(torch.from_numpy(ap.linear_basis(x_eval[None])), coefs).numpy()
    out["linear"] = (np.repeat(lin, len(config.widths), axis=2), [d + 1] * len(config.widths))

    # Chebyshev: as many terms as the network has parameters, capped for a stable fit on n uniform samples.
    max_terms, max_degree = n // 4, max(2, int(math.sqrt(n) / 2))
    degrees = [min(ap.polynomial_degree(ap.network_parameters(k, d), d, max_terms), max_degree)
               for k in config.widths]
    indices = ap.chebyshev_indices(d, max(degrees))
    sizes = [ap.n_terms(d, k) for k in degrees]
    coefs = solve(torch.from_numpy(ap.chebyshev_basis(x, indices)), yt, sizes, config.ridge, ones=False)
    # the basis (its column 0 the constant T_0 = 1) of each chunk, a fresh (1, rows, C) array (numpy's)
    out["polynomial"] = (predict_in_chunks(lambda xc, _: torch.from_numpy(ap.chebyshev_basis(xc, indices)),
                                           x_eval[None], coefs, sizes, len(indices), ones=False), sizes)

    # Kernel ridge: D Gaussian kernels centred on the first D training points (nested in D).
    xt = torch.from_numpy(x)
    centres = xt[:, : max(config.widths)]
    h = config.kernel_width * math.sqrt(d)
    sizes = [k + 1 for k in config.widths]
    coefs = solve(ap.gaussian_features(xt, centres, h), yt, sizes, config.ridge)
    x_all = np.broadcast_to(x_eval, (S, *x_eval.shape))
    pred = predict_in_chunks(lambda xc, buf: ap.gaussian_features(torch.from_numpy(xc.copy()), centres, h, buf),
                             x_all, coefs, sizes, max(config.widths))
    out["kernel"] = (pred, [k * (d + 1) + 1 for k in config.widths])
    return out
