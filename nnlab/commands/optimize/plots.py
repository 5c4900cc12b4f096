"""Figures of `nnlab optimize`, drawn from summary.json and metrics.jsonl (the landscape is rebuilt from
the problem's name and kappa in the summary)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from nnlab.core import plotting
from nnlab.core.plotting import drawn, label
from nnlab.nn import landscapes, optimizers

CAPTIONS: dict[str, str] = {
    'loss.png': 'Loss against step for each optimizer',
    'paths.png': "Each optimizer's path on the loss landscape, one panel per method (GD's path in grey in the others)",
    'lr_sweep.png': 'Final loss against the learning rate α',
    'sharpness.png': 'Sharpness of the minima reached with small and large batches',
}  # figure file -> caption (the report's)
CAPTIONS_ZH: dict[str, str] = {
    'loss.png': '各优化器的损失随步数的变化',
    'paths.png': '各优化器在损失函数地形上的路径，每个方法一个子图（其余子图中灰色为 GD 的路径）',
    'lr_sweep.png': '最终损失随学习率 α 的变化',
    'sharpness.png': '小批量与大批量所达极小点的尖锐度',
}
# Latin names a Chinese figure keeps: people's names, as the lecture keeps Nesterov's (the Rosenbrock function, the
# Hessian matrix of the sharpness panel)
TERMS = {"Rosenbrock", "Hessian"}
# What a Chinese figure calls a method or a problem (the rest keep their Latin names)
METHOD_ZH = {"heavy_ball": "重球法"}
PROBLEM_ZH = {"quadratic": "二次函数", "saddle": "鞍点", "nonconvex": "非凸函数", "rosenbrock": "Rosenbrock 函数",
              "mlp": "MLP"}

GIF_FRAMES = 24
FLOOR = 1e-20  # loss gaps are drawn no lower than this (float64 reaches 1e-300 and squashes the rest)


def colour(method: str) -> str:
    """One fixed colour per method, whichever subset ran."""
    return f"C{optimizers.NAMES.index(method)}"


def method_label(method: str) -> str:
    return label(method, METHOD_ZH.get(method, method))


def problem_label(problem: str) -> str:
    return label(problem, PROBLEM_ZH.get(problem, problem))


def by_method(metrics: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for row in metrics:
        if "method" in row and "loss" in row:
            out.setdefault(row["method"], []).append(row)
    return out


def parts(summary: dict[str, Any], metrics: list[dict[str, Any]], plots_dir: Path) -> list[Callable[[], Path]]:
    rows = by_method(metrics)
    jobs = [partial(loss_curves, summary, rows, plots_dir / "loss.png")]
    if summary["problem"] in landscapes.PROBLEMS_2D:
        jobs.append(partial(contour_paths, summary, rows, plots_dir / "paths.png"))
        if summary.get("gif"):
            jobs.append(partial(animation, summary, rows, plots_dir / "paths.gif"))
    if summary.get("lr_sweep"):
        jobs.append(partial(lr_sweep, summary, plots_dir / "lr_sweep.png"))
    if summary.get("sharpness"):
        jobs.append(partial(sharpness, summary, plots_dir / "sharpness.png"))
    return jobs


def draw(summary: dict[str, Any], metrics: list[dict[str, Any]], plots_dir: Path) -> list[Path]:
    return drawn(parts(summary, metrics, plots_dir))


# Paths are told apart by more than colour: SGD (noisy) is drawn first, widest and faint, so that a deterministic
# method on the same line (GD at the same lr) stays visible on top of it; each later method is thinner, higher in
# z-order, with its own dash pattern and marker.
DRAW_ORDER = ["sgd", "heavy_ball", "nesterov", "adagrad", "rmsprop", "adam", "gd"]
STYLE = {"sgd": ("-", "s"), "heavy_ball": ("--", "^"), "nesterov": ("-.", "v"), "adagrad": (":", "D"),
         "rmsprop": ((0, (5, 1)), "P"), "adam": ((0, (3, 1, 1, 1)), "X"), "gd": ("-", "o")}
FRAME_REACH = 3.0  # a diverging path is followed out to this many box widths around the problem's box


def path_style(method: str, rank: int) -> dict[str, Any]:
    """Matplotlib keywords for the rank-th path drawn (rank 0 lowest)."""
    ls, marker = STYLE.get(method, ("-", "."))
    return {"color": colour(method), "ls": ls, "marker": marker, "lw": max(3.2 - 0.4 * rank, 1.0),
            "ms": 4.5, "zorder": 3 + rank, "alpha": 0.45 if method == "sgd" else 0.95}


def frame(summary: dict[str, Any], pts: dict[str, np.ndarray]) -> list[float]:
    """The plot box: the problem's box (start and minima) grown to hold every path, with a 5% margin. A diverging
    path is followed only FRAME_REACH box widths out, so that the contours stay readable; beyond, it leaves."""
    x0, x1, y0, y1 = summary["bounds"]
    cx, cy, wx, wy = (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0
    lo, hi = np.array([x0, y0]), np.array([x1, y1])
    reach = FRAME_REACH * np.array([wx, wy])
    for p in pts.values():
        if len(p):
            inside = p[np.all(np.abs(p - [cx, cy]) <= reach, axis=1)]
            if len(inside):
                lo, hi = np.minimum(lo, inside.min(axis=0)), np.maximum(hi, inside.max(axis=0))
    margin = 0.05 * (hi - lo)
    return [float(lo[0] - margin[0]), float(hi[0] + margin[0]), float(lo[1] - margin[1]), float(hi[1] + margin[1])]


def _landscape_axes(ax, summary: dict[str, Any], box: list[float], fast: bool = False) -> None:
    """Contours of f over `box` (`fast`: a shaded image with a few contour lines, for animations, where every
    frame redraws the background)."""
    land = landscapes.get(summary["problem"], summary.get("kappa") or 50.0)
    x0, x1, y0, y1 = box
    X, Y = np.meshgrid(np.linspace(x0, x1, 150 if fast else 300), np.linspace(y0, y1, 150 if fast else 300))
    Z = land.value(X, Y) - summary["minimum"]  # >= 0
    levels = np.unique(np.quantile(Z, np.linspace(0, 1, 30) ** 2))
    if fast:
        ranks = np.searchsorted(levels, Z) / len(levels)  # level index: the same shading as the contours
        ax.imshow(ranks, extent=(x0, x1, y0, y1), origin="lower", cmap="Greys_r", alpha=0.35, aspect="auto")
    else:
        ax.contourf(X, Y, Z, levels=levels, cmap="Greys_r", alpha=0.35, zorder=0)
        ax.contour(X, Y, Z, levels=levels, colors="0.5", linewidths=0.4, zorder=1)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)


def ordered(methods) -> list[str]:
    return sorted(methods, key=lambda m: DRAW_ORDER.index(m) if m in DRAW_ORDER else -1)


def contour_paths(summary: dict[str, Any], rows: dict[str, list[dict[str, Any]]], path: Path) -> Path:
    """Small multiples: one panel per method, its path x_0, x_1, ... over the contour map (a cross where it
    diverged), with GD's path faint in the others for reference; every panel has the same frame, so panels
    compare at a glance (seven paths in one panel hid one another)."""
    import math

    pts = {m: np.array([r["x"] for r in rows[m]]) for m in ordered(rows)}
    methods = ["gd", *[m for m in pts if m != "gd"]] if "gd" in pts else list(pts)
    cols = min(4, len(methods))
    nrows = math.ceil(len(methods) / cols)
    fig, axes = plotting.subplots(nrows, cols, figsize=(3.3 * cols + 0.4, 2.9 * nrows + 0.5), squeeze=False)
    box = frame(summary, pts)
    for i, method in enumerate(methods):
        ax, p = axes[i // cols][i % cols], pts[method]
        info = summary["methods"].get(method, {})
        _landscape_axes(ax, summary, box)
        if method != "gd" and "gd" in pts:
            ax.plot(pts["gd"][:, 0], pts["gd"][:, 1], "-", color="0.35", lw=0.8, alpha=0.6, zorder=2)
        style = {**path_style(method, 5), "lw": 1.6, "alpha": 0.6 if method == "sgd" else 0.95}
        ax.plot(p[:, 0], p[:, 1], markevery=max(1, len(p) // 12), **style)
        if info.get("diverged_step") is not None:
            ax.plot(p[-1, 0], p[-1, 1], "x", color=style["color"], ms=10, mew=2.5, zorder=20)
        ax.plot(*summary["start"], "o", color="k", ms=5, zorder=30)
        lr = info.get("hyper", {}).get("lr", float("nan"))
        gap = f"f - min = {max(info.get('final_loss', float('nan')) - summary['minimum'], 0):.2g}"
        end = (label(f"diverged at step {info['diverged_step']}", f"第 {info['diverged_step']} 步发散")
               if info.get("diverged_step") is not None else gap)
        ax.set_title(label(f"{method} (lr {lr:.3g})\n{end}", f"{method_label(method)}（学习率 {lr:.3g}）\n{end}"),
                     fontsize=9)
        ax.tick_params(labelsize=7)
    for j in range(len(methods), nrows * cols):
        axes[j // cols][j % cols].axis("off")
    both = "gd" in pts and len(pts) > 1
    reference = " (grey: GD's path, for reference)" if both else ""
    reference_zh = "（灰色：GD 的路径，作参照）" if both else ""
    title = f"{summary['problem']}: each method's path over the contours of f, from the black dot{reference}"
    title_zh = f"{problem_label(summary['problem'])}：各方法从黑点出发、在 f 的等高线上的路径{reference_zh}"
    fig.suptitle(label(title, title_zh), fontsize=10)
    return plotting.save(fig, path)


def loss_curves(summary: dict[str, Any], rows: dict[str, list[dict[str, Any]]], path: Path) -> Path:
    """f(x_k) - min f against k on a log scale (the training loss for mlp)."""
    fig, axes = plotting.subplots(1, 1, figsize=(6.5, 4.0))
    ax = axes[0, 0]
    floor = summary.get("minimum") or 0.0
    for method, rs in rows.items():
        steps = [r["step"] for r in rs]
        gap = np.maximum(np.array([r["loss"] for r in rs]) - floor, FLOOR)
        ax.plot(steps, gap, color=colour(method), lw=1.2, label=method_label(method))
        if summary["methods"].get(method, {}).get("diverged_step") is not None:
            ax.plot(steps[-1], gap[-1], "x", color=colour(method), ms=9, mew=2)
    what = "training loss" if summary["problem"] == "mlp" else f"f(x_k) - min f ({floor:g})"
    what_zh = "训练损失" if summary["problem"] == "mlp" else f"f(x_k) - min f（{floor:g}）"
    ax.set(title=label(f"{summary['problem']}: {what}", f"{problem_label(summary['problem'])}：{what_zh}"),
           xlabel=label("step k", "步数 k"), yscale="log")
    ax.legend(fontsize=7)
    return plotting.save(fig, path)


def lr_sweep(summary: dict[str, Any], path: Path) -> Path:
    """Final loss against learning rate; diverged runs as crosses along the top edge."""
    fig, axes = plotting.subplots(1, 1, figsize=(6.5, 4.0))
    ax = axes[0, 0]
    floor = summary.get("minimum") or 0.0
    finite = [max(r["final_loss"] - floor, FLOOR) for rows in summary["lr_sweep"].values() for r in rows
              if r["final_loss"] is not None]
    top = max(finite) * 10 if finite else 1.0
    for method, rs in summary["lr_sweep"].items():
        ok = [r for r in rs if r["final_loss"] is not None]
        ax.plot([r["lr"] for r in ok], [max(r["final_loss"] - floor, FLOOR) for r in ok], "o-",
                color=colour(method), ms=3, label=method_label(method))
        bad = [r["lr"] for r in rs if r["final_loss"] is None]
        ax.plot(bad, [top] * len(bad), "x", color=colour(method), ms=7, mew=2)
    if summary.get("kappa") and "gd" in summary["lr_sweep"]:
        ax.axvline(2 / summary["kappa"], color="k", ls=":", lw=1, label="2 / L")
    ax.set(title=label(f"learning-rate sweep: final loss - min f after {summary['steps']} steps (x: diverged)",
                       f"学习率扫描：{summary['steps']} 步后的最终损失 - min f（×：发散）"),
           xlabel=label("learning rate", "学习率"), xscale="log", yscale="log")
    ax.legend(fontsize=7)
    return plotting.save(fig, path)


def _num(v: Any) -> float:
    """A number of summary.json for plotting: null (a NaN or inf the run recorded) becomes NaN, drawn as nothing."""
    return float("nan") if v is None else float(v)


def sharpness(summary: dict[str, Any], path: Path) -> Path:
    """mlp: top Hessian eigenvalue, loss rise under perturbation and test accuracy of the points reached with a
    small and a large batch (equal examples seen): a bar at the mean over minibatch orders, a dot per order."""
    s = summary["sharpness"]
    names = list(s["runs"])
    fig, axes = plotting.subplots(1, 3, figsize=(11, 3.4))
    panels = (("top_eigenvalue", label("sharpness: top Hessian eigenvalue", "尖锐度：Hessian 最大特征值"),
               label("lambda_max", "λ_max")),
              ("perturbed_loss_increase", label("loss increase under random perturbation", "随机扰动下的损失增量"),
               label("mean increase", "平均增量")),
              ("test_accuracy", label("test accuracy", "测试准确率"), label("accuracy", "准确率")))
    categories = [label(n, n.replace("batch", "批大小")) for n in names]  # "batch 64", "batch 4096"
    for ax, (key, title, ylabel) in zip(axes[0], panels, strict=True):
        ax.bar(categories, [_num(s["runs"][n].get(key)) for n in names], color=["C0", "C3"], alpha=0.6)
        for i, n in enumerate(names):
            values = [_num(seed[key]) for seed in s["runs"][n]["seeds"] if key in seed]
            ax.plot([i] * len(values), values, "k.", ms=6)
        ax.set(title=title, ylabel=ylabel)
    return plotting.save(fig, path)


def animation(summary: dict[str, Any], rows: dict[str, list[dict[str, Any]]], path: Path) -> Path:
    """The paths growing step by step (matplotlib's PillowWriter), written atomically."""
    from matplotlib.animation import PillowWriter

    from nnlab.core import atomic

    fig, axes = plotting.subplots(1, 1, figsize=(5, 3.5), dpi=72)
    ax = axes[0, 0]
    pts = {m: np.array([r["x"] for r in rows[m]]) for m in ordered(rows)}
    _landscape_axes(ax, summary, frame(summary, pts), fast=True)
    lines = {m: ax.plot([], [], label=method_label(m), **{**path_style(m, i), "marker": None})[0]
             for i, m in enumerate(pts)}
    ax.legend(fontsize=7, loc="upper right")
    longest = max(len(p) for p in pts.values())
    frames = np.unique(np.linspace(1, longest, GIF_FRAMES).astype(int))

    fig.tight_layout()
    writer = PillowWriter(fps=6)
    with atomic.atomic_path(path) as tmp, writer.saving(fig, str(tmp), dpi=72):
        for k in frames:  # one draw per frame (FuncAnimation would draw each about three times)
            for m, p in pts.items():
                lines[m].set_data(p[:k, 0], p[:k, 1])
            ax.set_title(label(f"{summary['problem']}: step {k - 1}",
                               f"{problem_label(summary['problem'])}：第 {k - 1} 步"))
            writer.grab_frame()
    return path
