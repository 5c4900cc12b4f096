"""Figures of `nnlab approx`, drawn from summary.json alone."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from nnlab.commands.approx.readers import curve, fitted_slope
from nnlab.core import plotting
from nnlab.core.plotting import drawn, label

CAPTIONS: dict[str, str] = {
    "error_vs_width.png": "Relative squared L2 error against the width D (log-log; Barron's rate is slope -1)",
    "sup_vs_width.png": "Sup error against the width D",
    "width_needed.png": "Width needed for a target error as the dimension d grows (the curse of dimensionality)",
    "fits_1d.png": "The fitted functions in one dimension",
}  # figure file -> caption (the report's)

CAPTIONS_ZH: dict[str, str] = {
    "error_vs_width.png": "相对 L2 平方误差随宽度 D 的变化（双对数坐标；Barron 给出的收敛速度对应斜率 -1）",
    "sup_vs_width.png": "sup 误差随宽度 D 的变化",
    "width_needed.png": "随着维数 d 增大，达到目标误差所需的宽度（维数灾难）",
    "fits_1d.png": "一维情形下拟合得到的函数",
}

# The targets' names as --target spells them (and the summary and the claims write them): names, not words.
TERMS = {"bump", "cosines", "distance", "sawtooth", "linear"}

METHODS_ZH = {"polynomial": "多项式", "kernel": "核岭回归", "linear": "线性回归"}  # the baselines, in the legend
FIT_ZH = {"features": "随机特征 + 最小二乘", "train": "Adam 训练每一层"}

STYLE = {"polynomial": ("s", "--"), "kernel": ("^", "--"), "linear": ("", ":")}


def parts(summary: dict[str, Any], metrics: list[dict[str, Any]], plots_dir: Path) -> list[Callable[[], Path]]:
    jobs = [
        partial(errors, summary, "rel_mse",
                ("relative squared L2 error  MSE / Var f", "相对 L2 平方误差  MSE / f 的方差"),
                plots_dir / "error_vs_width.png"),
        partial(errors, summary, "sup", ("sup error  max |F - f|", "sup 误差  max |F − f|"),
                plots_dir / "sup_vs_width.png"),
        partial(curse, summary, plots_dir / "width_needed.png"),
    ]
    if summary.get("fits_1d"):
        jobs.append(partial(fits, summary, plots_dir / "fits_1d.png"))
    return jobs


def draw(summary: dict[str, Any], metrics: list[dict[str, Any]], plots_dir: Path) -> list[Path]:
    return drawn(parts(summary, metrics, plots_dir))


def on_log_axis(value: float | None, scale: float = 1.0) -> float:
    """value / scale where a log axis can show it (at least 1e-300); NaN, which matplotlib leaves out, for the
    null a non-finite error is in summary.json (a target that overflows, a diverged run)."""
    if value is None or not math.isfinite(value / scale):
        return math.nan
    return max(value / scale, 1e-300)


def method_name(method: str) -> str:
    """A method as the legend shows it: the network's activation, or the baseline (in Chinese in a Chinese
    figure)."""
    if method.startswith("net:"):
        return method.removeprefix("net:")
    return label(method, METHODS_ZH[method]) if method in METHODS_ZH else method


def errors(summary: dict[str, Any], key: str, names: tuple[str, str], path: Path) -> Path:
    """Log-log error against width D: one row per target, one column per d, one line per method. `names` is
    the error's name in English and Chinese."""
    name_en, name_zh = names
    ylabel = label(name_en, name_zh)
    targets, dims = list(summary["targets"]), summary["dims"]
    fig, axes = plotting.subplots(len(targets), len(dims), figsize=(3.3 * len(dims), 2.8 * len(targets)),
                                  sharex=True)
    for r, target in enumerate(targets):
        for c, d in enumerate(dims):
            ax = axes[r, c]
            finite = False  # whether any point is shown: a log axis of nothing but NaN cannot be drawn
            for i, method in enumerate(summary["methods"]):
                rows = curve(summary["results"], target, d, method)
                if not rows:
                    continue
                ws = [row["width"] for row in rows]
                ys = [on_log_axis(row[key]) for row in rows]
                finite = finite or any(math.isfinite(y) for y in ys)
                marker, line = STYLE.get(method, ("o", "-"))
                slope = fitted_slope(summary, target, d, method) if key == "rel_mse" else None
                name = method_name(method) + (f" ({slope:.2f})" if slope is not None else "")
                ax.plot(ws, ys, marker=marker or None, linestyle=line, ms=3, color=f"C{i}", label=name)
                if key == "rel_mse" and method.startswith("net:"):
                    var = summary["targets"][target]["variance"][str(d)] or 1.0
                    lo = [on_log_axis(row["mse_min"], var) for row in rows]
                    hi = [on_log_axis(row["mse_max"], var) for row in rows]
                    ax.fill_between(ws, lo, hi, color=f"C{i}", alpha=0.2, lw=0)
            var = summary["targets"][target]["variance"][str(d)]
            if key == "rel_mse" and target == "bump" and "net:cos" in summary["methods"] and var:
                ws = summary["widths"]
                ax.plot(ws, [1.0 / (w * var) for w in ws], "k:", lw=1,
                        label=label("C_f^2 / D (Barron)", "C_f² / D (Barron)"))
            ax.set(title=f"{target}, d = {d}")
            if finite:
                ax.set(xscale="log", yscale="log")
            else:
                ax.text(0.5, 0.5, label("no finite error\n(the run diverged)", "没有有限的误差\n（运行发散了）"),
                        ha="center", va="center", transform=ax.transAxes)
            if r == len(targets) - 1:
                ax.set_xlabel(label("width D", "宽度 D"))
            if c == 0:
                ax.set_ylabel(ylabel if r == 0 else "")
            ax.legend(fontsize=6)
    fit = summary["fit"]
    fig.suptitle(label(f"{name_en} against width (fit: {fit}; slope on D >= {summary['slope_from']} in legend)",
                       f"{name_zh} 随宽度的变化\n（拟合方式：{FIT_ZH.get(fit, fit)}；图例中为 D ≥ "
                       f"{summary['slope_from']} 上拟合的斜率）"))
    return plotting.save(fig, path)


def curse(summary: dict[str, Any], path: Path) -> Path:
    """The width needed to reach relative MSE eps, against d: flat for Barron targets, growing for the curse."""
    eps = summary["target_error"]
    nets = [m for m in summary["methods"] if m.startswith("net:")]
    fig, axes = plotting.subplots(1, len(nets), figsize=(4.6 * len(nets), 3.6), squeeze=False)
    top = 2 * max(summary["widths"])
    for c, method in enumerate(nets):
        ax = axes[0, c]
        for i, target in enumerate(summary["targets"]):
            rows = [w for w in summary["width_needed"] if w["target"] == target and w["method"] == method]
            rows.sort(key=lambda w: w["d"])
            ds = [w["d"] for w in rows]
            ax.plot(ds, [w["width"] if w["width"] is not None else top for w in rows], "o-", color=f"C{i}",
                    label=target)
            missed = [w["d"] for w in rows if w["width"] is None]
            ax.plot(missed, [top] * len(missed), "x", color=f"C{i}", ms=9)
        ax.axhline(max(summary["widths"]), color="k", lw=0.8, ls=":")
        act, top_width = method.removeprefix("net:"), max(summary["widths"])
        ax.set(yscale="log", xlabel=label("input dimension d", "输入维数 d"),
               ylabel=label(f"width D for MSE / Var f <= {eps:g}", f"MSE / f 的方差 ≤ {eps:g} 所需的宽度 D"),
               title=label(f"{act}: x = not reached by D = {top_width}", f"{act}：x 表示 D = {top_width} 仍未达到"))
        ax.set_xticks(summary["dims"])
        ax.legend(fontsize=7)
    return plotting.save(fig, path)


def fits(summary: dict[str, Any], path: Path) -> Path:
    """d = 1: the target and the network's fit at a few widths, per target and activation."""
    f1 = summary["fits_1d"]
    x = f1["x"]
    targets = [t for t in summary["targets"] if t in f1]
    nets = [m for m in summary["methods"] if m.startswith("net:")]
    fig, axes = plotting.subplots(len(targets), len(nets), figsize=(4.2 * len(nets), 2.7 * len(targets)),
                                  squeeze=False)
    for r, target in enumerate(targets):
        for c, method in enumerate(nets):
            ax = axes[r, c]
            ax.plot(x, f1[target]["truth"], "k-", lw=2.2, alpha=0.35, label=label("target", "目标函数"))
            for i, (width, ys) in enumerate(f1[target].get(method, {}).items()):
                ax.plot(x, ys, color=f"C{i}", lw=1, label=f"D = {width}")
            act = method.removeprefix("net:")
            ax.set(title=label(f"{target}: {act} network", f"{target}：{act} 网络"), xlabel="x")
            ax.legend(fontsize=7)
    return plotting.save(fig, path)
