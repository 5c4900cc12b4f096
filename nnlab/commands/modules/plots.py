"""Figures of `nnlab modules`, one or more per section, drawn from summary.json alone."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from nnlab.core import plotting
from nnlab.core.plotting import drawn, label

CAPTIONS: dict[str, str] = {  # figure file -> caption (the report's)
    "layernorm.png": "LayerNorm's scale invariance over the factors a, and gradient norm per layer with LN before "
                     "or after the activation",
    "residual_euler.png": "Residual blocks as Euler steps: error against the block count L (log-log), the paths, "
                          "and first-layer gradients of plain and residual networks",
    "conv_filters.png": "Hand-made edge filters and a small CNN's learned filters on an MNIST digit",
    "conv_pooling.png": "Feature maps of a digit and its shifted copy, before and after max and average pooling",
    "unet_denoising.png": "Digits denoised by a small U-Net with and without skip connections (PSNR)",
}
CAPTIONS_ZH: dict[str, str] = {
    "layernorm.png": "LayerNorm 对因子 a 的尺度不变性，以及 LN 放在激活函数之前或之后时各层的梯度范数",
    "residual_euler.png": "残差块即 Euler 步：误差随残差块数 L 的变化（双对数坐标）、轨迹，以及普通网络与残差网络"
                          "第一层的梯度",
    "conv_filters.png": "手工设计的边缘滤波器与小 CNN 学到的滤波器作用于一个 MNIST 数字",
    "conv_pooling.png": "一个数字及其平移副本的特征图，在最大池化与平均池化之前和之后",
    "unet_denoising.png": "小 U-Net 在有、无跳跃连接时去噪后的数字（PSNR）",
}
# Latin names a Chinese figure keeps: the lecture's matrix-multiplication module MM, the Runge-Kutta reference RK4
# (the word "RK"), Heun's scheme, and torch, whose default initialization the residual section can use.
TERMS = {"MM", "RK", "RK4", "Heun", "torch"}
SCHEME_ZH = {"euler": "Euler", "heun": "Heun"}
HAND_ZH = {"horizontal edges": "水平边缘", "vertical edges": "竖直边缘", "Laplacian": "拉普拉斯"}
NETWORK_ZH = {"plain": "普通网络", "residual": "残差网络"}


def parts(summary: dict[str, Any], metrics: list[dict[str, Any]], plots_dir: Path) -> list[Callable[[], Path]]:
    jobs = []
    if "layernorm" in summary:
        jobs.append(partial(layernorm, summary["layernorm"], plots_dir / "layernorm.png"))
    if "residual" in summary:
        jobs.append(partial(residual, summary["residual"], plots_dir / "residual_euler.png"))
    if "conv" in summary:
        jobs += [partial(filters, summary["conv"], plots_dir / "conv_filters.png"),
                 partial(pooling, summary["conv"], plots_dir / "conv_pooling.png")]
    if "unet" in summary:
        jobs.append(partial(unet, summary["unet"], plots_dir / "unet_denoising.png"))
    return jobs


def draw(summary: dict[str, Any], metrics: list[dict[str, Any]], plots_dir: Path) -> list[Path]:
    return drawn(parts(summary, metrics, plots_dir))


def layernorm(s: dict[str, Any], path: Path) -> Path:
    fig, axes = plotting.subplots(1, 2, figsize=(11, 3.8))
    ax = axes[0, 0]
    a = [r["a"] for r in s["invariance"]]
    floor = 1e-18  # a difference of exactly 0 drawn at the axis floor
    ax.plot(a, [max(r["both"], floor) for r in s["invariance"]], "o-", label=label("scale W and b: LN(MM_aW,ab)",
                                                                                "同时缩放 W 与 b：LN(MM_(a·W,a·b))"))
    ax.plot(a, [max(r["w_alone"], floor) for r in s["invariance"]], "s--", label=label("scale W alone: LN(MM_aW,b)",
                                                                                   "只缩放 W：LN(MM_(a·W,b))"))
    ax.axhline(1e-12, color="gray", lw=0.8, ls=":", label=label("float rounding bound 1e-12", "浮点舍入界 1e-12"))
    ax.set(xscale="log", yscale="log", xlabel="a",
           ylabel=label("max |LN(...) - LN(MM_W,b)|", "|LN(…) − LN(MM_(W,b))| 的最大值"),
           title=label(f"LayerNorm scale invariance (eps = {s['eps']:g})",
                       f"LayerNorm 的尺度不变性（ε = {s['eps']:g}）"))
    ax.legend(fontsize=7)
    ax = axes[0, 1]
    labels = {"none": label("no LN: tanh(W h)", "无 LN：tanh(W h)"),
              "pre": label("LN before tanh: tanh(LN(W h))", "LN 在 tanh 之前：tanh(LN(W h))"),
              "post": label("LN after tanh: LN(tanh(W h))", "LN 在 tanh 之后：LN(tanh(W h))")}
    for i, (kind, norms) in enumerate(s["gradient_norms"].items()):
        drawn_spread = max(norms) / min(norms) if min(norms) > 0 else float("inf")
        ax.plot(range(1, len(norms) + 1), norms, "o-", ms=3, color=f"C{i}",
                label=label(f"{labels[kind]} (max/min {drawn_spread:.3g})",
                            f"{labels[kind]}（max/min {drawn_spread:.3g}）"))
    seeds = s.get("seeds", 1)
    ax.set(yscale="log", xlabel=label("layer (1 = input side)", "层（1 = 输入端）"),
           ylabel=label("||dL/dW_l||", "‖∂L/∂W_l‖"),
           title=label(f"gradient norm per layer at init\n({s['depth']} layers, w = {s['weight_std']:g}"
                       + (f"; the first of {seeds} seeds)" if seeds > 1 else ")"),
                       f"初始化时各层的梯度范数\n（{s['depth']} 层，w = {s['weight_std']:g}"
                       + (f"；{seeds} 个种子中的第一个）" if seeds > 1 else "）")))
    ax.legend(fontsize=7)
    return plotting.save(fig, path)


def residual(s: dict[str, Any], path: Path) -> Path:
    fig, axes = plotting.subplots(1, 3, figsize=(15, 4))
    ax = axes[0, 0]
    L, err = np.array(s["blocks"], float), np.array(s["errors"])
    ax.loglog(L, err, "o", label=label(f"{s['scheme']} residual net vs RK4 ({s['ref_steps']} steps)",
                                       f"{SCHEME_ZH.get(s['scheme'], s['scheme'])} 残差网络对比 RK4"
                                       f"（{s['ref_steps']} 步）"))
    if math.isfinite(s["slope"]):
        mean = s.get("slope_seeds")
        ax.loglog(L, np.exp(s["intercept"]) * L ** s["slope"], "-",
                  label=label(f"fit: slope {s['slope']:.3f} (r^2 {s['fit_r2']:.4f})"
                              + (f"\nmean over {mean['n']} seeds {mean['mean']:.3f}" if mean and mean["n"] > 1 else ""),
                              f"拟合：斜率 {s['slope']:.3f}（r² {s['fit_r2']:.4f}）"
                              + (f"\n{mean['n']} 个种子的平均 {mean['mean']:.3f}" if mean and mean["n"] > 1 else "")))
    ax.set(xlabel=label("blocks L (step h = 1/L)", "残差块数 L（步长 h = 1/L）"),
           ylabel=label("mean ||x_L - x(1)||", "‖x_L − x(1)‖ 的平均"),
           title=label("residual blocks = Euler steps", "残差块 = Euler 步"))
    ax.legend(fontsize=7)
    ax = axes[0, 1]
    flow = np.array(s["flow_path"])
    ax.plot(flow[:, 0], flow[:, 1], "k-", lw=1.5, label=label("flow of dx/dt = f(x)", "x'(t) = f(x) 的流"))
    for i, (blocks, states) in enumerate(s["net_paths"].items()):
        states = np.array(states)
        ax.plot(states[:, 0], states[:, 1], "o--", ms=4, color=f"C{i}",
                label=label(f"x_0 .. x_L, L = {blocks} blocks", f"x_0 .. x_L，L = {blocks} 个残差块"))
    ax.plot(*s["start"], "ks", label=label("input x_0", "输入 x_0"))
    ax.set(xlabel="x_1", ylabel="x_2", title=label("one input, first two coordinates", "一个输入的前两个坐标"))
    ax.legend(fontsize=7)
    ax = axes[0, 2]
    for i, (kind, norms) in enumerate(s["gradient_norms"].items()):
        ax.semilogy(range(1, len(norms) + 1), norms, "o-", ms=3, color=f"C{i}",
                    label=label(kind, NETWORK_ZH.get(kind, kind)))
    init = s.get("deep_init", "torch")
    ax.set(xlabel=label("linear layer (1 = input side)", "线性层（1 = 输入端）"), ylabel=label("||dL/dW||", "‖∂L/∂W‖"),
           title=label(f"gradients at init, {s['deep_blocks']} blocks, {init} init",
                       f"初始化时的梯度，{s['deep_blocks']} 个残差块，{'Xavier' if init == 'xavier' else init} 初始化"))
    ax.legend(fontsize=8)
    return plotting.save(fig, path)


def _show(ax, img, title: str, cmap: str = "gray", symmetric: bool = False, limit: float | None = None):
    """One image panel without ticks; symmetric: a diverging map centred on 0 over ±limit (default: the image's
    own largest |value|). Returns the image, for a colour bar."""
    img = np.asarray(img)
    if symmetric:
        m = limit or float(np.abs(img).max()) or 1.0
        shown = ax.imshow(img, cmap="RdBu_r", vmin=-m, vmax=m)
    else:
        shown = ax.imshow(img, cmap=cmap, vmin=0 if limit else None, vmax=limit)
    ax.set_title(title, fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    return shown


LEARNED_SHOWN = 8  # learned filters drawn (the first ones): more would shrink each below legibility


def _colour_bar(fig, image, cax, text: str) -> None:
    bar = fig.colorbar(image, cax=cax)
    bar.ax.tick_params(labelsize=7)
    bar.set_label(text, fontsize=8)


def _limit(images) -> float:
    return float(max(np.abs(np.asarray(i)).max() for i in images)) or 1.0


def filters(s: dict[str, Any], path: Path) -> Path:
    """Row 1: the digit, the hand-made filters and their maps; row 2: the learned filters; row 3: their maps.
    Each kind of panel shares one colour scale, with its colour bar: red positive, blue negative, white 0."""
    p = s["picture"]
    hand = len(p["hand_names"])
    learned = min(len(p["learned_filters"]), LEARNED_SHOWN)
    fig = plotting.figure(figsize=(9.0, 5.4))
    rows = fig.add_gridspec(3, 1, hspace=0.4)
    bar, gap = 0.12, 0.55  # widths of a colour bar's column and of the room for its labels, relative to an image's
    # digit | hand filters | bar | gap | hand maps | bar
    top = rows[0].subgridspec(1, 2 * hand + 4, width_ratios=[1] + [1] * hand + [bar, gap] + [1] * hand + [bar],
                              wspace=0.25)
    _show(fig.add_subplot(top[0, 0]), p["digit"], label(f"digit ({p['label']})", f"数字（{p['label']}）"))
    f_lim, m_lim = _limit(p["hand_filters"]), _limit(p["hand_maps"])
    for i, name in enumerate(p["hand_names"]):
        name_zh = HAND_ZH.get(name, name)
        shown_f = _show(fig.add_subplot(top[0, 1 + i]), p["hand_filters"][i],
                        label(f"{name}\nfilter", f"{name_zh}\n滤波器"), symmetric=True, limit=f_lim)
        shown_m = _show(fig.add_subplot(top[0, hand + 3 + i]), p["hand_maps"][i],
                        label(f"{name}\nfeature map", f"{name_zh}\n特征图"), symmetric=True, limit=m_lim)
    _colour_bar(fig, shown_f, fig.add_subplot(top[0, hand + 1]), label("weight", "权重"))
    _colour_bar(fig, shown_m, fig.add_subplot(top[0, 2 * hand + 3]), label("response", "响应"))
    w_lim = _limit(p["learned_filters"][:learned])
    r_lim = _limit(p["learned_maps"][:learned])
    for r, (key, bar_label, kw) in enumerate(
            (("learned_filters", label("weight", "权重"), {"symmetric": True, "limit": w_lim}),
             ("learned_maps", label("ReLU(conv)", "ReLU(卷积)"), {"cmap": "magma", "limit": r_lim})), start=1):
        grid = rows[r].subgridspec(1, learned + 1, width_ratios=[1] * learned + [bar], wspace=0.25)
        for i in range(learned):
            title = (label(f"learned {i + 1}", f"学到的 {i + 1}") if key == "learned_filters"
                     else label(f"ReLU(conv {i + 1})", f"ReLU(卷积 {i + 1})"))
            shown = _show(fig.add_subplot(grid[0, i]), p[key][i], title, **kw)
        _colour_bar(fig, shown, fig.add_subplot(grid[0, learned]), bar_label)
    more = len(p["learned_filters"]) - learned
    fig.suptitle(label("hand-made edge filters and the first-layer filters of a small CNN (test accuracy "
                       f"{s['cnn_accuracy']:.3f}{f'; first {learned} of {learned + more} filters' if more else ''})",
                       f"手工设计的边缘滤波器与小 CNN 第一层的滤波器（测试准确率 {s['cnn_accuracy']:.3f}"
                       f"{f'；共 {learned + more} 个滤波器中的前 {learned} 个' if more else ''}）"),
                 fontsize=10)
    fig.subplots_adjust(left=0.02, right=0.94, top=0.88, bottom=0.03)
    return plotting.save(fig, path, tight=False)


def pooling(s: dict[str, Any], path: Path) -> Path:
    """Hand maps before/after max and average pooling; a learned map of the digit and of the shifted digit."""
    p, k = s["picture"], s["pool_size"]
    n = len(p["hand_names"])
    fig, axes = plotting.subplots(2, max(3, n) + 2, figsize=(2.0 * (max(3, n) + 2), 4.6))
    for ax in axes.flat:
        ax.axis("off")
    for i, name in enumerate(p["hand_names"][:3]):
        _show(axes[0, i], p["hand_maps"][i], label(f"{name}", HAND_ZH.get(name, name)), symmetric=True)
        _show(axes[1, i], p["hand_max"][i] if i % 2 == 0 else p["hand_avg"][i],
              label(f"{'max' if i % 2 == 0 else 'avg'} pool {k}x{k}",
                    f"{'最大' if i % 2 == 0 else '平均'}池化 {k}×{k}"),
              symmetric=True)
    c = int(np.argmax([np.abs(np.asarray(m)).sum() for m in p["learned_maps"]]))  # the most active learned map
    j = max(3, n)
    _show(axes[0, j], p["learned_maps"][c], label(f"learned map {c + 1}", f"学到的特征图 {c + 1}"), cmap="magma")
    _show(axes[0, j + 1], p["learned_maps_shifted"][c],
          label(f"digit shifted {s['shift']} px", f"数字平移 {s['shift']} 像素"), cmap="magma")
    _show(axes[1, j], p["learned_max"][c], label(f"max pool {k}x{k}", f"最大池化 {k}×{k}"), cmap="magma")
    _show(axes[1, j + 1], p["learned_max_shifted"][c], label("max pool, shifted", "最大池化，平移后"), cmap="magma")
    before, after = s["change_before_pool"], s["change_after_pool"]
    fig.suptitle(label(f"shift {s['shift']} px: feature maps change by {before:.3f} (relative), after max "
                       f"pooling by {after['max']:.3f}, after average pooling by "
                       f"{after['avg']:.3f}; equivariance error {s['equivariance_error']:.1e}",
                       f"平移 {s['shift']} 像素：特征图的相对变化为 {before:.3f}，最大池化后为 {after['max']:.3f}，"
                       f"平均池化后为 {after['avg']:.3f}；等变误差 {s['equivariance_error']:.1e}"), fontsize=8)
    return plotting.save(fig, path)


def unet(s: dict[str, Any], path: Path) -> Path:
    rows = [("noisy", label("noisy", "含噪")), ("skips", label("U-Net", "U-Net")),
            ("no_skips", label("no skips", "无跳跃连接")), ("clean", label("clean", "干净"))]
    cols = len(s["panels"]["clean"])
    fig = plotting.figure(figsize=(1.4 * cols + 4, 6))
    grid = fig.add_gridspec(len(rows), cols + 3)
    for r, (key, row_label) in enumerate(rows):
        for c in range(cols):
            ax = fig.add_subplot(grid[r, c])
            _show(ax, s["panels"][key][c], row_label if c == 0 else "")
            ax.imshow(np.asarray(s["panels"][key][c]), cmap="gray", vmin=0, vmax=1)
    ax = fig.add_subplot(grid[:, cols:])
    names = [label("noisy input", "含噪输入"), label("U-Net", "U-Net"), label("no skips", "无跳跃连接")]
    means = [s["psnr_noisy"], s["psnr"]["skips"]["mean"], s["psnr"]["no_skips"]["mean"]]
    stds = [0.0, s["psnr"]["skips"]["std"], s["psnr"]["no_skips"]["std"]]
    ax.bar(names, means, yerr=stds, color=["gray", "C0", "C1"], capsize=4)
    for i, kind in enumerate(("skips", "no_skips"), start=1):
        ax.plot([i] * len(s["psnr"][kind]["values"]), s["psnr"][kind]["values"], "k.", ms=4)
    ax.set(ylabel=label("PSNR on held-out digits (dB)", "留出测试数字上的 PSNR (dB)"),
           title=label(f"{s['steps']} steps, noise {s['noise']:g}, {s['seeds']} seed(s)\nskips - no skips: "
                       f"{s['gap_db']:.2f} ± {s['gap_std_err_db']:.2f} dB",
                       f"{s['steps']} 步，噪声 {s['noise']:g}，{s['seeds']} 个种子\n有跳跃连接 − 无跳跃连接："
                       f"{s['gap_db']:.2f} ± {s['gap_std_err_db']:.2f} dB"))
    return plotting.save(fig, path)
