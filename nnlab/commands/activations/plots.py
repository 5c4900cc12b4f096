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
    "output_layers.png": "The lecture's output layers: softmax for classes, e^x for a positive target, identity "
                         "for regression",
}  # figure file -> caption (the report's)


def parts(summary: dict[str, Any], metrics: list[dict[str, Any]], plots_dir: Path) -> list[Callable[[], Path]]:
    return [
        partial(panels, summary, "fn", "sigma(z)", plots_dir / "functions.png"),
        partial(panels, summary, "grad", "sigma'(z)", plots_dir / "derivatives.png"),
        partial(vanishing, summary, plots_dir / "vanishing_gradient.png"),
    ] + ([partial(output_layers, summary, plots_dir / "output_layers.png")] if "outputs" in summary else [])


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


def _coincident(acts: dict[str, Any]) -> dict[str, list[str]]:
    """Activations whose E|prod| lines coincide on the figure: per-layer factors within 0.1% (relu's quadrature
    gives 0.50000, softplus's 0.50000 too; 20 layers then differ by 2%, a line's width): first name -> all names."""
    groups: dict[str, list[str]] = {}
    for name, a in acts.items():
        f = a["products"]["per_layer_factor"]
        lead = next((g for g in groups if abs(acts[g]["products"]["per_layer_factor"] - f) <= 1e-3 * max(f, 1e-300)),
                    None)
        groups.setdefault(lead or name, []).append(name)
    return groups


def vanishing(summary: dict[str, Any], path: Path) -> Path:
    """|prod_l sigma'(z_l)| through L layers: expectation (solid), median over chains (dashed).

    Lines that coincide (relu and softplus:1 both have E|sigma'| = 1/2) share one legend entry and are drawn
    as alternating dashes of their colours, so neither hides the other."""
    acts, L = summary["activations"], summary["depth"]
    layers = list(range(1, L + 1))
    colour = {name: f"C{i}" for i, name in enumerate(acts)}
    fig, axes = plotting.subplots(1, 1, figsize=(7.2, 4.6))
    ax = axes[0, 0]
    for lead, names in _coincident(acts).items():
        p = acts[lead]["products"]
        y = [max(v, 1e-300) for v in p["expected"]]
        label = f"{' = '.join(names)}: E|.| = {p['per_layer_factor']:.3f}^L"
        if len(names) == 1:
            ax.plot(layers, y, "-", color=colour[lead], lw=1.8, label=label)
        else:
            dash = 6.0
            for j, name in enumerate(names):  # dashes offset by one dash each: every colour stays visible
                ax.plot(layers, y, color=colour[name], lw=2.2, ls=(j * dash, (dash, dash * (len(names) - 1))),
                        label=label + " (same line)" if j == 0 else None)
        for name in names:
            med = [(x, m) for x, m in zip(layers, acts[name]["products"]["median"], strict=True) if m > 0]
            if med:
                ax.plot(*zip(*med, strict=True), "--", color=colour[name], lw=0.9)
    ax.set(yscale="log", xlabel="layers L", ylabel="|product of L derivatives|")
    ax.set_title(f"Vanishing gradient, z_l ~ N(0, {summary['input_std']:g}^2): expectation (solid), "
                 "median over chains (thin dashed)", fontsize=9)
    ax.legend(fontsize=8, loc="lower left")
    return plotting.save(fig, path)


def output_layers(summary: dict[str, Any], path: Path) -> Path:
    """The three output layers on their targets (seed 0): softmax probabilities, e^x against identity on a
    positive target (log axis), identity against e^x on a target of both signs."""
    out = summary["outputs"]
    x, truth, runs = out["grid"], out["truth"], out["runs"]
    fig, axes = plotting.subplots(1, 3, figsize=(12.0, 3.8))
    ax = axes[0, 0]
    probs = runs["classification/softmax"]["pred"][0]
    for j in range(3):
        ax.plot(x, [p[j] for p in probs], color=f"C{j}", label=f"P(class {j})")
    ax.set(title="classification: softmax outputs", xlabel="x", ylabel="probability", ylim=(-0.05, 1.05))
    ax.legend(fontsize=8, loc="center left")
    ax = axes[0, 1]
    ax.plot(x, truth["positive"], "k-", lw=2, alpha=0.4, label=f"target e^({out['positive_range']:g} x)")
    for head, c in (("exp", "C1"), ("identity", "C0")):
        pred = runs[f"positive/{head}"]["pred"][0]
        ax.plot(x, [v if v > 0 else float("nan") for v in pred], color=c, label=f"{head} output")
    ax.set(yscale="log", title="positive target (log axis)", xlabel="x", ylabel="y")
    ax.legend(fontsize=8, loc="upper left")
    ax = axes[0, 2]
    ax.plot(x, truth["regression"], "k-", lw=2, alpha=0.4, label="target sin(pi x)")
    for head, c in (("identity", "C0"), ("exp", "C1")):
        ax.plot(x, runs[f"regression/{head}"]["pred"][0], color=c, label=f"{head} output")
    ax.axhline(0, color="k", lw=0.5)
    ax.set(title="regression: both signs", xlabel="x")
    ax.legend(fontsize=8, loc="upper left")
    fig.suptitle(f"Output layers after {out['steps']} Adam steps (seed 0 of {out['seeds']})")
    return plotting.save(fig, path)
