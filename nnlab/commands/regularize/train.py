"""The two overfitting settings of `nnlab regularize` and the training of every (method, lambda, seed) at once.

A setting is a data set per replicate (seed) plus a model shape:

- regression: x ~ U[-1, 1], y = sin(pi x) + N(0, noise^2); inputs are the Legendre polynomials
  P_1(x) .. P_degree(x) (polynomial features, well conditioned on [-1, 1]) fed to a small tanh network.
  Train, validation and test points are drawn afresh per replicate; the test set is large (its loss
  estimates the expected error, whose floor is noise^2).
- mnist: a random subset of the 60,000 real training images (train_size), a validation split carved from
  the remaining training images, and the real test set: a fixed subset for the per-epoch curves, all
  10,000 images for the final numbers. Inputs (pixel / 255 - 0.1307) / 0.3081, ReLU network.

Every member of the stack (nnlab/nn/stacked.py) of one replicate shares its data, its initial weights
and its minibatch order, so methods differ only by their regularization.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from nnlab.commands.regularize.config import RegularizeConfig
from nnlab.core.seeding import stream, torch_stream
from nnlab.nn.stacked import Member, Stack

if TYPE_CHECKING:
    from nnlab.core.run import Run

EVAL_CHUNK = 500  # rows per batched evaluation: K networks x 500 rows x 784 floats stays near 60 MB for K = 42


def truth(x: np.ndarray) -> np.ndarray:
    return np.sin(np.pi * x)


def legendre_features(x: np.ndarray, degree: int) -> np.ndarray:
    """(N,) -> (N, degree): P_1(x) .. P_degree(x) (P_0 = 1 is the bias)."""
    from numpy.polynomial import legendre

    return legendre.legvander(x, degree)[:, 1:]


def regression_data(config: RegularizeConfig, replicates: int) -> dict[str, Any]:
    """Per replicate r: train/val/test points from stream(seed, 'regression-data', r); a shared x grid."""
    sets: dict[str, list] = {k: [] for k in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")}
    sizes = {"train": config.train_size, "val": config.val_size, "test": config.test_points}
    for r in range(replicates):
        rng = stream(config.seed, "regression-data", r)
        for part, n in sizes.items():
            x = rng.uniform(-1, 1, n)
            sets[f"x_{part}"].append(x)
            sets[f"y_{part}"].append(truth(x) + config.noise * rng.standard_normal(n))
    grid = np.linspace(-1, 1, 201)
    out = {k: np.stack(v) for k, v in sets.items()}
    feats = {p: np.stack([legendre_features(x, config.degree) for x in out[f"x_{p}"]]) for p in sizes}
    return {
        "task": "regression",
        "X": {p: feats[p] for p in sizes},                     # (R, N, degree)
        "Y": {p: out[f"y_{p}"][..., None] for p in sizes},     # (R, N, 1)
        "X_final": None,                                       # the test set is already the final one
        "grid": grid, "grid_X": legendre_features(grid, config.degree), "grid_truth": truth(grid),
        "train_points": [[out["x_train"][r].tolist(), out["y_train"][r].tolist()] for r in range(replicates)],
        "sizes": [config.degree, *config.reg_hidden, 1],
        "activation": "tanh",
    }


def mnist_data(config: RegularizeConfig, replicates: int) -> dict[str, Any]:
    """Per replicate: train_size + val_size distinct training images (a seeded permutation); shared test."""
    from nnlab.data.mnist import MEAN, STD, run_mnist

    data = run_mnist(config.data_dir)

    def prep(images: np.ndarray) -> np.ndarray:
        return ((images.reshape(len(images), -1).astype(np.float32) / 255) - MEAN) / STD

    Xtr, Ytr, Xv, Yv = [], [], [], []
    for r in range(replicates):
        perm = stream(config.seed, "mnist-split", r).permutation(len(data.train_images))
        tr, va = perm[:config.train_size], perm[config.train_size:config.train_size + config.val_size]
        Xtr.append(prep(data.train_images[tr]))
        Ytr.append(data.train_labels[tr].astype(np.int64))
        Xv.append(prep(data.train_images[va]))
        Yv.append(data.train_labels[va].astype(np.int64))
    n_curve = min(config.test_curve_size, len(data.test_images))
    X_test, Y_test = prep(data.test_images), data.test_labels.astype(np.int64)
    return {
        "task": "classification",
        "X": {"train": np.stack(Xtr), "val": np.stack(Xv), "test": X_test[None, :n_curve]},
        "Y": {"train": np.stack(Ytr), "val": np.stack(Yv), "test": Y_test[None, :n_curve]},
        "X_final": (X_test[None], Y_test[None]),
        "sizes": [784, *config.hidden, 10],
        "activation": "relu",
    }


# ----------------------------------------------------------------------------------------------------
# Evaluation


def replicate_blocks(reps) -> list[tuple[int, int, int]]:
    """(r, a, b) for each run of networks a .. b-1 that share replicate r (K networks in R runs, as
    run_setting orders them; any order works, with more runs)."""
    values = [int(r) for r in reps]
    out, a = [], 0
    for k in range(1, len(values) + 1):
        if k == len(values) or values[k] != values[a]:
            out.append((values[a], a, k))
            a = k
    return out


def data_loss(out, Y, task: str):
    """Per network mean loss (K,) and accuracy (K,) (None for regression). out: (K, B, d_out)."""
    import torch.nn.functional as F

    if task == "regression":
        return (out - Y).square().mean((1, 2)), None
    K, B, C = out.shape
    loss = F.cross_entropy(out.reshape(K * B, C), Y.reshape(K * B), reduction="none").view(K, B).mean(1)
    return loss, (out.argmax(-1) == Y).double().mean(1)


def eval_loss(out, Y, task: str):
    """data_loss's numbers for evaluation (no gradient), classification ~8x faster: log-softmax over the class axis
    of (K, C, B), where that axis is not the innermost one, vectorizes across the rows instead of over 10 classes
    (the same formula, -log softmax(out)[y]; round-off differs by ~1 ulp). Training keeps data_loss."""
    if task == "regression":
        return data_loss(out, Y, task)
    logp = out.transpose(1, 2).log_softmax(1)  # (K, C, B)
    loss = -logp.gather(1, Y[:, None, :]).squeeze(1).mean(1)
    return loss, (out.argmax(-1) == Y).double().mean(1)


def evaluate(stack: Stack, X, Y, reps, task: str) -> tuple[list[float], list[float] | None]:
    """Eval-mode (no dropout) mean loss and accuracy of every network on its replicate's rows.

    Per run of networks sharing a replicate, its (N, d) rows are expanded (a stride-0 view, no copy) against
    those networks' weights (views): the same products as gathering (K, N, d) rows, without the K-fold copy.
    """
    import torch

    X, Y = torch.as_tensor(X), torch.as_tensor(Y)
    n = X.shape[1]
    blocks = [(r if X.shape[0] > 1 else 0, a, b, stack.block(a, b)) for r, a, b in replicate_blocks(reps)]
    loss = torch.zeros(len(reps), dtype=torch.float64)
    acc = torch.zeros(len(reps), dtype=torch.float64)
    with torch.no_grad():
        for i in range(0, n, EVAL_CHUNK):
            for r, a, b, sub in blocks:
                xb, yb = X[r, i:i + EVAL_CHUNK], Y[r, i:i + EVAL_CHUNK]
                lo, ac = eval_loss(sub.forward(xb.expand(b - a, *xb.shape)), yb.expand(b - a, *yb.shape), task)
                w = xb.shape[0] / n
                loss[a:b] += lo.double() * w
                if ac is not None:
                    acc[a:b] += ac * w
    return loss.tolist(), acc.tolist() if task == "classification" else None


def eval_epochs(epochs: int, points: int) -> list[int]:
    """About `points` epochs from 1 to `epochs`, geometrically spaced (early changes are fast), with the last."""
    if points >= epochs:
        return list(range(1, epochs + 1))
    return sorted({int(round(v)) for v in np.geomspace(1, epochs, points)} | {epochs})


# ----------------------------------------------------------------------------------------------------
# Training


def train(config: RegularizeConfig, setting: str, data: dict[str, Any], members: list[Member], epochs: int, rec: Run,
          lr: float, batch_size: int) -> dict[str, Any]:
    """Train every member; log curves at eval_epochs; return the stack and per-member histories."""
    import torch

    task = data["task"]
    reps = torch.tensor([m.replicate for m in members])
    inits = [torch_stream(config.seed, "init", setting, m.replicate) for m in members]
    stack = Stack(data["sizes"], members, data["activation"], config.beta, config.l1_step, inits)
    X = {k: torch.from_numpy(np.ascontiguousarray(v)).float() for k, v in data["X"].items()}
    Y = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in data["Y"].items()}
    if task == "regression":
        Y = {k: v.float() for k, v in Y.items()}
    R, n = X["train"].shape[:2]
    bs = min(batch_size, n)
    order = [torch_stream(config.seed, "minibatch", setting, r) for r in range(R)]
    masks = torch_stream(config.seed, "dropout-masks", setting)
    checkpoints = set(eval_epochs(epochs, config.eval_points))
    history: list[dict[str, Any]] = []
    diverged_at: int | None = None
    rows = torch.arange(R)[:, None]
    for epoch in rec.track(range(1, epochs + 1), f"{setting}: training {len(members)} networks"):
        perms = torch.stack([torch.randperm(n, generator=g) for g in order])  # (R, n)
        Xp, Yp = X["train"][rows, perms], Y["train"][rows, perms]  # (R, n, d), (R, n[, 1]): this epoch's order
        for i in range(0, n - bs + 1, bs):  # full batches only: every step averages over bs examples
            # (K, bs, d): network k's rows of its replicate (index_select copies whole rows: ~8x the fancy index)
            xb, yb = Xp[:, i:i + bs].index_select(0, reps), Yp[:, i:i + bs].index_select(0, reps)
            loss, _ = data_loss(stack.forward(xb, masks), yb, task)
            stack.step(loss.sum(), lr)
        if epoch in checkpoints:
            row = {"epoch": epoch}
            for part in ("train", "val", "test"):
                row[f"{part}_loss"], row[f"{part}_acc"] = evaluate(stack, X[part], Y[part], reps, task)
            row["weights"] = stack.weight_stats()
            history.append(row)
            for k, m in enumerate(members):
                rec.log({"step": epoch, "setting": setting, "method": m.method, "lam": m.lam,
                         "keep_prob": m.keep_prob, "replicate": m.replicate,
                         **{f"{p}/loss": row[f"{p}_loss"][k] for p in ("train", "val", "test")},
                         **({f"{p}/acc": row[f"{p}_acc"][k] for p in ("train", "val", "test")}
                            if task == "classification" else {}),
                         **{f"weights/{key}": v for key, v in row["weights"][k].items()}})
            if not all(math.isfinite(v) for v in row["train_loss"]):
                diverged_at = diverged_at or epoch
                if not any(math.isfinite(v) for v in row["train_loss"]):
                    break
    # The last checkpoint saw the final weights (the last epoch, or the one training stopped at): its train and
    # validation numbers are the final ones, so run_setting need not evaluate them again.
    final = ({p: (history[-1][f"{p}_loss"], history[-1][f"{p}_acc"]) for p in ("train", "val")}
             if history and history[-1]["epoch"] == epoch else None)
    return {"stack": stack, "history": history, "diverged_at": diverged_at, "X": X, "Y": Y, "reps": reps,
            "final": final}
