"""Figures of `nnlab activations`, drawn from summary.json alone."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from nnlab.core import plotting
from nnlab.core.plotting import drawn, label

CAPTIONS: dict[str, str] = {
    "functions.png": "Each activation σ(z); shaded: its saturating regions",
    "derivatives.png": "Their derivatives σ'(z); shaded: where |σ'| is small",
    "vanishing_gradient.png": "The product of derivatives through stacked layers shrinks",
    "output_layers.png": "The lecture's output layers: softmax for classes, e^x for a positive target, identity "
                         "for regression",
}  # figure file -> caption (the report's)
CAPTIONS_ZH: dict[str, str] = {
    "functions.png": "各激活函数 σ(z)；阴影：它的饱和区域",
    "derivatives.png": "它们的导数 σ'(z)；阴影：|σ'| 很小的地方",
    "vanishing_gradient.png": "经过堆叠的各层，导数之积不断缩小",
    "output_layers.png": "讲义中的输出层：分类用 softmax，正目标用 e^x，回归用恒等输出",
}


def parts(summary: dict[str, Any], metrics: list[dict[str, Any]], plots_dir: Path) -> list[Callable[[], Path]]:
    return [
        partial(panels, summary, "fn", ("sigma(z)", "σ(z)"), plots_dir / "functions.png"),
        partial(panels, summary, "grad", ("sigma'(z)", "σ'(z)"), plots_dir / "derivatives.png"),
        partial(vanishing, summary, plots_dir / "vanishing_gradient.png"),
    ] + ([partial(output_layers, summary, plots_dir / "output_layers.png")] if "outputs" in summary else [])


def draw(summary: dict[str, Any], metrics: list[dict[str, Any]], plots_dir: Path) -> list[Path]:
    return drawn(parts(summary, metrics, plots_dir))


def _grid(n: int) -> tuple[int, int]:
    cols = min(4, n)
    return math.ceil(n / cols), cols


def panels(summary: dict[str, Any], key: str, quantity: tuple[str, str], path: Path) -> Path:
    """One panel per activation; saturating regions (|sigma'| < threshold) shaded. `quantity`: what is drawn,
    (English, Chinese)."""
    acts, z, t = summary["activations"], summary["z"], summary["threshold"]
    rows, cols = _grid(len(acts))
    fig, axes = plotting.subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows), squeeze=False)
    for i, (name, a) in enumerate(acts.items()):
        ax = axes[i // cols, i % cols]
        ax.plot(z, a[key], color=f"C{i}", lw=1.6)
        for j, (lo, hi) in enumerate(a["saturated_regions"]):
            shade = label(f"|sigma'| < {t:g}", f"|σ'| < {t:g}")
            ax.axvspan(lo, hi, color="0.6", alpha=0.3, lw=0, label=shade if j == 0 else None)
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
    fig.suptitle(label(f"{quantity[0]}; shaded: saturating regions", f"{quantity[1]}；阴影：饱和区域"))
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
        text = f"{' = '.join(names)}: E|.| = {p['per_layer_factor']:.3f}^L"
        if len(names) == 1:
            ax.plot(layers, y, "-", color=colour[lead], lw=1.8, label=text)
        else:
            dash = 6.0
            for j, name in enumerate(names):  # dashes offset by one dash each: every colour stays visible
                ax.plot(layers, y, color=colour[name], lw=2.2, ls=(j * dash, (dash, dash * (len(names) - 1))),
                        label=text + label(" (same line)", "（同一条线）") if j == 0 else None)
        for name in names:
            med = [(x, m) for x, m in zip(layers, acts[name]["products"]["median"], strict=True) if m > 0]
            if med:
                ax.plot(*zip(*med, strict=True), "--", color=colour[name], lw=0.9)
    ax.set(yscale="log", xlabel=label("layers L", "层数 L"),
           ylabel=label("|product of L derivatives|", "|L 个导数之积|"))
    s = summary["input_std"]
    ax.set_title(label(f"Vanishing gradient, z_l ~ N(0, {s:g}^2): expectation (solid), "
                       "median over chains (thin dashed)",
                       f"梯度消失，z_l ~ N(0, {s:g}²)：期望（实线），各条链上的中位数（细虚线）"), fontsize=9)
    ax.legend(fontsize=8, loc="lower left")
    return plotting.save(fig, path)


HEAD_ZH = {"exp": "exp 输出", "identity": "恒等输出"}  # an output layer's legend entry in Chinese


def output_layers(summary: dict[str, Any], path: Path) -> Path:
    """The three output layers on their targets (seed 0): softmax probabilities, e^x against identity on a
    positive target (log axis), identity against e^x on a target of both signs."""
    out = summary["outputs"]
    x, truth, runs, a = out["grid"], out["truth"], out["runs"], out["positive_range"]
    fig, axes = plotting.subplots(1, 3, figsize=(12.0, 3.8))
    ax = axes[0, 0]
    probs = runs["classification/softmax"]["pred"][0]
    for j in range(3):
        ax.plot(x, [p[j] for p in probs], color=f"C{j}", label=label(f"P(class {j})", f"P(类别 {j})"))
    ax.set(title=label("classification: softmax outputs", "分类：softmax 输出"), xlabel="x",
           ylabel=label("probability", "概率"), ylim=(-0.05, 1.05))
    ax.legend(fontsize=8, loc="center left")
    ax = axes[0, 1]
    ax.plot(x, truth["positive"], "k-", lw=2, alpha=0.4, label=label(f"target e^({a:g} x)", f"目标 e^({a:g} x)"))
    for head, c in (("exp", "C1"), ("identity", "C0")):
        pred = runs[f"positive/{head}"]["pred"][0]
        ax.plot(x, [v if v > 0 else float("nan") for v in pred], color=c, label=label(f"{head} output", HEAD_ZH[head]))
    ax.set(yscale="log", title=label("positive target (log axis)", "正目标（对数坐标）"), xlabel="x", ylabel="y")
    ax.legend(fontsize=8, loc="upper left")
    ax = axes[0, 2]
    ax.plot(x, truth["regression"], "k-", lw=2, alpha=0.4, label=label("target sin(pi x)", "目标 sin(πx)"))
    for head, c in (("identity", "C0"), ("exp", "C1")):
        ax.plot(x, runs[f"regression/{head}"]["pred"][0], color=c, label=label(f"{head} output", HEAD_ZH[head]))
    ax.axhline(0, color="k", lw=0.5)
    ax.set(title=label("regression: both signs", "回归：有正有负"), xlabel="x")
    ax.legend(fontsize=8, loc="upper left")
    fig.suptitle(label(f"Output layers after {out['steps']} Adam steps (seed 0 of {out['seeds']})",
                       f"{out['steps']} 步 Adam 之后的输出层（{out['seeds']} 个种子中的种子 0）"))
    return plotting.save(fig, path)
