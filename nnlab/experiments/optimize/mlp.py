"""The `mlp` problem of `nnlab optimize`: every method trains a small 784-H-10 tanh network (its parameters
one flat vector, nnlab/nn/mlp_loss.py) on a subset of real MNIST; then SGD with a small and a large batch
are compared for the sharpness of the minima they find, and SGD's gradient noise against its theory."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from nnlab.core.claims import claim
from nnlab.experiments.optimize.paths import lr_sweep
from nnlab.experiments.optimize.settings import DIVERGE_FACTOR, hyper, resolve, stochastic
from nnlab.nn import mlp_loss, optimizers

if TYPE_CHECKING:
    from nnlab.core.run import Run
    from nnlab.experiments.optimize import OptimizeConfig


def load_subset(config: OptimizeConfig, device: str, dtype):
    """A fixed random subset of MNIST's training images (train_size) and the whole test set, scaled to [0, 1]."""
    import torch

    from nnlab.core.mnist import load_mnist
    from nnlab.core.seeding import stream

    data = load_mnist(config.data_dir)
    pick = stream(config.seed, "mnist-subset").permutation(len(data.train_labels))[: config.train_size]

    def tensors(images, labels):
        X = torch.as_tensor(images.reshape(len(images), -1), device=device).to(dtype) / 255
        return X, torch.as_tensor(labels.astype(np.int64), device=device)

    return (*tensors(data.train_images[pick], data.train_labels[pick]),
            *tensors(data.test_images, data.test_labels))


def train_mlp(method: str, hp: dict[str, float], theta0, loss_on, n: int, batch_size: int | None, steps: int,
              rng: np.random.Generator, log=None):
    """`steps` updates of `method` from theta0; minibatches of batch_size (None: the full batch, GD).

    loss_on(theta, idx) is J on the examples idx (None: all of them). Logs the full training loss J(theta_k)
    at every k. Returns (theta, losses, diverged_step).
    """
    import torch

    batches = optimizers.epoch_batches(rng, n, batch_size) if batch_size else None
    theta, state, diverged = theta0.clone(), {}, None

    def grad_fn(point):
        idx = None if batches is None else torch.as_tensor(next(batches), device=theta0.device)
        point = point.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(loss_on(point, idx), point)
        return g

    with torch.no_grad():
        losses = [float(loss_on(theta, None))]
    if log:
        log({"method": method, "step": 0, "loss": losses[0]})
    for k in range(steps):
        theta, state = optimizers.step(method, theta, grad_fn, state, **hp)
        with torch.no_grad():
            loss = float(loss_on(theta, None))
        if not math.isfinite(loss) or loss > DIVERGE_FACTOR * max(1.0, losses[0]):
            diverged = k + 1
            break
        losses.append(loss)
        if log:
            log({"method": method, "step": k + 1, "loss": loss})
    return theta.detach(), losses, diverged


def gradient_noise(loss_on, theta, n: int, batch_size: int, rng: np.random.Generator, draws: int = 24) -> float:
    """Mean over minibatches B (without replacement) of ||g_B - g||^2, g the full-batch gradient."""
    import torch

    def grad(idx):
        p = theta.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(loss_on(p, idx), p)
        return g

    full = grad(None)
    out = [float((grad(torch.as_tensor(rng.permutation(n)[:batch_size], device=theta.device)) - full).square().sum())
           for _ in range(draws)]
    return sum(out) / draws


def run_mlp(config: OptimizeConfig, rec: Run) -> dict[str, Any]:
    # The matrices are small (a few thousand rows, 784 columns): one thread is fastest and does not fight
    # other processes for cores (measured 0.7 ms against 49 ms per forward pass on a busy 2-core machine).
    from nnlab.core.device import torch_threads

    with torch_threads(1):
        return _run_mlp(config, rec)


def _run_mlp(config: OptimizeConfig, rec: Run) -> dict[str, Any]:
    import torch

    from nnlab.core.seeding import seed_everything, stream, torch_stream

    seed_everything(config.seed)
    dtype = torch.float32
    X, y, X_test, y_test = load_subset(config, rec.device, dtype)
    s = resolve(config)
    n, steps = len(y), s.steps
    batch_size = min(s.batch_size, n)
    shapes = mlp_loss.mlp_shapes(X.shape[1], config.hidden)
    theta0 = mlp_loss.mlp_init(shapes, torch_stream(config.seed, "mlp-init", device=rec.device), dtype, rec.device)

    def loss_on(theta, idx):
        return mlp_loss.mlp_loss(theta, shapes, X, y) if idx is None else \
            mlp_loss.mlp_loss(theta, shapes, X[idx], y[idx])

    def accuracy(theta, Xs, ys) -> float:
        with torch.no_grad():
            return float((mlp_loss.mlp_logits(theta, shapes, Xs).argmax(1) == ys).double().mean())

    def train(method: str, hp: dict[str, float], rng: np.random.Generator, log=None):
        return train_mlp(method, hp, theta0, loss_on, n, batch_size if stochastic(method, "mlp") else None, steps,
                         rng, log)

    results = {}
    for method in rec.track(config.methods(), "training"):
        hp = hyper(method, config)
        theta, losses, div = train(method, hp, stream(config.seed, "minibatches", method), rec.log)
        results[method] = {"hyper": hp, "final_loss": losses[-1], "diverged_step": div, "steps_run": len(losses) - 1,
                           "train_accuracy": None if div else accuracy(theta, X, y),
                           "test_accuracy": None if div else accuracy(theta, X_test, y_test)}

    def attempt(method: str, hp: dict[str, float], i: int) -> tuple[float | None, int | None]:
        _, losses, div = train(method, hp, stream(config.seed, "sweep-minibatches", method, i))
        return None if div else losses[-1], div

    sweep = lr_sweep(config, rec, 0.0, attempt)

    sharp, claims = sharpness_study(config, theta0, loss_on, shapes, n, batch_size, steps, accuracy,
                                    (X, y, X_test, y_test), rec)
    diverged = {m: r["diverged_step"] for m, r in results.items() if r["diverged_step"] is not None}
    summary: dict[str, Any] = {
        "problem": "mlp", "train_size": n, "test_size": len(y_test), "hidden": config.hidden,
        "parameters": int(theta0.numel()), "steps": steps, "batch_size": batch_size, "minimum": 0.0,
        "methods": results, "lr_sweep": sweep, "diverged": diverged, "sharpness": sharp, "claims": claims,
    }
    if diverged:
        summary["status"] = "diverged"
    return summary


def sharpness_study(config, theta0, loss_on, shapes, n, batch_size, steps, accuracy, data, rec: Run):
    """SGD with a small and a large batch (same lr, same steps, same start): where do they end, how sharp is it?

    Sharpness: the top Hessian eigenvalue of the full training loss (power iteration on Hessian-vector
    products), and the mean loss increase under random perturbations of 5% relative size per block.
    """

    from nnlab.core.seeding import stream, torch_stream

    X, y, X_test, y_test = data
    large = min(config.large_batch, n)
    hp = hyper("sgd", config)
    runs: dict[str, dict[str, Any]] = {}
    plan = [(f"batch {batch_size}", batch_size, k) for k in range(config.sharpness_seeds)]
    plan += [(f"batch {large}", large, k) for k in range(config.sharpness_seeds)]
    for name, bs, k in rec.track(plan, "sharpness"):
        # Same start theta0 for every run; seed k changes only the order of the minibatches.
        theta, losses, div = train_mlp("sgd", hp, theta0, loss_on, n, bs, steps,
                                       stream(config.seed, "sharpness-order", k))
        entry = runs.setdefault(name, {"batch_size": bs, "examples_seen": steps * bs, "seeds": []})
        if div:
            entry["seeds"].append({"seed": k, "diverged_step": div})
            continue
        # The same probe directions for every run: their sharpness differs by theta alone.
        gen = torch_stream(config.seed, "sharpness-probe", device=rec.device)
        entry["seeds"].append({
            "seed": k, "train_loss": losses[-1], "top_eigenvalue": top_eigen(loss_on, theta, gen),
            "perturbed_loss_increase": mlp_loss.perturbed_increase(lambda t: loss_on(t, None), theta, shapes, gen),
            "train_accuracy": accuracy(theta, X, y), "test_accuracy": accuracy(theta, X_test, y_test),
        })
    for entry in runs.values():  # mean over the seeds that did not diverge
        done = [s for s in entry["seeds"] if "top_eigenvalue" in s]
        for key in ("train_loss", "top_eigenvalue", "perturbed_loss_increase", "train_accuracy", "test_accuracy"):
            if done:
                entry[key] = float(np.mean([s[key] for s in done]))
        if len(done) > 1:
            entry["top_eigenvalue_sd"] = float(np.std([s["top_eigenvalue"] for s in done], ddof=1))
    small, big = runs[f"batch {batch_size}"], runs[f"batch {large}"]
    claims = []
    if "top_eigenvalue" in small and "top_eigenvalue" in big:
        pairs = zip(small["seeds"], big["seeds"], strict=True)
        agree = sum(a.get("top_eigenvalue", math.inf) < b.get("top_eigenvalue", -math.inf) for a, b in pairs)
        claims.append(claim("optimize.flat-minima",
            f"flat minima (hypothesis): SGD with batch {batch_size} ends flatter than with batch {large} "
            f"(same lr {hp['lr']:g}, {steps} steps, {config.sharpness_seeds} minibatch orders; top Hessian "
            "eigenvalue of the training loss, mean over orders)",
            {"small": round(small["top_eigenvalue"], 4), "small_sd": round(small.get("top_eigenvalue_sd", 0.0), 4),
             "large": round(big["top_eigenvalue"], 4), "large_sd": round(big.get("top_eigenvalue_sd", 0.0), 4),
             "orders_where_small_is_flatter": f"{agree}/{config.sharpness_seeds}",
             "train_loss_small": round(small["train_loss"], 4), "train_loss_large": round(big["train_loss"], 4),
             "test_acc_small": round(small["test_accuracy"], 4), "test_acc_large": round(big["test_accuracy"], 4)},
            "mean small < mean large", small["top_eigenvalue"] < big["top_eigenvalue"]))
    # The lecture's "gradient + random perturbation": E||g_B - g||^2 = (n - B) / (B (n - 1)) sigma^2 without
    # replacement, so the ratio between the two batch sizes is known without knowing sigma^2.
    rng = stream(config.seed, "gradient-noise")
    noise = {bs: gradient_noise(loss_on, theta0, n, bs, rng) for bs in (batch_size, large)}
    predicted = ((n - batch_size) / batch_size) / ((n - large) / large) if large < n else float("inf")
    measured = noise[batch_size] / noise[large] if noise[large] > 0 else float("inf")
    claims.append(claim("optimize.gradient-noise",
        f"SGD's gradient = full gradient + noise whose size shrinks with the batch: E||g_B - g||^2 ratio of "
        f"batch {batch_size} to batch {large} at the start (theory (n-B)/(B(n-1)))",
        {"measured_ratio": round(measured, 3), "predicted_ratio": round(predicted, 3)},
        "within 35% (24 minibatches each)", abs(measured / predicted - 1) < 0.35 if math.isfinite(predicted)
        else noise[large] < 1e-20))
    return {"runs": runs, "lr": hp["lr"], "steps": steps, "gradient_noise": {str(k): v for k, v in noise.items()}}, \
        claims


def top_eigen(loss_on, theta, gen) -> float:
    return mlp_loss.top_eigenvalue(lambda t: loss_on(t, None), theta, gen)
