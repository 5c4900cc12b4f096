"""Figures of `nnlab train-mnist`: learning curves, the confusion matrix, the misclassified digits."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from nnlab.core import plotting
from nnlab.core.plotting import drawn, label, save

CAPTIONS: dict[str, str] = {
    'learning_curves.png': 'Training loss and test accuracy against epoch',
    'confusion_matrix.png': 'Confusion matrix on the test set',
    'misclassified.png': 'Misclassified test digits, most confident first',
}  # figure file -> caption (the report's)
CAPTIONS_ZH: dict[str, str] = {
    'learning_curves.png': '训练损失与测试准确率随训练轮次的变化',
    'confusion_matrix.png': '测试集上的混淆矩阵',
    'misclassified.png': '分错的测试数字，置信度最高的在前',
}
SPLITS_ZH = {"train": "训练", "val": "验证"}

PAD, LABEL = 3, 9  # misclassified grid: pixels around each digit, pixels above it for its label


def learning_curves(summary: dict[str, Any], metrics: list[dict[str, Any]], path: Path) -> Path:
    epochs = [m for m in metrics if "train/acc" in m]  # the per-epoch records
    steps = [m for m in metrics if "train/loss_step" in m]
    fig, axes = plotting.subplots(1, 2, figsize=(10, 3.8))
    ax_loss, ax_acc = axes[0]
    per_epoch = summary.get("steps_per_epoch") or 1
    if steps:
        ax_loss.plot([m["step"] for m in steps], [m["train/loss_step"] for m in steps], lw=0.8, alpha=0.6,
                     label=label("train (batch)", "训练（单批）"))
        accs = [m for m in steps if "train/acc_step" in m]  # the diverged step has a loss only
        ax_acc.plot([m["step"] / per_epoch for m in accs], [100 * m["train/acc_step"] for m in accs], lw=0.8,
                    alpha=0.6, label=label("train (batch)", "训练（单批）"))
    for split, style in (("train", "o-"), ("val", "s-")):
        rows = [m for m in epochs if f"{split}/acc" in m]  # no val records with --val-samples 0
        if rows:
            ax_loss.plot([m["step"] for m in rows], [m[f"{split}/loss"] for m in rows], style,
                         label=label(f"{split} (epoch)", f"{SPLITS_ZH[split]}（每轮）"))
            ax_acc.plot([m["epoch"] for m in rows], [100 * m[f"{split}/acc"] for m in rows], style,
                        label=label(split, SPLITS_ZH[split]))
    if epochs:  # the test set, evaluated once after training
        test = label("test (once, at the end)", "测试（仅一次，训练结束时）")
        ax_loss.plot([epochs[-1]["step"]], [summary["test/loss"]], "k*", ms=10, label=test)
        ax_acc.plot([epochs[-1]["epoch"]], [100 * summary["test/acc"]], "k*", ms=10, label=test)
    ax_loss.set(xlabel=label("step", "步数"), ylabel=label("cross-entropy", "交叉熵"), yscale="log",
                title=label("Loss", "损失"))
    acc = 100 * summary["test/acc"]
    ax_acc.set(xlabel=label("epoch", "轮次"), ylabel=label("accuracy (%)", "准确率 (%)"),
               title=label(f"Accuracy (test, once: {acc:.2f}%)", f"准确率（测试，仅一次：{acc:.2f}%）"))
    if summary.get("target_acc") is not None:
        ax_acc.axhline(100 * summary["target_acc"], color="k", ls=":", lw=1,
                       label=label("target (on val)", "目标（在验证集上）"))
    for ax in (ax_loss, ax_acc):
        ax.legend(fontsize=8)
    model, optimizer, p_drop = summary["model"].upper(), summary["optimizer"], summary["dropout"]
    fig.suptitle(label(f"{model} on MNIST · {optimizer} · dropout P={p_drop:g}",
                       f"MNIST 上的 {model} · {optimizer} · Dropout P={p_drop:g}"))
    return save(fig, path)


def confusion_matrix(summary: dict[str, Any], path: Path) -> Path:
    cm = np.asarray(summary["confusion"])
    fig, axes = plotting.subplots(figsize=(5.2, 4.6))
    ax = axes[0, 0]
    off = cm.astype(float)
    np.fill_diagonal(off, np.nan)  # colour the mistakes; the diagonal would drown them
    im = ax.imshow(off, cmap="Reds")
    for t in range(10):
        for p in range(10):
            if cm[t, p]:
                ax.text(p, t, str(cm[t, p]), ha="center", va="center", fontsize=7,
                        color="tab:green" if t == p else "black", fontweight="bold" if t == p else "normal")
    ax.set(xticks=range(10), yticks=range(10), xlabel=label("predicted", "预测"), ylabel=label("true", "真实"),
           title=label(f"Confusion matrix ({summary['errors']} errors of {cm.sum()})",
                       f"混淆矩阵（{cm.sum()} 张中错 {summary['errors']} 张）"))
    ax.grid(False)
    fig.colorbar(im, ax=ax, fraction=0.046, label=label("count (off-diagonal)", "计数（非对角线）"))
    fig.subplots_adjust(left=0.1, right=0.9, bottom=0.1, top=0.93)  # fixed: ten digits a side, one title line
    return save(fig, path, tight=False)


def misclassified(summary: dict[str, Any], path: Path) -> Path | None:
    """The most confident mistakes, 8 to a row, each titled with its prediction and true label.

    One image of all the digits (28 x 28 each, a white margin of PAD pixels around each) on one axes, with a
    text label above each: the same picture as a grid of subplots, at a fifth of the drawing time (matplotlib's
    cost is per axes, and 36 axes each with ticks to lay out cost ~0.7 s of CPU)."""
    digits = summary.get("misclassified") or []
    if not digits:
        return None
    cols = min(len(digits), 8)
    rows = math.ceil(len(digits) / cols)
    cell_w, cell_h, top = 28 + 2 * PAD, 28 + 2 * PAD + LABEL, LABEL + PAD  # pixels of one cell; the digit's offset
    mosaic = np.zeros((rows * cell_h, cols * cell_w), dtype=np.uint8)  # 0 draws white with gray_r
    for k, d in enumerate(digits):
        r, c = divmod(k, cols)
        digit = np.frombuffer(bytes.fromhex(d["pixels_hex"]), dtype=np.uint8).reshape(28, 28)
        mosaic[r * cell_h + top:r * cell_h + top + 28, c * cell_w + PAD:c * cell_w + PAD + 28] = digit
    fig, axes = plotting.subplots(figsize=(1.25 * cols, 1.45 * rows + 0.3))
    ax = axes[0, 0]
    ax.imshow(mosaic, cmap="gray_r", vmin=0, vmax=255, interpolation="nearest")
    for k, d in enumerate(digits):
        r, c = divmod(k, cols)
        ax.text(c * cell_w + cell_w / 2, r * cell_h + top - 2,
                label(f"pred {d['pred']} · true {d['true']}", f"预测 {d['pred']} · 真实 {d['true']}"),
                fontsize=7, color="tab:red", ha="center", va="bottom")
    ax.axis("off")
    ax.set_title(label("Misclassified test digits (most confident first)", "分错的测试数字（置信度最高的在前）"),
                 fontsize=9)
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=1 - 0.3 / (1.45 * rows + 0.3))  # title: 0.3 in
    return save(fig, path, tight=False)


def parts(summary: dict[str, Any], metrics: list[dict[str, Any]], plots_dir: Path) -> list[Callable[[], Path | None]]:
    if "confusion" not in summary:  # interrupted or failed before the end: nothing to draw
        return []
    # in this order two figure workers get {confusion, misclassified} and {curves}: ~0.3 s of drawing each
    return [partial(confusion_matrix, summary, plots_dir / "confusion_matrix.png"),
            partial(learning_curves, summary, metrics, plots_dir / "learning_curves.png"),
            partial(misclassified, summary, plots_dir / "misclassified.png")]


def draw(summary: dict[str, Any], metrics: list[dict[str, Any]], plots_dir: Path) -> list[Path]:
    return drawn(parts(summary, metrics, plots_dir))
