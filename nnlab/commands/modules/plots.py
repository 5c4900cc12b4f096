"""Figures of `nnlab modules`, one or more per section, drawn from summary.json alone."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from nnlab.core import plotting
from nnlab.core.plotting import drawn

CAPTIONS: dict[str, str] = {  # figure file -> caption (the report's)
    "layernorm.png": "LayerNorm's scale invariance over the factors a, and gradient norm per layer with LN before "
                     "or after the activation",
    "residual_euler.png": "Residual blocks as Euler steps: error against the block count L (log-log), the paths, "
                          "and first-layer gradients of plain and residual networks",
    "conv_filters.png": "Hand-made edge filters and a small CNN's learned filters on an MNIST digit",
    "conv_pooling.png": "Feature maps of a digit and its shifted copy, before and after max and average pooling",
    "unet_denoising.png": "Digits denoised by a small U-Net with and without skip connections (PSNR)",
}


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
    ax.plot(a, [max(r["both"], floor) for r in s["invariance"]], "o-", label="scale W and b: LN(MM_aW,ab)")
    ax.plot(a, [max(r["w_alone"], floor) for r in s["invariance"]], "s--", label="scale W alone: LN(MM_aW,b)")
    ax.axhline(1e-12, color="gray", lw=0.8, ls=":", label="float rounding bound 1e-12")
    ax.set(xscale="log", yscale="log", xlabel="a", ylabel="max |LN(...) - LN(MM_W,b)|",
           title=f"LayerNorm scale invariance (eps = {s['eps']:g})")
    ax.legend(fontsize=7)
    ax = axes[0, 1]
    labels = {"none": "no LN: tanh(W h)", "pre": "LN before tanh: tanh(LN(W h))",
              "post": "LN after tanh: LN(tanh(W h))"}
    for i, (kind, norms) in enumerate(s["gradient_norms"].items()):
        drawn_spread = max(norms) / min(norms) if min(norms) > 0 else float("inf")
        ax.plot(range(1, len(norms) + 1), norms, "o-", ms=3, color=f"C{i}",
                label=f"{labels[kind]} (max/min {drawn_spread:.3g})")
    seeds = s.get("seeds", 1)
    ax.set(yscale="log", xlabel="layer (1 = input side)", ylabel="||dL/dW_l||",
           title=f"gradient norm per layer at init\n({s['depth']} layers, w = {s['weight_std']:g}"
                 + (f"; the first of {seeds} seeds)" if seeds > 1 else ")"))
    ax.legend(fontsize=7)
    return plotting.save(fig, path)


def residual(s: dict[str, Any], path: Path) -> Path:
    fig, axes = plotting.subplots(1, 3, figsize=(15, 4))
    ax = axes[0, 0]
    L, err = np.array(s["blocks"], float), np.array(s["errors"])
    ax.loglog(L, err, "o", label=f"{s['scheme']} residual net vs RK4 ({s['ref_steps']} steps)")
    if math.isfinite(s["slope"]):
        mean = s.get("slope_seeds")
        ax.loglog(L, np.exp(s["intercept"]) * L ** s["slope"], "-",
                  label=f"fit: slope {s['slope']:.3f} (r^2 {s['fit_r2']:.4f})"
                        + (f"\nmean over {mean['n']} seeds {mean['mean']:.3f}" if mean and mean["n"] > 1 else ""))
    ax.set(xlabel="blocks L (step h = 1/L)", ylabel="mean ||x_L - x(1)||", title="residual blocks = Euler steps")
    ax.legend(fontsize=7)
    ax = axes[0, 1]
    flow = np.array(s["flow_path"])
    ax.plot(flow[:, 0], flow[:, 1], "k-", lw=1.5, label="flow of dx/dt = f(x)")
    for i, (blocks, states) in enumerate(s["net_paths"].items()):
        states = np.array(states)
        ax.plot(states[:, 0], states[:, 1], "o--", ms=4, color=f"C{i}", label=f"x_0 .. x_L, L = {blocks} blocks")
    ax.plot(*s["start"], "ks", label="input x_0")
    ax.set(xlabel="x_1", ylabel="x_2", title="one input, first two coordinates")
    ax.legend(fontsize=7)
    ax = axes[0, 2]
    for i, (kind, norms) in enumerate(s["gradient_norms"].items()):
        ax.semilogy(range(1, len(norms) + 1), norms, "o-", ms=3, color=f"C{i}", label=kind)
    ax.set(xlabel="linear layer (1 = input side)", ylabel="||dL/dW||",
           title=f"gradients at init, {s['deep_blocks']} blocks, {s.get('deep_init', 'torch')} init")
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


def _colour_bar(fig, image, cax, label: str) -> None:
    bar = fig.colorbar(image, cax=cax)
    bar.ax.tick_params(labelsize=7)
    bar.set_label(label, fontsize=8)


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
    _show(fig.add_subplot(top[0, 0]), p["digit"], f"digit ({p['label']})")
    f_lim, m_lim = _limit(p["hand_filters"]), _limit(p["hand_maps"])
    for i, name in enumerate(p["hand_names"]):
        shown_f = _show(fig.add_subplot(top[0, 1 + i]), p["hand_filters"][i], f"{name}\nfilter", symmetric=True,
                        limit=f_lim)
        shown_m = _show(fig.add_subplot(top[0, hand + 3 + i]), p["hand_maps"][i], f"{name}\nfeature map",
                        symmetric=True, limit=m_lim)
    _colour_bar(fig, shown_f, fig.add_subplot(top[0, hand + 1]), "weight")
    _colour_bar(fig, shown_m, fig.add_subplot(top[0, 2 * hand + 3]), "response")
    w_lim = _limit(p["learned_filters"][:learned])
    r_lim = _limit(p["learned_maps"][:learned])
    for r, (key, label, kw) in enumerate((("learned_filters", "weight", {"symmetric": True, "limit": w_lim}),
                                          ("learned_maps", "ReLU(conv)", {"cmap": "magma", "limit": r_lim})),
                                         start=1):
        grid = rows[r].subgridspec(1, learned + 1, width_ratios=[1] * learned + [bar], wspace=0.25)
        for i in range(learned):
            title = f"learned {i + 1}" if key == "learned_filters" else f"ReLU(conv {i + 1})"
            shown = _show(fig.add_subplot(grid[0, i]), p[key][i], title, **kw)
        _colour_bar(fig, shown, fig.add_subplot(grid[0, learned]), label)
    more = len(p["learned_filters"]) - learned
    fig.suptitle("hand-made edge filters and the first-layer filters of a small CNN (test accuracy "
                 f"{s['cnn_accuracy']:.3f}{f'; first {learned} of {learned + more} filters' if more else ''})",
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
        _show(axes[0, i], p["hand_maps"][i], f"{name}", symmetric=True)
        _show(axes[1, i], p["hand_max"][i] if i % 2 == 0 else p["hand_avg"][i],
              f"{'max' if i % 2 == 0 else 'avg'} pool {k}x{k}", symmetric=True)
    c = int(np.argmax([np.abs(np.asarray(m)).sum() for m in p["learned_maps"]]))  # the most active learned map
    j = max(3, n)
    _show(axes[0, j], p["learned_maps"][c], f"learned map {c + 1}", cmap="magma")
    _show(axes[0, j + 1], p["learned_maps_shifted"][c], f"digit shifted {s['shift']} px", cmap="magma")
    _show(axes[1, j], p["learned_max"][c], f"max pool {k}x{k}", cmap="magma")
    _show(axes[1, j + 1], p["learned_max_shifted"][c], "max pool, shifted", cmap="magma")
    fig.suptitle(f"shift {s['shift']} px: feature maps change by {s['change_before_pool']:.3f} (relative), after max "
                 f"pooling by {s['change_after_pool']['max']:.3f}, after average pooling by "
                 f"{s['change_after_pool']['avg']:.3f}; equivariance error {s['equivariance_error']:.1e}", fontsize=8)
    return plotting.save(fig, path)


def unet(s: dict[str, Any], path: Path) -> Path:
    rows = [("noisy", "noisy"), ("skips", "U-Net"), ("no_skips", "no skips"), ("clean", "clean")]
    cols = len(s["panels"]["clean"])
    fig = plotting.figure(figsize=(1.4 * cols + 4, 6))
    grid = fig.add_gridspec(len(rows), cols + 3)
    for r, (key, label) in enumerate(rows):
        for c in range(cols):
            ax = fig.add_subplot(grid[r, c])
            _show(ax, s["panels"][key][c], label if c == 0 else "")
            ax.imshow(np.asarray(s["panels"][key][c]), cmap="gray", vmin=0, vmax=1)
    ax = fig.add_subplot(grid[:, cols:])
    names = ["noisy input", "U-Net", "no skips"]
    means = [s["psnr_noisy"], s["psnr"]["skips"]["mean"], s["psnr"]["no_skips"]["mean"]]
    stds = [0.0, s["psnr"]["skips"]["std"], s["psnr"]["no_skips"]["std"]]
    ax.bar(names, means, yerr=stds, color=["gray", "C0", "C1"], capsize=4)
    for i, kind in enumerate(("skips", "no_skips"), start=1):
        ax.plot([i] * len(s["psnr"][kind]["values"]), s["psnr"][kind]["values"], "k.", ms=4)
    ax.set(ylabel="PSNR on held-out digits (dB)",
           title=f"{s['steps']} steps, noise {s['noise']:g}, {s['seeds']} seed(s)\nskips - no skips: "
                 f"{s['gap_db']:.2f} ± {s['gap_std_err_db']:.2f} dB")
    return plotting.save(fig, path)
