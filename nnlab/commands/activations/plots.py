"""Figures of `nnlab activations`, drawn from summary.json alone."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from nnlab.core import plotting
from nnlab.core.plotting import drawn

CAPTIONS: dict[str, str] = {
    "functions.png": "Each activation σ(z); shaded: its saturating regions",
    "derivatives.png": "Their derivatives σ'(z); shaded: where |σ'| is small",
    "vanishing_gradient.png": "The product of derivatives through stacked layers shrinks",
}  # figure file -> caption (the report's)


def parts(summary: dict[str, Any], metrics: list[dict[str, Any]], plots_dir: Path) -> list[Callable[[], Path]]:
    return [
        partial(panels, summary, "fn", "sigma(z)", plots_dir / "functions.png"),
        partial(panels, summary, "grad", "sigma'(z)", plots_dir / "derivatives.png"),
        partial(vanishing, summary, plots_dir / "vanishing_gradient.png"),
    ]


def draw(summary: dict[str, Any], metrics: list[dict[str, Any]], plots_dir: Path) -> list[Path]:
    return drawn(parts(summary, metrics, plots_dir))


def _grid(n: int) -> tuple[int, int]:
    cols = min(4, n)
    return math.ceil(n / cols), cols


def panels(summary: dict[str, Any], key: str, label: str, path: Path) -> Path:
    """One panel per activation; saturating regions (|sigma'| < threshold) shaded."""
    acts, z, t = summary["activations"], summary["z"], summary["threshold"]
    rows, cols = _grid(len(acts))
    fig, axes = plotting.subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows), squeeze=False)
    for i, (name, a) in enumerate(acts.items()):
        ax = axes[i // cols, i % cols]
        ax.plot(z, a[key], color=f"C{i}", lw=1.6)
        for j, (lo, hi) in enumerate(a["saturated_regions"]):
            ax.axvspan(lo, hi, color="0.6", alpha=0.3, lw=0, label=f"|sigma'| < {t:g}" if j == 0 else None)
        if key == "grad":
            ax.axhline(t, color="k", ls=":", lw=0.8)
            ax.axhline(-t, color="k", ls=":", lw=0.8)
        ax.axhline(0, color="k", lw=0.5)
        ax.axvline(0, color="k", lw=0.5)
        ax.set(title=name, xlabel="z")
        if a["saturated_regions"]:
            ax.legend(fontsize=7, loc="best")
    for j in range(len(acts), rows * cols):
        axes[j // cols, j % cols].axis("off")
    fig.suptitle(f"{label}; shaded: saturating regions")
    return plotting.save(fig, path)


def vanishing(summary: dict[str, Any], path: Path) -> Path:
    """|prod_l sigma'(z_l)| through L layers: expectation (solid), median and quartiles over chains (dashed)."""
    acts, L = summary["activations"], summary["depth"]
    layers = list(range(1, L + 1))
    fig, axes = plotting.subplots(1, 1, figsize=(6.4, 4.2))
    ax = axes[0, 0]
    for i, (name, a) in enumerate(acts.items()):
        p = a["products"]
        ax.plot(layers, [max(v, 1e-300) for v in p["expected"]], "-", color=f"C{i}",
                label=f"{name}: E|.| = {p['per_layer_factor']:.3f}^L")
        med = [(x, m) for x, m in zip(layers, p["median"], strict=True) if m > 0]
        if med:
            ax.plot(*zip(*med, strict=True), "--", color=f"C{i}", lw=0.9)
    ax.set(yscale="log", xlabel="layers L", ylabel="|product of L derivatives|",
           title=f"Vanishing gradient, z_l ~ N(0, {summary['input_std']:g}^2): expectation (solid), median (dashed)")
    ax.title.set_fontsize(8)
    ax.legend(fontsize=7)
    return plotting.save(fig, path)
