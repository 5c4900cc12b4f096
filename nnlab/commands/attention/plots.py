"""Figures of `nnlab attention`, drawn from summary.json and metrics.jsonl alone."""

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
    "entropy.png": "Mean entropy of the softmax weights at initialization against m, with and without 1/sqrt(m)",
    "training_curves.png": "Held-out loss and accuracy while training (retrieve: attention vs mean pooling; "
                           "vit: train and validation)",
    "attention_maps.png": "Attention weights of the trained model (retrieve: queries over pairs; vit: [CLS] over "
                          "the patches)",
    "positional_encoding.png": "The sinusoidal positional encoding of the ViT and the similarity of its positions",
}  # figure file -> caption (the report's)
CAPTIONS_ZH: dict[str, str] = {
    "entropy.png": "初始化时 softmax 权重的平均熵随 m 的变化，带与不带 1/√m",
    "training_curves.png": "训练过程中的留出集损失与准确率（retrieve：注意力对照平均池化；vit：训练集与验证集）",
    "attention_maps.png": "训练后模型的注意力权重（retrieve：查询对各键值对；vit：[CLS] 对各图块）",
    "positional_encoding.png": "ViT 的正弦位置编码及其各位置之间的相似度",
}
# Latin symbols of formulas a Chinese figure keeps: the index pair of e_ij and a_ij, PE (positional encoding)
TERMS = {"ij", "PE"}


def parts(summary: dict[str, Any], metrics: list[dict[str, Any]], plots_dir: Path) -> list[Callable[[], Path]]:
    jobs = [partial(entropy, summary, plots_dir / "entropy.png")]
    if summary["task"] == "retrieve":
        jobs += [partial(retrieve_curves, summary, metrics, plots_dir / "training_curves.png")]
        if summary.get("maps"):
            jobs.append(partial(retrieve_maps, summary, plots_dir / "attention_maps.png"))
    else:
        jobs += [partial(vit_curves, summary, metrics, plots_dir / "training_curves.png"),
                 partial(vit_maps, summary, plots_dir / "attention_maps.png"),
                 partial(positional_encoding, summary, plots_dir / "positional_encoding.png")]
    return jobs


def draw(summary: dict[str, Any], metrics: list[dict[str, Any]], plots_dir: Path) -> list[Path]:
    return drawn(parts(summary, metrics, plots_dir))


def entropy(summary: dict[str, Any], path: Path) -> Path:
    rows = summary["entropy"]
    ms = [r["m"] for r in rows]
    fig, axes = plotting.subplots(1, 1, figsize=(5.5, 3.6))
    ax = axes[0, 0]
    ax.plot(ms, [r["scaled"] for r in rows], "o-",
            label=label("e_ij = q_i . k_j / sqrt(m)", "e_ij = q_i · k_j / √m"))
    ax.plot(ms, [r["unscaled"] for r in rows], "s-",
            label=label("e_ij = q_i . k_j (no scaling)", "e_ij = q_i · k_j（不缩放）"))
    n = summary["entropy_tokens"]
    ax.axhline(math.log(n), color="k", ls=":", lw=1, label=label(f"uniform: log {n}", f"均匀分布：log {n}"))
    ax.set(xscale="log", xlabel=label("m (query/key width)", "m（查询/键的宽度）"),
           ylabel=label("mean entropy of a_ij (nats)", "a_ij 的平均熵（奈特）"),
           title=label("Softmax at initialization", "初始化时的 softmax"))
    ax.legend(fontsize=8)
    return save(fig, path)


def retrieve_curves(summary: dict[str, Any], metrics: list[dict[str, Any]], path: Path) -> Path:
    fig, axes = plotting.subplots(1, 2, figsize=(10, 3.6))
    styles = {"attention": "C0", "mean": "C1"}
    for mixer, color in styles.items():
        for i in range(len(summary["results"][mixer])):
            rows = [m for m in metrics if m.get("mixer") == mixer and m.get("seed_index") == i and "eval/acc" in m]
            name = (label("attention", "注意力") if mixer == "attention" else label("mean pooling", "平均池化")) \
                if i == 0 else None
            axes[0, 0].plot([m["step"] for m in rows], [m["eval/loss"] for m in rows], color=color, alpha=0.8,
                            label=name)
            axes[0, 1].plot([m["step"] for m in rows], [100 * m["eval/acc"] for m in rows], color=color,
                            alpha=0.8, label=name)
    guess = summary.get("guess_present_value_acc")
    if guess is not None:
        axes[0, 1].axhline(100 * guess, color="k", ls=":", lw=1, label=label("best blind guess", "最佳盲猜"))
    axes[0, 0].set(xlabel=label("step", "步数"), ylabel=label("cross-entropy", "交叉熵"), yscale="log",
                   title=label("Held-out loss (one line per seed)", "留出集损失（每个种子一条线）"))
    axes[0, 1].set(xlabel=label("step", "步数"), ylabel=label("accuracy (%)", "准确率（%）"), ylim=(0, 101),
                   title=label("Held-out accuracy", "留出集准确率"))
    for ax in axes[0]:
        ax.legend(fontsize=8)
    return save(fig, path)


def retrieve_maps(summary: dict[str, Any], path: Path) -> Path:
    """The first held-out example: every layer's (rows) and head's (columns) weights of the queries over the pairs.

    Rows and columns in the order the sequence holds them: a model that looks values up draws the
    permutation matrix that pairs each query with its key; red circles mark the pair each query must find.
    One example only, so each panel is large enough to read at report size (the others' weights are in
    summary.json, maps.weights); the hit rate in each title is over every held-out sequence.
    """
    maps = summary["maps"]
    P = summary["pairs"]
    layers, heads = len(maps["weights"][0]), len(maps["weights"][0][0])
    keys, values, queries = maps["keys"][0], maps["values"][0], maps["queries"][0]
    fig, axes = plotting.subplots(layers, heads, figsize=(2.3 * heads + 0.6, 2.5 * layers + 0.9), squeeze=False)
    target = [keys.index(q) for q in queries]
    image = None
    for layer in range(layers):
        for h in range(heads):
            a = np.asarray(maps["weights"][0][layer][h])[P:, :P]  # (Q, P): queries over pairs
            ax = axes[layer, h]
            image = ax.imshow(a, vmin=0, vmax=1, cmap="viridis")
            ax.plot(target, range(len(queries)), "o", mfc="none", mec="r", ms=7, mew=1.2)
            ax.set_xticks(range(P), [f"{keys[c]}:{values[c]}" for c in range(P)] if layer == layers - 1 else [],
                          fontsize=7, rotation=90)
            ax.set_yticks(range(len(queries)), [f"q{q}" for q in queries] if h == 0 else [], fontsize=7)
            ax.grid(False)
            hits = 100 * maps['hits'][layer][h]
            ax.set_title(label(f"layer {layer + 1}, head {h + 1}: hits {hits:.0f}%",
                               f"第 {layer + 1} 层，第 {h + 1} 个头：命中 {hits:.0f}%"), fontsize=8)
    # fixed margins (tight_layout cannot place a colour bar beside a grid): labels are the same size every run
    fig.subplots_adjust(left=0.06, right=0.89, bottom=0.52 / (2.5 * layers + 0.9), top=1 - 0.62 / (2.5 * layers + 0.9),
                        wspace=0.12, hspace=0.28)
    if image is not None:
        fig.colorbar(image, cax=fig.add_axes((0.91, 0.2, 0.015, 0.6)), label=label("weight a_ij", "权重 a_ij"))
    fig.suptitle(label("Attention of each query (row, q<key>) over the pairs (column, key:value), first held-out "
                       "sequence;\nred circles: the pair holding the queried key; hits: share of all held-out queries",
                       "每个查询（行，q<键>）对各键值对（列，键:值）的注意力，第一条留出序列；\n"
                       "红圈：含有被查询之键的键值对；命中：所有留出查询中找对键值对的比例"),
                 fontsize=9)
    return save(fig, path, tight=False)


def vit_curves(summary: dict[str, Any], metrics: list[dict[str, Any]], path: Path) -> Path:
    v = summary["vit"]
    steps = [m for m in metrics if "train/acc" in m and m.get("seed_index", 0) == 0]  # the first model's
    epochs = [m for m in metrics if "val/acc" in m and m.get("seed_index", 0) == 0]
    fig, axes = plotting.subplots(1, 2, figsize=(10, 3.6))
    train, val = label("train (batch)", "训练（批次）"), label("validation", "验证")
    axes[0, 0].plot([m["step"] for m in steps], [m["train/loss"] for m in steps], lw=0.8, label=train)
    axes[0, 0].plot([m["step"] for m in epochs], [m["val/loss"] for m in epochs], "s-", label=val)
    axes[0, 1].plot([m["step"] for m in steps], [100 * m["train/acc"] for m in steps], lw=0.8, label=train)
    axes[0, 1].plot([m["step"] for m in epochs], [100 * m["val/acc"] for m in epochs], "s-", label=val)
    if v["test/acc"] == v["test/acc"]:  # not NaN
        test = 100 * v["test/acc"]
        axes[0, 1].axhline(test, color="k", ls=":", lw=1, label=label(f"test {test:.2f}%", f"测试 {test:.2f}%"))
    axes[0, 0].set(xlabel=label("step", "步数"), ylabel=label("cross-entropy", "交叉熵"), yscale="log",
                   title=label("Loss", "损失"))
    axes[0, 1].set(xlabel=label("step", "步数"), ylabel=label("accuracy (%)", "准确率（%）"),
                   title=label("Accuracy", "准确率"))
    for ax in axes[0]:
        ax.legend(fontsize=8)
    return save(fig, path)


def vit_maps(summary: dict[str, Any], path: Path) -> Path:
    """Per test digit: the image, then each head's attention of [CLS] over the patches in the last block."""
    maps = summary["vit"]["maps"]
    examples = len(maps["weights"])
    heads = len(maps["weights"][0][-1])
    fig, axes = plotting.subplots(examples, heads + 1, figsize=(1.9 * (heads + 1), 2.0 * examples), squeeze=False)
    for e in range(examples):
        image = np.frombuffer(bytes.fromhex(maps["pixels_hex"][e]), dtype=np.uint8).reshape(28, 28)
        axes[e, 0].imshow(image, cmap="gray_r")
        axes[e, 0].set_title(label(f"label {maps['labels'][e]}", f"标签 {maps['labels'][e]}"), fontsize=8)
        for h in range(heads):
            a = np.asarray(maps["weights"][e][-1][h])[0, 1:]  # [CLS] over the patches
            g = int(round(math.sqrt(len(a))))
            ax = axes[e, h + 1]
            ax.imshow(image, cmap="gray_r", extent=(0, g, g, 0))
            ax.imshow(a.reshape(g, g), cmap="magma", alpha=0.6, extent=(0, g, g, 0))
            own = 100 * maps['weights'][e][-1][h][0][0]
            ax.set_title(label(f"head {h + 1} ([CLS] {own:.0f}% self)", f"头 {h + 1}（[CLS] 自身 {own:.0f}%）"),
                         fontsize=7)
        for ax in axes[e]:
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
    fig.suptitle(label("Last block: attention of [CLS] over the patches", "最后一个模块：[CLS] 对各图块的注意力"))
    return save(fig, path)


def positional_encoding(summary: dict[str, Any], path: Path) -> Path:
    pe = np.asarray(summary["vit"]["positional_encoding"])
    fig, axes = plotting.subplots(1, 2, figsize=(10, 3.4))
    im = axes[0, 0].imshow(pe, aspect="auto", cmap="RdBu", vmin=-1, vmax=1)
    fig.colorbar(im, ax=axes[0, 0])
    axes[0, 0].set(xlabel=label("dimension", "维度"), ylabel=label("position (0 = [CLS])", "位置（0 = [CLS]）"),
                   title=label("PE[p, 2i] = sin(p / 10000^(2i/m)), PE[p, 2i+1] = cos(...)",
                               "PE[p, 2i] = sin(p / 10000^(2i/m))，PE[p, 2i+1] = cos(...)"))
    sim = pe @ pe.T
    im = axes[0, 1].imshow(sim, cmap="viridis")
    fig.colorbar(im, ax=axes[0, 1])
    axes[0, 1].set(xlabel=label("position", "位置"), ylabel=label("position", "位置"),
                   title=label("PE PE^T: nearby positions are alike", "PE PE^T：相近的位置彼此相似"))
    for ax in axes[0]:
        ax.grid(False)
    return save(fig, path)
