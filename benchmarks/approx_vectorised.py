"""Benchmark: `nnlab approx`'s vectorised random-feature fit against fitting one network at a time.

    python benchmarks/approx_vectorised.py [--max-width 256] [--seeds 3] [--d 2]

Both fit the same networks (same hidden features, same training samples, same ridge lam) for every seed,
width D in 2, 4, ..., max-width and target: the naive loop builds [1, sigma(X W1[:, :D] + b1[:D])] and calls
np.linalg.lstsq on the ridge-augmented matrix (or solves the normal equations) once per network; the
vectorised path (the one the command uses) does one Gram matrix (syrk, the ones column analytically) and one
Cholesky per seed batch, a triangular solve per width (nnlab.nn.approximation.nested_solve) and predicts in
row chunks skipping the zero coefficients (predict_nested); `dense` is the same algebra as it was before
issue 28 (materialised [1, h], general products). Prints both times, the ratio, and the largest relative difference
of the held-out MSEs, which should be small (both are the same ridge problem).
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch

from nnlab.nn import activations
from nnlab.nn import approximation as ap

TARGETS = ["bump", "sawtooth", "linear"]
RIDGE = 1e-10


def setup(max_width: int, seeds: int, d: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    widths = [2**k for k in range(1, int(math.log2(max_width)) + 1)]
    n = 4 * max_width
    x = rng.random((seeds, n, d))
    x_test = rng.random((4096, d))
    targets = [ap.get_target(t, d) for t in TARGETS]
    y = np.stack([t.fn(x) for t in targets], -1)            # (S, n, T)
    y_test = np.stack([t.fn(x_test) for t in targets], -1)  # (m, T)
    w, b = ap.draw_features(rng, "sigmoid", d, max_width, 5.0, seeds)
    return widths, x, y, x_test, y_test, w, b


def vectorised(widths, x, y, x_test, w, b, act) -> np.ndarray:
    """Predictions (S, m, W, T), the command's path (nnlab/commands/approx/fit.py): features without the ones
    column, its Gram matrix by syrk, one factorisation per seed, predictions CHUNK rows at a time."""
    from nnlab.commands.approx.fit import predict_in_chunks

    t = torch.from_numpy
    sizes = [k + 1 for k in widths]
    coefs = ap.nested_solve(*ap.normal_equations(ap.features(act, t(x), t(w), t(b)), t(y)), sizes, RIDGE)
    x_all = np.broadcast_to(x_test, (x.shape[0], *x_test.shape))
    return predict_in_chunks(lambda xc, out: ap.features(act, t(xc.copy()), t(w), t(b), out), x_all, coefs, sizes,
                             w.shape[-1])


def dense(widths, x, y, x_test, w, b, act) -> np.ndarray:
    """The same with [1, sigma(.)] materialised, torch's general products phi^T phi and phi^T y, and the dense
    prediction phi @ coefs over all widths' (mostly zero) coefficients: the path before issue 28."""
    t = torch.from_numpy
    phi = ap.hidden(act, t(x), t(w), t(b))
    coefs = ap.nested_solve(phi.mT @ phi, phi.mT @ t(y), [k + 1 for k in widths], RIDGE)
    x_all = t(np.broadcast_to(x_test, (x.shape[0], *x_test.shape)).copy())
    return ap.predict(ap.hidden(act, x_all, t(w), t(b)), coefs).numpy()  # (S, m, W, T)


def naive(widths, x, y, x_test, w, b, act, normal_equations: bool = False) -> np.ndarray:
    """The same fits, one network (seed, width, target) at a time: np.linalg.lstsq on the augmented matrix,
    or (normal_equations) np.linalg.solve of (Phi^T Phi + lam J) w = Phi^T y, the vectorised path's algebra."""
    S, T = x.shape[0], y.shape[-1]
    pred = np.zeros((S, x_test.shape[0], len(widths), T))
    for s in range(S):
        full = act.fn(x[s] @ w[s] + b[s])
        lam = RIDGE * np.mean(np.sum(full**2, axis=0))  # the lam nested_lstsq uses: same ridge problem
        for j, k in enumerate(widths):
            phi = np.hstack([np.ones((x.shape[1], 1)), act.fn(x[s] @ w[s][:, :k] + b[s][:k])])
            reg = np.sqrt(lam) * np.eye(k + 1)[1:]  # no penalty on b2
            phi_test = np.hstack([np.ones((x_test.shape[0], 1)), act.fn(x_test @ w[s][:, :k] + b[s][:k])])
            for t in range(T):
                if normal_equations:
                    coef = np.linalg.solve(phi.T @ phi + reg.T @ reg, phi.T @ y[s, :, t])
                else:
                    coef = np.linalg.lstsq(np.vstack([phi, reg]), np.concatenate([y[s, :, t], np.zeros(k)]),
                                           rcond=None)[0]
                pred[s, :, j, t] = phi_test @ coef
    return pred


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-width", type=int, default=256, help="nnlab approx's default sweep goes to 1024")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--d", type=int, default=2)
    args = parser.parse_args()
    act = activations.get("sigmoid")
    widths, x, y, x_test, y_test, w, b = setup(args.max_width, args.seeds, args.d)

    start = time.perf_counter()
    fast = vectorised(widths, x, y, x_test, w, b, act)
    t_fast = time.perf_counter() - start
    start = time.perf_counter()
    before = dense(widths, x, y, x_test, w, b, act)
    t_dense = time.perf_counter() - start
    start = time.perf_counter()
    slow = naive(widths, x, y, x_test, w, b, act)
    t_slow = time.perf_counter() - start
    start = time.perf_counter()
    naive(widths, x, y, x_test, w, b, act, normal_equations=True)
    t_normal = time.perf_counter() - start

    def mse(pred):
        return np.mean((pred - y_test[None, :, None, :]) ** 2, axis=1)  # (S, W, T)

    m_fast, m_slow = mse(fast), mse(slow)
    var = y_test.var(axis=0)
    # Compare where the error is above rounding (1e-12 Var f): below that both are noise.
    mask = np.maximum(m_fast, m_slow) > 1e-12 * var
    rel = np.max(np.abs(m_fast - m_slow)[mask] / m_slow[mask]) if mask.any() else 0.0
    networks = x.shape[0] * len(widths) * y.shape[-1]
    print(f"{networks} networks (seeds {x.shape[0]} x widths {widths[0]}..{widths[-1]} x targets {len(TARGETS)}), "
          f"d = {args.d}, n = {x.shape[1]} samples, torch threads {torch.get_num_threads()}")
    print(f"naive loop, np.linalg.lstsq per network:        {t_slow:8.2f} s  (ratio {t_slow / t_fast:6.1f}x)")
    print(f"naive loop, normal equations per network:       {t_normal:8.2f} s  (ratio {t_normal / t_fast:6.1f}x)")
    print(f"dense [1, h], gemm Gram, dense prediction:      {t_dense:8.2f} s  (ratio {t_dense / t_fast:6.1f}x)")
    print(f"vectorised (nested Cholesky, seeds batched):    {t_fast:8.2f} s")
    print(f"largest relative difference of held-out MSEs, vectorised vs lstsq (where MSE > 1e-12 Var f): {rel:.2e}")
    print(f"largest difference of the predictions, vectorised vs dense: {np.max(np.abs(fast - before)):.2e}")


if __name__ == "__main__":
    main()
