"""Figures of `nnlab init`, drawn from summary.json alone."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from nnlab.commands.init.readers import layers_by_scale
from nnlab.core import plotting
from nnlab.core.plotting import drawn

CAPTIONS: dict[str, str] = {
    "histograms.png": "Activations per layer for each weight scale (the slides' histograms)",
    "statistics.png": "Mean and standard deviation of the activations, layer by layer",
    "gradients.png": "Standard deviation of the back-propagated gradient, layer by layer",
}  # figure file -> caption (the report's)


def parts(summary: dict[str, Any], metrics: list[dict[str, Any]], plots_dir: Path) -> list[Callable[[], Path]]:
    by_scale = layers_by_scale(summary)
    return [
        partial(histograms, summary, plots_dir / "histograms.png"),
        partial(statistics, by_scale, summary["activation"], plots_dir / "statistics.png"),
        partial(gradients, by_scale, summary["input_grad_std"], plots_dir / "gradients.png"),
    ]


def draw(summary: dict[str, Any], metrics: list[dict[str, Any]], plots_dir: Path) -> list[Path]:
    return drawn(parts(summary, metrics, plots_dir))


def histograms(summary: dict[str, Any], path: Path) -> Path:
    """The slide's figure: one row per scale, one histogram of activations per layer."""
    hists = summary["histograms"]
    depth = len(next(iter(hists.values()))["counts"])
    fig, axes = plotting.subplots(len(hists), depth, figsize=(2.0 * depth, 1.9 * len(hists)), sharey="row")
    for r, (spec, hist) in enumerate(hists.items()):
        edges = hist["edges"]
        for c, counts in enumerate(hist["counts"]):
            ax = axes[r, c]
            total = max(sum(counts), 1)
            # One filled step patch per panel: as read as a bar chart, ~50x cheaper to draw.
            ax.stairs([k / total for k in counts], edges, fill=True, color=f"C{r}")
            ax.set_xlim(edges[0], edges[-1])
            ax.set_title(f"layer {c + 1}", fontsize=8)
            ax.tick_params(labelsize=7)
        axes[r, 0].set_ylabel(f"{spec}\nfraction of units")
    fig.suptitle(f"Activations per layer ({summary['activation']}, width {summary['width']})")
    return plotting.save(fig, path)


def statistics(by_scale: dict[str, list[dict[str, Any]]], activation: str, path: Path) -> Path:
    """Per-layer mean and std after the activation, and the pre-activation std against its prediction."""
    fig, axes = plotting.subplots(1, 3, figsize=(12, 3.4))
    for i, (spec, rows) in enumerate(by_scale.items()):
        layers = [r["layer"] for r in rows]
        axes[0, 0].plot(layers, [r["mean"] for r in rows], "o-", color=f"C{i}", label=spec)
        axes[0, 1].plot(layers, [r["std"] for r in rows], "o-", color=f"C{i}", label=spec)
        axes[0, 2].plot(layers, [r["pre_std"] for r in rows], "o", color=f"C{i}", label=f"{spec} measured")
        axes[0, 2].plot(layers, [r["predicted_pre_std"] for r in rows], "--", color=f"C{i}",
                        label=f"{spec} sqrt(n_in) w rms(z)")
        cov = [r.get("predicted_pre_std_cov", r["predicted_pre_std"]) for r in rows]
        if any(abs(c / r["predicted_pre_std"] - 1) > 0.01 for c, r in zip(cov, rows, strict=True)
               if c is not None and (r["predicted_pre_std"] or 0) > 0):  # the lecture's Cov[z_i] differs visibly
            # (ReLU: 1/1.21); None: a value that overflowed (summary.json keeps no NaN or inf)
            axes[0, 2].plot(layers, cov, ":", color=f"C{i}", label=f"{spec} sqrt(n_in) w std(z): lecture's Cov")
    axes[0, 0].set(title=f"mean of {activation}(pre)", xlabel="layer")
    axes[0, 1].set(title=f"std of {activation}(pre)", xlabel="layer", yscale="log")
    axes[0, 2].set(title="pre-activation std: measured vs predicted", xlabel="layer", yscale="log")
    for ax in axes[0]:
        ax.legend(fontsize=7)
    return plotting.save(fig, path)


def gradients(by_scale: dict[str, list[dict[str, Any]]], input_grad: dict[str, float], path: Path) -> Path:
    """The backward pass: std of dL/dh_l per layer, for a unit-variance random upstream gradient."""
    fig, axes = plotting.subplots(1, 1, figsize=(5.5, 3.6))
    ax = axes[0, 0]
    for i, (spec, rows) in enumerate(by_scale.items()):
        layers = [0] + [r["layer"] for r in rows]
        ax.plot(layers, [input_grad[spec]] + [r["grad_std"] for r in rows], "o-", color=f"C{i}", label=spec)
    ax.set(title="backward pass: std of dL/dh per layer (layer 0 = input)", xlabel="layer", yscale="log")
    ax.legend(fontsize=8)
    return plotting.save(fig, path)
