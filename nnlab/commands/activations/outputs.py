"""The output layers of `nnlab activations` (lecture: 在最后一层 f_L，激活函数的选择由函数最终输出的约束条件所决定):
the same small network trained with each output layer on the three kinds of target the slide names.

Tasks, on x in [-1, 1] (TRAIN points drawn per seed, the figures and errors on a GRID of test points):

    classification  three classes, x < -1/3, -1/3 <= x < 1/3, x >= 1/3    softmax, cross-entropy
    positive        y = exp(a x) e^(0.1 eps), from e^-a to e^a              e^x (fit to log y) against identity
    regression      y = sin(pi x) + 0.1 eps, both signs                     identity against e^x, squared error

Every network is 1-H-H-d tanh (d = 3 for classification, 1 otherwise), trained by full-batch Adam as the
lecture writes it (nnlab/nn/optimizers.py); the networks of one seed share their initial weights, so two
heads on one target differ only by the head (and its loss). All networks train at once as one batch of
matrix products: W1 (K, 1, H), W2 (K, H, H), W3 (K, H, 3) (the scalar heads read column 0).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nnlab.nn import optimizers, output_layers

TRAIN = 24       # training points per seed
GRID = 201       # test points on [-1, 1]
HIDDEN = 32      # units per hidden layer
LR = 0.03        # Adam's step (400 steps fit every task: test accuracy >= 0.94, regression MSE < 0.02)
NOISE = 0.1      # the std of the noise (log scale for the positive target)
# (task, output layer): the runs of one seed
RUNS = [("classification", "softmax"), ("positive", "exp"), ("positive", "identity"), ("regression", "identity"),
        ("regression", "exp")]


def targets(task: str, x: np.ndarray, a: float, rng: np.random.Generator | None) -> np.ndarray:
    """The task's target at x (noisy when rng is given): class indices, or values (N,)."""
    if task == "classification":
        return np.digitize(x, [-1 / 3, 1 / 3])
    eps = rng.standard_normal(x.shape) if rng is not None else np.zeros_like(x)
    if task == "positive":
        return np.exp(a * x + NOISE * eps)
    return np.sin(np.pi * x) + NOISE * eps


def train(seeds: int, steps: int, a: float, seed: int) -> dict[str, Any]:
    """Every (task, output layer) of RUNS on every seed: predictions on the grid, train and test errors."""
    import torch
    import torch.nn.functional as F

    from nnlab.core.seeding import stream, torch_stream

    grid = np.linspace(-1, 1, GRID)
    K = seeds * len(RUNS)
    xs, ys = [], []
    for r in range(seeds):
        rng = stream(seed, "output-layers", r)
        x = rng.uniform(-1, 1, TRAIN)
        for task, _ in RUNS:
            xs.append(x)
            ys.append(targets(task, x, a, rng))
    X = torch.tensor(np.stack(xs), dtype=torch.float64)[..., None]  # (K, TRAIN, 1)
    Y = torch.tensor(np.stack(ys), dtype=torch.float64)             # (K, TRAIN)
    shapes = [(1, HIDDEN), (HIDDEN, HIDDEN), (HIDDEN, 3)]
    params = []
    for n_in, n_out in shapes:  # torch.nn.Linear's U(-1/sqrt(n_in), 1/sqrt(n_in)), one draw per seed
        W, b = [], []
        for r in range(seeds):
            g = torch_stream(seed, "output-layers-init", r, n_in, n_out)
            w0 = (torch.rand(n_in, n_out, generator=g, dtype=torch.float64) * 2 - 1) / math.sqrt(n_in)
            b0 = (torch.rand(1, n_out, generator=g, dtype=torch.float64) * 2 - 1) / math.sqrt(n_in)
            W += [w0] * len(RUNS)
            b += [b0] * len(RUNS)
        params += [torch.stack(W), torch.stack(b)]
    # one flat parameter vector (one Adam update a step instead of six), viewed as the layers in forward()
    sizes = [p.numel() for p in params]
    theta = torch.cat([p.reshape(-1) for p in params]).requires_grad_(True)
    heads = [head for _ in range(seeds) for _, head in RUNS]
    tasks = [task for _ in range(seeds) for task, _ in RUNS]
    cls = torch.tensor([h == "softmax" for h in heads])
    use_exp = torch.tensor([h == "exp" for h in heads])[:, None]  # (K, 1)
    # e^x on the positive target learns log y (the squared error of log y: a log-normal likelihood, as softmax
    # learns with cross-entropy); every other scalar network learns y with the squared error
    log_fit = torch.tensor([h == "exp" and t == "positive" for h, t in zip(heads, tasks, strict=True)])

    def forward(x):  # (K, N, 1) -> (K, N, 3), before the output layer
        layer = [t.view(p.shape) for t, p in zip(theta.split(sizes), params, strict=True)]
        h = x
        for i in range(0, len(layer), 2):
            h = torch.baddbmm(layer[i + 1], h, layer[i])
            if i < len(layer) - 2:
                h = torch.tanh(h)
        return h

    def scalar(z):  # (K, N, 3) -> (K, N): the exp or identity output layer on column 0 (softmax rows unused)
        return torch.where(use_exp, output_layers.exp(z[..., 0]), output_layers.identity(z[..., 0]))

    def losses(z, y):  # per network: cross-entropy of its softmax (classification) or MSE of its output on y
        mse = (scalar(z) - y).square().mean(1)
        mse = torch.where(log_fit, (z[..., 0] - y.clamp_min(1e-300).log()).square().mean(1), mse)
        logp = torch.log(output_layers.softmax(z[cls]))  # (n_cls, N, 3)
        ce = F.nll_loss(logp.reshape(-1, 3), y[cls].long().reshape(-1), reduction="none").view(-1, y.shape[1])
        return mse.masked_scatter(cls, ce.mean(1))

    # the lecture's Adam (nnlab/nn/optimizers.py), not torch.optim's: its first step costs ~1 s of set-up
    state: dict[str, Any] = {}
    for _ in range(steps):
        (grad,) = torch.autograd.grad(losses(forward(X), Y).sum(), theta)
        with torch.no_grad():
            new, state = optimizers.adam(theta, grad, state, lr=LR)
            theta.copy_(new)
    with torch.no_grad():
        G = torch.tensor(grid, dtype=torch.float64).expand(K, GRID)[..., None]
        zg = forward(G)
        probs, values = output_layers.softmax(zg), scalar(zg)
        pred = [probs[k] if cls[k] else values[k] for k in range(K)]
        train_loss = losses(forward(X), Y).tolist()
    runs: dict[str, dict[str, Any]] = {f"{t}/{h}": {"task": t, "head": h, "pred": [], "train_loss": []}
                                       for t, h in RUNS}
    for k in range(K):
        run = runs[f"{tasks[k]}/{heads[k]}"]
        run["pred"].append(pred[k].tolist())
        run["train_loss"].append(train_loss[k])
    truth = {task: targets(task, grid, a, None).tolist() for task in ("classification", "positive", "regression")}
    for run in runs.values():
        P, y = np.asarray(run["pred"]), np.asarray(truth[run["task"]])
        if run["task"] == "classification":
            run["test_accuracy"] = (P.argmax(-1) == y).mean(1).tolist()
            run["sum_error"] = float(np.abs(P.sum(-1) - 1).max())  # probabilities sum to 1
            run["min_probability"] = float(P.min())
        else:
            run["test_mse"] = ((P - y) ** 2).mean(1).tolist()
            run["nonpositive_share"] = (P <= 0).mean(1).tolist()
            run["min_prediction"] = P.min(1).tolist()
            if run["task"] == "positive":  # the relative error where the target is small (its lower half)
                low = y < np.median(y)
                run["small_target_relative_error"] = (np.abs(P[:, low] - y[low]) / y[low]).mean(1).tolist()
    return {"grid": grid.tolist(), "truth": truth, "runs": runs, "steps": steps, "seeds": seeds,
            "positive_range": a, "train_points": TRAIN,
            # e^x > 0 cannot go below the target's negative part: its MSE is at least mean(min(y, 0)^2)
            "positive_head_floor": float(np.mean(np.minimum(truth["regression"], 0.0) ** 2))}
