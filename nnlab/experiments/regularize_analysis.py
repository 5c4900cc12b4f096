"""Reading a trained stack of `nnlab regularize`: final numbers, the best lambda, histograms, fits, dropout's
ensemble and expectation, and the claims."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nnlab.core.claims import check, claim
from nnlab.core.seeding import torch_stream
from nnlab.experiments import regularize_train as T
from nnlab.nn import regularizers

PENALTIES = ("l2", "l1", "elastic")
HIST_BINS = 81
NARROW = 0.9       # a penalty "narrows the gap" when its gap is below 0.9x the unregularized one
GROWS = 1.2        # the gap "grows": its final value is at least 1.2x its value where validation loss was lowest
MIN_ZEROS = 0.01   # "sparser": at least 1% of the weights exactly zero, and more than L2's
AGREE = 0.97       # ensemble: predicted classes agree on at least 97% of the test images ...
ACC_DIFF = 0.01    # ... and the accuracies differ by at most 1 point
REL_DIFF = 0.1     # regression: rms(deterministic - ensemble) below 0.1x the std of the prediction
Z_MAX = 4.0        # E[dropout(h)] = h: the standardized error of the sample mean within 4 sigma


def stats(values: list[float]) -> dict[str, Any]:
    """Mean, sample sd (0 for one value) and the values themselves; NaN stays NaN."""
    arr = np.asarray(values, dtype=float)
    sd = float(arr.std(ddof=1)) if len(arr) > 1 else 0.0
    return {"mean": float(arr.mean()), "sd": sd, "values": arr.tolist()}


def pm(s: dict[str, Any]) -> str:
    """'mean ± sd (n seeds)' for the claims table; the full values stay in the setting's results."""
    n = len(s["values"])
    return f"{s['mean']:.4g} ± {s['sd']:.2g} ({n} seed{'s' if n > 1 else ''})"


def error_of(task: str, loss: float, acc: float | None) -> float:
    """The error a setting reports: the test MSE (regression) or 1 - accuracy (mnist)."""
    return loss if task == "regression" else 1 - acc


def run_setting(config: Any, setting: str, epochs: int, rec: Any) -> dict[str, Any]:
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
    final = {p: T.evaluate(stack, out["X"][p], out["Y"][p], reps, task) for p in ("train", "val")}
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
    if "dropout" in best:
        ks = [k for k, m in enumerate(members) if m.method == "dropout"]
        sub = stack.subset(ks)
        result["ensemble"] = ensemble(sub, Xf, Yf, task, config.mc_samples, torch_stream(config.seed, "mc", setting))
        result["expectation"] = expectation(sub, Xf[:, :1000], config.mc_samples,
                                            torch_stream(config.seed, "expectation", setting))
    return result


def config_view(config: Any, setting: str) -> Any:
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


def curves(history: list[dict[str, Any]], members: list[Any], best: dict[str, Any]) -> dict[str, Any]:
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


# ----------------------------------------------------------------------------------------------------
# Dropout


def ensemble(sub: Any, X, Y, task: str, samples: int, gen) -> dict[str, Any]:
    """The deterministic network (no masks) against the mean of `samples` thinned networks, per replicate.

    mnist: the mean of the thinned networks' softmax probabilities; regression: of their outputs.
    """
    import torch

    K = len(sub.members)
    Xk = X.expand(K, *X.shape[1:]) if X.shape[0] == 1 else X[[m.replicate for m in sub.members]]
    Yk = Y.expand(K, *Y.shape[1:]) if Y.shape[0] == 1 else Y[[m.replicate for m in sub.members]]
    det, mc, one = [], [], []
    with torch.no_grad():
        for i in range(0, Xk.shape[1], 2000):
            h = sub.first(Xk[:, i:i + 2000])
            out = sub.rest(h)
            total = torch.zeros_like(out)
            first = None
            for _ in range(samples):
                o = sub.rest(h, gen)
                o = o.softmax(-1) if task == "classification" else o
                first = o if first is None else first
                total += o
            det.append(out.softmax(-1) if task == "classification" else out)
            mc.append(total / samples)
            one.append(first)
    det, mc, one = torch.cat(det, 1), torch.cat(mc, 1), torch.cat(one, 1)
    result: dict[str, Any] = {"samples": samples}
    if task == "classification":
        agree = (det.argmax(-1) == mc.argmax(-1)).double().mean(1)
        acc_det = (det.argmax(-1) == Yk).double().mean(1)
        acc_mc = (mc.argmax(-1) == Yk).double().mean(1)
        acc_one = (one.argmax(-1) == Yk).double().mean(1)
        result |= {"agreement": stats(agree.tolist()), "acc_deterministic": stats(acc_det.tolist()),
                   "acc_ensemble": stats(acc_mc.tolist()), "acc_one_thinned": stats(acc_one.tolist()),
                   "acc_diff": stats((acc_det - acc_mc).abs().tolist())}
    else:
        rel = (det - mc).square().mean((1, 2)).sqrt() / det.std(dim=(1, 2))
        rel_one = (det - one).square().mean((1, 2)).sqrt() / det.std(dim=(1, 2))
        result |= {"rel_rms_diff": stats(rel.tolist()), "rel_rms_diff_one_thinned": stats(rel_one.tolist())}
    return result


def expectation(sub: Any, X, samples: int, gen) -> dict[str, Any]:
    """E[dropout(h)] = h on the first hidden layer: z = sum(mean_S dropout(h) - h) / its standard error.

    For one entry Var[h U] = h^2 (1 - p) / p, so the sum's sample mean over S draws has standard error
    sqrt(sum h^2 (1 - p) / (p S)): |z| < Z_MAX unless the scaling is wrong (without 1/p the mean is p h).
    """
    import torch

    K = len(sub.members)
    Xk = X.expand(K, *X.shape[1:]) if X.shape[0] == 1 else X[[m.replicate for m in sub.members]]
    with torch.no_grad():
        h = sub.first(Xk).double()
        p = sub.keep.double()
        acc = torch.zeros_like(h)
        for _ in range(samples):
            acc += regularizers.dropout(h, p, gen)
        mean = acc / samples
        se = (h.square().sum((1, 2)) * (1 - p.view(-1)) / (p.view(-1) * samples)).sqrt()
        diff = (mean - h).sum((1, 2))
        z = torch.where(se > 0, diff / se, torch.zeros_like(diff))
        rel = diff / h.abs().sum((1, 2)).clamp_min(1e-300)
    return {"samples": samples, "entries": int(h[0].numel()), "z": stats(z.tolist()),
            "relative_error": stats(rel.tolist()), "keep_prob": float(p.view(-1)[0])}


# ----------------------------------------------------------------------------------------------------
# Claims


def _ok(x: float) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def claims(results: dict[str, dict[str, Any]], config: Any) -> list[dict[str, Any]]:
    out = []
    methods = config.methods()
    if "none" in methods:
        measured, holds = {}, True
        for setting, res in results.items():
            c, ratios = res["curves"]["none"], []
            for r in range(config.seeds):
                val = [v[r] for v in c["val_loss"]]
                gaps = [te[r] - tr[r] for tr, te in zip(c["train_loss"], c["test_loss"], strict=True)]
                if not all(_ok(v) for v in val + gaps):
                    ratios.append(float("nan"))
                    continue
                stop = int(np.argmin(val))  # the early-stopping epoch: lowest validation loss
                if gaps[stop] > 0:
                    ratios.append(gaps[-1] / gaps[stop])
                else:  # test loss below train loss at the stopping epoch: any positive final gap has grown
                    ratios.append(float("inf") if gaps[-1] > max(gaps[stop], 0) else 0.0)
            res["gap_growth"] = stats(ratios)
            measured[setting] = pm(res["gap_growth"])
            holds &= all(not math.isnan(v) and v >= GROWS for v in ratios)
        out.append(claim("regularize.gap-grows",
            "\"过拟合\" (overfitting): without regularization the train/test gap (test loss - train loss) grows "
            "during training; measured: final gap / gap at the epoch of lowest validation loss", measured,
            f">= {GROWS} for every seed", holds))
    penalties = [m for m in PENALTIES if m in methods]
    if "none" in methods and penalties:
        measured, holds = {}, True
        for setting, res in results.items():
            none = res["best"]["none"]["gap"]["values"]
            per = {}
            for m in penalties:
                gaps = res["best"][m]["gap"]["values"]
                ratio = float(np.mean(gaps) / np.mean(none)) if np.mean(none) > 0 else float("nan")
                per_seed = stats([g / n if n > 0 else float("nan") for g, n in zip(gaps, none, strict=True)])
                res["best"][m]["gap_ratio"] = {"of_means": ratio, "per_seed": per_seed}
                per[m] = (f"{ratio:.3g} (per seed {per_seed['mean']:.3g} ± {per_seed['sd']:.2g}; "
                          f"lambda {res['best'][m]['lam']:g})")
                holds &= _ok(ratio) and ratio < NARROW
            measured[setting] = per
        out.append(claim("regularize.penalties-narrow-gap",
            "\"过拟合：正则化 J(θ) = J(θ) + λR(θ)\" (L2, L1, elastic net): each penalty at its best lambda (chosen "
            "on validation) narrows the train/test gap; "
            "measured: mean gap / mean unregularized gap over the seeds", measured, f"< {NARROW} for every penalty",
            holds))
    if "l1" in methods and "l2" in methods:
        measured, holds = {}, True
        for setting, res in results.items():
            z1, z2 = res["best"]["l1"]["w_zero"], res["best"]["l2"]["w_zero"]
            measured[setting] = {"l1": pm(z1), "l2": pm(z2)}
            holds &= all(a > b and a >= MIN_ZEROS for a, b in zip(z1["values"], z2["values"], strict=True))
        out.append(claim("regularize.l1-sparser",
            f"L1 gives sparser weights than L2: fraction of weights exactly 0 at each one's best lambda "
            f"({config.l1_step} steps)", measured, f"l1 > l2 and l1 >= {MIN_ZEROS}, every seed", holds,
            source="nnlab"))
    if "dropout" in methods:
        measured, holds = {}, True
        for setting, res in results.items():
            ex = res["expectation"]
            measured[setting] = f"z {pm(ex['z'])}, relative error {ex['relative_error']['mean']:.2g}"
            holds &= all(_ok(z) and abs(z) < Z_MAX for z in ex["z"]["values"])
        out.append(check("regularize.dropout-expectation",
            f"\"以概率 1 - p 随机删去该层的一些输出，并把其余输出乘以 1/p\" keeps E[dropout(h)] = h "
            f"(p = {config.p():g}): the sample mean of the masked first hidden layer, standardized by its "
            "standard error", measured, f"|z| < {Z_MAX:g}", holds))
        measured, holds = {}, True
        for setting, res in results.items():
            en = res["ensemble"]
            if res["task"] == "classification":
                measured[setting] = (f"agreement {pm(en['agreement'])}, accuracy {en['acc_deterministic']['mean']:.4f}"
                                     f" (test-time) vs {en['acc_ensemble']['mean']:.4f} (ensemble), "
                                     f"{en['acc_one_thinned']['mean']:.4f} (one thinned)")
                holds &= all(a >= AGREE for a in en["agreement"]["values"]) and all(
                    d <= ACC_DIFF for d in en["acc_diff"]["values"])
            else:
                measured[setting] = (f"rms difference / std {pm(en['rel_rms_diff'])}, one thinned network "
                                     f"{en['rel_rms_diff_one_thinned']['mean']:.3g}")
                holds &= all(_ok(v) and v < REL_DIFF for v in en["rel_rms_diff"]["values"])
        out.append(claim("regularize.dropout-ensemble",
            f"Dropout \"训练了多个模型\" (an ensemble of thinned networks) and is \"测试时保持不变\" (the identity at "
            f"test time): the test-time network approximates the average of {config.mc_samples} sampled thinned "
            "networks", measured,
            f"mnist: classes agree >= {AGREE}, accuracies within {ACC_DIFF}; regression: rms difference < "
            f"{REL_DIFF} x prediction std; every seed", holds))
    return out
