"""The 2-D problems of `nnlab optimize`: each method's path x_0 .. x_k on a landscape, and the learning-rate
sweep (each method's final loss over a range of rates, labelled too small / good / too large / diverged)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from nnlab.commands.optimize.config import SWEEP_POINTS, OptimizeConfig, parse_sweep
from nnlab.commands.optimize.settings import DIVERGE_FACTOR, N_EXAMPLES, hyper, resolve, stochastic
from nnlab.nn import landscapes, optimizers

if TYPE_CHECKING:
    from nnlab.core.run import Run


def simulate(problem: landscapes.Landscape, method: str, hp: dict[str, float], start, steps: int,
             rng: np.random.Generator | None = None, offsets: np.ndarray | None = None,
             batch_size: int = 8) -> dict[str, Any]:
    """Run `method` from `start`; points[k] = x_k for k = 0..last, losses[k] = f(x_k).

    Stochastic when `offsets` is given: the gradient at p is grad f(p) + mean_{i in B} c_i over the
    next minibatch B. Stops at the first step whose loss is not finite or exceeds DIVERGE_FACTOR x f(start).
    """
    x = np.array(start, dtype=np.float64)
    batches = optimizers.epoch_batches(rng, len(offsets), batch_size) if offsets is not None else None

    def grad_fn(p: np.ndarray) -> np.ndarray:
        g = problem.gradient(p)
        return g + offsets[next(batches)].mean(axis=0) if batches is not None else g

    f0 = problem.f(x)
    limit = DIVERGE_FACTOR * max(1.0, abs(f0))
    points, losses, state, diverged = [x.tolist()], [f0], {}, None
    with np.errstate(all="ignore"):
        for k in range(steps):
            x, state = optimizers.step(method, x, grad_fn, state, **hp)
            loss = problem.f(x)
            if not (math.isfinite(loss) and np.all(np.isfinite(x))) or loss > limit:
                diverged = k + 1
                break
            points.append(x.tolist())
            losses.append(loss)
    return {"points": points, "losses": losses, "diverged_step": diverged}


def run_2d(config: OptimizeConfig, rec: Run) -> dict[str, Any]:
    """Every method's path (logged step by step) and the sweep; the claims are added by the caller."""
    from nnlab.core.seeding import seed_everything, stream

    seed_everything(config.seed)
    problem = landscapes.get(config.problem, config.kappa)
    s = resolve(config)
    offsets = landscapes.offsets(stream(config.seed, "offsets"), N_EXAMPLES, s.noise)

    def go(method: str, hp: dict[str, float], rng: np.random.Generator) -> dict[str, Any]:
        # Every method has its own minibatch stream, so its path does not depend on which others run.
        sto = stochastic(method, config.problem)
        return simulate(problem, method, hp, s.start, s.steps, rng, offsets if sto else None, s.batch_size)

    results = {}
    for method in rec.track(config.methods(), "optimizing"):
        hp = hyper(method, config)
        res = go(method, hp, stream(config.seed, "minibatches", method))
        for k, (p, loss) in enumerate(zip(res["points"], res["losses"], strict=True)):
            rec.log({"method": method, "step": k, "loss": loss, "x": p})
        results[method] = {"hyper": hp, "final_loss": res["losses"][-1], "final_x": res["points"][-1],
                           "diverged_step": res["diverged_step"], "steps_run": len(res["losses"]) - 1}

    def attempt(method: str, hp: dict[str, float], i: int) -> tuple[float | None, int | None]:
        res = go(method, hp, stream(config.seed, "sweep-minibatches", method, i))
        return None if res["diverged_step"] else res["losses"][-1], res["diverged_step"]

    sweep = lr_sweep(config, rec, problem.minimum, attempt)
    diverged = {m: r["diverged_step"] for m, r in results.items() if r["diverged_step"] is not None}
    summary: dict[str, Any] = {
        "problem": config.problem, "kappa": config.kappa if config.problem == "quadratic" else None,
        "start": s.start, "steps": s.steps, "noise": s.noise, "batch_size": s.batch_size, "n_examples": N_EXAMPLES,
        "minimum": problem.minimum, "bounds": plot_bounds(problem.bounds, s.start), "methods": results,
        "lr_sweep": sweep, "diverged": diverged, "gif": config.gif,
    }
    if diverged:
        summary["status"] = "diverged"
    return summary


def plot_bounds(bounds, start) -> list[float]:
    """The problem's box, widened to hold the starting point with a 10% margin."""
    x0, x1, y0, y1 = bounds
    mx, my = 0.1 * (x1 - x0), 0.1 * (y1 - y0)
    return [min(x0, start[0] - mx), max(x1, start[0] + mx), min(y0, start[1] - my), max(y1, start[1] + my)]


# ----------------------------------------------------------------------------------------------------
# The learning-rate sweep (2-D and mlp)


def lr_sweep(config: OptimizeConfig, rec: Run, minimum: float,
             attempt: Callable[[str, dict[str, float], int], tuple[float | None, int | None]]
             ) -> dict[str, list[dict[str, Any]]] | None:
    """Each method's labelled sweep, or None when there is none (off; auto on mlp, whose runs are costly).

    attempt(method, hp, i) runs the i-th learning rate of the sweep: (final loss or None, diverged step).
    """
    mode = parse_sweep(config.lr_sweep)
    if mode == "off" or (mode == "auto" and config.problem not in landscapes.PROBLEMS_2D):
        return None
    sweep = {}
    for method in rec.track(config.methods(), "learning-rate sweep"):
        rows = []
        for i, lr in enumerate(sweep_lrs(mode, hyper(method, config)["lr"])):
            final_loss, diverged = attempt(method, hyper(method, config, lr), i)
            rows.append({"lr": lr, "final_loss": final_loss, "diverged_step": diverged})
        sweep[method] = label_sweep(rows, minimum)
    return sweep


def sweep_lrs(mode, base_lr: float) -> list[float]:
    if mode == "auto":
        return [float(base_lr * 10 ** e) for e in np.linspace(-2, 1, SWEEP_POINTS)]
    lo, hi, n = mode
    return [float(v) for v in np.geomspace(lo, hi, n)]


def label_sweep(rows: list[dict[str, Any]], minimum: float) -> list[dict[str, Any]]:
    """Label each lr: diverged, or good (gap to the minimum within 100x the best gap, or 1e-6 of the
    worst), else too small / too large depending on which side of the best lr it lies."""
    finite = [r for r in rows if r["final_loss"] is not None]
    if not finite:
        return [{**r, "label": "diverged"} for r in rows]
    gaps = [max(r["final_loss"] - minimum, 0.0) for r in finite]
    best = min(range(len(finite)), key=lambda i: gaps[i])
    tol = max(100 * gaps[best], 1e-6 * max(gaps), 1e-12)
    best_lr = finite[best]["lr"]
    out = []
    for r in rows:
        if r["final_loss"] is None:
            label = "diverged"
        elif max(r["final_loss"] - minimum, 0.0) <= tol:
            label = "good"
        else:
            label = "too small" if r["lr"] < best_lr else "too large"
        out.append({**r, "label": label})
    return out
