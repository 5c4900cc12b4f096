"""Figures of `nnlab regularize`, drawn from summary.json alone."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from nnlab.core import plotting
from nnlab.core.plotting import drawn, label

CAPTIONS: dict[str, str] = {  # figure file -> caption (the report's)
    "curves.png": "Train and test loss against epoch for each method at its best lambda",
    "weights.png": "Histograms of the weights for each method at its best lambda (the share exactly 0)",
    "lambda.png": "Validation (dotted) and test (solid) loss against lambda for each penalty, mnist's test error too; "
                  "star: the lambda chosen on validation",
    "fits.png": "Regression fits of sin(pi x) from a few noisy points, one curve per method",
    "dropout.png": "Dropout as an ensemble: the test-time network against the mean of sampled thinned networks "
                   "(bars: mean over seeds, dots: each seed)",
}

CAPTIONS_ZH: dict[str, str] = {  # the same captions in Chinese
    "curves.png": "各方法在其最佳 λ 下的训练损失与测试损失随训练轮次的变化",
    "weights.png": "各方法在其最佳 λ 下的权重直方图（以及恰为 0 的比例）",
    "lambda.png": "各惩罚项的验证损失（点线）与测试损失（实线）随 λ 的变化，MNIST 另有测试误差；"
                  "星号：在验证集上选出的 λ",
    "fits.png": "由少量带噪声的点回归拟合 sin(πx)，每种方法一条曲线",
    "dropout.png": "Dropout 作为集成：测试时的网络与随机抽取的子网络的平均相比（柱：各种子的平均，点：每个种子）",
}

# The words of a figure in Chinese: the settings and methods (the English figures show their ids).
SETTING_ZH = {"regression": "回归", "mnist": "MNIST"}
METHOD_ZH = {"none": "无正则化", "l2": "L2", "l1": "L1", "elastic": "弹性网络", "dropout": "Dropout"}
WHAT_ZH = {"loss": "损失", "error": "误差"}

COLORS = {"none": "C3", "l2": "C0", "l1": "C2", "elastic": "C4", "dropout": "C1"}


def parts(summary: dict[str, Any], metrics: list[dict[str, Any]], plots_dir: Path) -> list[Callable[[], Path]]:
    settings = summary["settings"]
    jobs = [partial(curves, settings, plots_dir / "curves.png"),
            partial(histograms, settings, plots_dir / "weights.png")]
    if any(res["sweep"] for res in settings.values()):
        jobs.append(partial(lambda_sweep, settings, plots_dir / "lambda.png"))
    if "regression" in settings:
        jobs.append(partial(fits, settings["regression"], plots_dir / "fits.png"))
    if any("ensemble" in res for res in settings.values()):
        jobs.append(partial(ensemble, settings, plots_dir / "dropout.png"))
    return jobs


def draw(summary: dict[str, Any], metrics: list[dict[str, Any]], plots_dir: Path) -> list[Path]:
    return drawn(parts(summary, metrics, plots_dir))


def _finite(values) -> np.ndarray:
    """Values as floats, inf and None (NaN in strict JSON) turned to NaN (matplotlib leaves NaN out; inf
    breaks log axes and limits)."""
    arr = np.asarray(values, dtype=float)
    return np.where(np.isfinite(arr), arr, np.nan)


def _log_where_possible(ax, values, axis: str = "y") -> None:
    """Log scale when some value is positive and finite (a diverged run logs NaN/inf: linear then)."""
    arr = np.asarray(values, dtype=float)
    if np.any(np.isfinite(arr) & (arr > 0)):
        (ax.set_yscale if axis == "y" else ax.set_xscale)("log")


def _label(method: str, best: dict[str, Any], keep_prob: float | None = None) -> str:
    if method in ("l2", "l1", "elastic"):
        return label(f"{method} (lambda {best['lam']:g})", f"{METHOD_ZH.get(method, method)}（λ = {best['lam']:g}）")
    return label(method, METHOD_ZH.get(method, method))


def _setting(setting: str) -> str:
    return label(setting, SETTING_ZH.get(setting, setting))


def method_grid(settings: dict[str, Any], key: str, row_height: float, **subplot_kwargs):
    """One row per setting, one column per method that logged `key`: the figure, its axes, and each cell to
    draw as (ax, setting, result, method, data); a cell whose setting lacks the method is left blank."""
    methods = max((list(r[key]) for r in settings.values()), key=len)
    fig, axes = plotting.subplots(len(settings), len(methods),
                                  figsize=(2.9 * len(methods), row_height * len(settings)), **subplot_kwargs)
    cells = []
    for i, (setting, res) in enumerate(settings.items()):
        for j, method in enumerate(methods):
            data = res[key].get(method)
            if data is None:
                axes[i, j].axis("off")
            else:
                cells.append((axes[i, j], setting, res, method, data))
    return fig, axes, cells


def curves(settings: dict[str, Any], path: Path) -> Path:
    """Train (dashed) against test (solid) loss per method at its best lambda: the overfitting gap."""
    fig, axes, cells = method_grid(settings, "curves", 2.7, sharey="row")
    for ax, setting, res, method, c in cells:
        for key, style in (("train_loss", "--"), ("test_loss", "-")):
            arr = _finite(c[key])  # (evaluated epochs, replicates)
            ax.plot(c["epochs"], arr.mean(1), style, color=COLORS[method],
                    label=label(key.split("_")[0], {"train_loss": "训练", "test_loss": "测试"}[key]))
            if arr.shape[1] > 1:
                ax.fill_between(c["epochs"], arr.min(1), arr.max(1), color=COLORS[method], alpha=0.15)
        _log_where_possible(ax, c["train_loss"] + c["test_loss"])
        ax.set(xscale="log", title=label(f"{setting}: {_label(method, res['best'][method])}",
                                         f"{_setting(setting)}：{_label(method, res['best'][method])}"),
               xlabel=label("epoch", "训练轮次"))
        ax.title.set_fontsize(8)
        ax.legend(fontsize=7)
    for i, res in enumerate(settings.values()):
        axes[i, 0].set_ylabel("MSE" if res["task"] == "regression" else label("cross-entropy", "交叉熵"))
    fig.suptitle(label("Train (dashed) vs test (solid) loss: mean over seeds, band = min..max",
                       "训练损失（虚线）与测试损失（实线）：各种子的平均，阴影带 = 最小值..最大值"))
    return plotting.save(fig, path)


def lambda_sweep(settings: dict[str, Any], path: Path) -> Path:
    """Validation (dotted) and test (solid; band: min..max over seeds) loss against lambda per penalty: the U;
    for mnist its test error too. One panel per setting and measure on a two-column grid whose last cell holds
    the legend (no empty cell, no legend over data).

    None and dropout have no lambda: dashed horizontal lines. The star (black edge, on top) marks each penalty's
    lambda chosen on validation, at its test value."""
    import math

    panels = [(setting, res, what) for setting, res in settings.items()
              for what in (("loss", "error") if res["task"] == "classification" else ("loss",))]
    rows = math.ceil((len(panels) + 1) / 2)
    fig, axes = plotting.subplots(rows, 2, figsize=(8.4, 3.3 * rows), squeeze=False)
    cells = [axes[i // 2, i % 2] for i in range(2 * rows)]
    handles: dict[str, Any] = {}
    for ax, (setting, res, what) in zip(cells, panels, strict=False):
        test_key, val_key = f"test_{what}", f"val_{what}"
        for method, sw in res["sweep"].items():
            test = _finite([s["mean"] for s in sw[test_key]])
            lo = _finite([min(s["values"]) for s in sw[test_key]])
            hi = _finite([max(s["values"]) for s in sw[test_key]])
            (t,) = ax.plot(sw["lams"], test, "o-", ms=4, color=COLORS[method], zorder=2)
            ax.fill_between(sw["lams"], lo, hi, color=COLORS[method], alpha=0.12, lw=0)
            handles.setdefault(label(f"{method}: test (band: seeds' range)",
                                     f"{METHOD_ZH.get(method, method)}：测试（阴影带：各种子的范围）"), t)
            (v,) = ax.plot(sw["lams"], _finite([s["mean"] for s in sw[val_key]]), ":", color=COLORS[method],
                           zorder=2)
            handles.setdefault(label(f"{method}: validation", f"{METHOD_ZH.get(method, method)}：验证"), v)
            best = res["best"][method]
            (star,) = ax.plot([best["lam"]], _finite([best[test_key]["mean"]]), "*", ms=15, color=COLORS[method],
                              markeredgecolor="k", markeredgewidth=0.8, zorder=5, linestyle="none")
            handles.setdefault(label("chosen lambda (lowest validation loss)", "选定的 λ（验证损失最低）"), star)
        for method in ("none", "dropout"):
            value = res["best"].get(method, {}).get(test_key, {}).get("mean")
            if value is not None and np.isfinite(_finite([value]))[0]:
                line = ax.axhline(value, color=COLORS[method], lw=1.2, ls="--", zorder=1)
                handles.setdefault(label(f"{method}: test (no lambda)",
                                         f"{METHOD_ZH.get(method, method)}：测试（无 λ）"), line)
        _log_where_possible(ax, [s["mean"] for sw in res["sweep"].values() for s in sw[test_key]])
        ylabel = {"loss": "MSE" if res["task"] == "regression" else label("cross-entropy", "交叉熵"),
                  "error": label("error (1 - accuracy)", "误差（1 − 准确率）")}[what]
        lams = [lam for sw in res["sweep"].values() for lam in sw["lams"]] or [1.0]
        # explicit limits: a diverged run has no finite point, and a log axis cannot guess limits from none
        ax.set(xscale="log", xlim=(min(lams) / 2, max(lams) * 2), xlabel=label("lambda", "λ"), ylabel=ylabel,
               title=label(f"{setting}: {what} vs lambda", f"{_setting(setting)}：{WHAT_ZH[what]}随 λ 的变化"))
    for ax in cells[len(panels):]:
        ax.axis("off")
    cells[len(panels)].legend(list(handles.values()), list(handles), loc="center", fontsize=9, frameon=False)
    return plotting.save(fig, path)


def histograms(settings: dict[str, Any], path: Path) -> Path:
    """Weights per method at its best lambda (seed 0), log counts; the share exactly 0 in each title."""
    fig, axes, cells = method_grid(settings, "histograms", 2.6)
    for ax, setting, res, method, h in cells:
        ax.stairs(np.maximum(h["counts"], 0.5), h["edges"], fill=True, color=COLORS[method], baseline=0.5)
        share = h["zeros"] / h["total"]
        ax.set(yscale="log", xlabel=label("weight", "权重"),
               title=label(f"{setting}: {_label(method, res['best'][method])}\n{share:.1%} exactly 0",
                           f"{_setting(setting)}：{_label(method, res['best'][method])}\n{share:.1%} 恰为 0"))
        ax.title.set_fontsize(8)
    for i in range(len(settings)):
        axes[i, 0].set_ylabel(label("count", "计数"))
    return plotting.save(fig, path)


def fits(res: dict[str, Any], path: Path) -> Path:
    """The classic picture: noisy points, the true curve, and each method's fit (seed 0)."""
    f = res["fits"]
    fig, axes = plotting.subplots(1, 1, figsize=(6.5, 4.2))
    ax = axes[0, 0]
    ax.plot(f["x"], f["truth"], "k-", lw=2, alpha=0.4, label=label("sin(pi x)", "sin(πx)"))
    ax.plot(*f["train"], "ko", ms=5, label=label(f"{len(f['train'][0])} training points",
                                                   f"{len(f['train'][0])} 个训练点"))
    for method, pred in f["pred"].items():
        ax.plot(f["x"], _finite(pred), color=COLORS[method], label=_label(method, res["best"][method]))
    lo, hi = min(f["train"][1]), max(f["train"][1])
    pad = hi - lo
    ax.set(ylim=(lo - 0.6 * pad, hi + 0.6 * pad), xlabel="x", ylabel="y",
           title=label("Regression fits (seed 0)", "回归拟合（种子 0）"))
    ax.legend(fontsize=7)
    return plotting.save(fig, path)


def ensemble(settings: dict[str, Any], path: Path) -> Path:
    """Dropout's ensemble reading: the test-time network against the mean of sampled thinned networks.

    Bars: the mean over seeds, its value in the tick label; dots: the seeds, beside the bar (not over a label)."""
    fig, axes = plotting.subplots(1, len(settings), figsize=(4.8 * len(settings), 3.8))
    for i, (setting, res) in enumerate(settings.items()):
        ax = axes[0, i]
        en = res.get("ensemble")
        if en is None:
            ax.axis("off")
            continue
        if res["task"] == "classification":
            keys = [("acc_one_thinned", label("one thinned", "单个子网络")),
                    ("acc_ensemble", label(f"mean of {en['samples']}", f"{en['samples']} 个的平均")),
                    ("acc_deterministic", label("test-time net", "测试时网络"))]
            ylabel = label("test accuracy", "测试准确率")
        else:
            keys = [("rel_rms_diff_one_thinned", label("one thinned", "单个子网络")),
                    ("rel_rms_diff", label(f"mean of {en['samples']}", f"{en['samples']} 个的平均"))]
            ylabel = label("rms difference from test-time net / its std", "与测试时网络的均方根差\n/ 其标准差")
        labels = []
        for x, (key, name) in enumerate(keys):
            vals = _finite(en[key]["values"])
            mean = float(np.nanmean(vals)) if np.isfinite(vals).any() else float("nan")
            ax.bar(x - 0.12, 0.0 if np.isnan(mean) else mean, width=0.5, color=f"C{x}", alpha=0.6)
            ax.plot(x + 0.28 + np.linspace(-0.04, 0.04, len(vals)), vals, "o", color="k", ms=4, mfc="white")
            labels.append(f"{name}\n{mean:.4g}")
        ax.set_xticks(range(len(keys)), labels, fontsize=8)
        ax.set_xlim(-0.6, len(keys) - 0.4)
        lo = np.nanmin(np.concatenate([_finite(en[k]["values"]) for k, _ in keys] + [[np.inf]]))
        if res["task"] == "classification" and np.isfinite(lo):
            ax.set_ylim(max(0.0, lo - 0.05), 1.0)
        title = label(f"{setting}: dropout as an ensemble\n(bars: mean; dots: {len(vals)} seeds)",
                      f"{_setting(setting)}：Dropout 作为集成\n（柱：平均；点：{len(vals)} 个种子）")
        ax.set(ylabel=ylabel, title=title)
        ax.title.set_fontsize(9)
    return plotting.save(fig, path)
