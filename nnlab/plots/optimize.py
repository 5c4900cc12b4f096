"""Figures of `nnlab optimize`, drawn from summary.json and metrics.jsonl (the landscape is rebuilt from
the problem's name and kappa in the summary)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from nnlab.core import plotting
from nnlab.nn import landscapes, optimizers

GIF_FRAMES = 24
FLOOR = 1e-20  # loss gaps are drawn no lower than this (float64 reaches 1e-300 and squashes the rest)


def colour(method: str) -> str:
    """One fixed colour per method, whichever subset ran."""
    return f"C{optimizers.NAMES.index(method)}"


def by_method(metrics: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for row in metrics:
        if "method" in row and "loss" in row:
            out.setdefault(row["method"], []).append(row)
    return out


def draw(summary: dict[str, Any], metrics: list[dict[str, Any]], plots_dir: Path) -> list[Path]:
    rows = by_method(metrics)
    paths = [loss_curves(summary, rows, plots_dir / "loss.png")]
    if summary["problem"] in landscapes.PROBLEMS_2D:
        paths.append(contour_paths(summary, rows, plots_dir / "paths.png"))
        if summary.get("gif"):
            paths.append(animation(summary, rows, plots_dir / "paths.gif"))
    if summary.get("lr_sweep"):
        paths.append(lr_sweep(summary, plots_dir / "lr_sweep.png"))
    if summary.get("sharpness"):
        paths.append(sharpness(summary, plots_dir / "sharpness.png"))
    return paths


def _landscape_axes(ax, summary: dict[str, Any], fast: bool = False) -> None:
    """Contours of f over the problem's box (`fast`: a shaded image with a few contour lines, for
    animations, where every frame redraws the background)."""
    land = landscapes.get(summary["problem"], summary.get("kappa") or 50.0)
    x0, x1, y0, y1 = summary["bounds"]
    X, Y = np.meshgrid(np.linspace(x0, x1, 150 if fast else 300), np.linspace(y0, y1, 150 if fast else 300))
    Z = land.value(X, Y) - summary["minimum"]  # >= 0
    levels = np.unique(np.quantile(Z, np.linspace(0, 1, 30) ** 2))
    if fast:
        ranks = np.searchsorted(levels, Z) / len(levels)  # level index: the same shading as the contours
        ax.imshow(ranks, extent=(x0, x1, y0, y1), origin="lower", cmap="Greys_r", alpha=0.35, aspect="auto")
    else:
        ax.contourf(X, Y, Z, levels=levels, cmap="Greys_r", alpha=0.35)
        ax.contour(X, Y, Z, levels=levels, colors="0.5", linewidths=0.4)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)


def contour_paths(summary: dict[str, Any], rows: dict[str, list[dict[str, Any]]], path: Path) -> Path:
    """Every method's path x_0, x_1, ... over the contour map; a cross where a method diverged."""
    fig, axes = plotting.subplots(1, 1, figsize=(8.5, 5.0))
    ax = axes[0, 0]
    _landscape_axes(ax, summary)
    for method, rs in rows.items():
        pts = np.array([r["x"] for r in rs])
        info = summary["methods"].get(method, {})
        label = f"{method} (lr {info.get('hyper', {}).get('lr', float('nan')):.3g})"
        ax.plot(pts[:, 0], pts[:, 1], "-", color=colour(method), lw=1.2, marker=".", ms=2.5, label=label)
        if info.get("diverged_step") is not None:
            ax.plot(pts[-1, 0], pts[-1, 1], "x", color=colour(method), ms=9, mew=2)
    ax.plot(*summary["start"], "o", color="k", ms=5, label="start")
    ax.set(title=f"{summary['problem']}: paths over the contours of f", xlabel="x", ylabel="y")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return plotting.save(fig, path)


def loss_curves(summary: dict[str, Any], rows: dict[str, list[dict[str, Any]]], path: Path) -> Path:
    """f(x_k) - min f against k on a log scale (the training loss for mlp)."""
    fig, axes = plotting.subplots(1, 1, figsize=(6.5, 4.0))
    ax = axes[0, 0]
    floor = summary.get("minimum") or 0.0
    for method, rs in rows.items():
        steps = [r["step"] for r in rs]
        gap = np.maximum(np.array([r["loss"] for r in rs]) - floor, FLOOR)
        ax.plot(steps, gap, color=colour(method), lw=1.2, label=method)
        if summary["methods"].get(method, {}).get("diverged_step") is not None:
            ax.plot(steps[-1], gap[-1], "x", color=colour(method), ms=9, mew=2)
    what = "training loss" if summary["problem"] == "mlp" else f"f(x_k) - min f ({floor:g})"
    ax.set(title=f"{summary['problem']}: {what}", xlabel="step k", yscale="log")
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
                color=colour(method), ms=3, label=method)
        bad = [r["lr"] for r in rs if r["final_loss"] is None]
        ax.plot(bad, [top] * len(bad), "x", color=colour(method), ms=7, mew=2)
    if summary.get("kappa") and "gd" in summary["lr_sweep"]:
        ax.axvline(2 / summary["kappa"], color="k", ls=":", lw=1, label="2 / L")
    ax.set(title=f"learning-rate sweep: final loss - min f after {summary['steps']} steps (x: diverged)",
           xlabel="learning rate", xscale="log", yscale="log")
    ax.legend(fontsize=7)
    return plotting.save(fig, path)


def sharpness(summary: dict[str, Any], path: Path) -> Path:
    """mlp: top Hessian eigenvalue and test accuracy of the minima reached with small and large batches."""
    s = summary["sharpness"]
    names = list(s["runs"])
    fig, axes = plotting.subplots(1, 2, figsize=(8, 3.4))
    for ax, key, title, ylabel in ((axes[0, 0], "top_eigenvalue", "sharpness: top Hessian eigenvalue", "lambda_max"),
                                   (axes[0, 1], "perturbed_loss_increase", "loss increase under random perturbation",
                                    "mean increase")):
        # A bar per batch size at the mean over minibatch orders, a dot per order.
        ax.bar(names, [s["runs"][n].get(key, np.nan) for n in names], color=["C0", "C3"], alpha=0.6)
        for i, n in enumerate(names):
            values = [seed[key] for seed in s["runs"][n]["seeds"] if key in seed]
            ax.plot([i] * len(values), values, "k.", ms=6)
        ax.set(title=title, ylabel=ylabel)
    return plotting.save(fig, path)


def animation(summary: dict[str, Any], rows: dict[str, list[dict[str, Any]]], path: Path) -> Path:
    """The paths growing step by step (matplotlib's PillowWriter), written atomically."""
    from matplotlib.animation import PillowWriter

    from nnlab.core import atomic

    fig, axes = plotting.subplots(1, 1, figsize=(5, 3.5), dpi=72)
    ax = axes[0, 0]
    _landscape_axes(ax, summary, fast=True)
    pts = {m: np.array([r["x"] for r in rs]) for m, rs in rows.items()}
    lines = {m: ax.plot([], [], "-", color=colour(m), lw=1.2, label=m)[0] for m in pts}
    ax.legend(fontsize=7, loc="upper right")
    longest = max(len(p) for p in pts.values())
    frames = np.unique(np.linspace(1, longest, GIF_FRAMES).astype(int))

    fig.tight_layout()
    writer = PillowWriter(fps=6)
    with atomic.atomic_path(path) as tmp, writer.saving(fig, str(tmp), dpi=72):
        for k in frames:  # one draw per frame (FuncAnimation would draw each about three times)
            for m, p in pts.items():
                lines[m].set_data(p[:k, 0], p[:k, 1])
            ax.set_title(f"{summary['problem']}: step {k - 1}")
            writer.grab_frame()
    return path
