"""Figures of `nnlab init`, drawn from summary.json alone."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from nnlab.commands.init.readers import layers_by_scale
from nnlab.core import plotting
from nnlab.core.plotting import drawn, label

CAPTIONS: dict[str, str] = {
    "histograms.png": "Activations per layer for each weight scale (the slides' histograms)",
    "statistics.png": "Mean and standard deviation of the activations, layer by layer",
    "gradients.png": "Standard deviation of the back-propagated gradient, layer by layer",
}  # figure file -> caption (the report's)
CAPTIONS_ZH: dict[str, str] = {
    "histograms.png": "每种权重尺度下各层的激活分布（幻灯片中的直方图）",
    "statistics.png": "逐层的激活均值与标准差",
    "gradients.png": "反向传播的梯度逐层的标准差",
}
# Latin words the Chinese figures keep: the lecture's own symbol Cov (Cov[y_i])
TERMS = {"cov"}


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
            ax.set_title(label(f"layer {c + 1}", f"第 {c + 1} 层"), fontsize=8)
            ax.tick_params(labelsize=7)
        axes[r, 0].set_ylabel(label(f"{spec}\nfraction of units", f"{spec}\n单元比例"))
    fig.suptitle(label(f"Activations per layer ({summary['activation']}, width {summary['width']})",
                       f"各层的激活（{summary['activation']}，宽度 {summary['width']}）"))
    return plotting.save(fig, path)


def statistics(by_scale: dict[str, list[dict[str, Any]]], activation: str, path: Path) -> Path:
    """Per-layer mean and std after the activation, and the pre-activation std against its prediction."""
    fig, axes = plotting.subplots(1, 3, figsize=(12, 3.4))
    for i, (spec, rows) in enumerate(by_scale.items()):
        layers = [r["layer"] for r in rows]
        axes[0, 0].plot(layers, [r["mean"] for r in rows], "o-", color=f"C{i}", label=spec)
        axes[0, 1].plot(layers, [r["std"] for r in rows], "o-", color=f"C{i}", label=spec)
        axes[0, 2].plot(layers, [r["pre_std"] for r in rows], "o", color=f"C{i}",
                        label=label(f"{spec} measured", f"{spec} 实测"))
        axes[0, 2].plot(layers, [r["predicted_pre_std"] for r in rows], "--", color=f"C{i}",
                        label=label(f"{spec} sqrt(n_in) w rms(z)", f"{spec} √nᵢₙ·w·均方根(z)"))
        cov = [r.get("predicted_pre_std_cov", r["predicted_pre_std"]) for r in rows]
        if any(abs(c / r["predicted_pre_std"] - 1) > 0.01 for c, r in zip(cov, rows, strict=True)
               if c is not None and (r["predicted_pre_std"] or 0) > 0):  # the lecture's Cov[z_i] differs visibly
            # (ReLU: 1/1.21); None: a value that overflowed (summary.json keeps no NaN or inf)
            axes[0, 2].plot(layers, cov, ":", color=f"C{i}",
                            label=label(f"{spec} sqrt(n_in) w std(z): lecture's Cov",
                                        f"{spec} √nᵢₙ·w·标准差(z)：讲义的 Cov"))
    layer = label("layer", "层")
    axes[0, 0].set(title=label(f"mean of {activation}(pre)", f"{activation}(激活前值) 的均值"), xlabel=layer)
    axes[0, 1].set(title=label(f"std of {activation}(pre)", f"{activation}(激活前值) 的标准差"), xlabel=layer,
                   yscale="log")
    axes[0, 2].set(title=label("pre-activation std: measured vs predicted", "激活前值的标准差：实测与预测"),
                   xlabel=layer, yscale="log")
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
    ax.set(title=label("backward pass: std of dL/dh per layer (layer 0 = input)",
                       "反向传播：每层 ∂L/∂h 的标准差（第 0 层 = 输入）"), xlabel=label("layer", "层"), yscale="log")
    ax.legend(fontsize=8)
    return plotting.save(fig, path)
