"""One overfitting setting of `nnlab regularize`, trained and read: every member's final numbers, the best
lambda per penalty (on validation), the curves, the lambda sweep, weight histograms, the regression fits and
(dropout.py) dropout's ensemble and expectation."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from nnlab.commands.regularize import train as T
from nnlab.commands.regularize.config import PENALTIES, RegularizeConfig
from nnlab.commands.regularize.dropout import ensemble, expectation
from nnlab.commands.regularize.stats import stats
from nnlab.commands.regularize.weight_decay import compare as compare_weight_decay
from nnlab.core.seeding import torch_stream
from nnlab.nn.stacked import Member

if TYPE_CHECKING:
    from nnlab.core.run import Run

HIST_BINS = 81  # bins of a weight histogram, symmetric about 0
WEIGHT_DECAY_ROWS = 500  # training rows for the L2 / weight-decay comparison (the update rule, not the fit, is shown)


def error_of(task: str, loss: float, acc: float | None) -> float:
    """The error a setting reports: the test MSE (regression) or 1 - accuracy (mnist)."""
    return loss if task == "regression" else 1 - acc


def run_setting(config: RegularizeConfig, setting: str, epochs: int, rec: Run) -> dict[str, Any]:
    import torch

    R = config.seeds
    data = (T.regression_data if setting == "regression" else T.mnist_data)(config_view(config, setting), R)
    members = [m for r in range(R) for m in config.members_of(r, setting)]
    bs = config.size(setting, "batch_size")
    out = T.train(config_view(config, setting), setting, data, members, epochs, rec, config.size(setting, "lr"), bs)
    stack, task, reps = out["stack"], data["task"], out["reps"]

    if data["X_final"] is not None:
        Xf, Yf = (torch.from_numpy(a) for a in data["X_final"])
    else:
        Xf, Yf = out["X"]["test"], out["Y"]["test"]
    final = out["final"] or {p: T.evaluate(stack, out["X"][p], out["Y"][p], reps, task) for p in ("train", "val")}
    final["test"] = T.evaluate(stack, Xf, Yf, reps, task)
    weights = stack.weight_stats()
    rows = []
    for k, m in enumerate(members):
        row = {"method": m.method, "lam": m.lam, "keep_prob": m.keep_prob, "replicate": m.replicate}
        for p in ("train", "val", "test"):
            loss, acc = final[p]
            row[f"{p}_loss"] = loss[k]
            row[f"{p}_error"] = error_of(task, loss[k], acc[k] if acc else None)
        row["gap"] = row["test_loss"] - row["train_loss"]
        rows.append(row | weights[k])

    best_lam = choose_lambdas(rows)
    best = {}
    for method in config.methods():
        chosen = [r for r in rows if r["method"] == method and r["lam"] == best_lam.get(method, 0.0)]
        best[method] = {"lam": best_lam.get(method, 0.0),
                        **{key: stats([r[key] for r in chosen]) for key in
                           ("train_loss", "test_loss", "gap", "test_error", "val_error", "w_l2", "w_l1", "w_small",
                            "w_zero")}}
    chosen_k = {method: next(k for k, m in enumerate(members) if m.method == method and m.replicate == 0
                             and m.lam == best[method]["lam"]) for method in best}
    result: dict[str, Any] = {
        "task": task, "epochs": epochs, "train_size": config.size(setting, "train_size"),
        "val_size": config.size(setting, "val_size"), "test_size": int(Yf.shape[1]), "lams": config.lams(setting),
        "sizes": data["sizes"], "diverged_at": out["diverged_at"], "members": rows, "best": best,
        "curves": curves(out["history"], members, best),
        "sweep": sweep(rows, config.lams(setting)),
        "histograms": {method: histogram(stack.weights(k).numpy()) for method, k in chosen_k.items()},
    }
    if task == "regression":
        grid = torch.from_numpy(data["grid_X"]).float()[None]
        with torch.no_grad():
            pred = stack.forward(grid.expand(len(members), -1, -1))[..., 0]
        result["fits"] = {"x": data["grid"].tolist(), "truth": data["grid_truth"].tolist(),
                          "train": data["train_points"][0],
                          "pred": {method: pred[k].tolist() for method, k in chosen_k.items()}}
    if "l2" in best:  # "L_2 正则化 (weight decay)": from the trained L2 network, replicate 0, on its first rows
        k, rows0 = chosen_k["l2"], WEIGHT_DECAY_ROWS
        result["weight_decay"] = compare_weight_decay(stack, k, out["X"]["train"][0, :rows0],
                                                      out["Y"]["train"][0, :rows0], task, best["l2"]["lam"],
                                                      config.size(setting, "lr"))
    if "dropout" in best:
        ks = [k for k, m in enumerate(members) if m.method == "dropout"]
        sub = stack.subset(ks)
        result["ensemble"] = ensemble(sub, Xf, Yf, task, config.mc_samples, torch_stream(config.seed, "mc", setting))
        result["expectation"] = expectation(sub, Xf[:, :1000], config.mc_samples,
                                            torch_stream(config.seed, "expectation", setting))
    return result


def config_view(config: RegularizeConfig, setting: str) -> RegularizeConfig:
    """The config with this setting's defaults filled in (train_size, val_size)."""
    import copy

    view = copy.copy(config)
    view.train_size, view.val_size = config.size(setting, "train_size"), config.size(setting, "val_size")
    return view


def choose_lambdas(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Per penalty, the lambda with the lowest validation loss (the data term J) averaged over the replicates.

    Loss, not accuracy: on 1,000 MNIST images the validation accuracy barely moves across small lambdas
    (differences of a few images), while the loss the penalty trades against shows the U clearly.
    """
    out = {}
    for method in PENALTIES:
        lams = sorted({r["lam"] for r in rows if r["method"] == method})
        if lams:
            score = {lam: np.nanmean([r["val_loss"] for r in rows if r["method"] == method and r["lam"] == lam])
                     for lam in lams}
            finite = [lam for lam in lams if math.isfinite(score[lam])]
            out[method] = min(finite, key=lambda lam: score[lam]) if finite else lams[0]
    return out


def curves(history: list[dict[str, Any]], members: list[Member], best: dict[str, Any]) -> dict[str, Any]:
    """Per method at its best lambda: train and test loss per evaluated epoch, mean over replicates."""
    out: dict[str, Any] = {}
    epochs = [h["epoch"] for h in history]
    for method, b in best.items():
        ks = [k for k, m in enumerate(members) if m.method == method and m.lam == b["lam"]]
        out[method] = {"epochs": epochs, **{
            key: [[h[key][k] for k in ks] for h in history] for key in ("train_loss", "test_loss", "val_loss")}}
        if history and history[0]["test_acc"] is not None:
            out[method]["test_acc"] = [[h["test_acc"][k] for k in ks] for h in history]
        out[method]["w_small"] = [[h["weights"][k]["w_small"] for k in ks] for h in history]
    return out


def sweep(rows: list[dict[str, Any]], lams: list[float]) -> dict[str, Any]:
    """Per penalty and lambda: validation and test error, mean and sd over replicates (the U)."""
    out = {}
    for method in PENALTIES:
        if any(r["method"] == method for r in rows):
            per = [[r for r in rows if r["method"] == method and r["lam"] == lam] for lam in lams]
            out[method] = {"lams": lams, **{key: [stats([r[key] for r in group]) for group in per]
                                            for key in ("val_loss", "test_loss", "val_error", "test_error",
                                                        "train_loss", "w_zero")}}
    return out


def histogram(w: np.ndarray) -> dict[str, Any]:
    """Counts of the weights in HIST_BINS symmetric bins, and how many are exactly 0 (non-finite ones left out)."""
    total = int(w.size)
    w = w[np.isfinite(w)]
    top = float(np.abs(w).max()) if w.size and np.abs(w).max() > 0 else 1.0
    counts, edges = np.histogram(w, bins=HIST_BINS, range=(-top, top))
    return {"edges": edges.tolist(), "counts": counts.tolist(), "zeros": int((w == 0).sum()), "total": total}
