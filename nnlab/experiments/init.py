"""Initialization: activation statistics through a deep, wide network (lecture: 初始化).

The slide's experiment exactly: dims = [width] * (depth + 1), x = randn(batch, width), and for each
layer W = w * randn(n_in, n_out), h = act(h @ W). With no --scale it compares the slide's three scales
(0.05 saturates tanh, 0.01 vanishes, Xavier keeps the spread) on the same input and the same random
weight directions, so only w differs between rows of the figure. With ReLU the default pair is
Xavier (variance halves each layer) against He (variance kept).

Beyond the slides: the backward pass. A fixed random upstream gradient g = dL/dh_L (L = <g, h_L>) is
propagated back, and the std of dL/dh_l per layer shows gradients vanishing or exploding the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nnlab.core.claims import claim
from nnlab.core.config import ExperimentConfig, check_list, param
from nnlab.core.summaries import layers_by_scale
from nnlab.nn import activations
from nnlab.nn.initializers import NAMED, check_scale, predicted_pre_std, weight_std

if TYPE_CHECKING:
    from nnlab.core.run import Run

SLIDE_SCALES = ["0.05", "0.01", "xavier"]
RELU_SCALES = ["xavier", "he"]
# Gains w sqrt(n_in) at or below which tanh is expected to vanish, at or above which to saturate
# (the slide's 0.01 and 0.05 at width 4096 are 0.64 and 3.2; Xavier is 1).
VANISHING_GAIN = 0.8
SATURATING_GAIN = 2.0


@dataclass
class InitConfig(ExperimentConfig):
    scale: list[str] = param(
        [],
        "Weight scale w in W = w * randn(n_in, n_out): a number, 'xavier' (1/sqrt(n_in)) or 'he' "
        "(sqrt(2/n_in)). Repeat to compare. Empty: 0.05, 0.01, xavier (the slides); xavier, he for relu.",
        check=check_scale,
    )
    activation: str = param(
        "tanh",
        f"Activation after each layer: {', '.join(activations.NAMES)} "
        "(leaky_relu:GAMMA, softplus:BETA set the parameter).",
        check=activations.check_spec,
    )
    width: int = param(4096, "Units in every layer (n_in = n_out = width).", low=1, high=65536)
    depth: int = param(6, "Weight layers: dims = [width] * (depth + 1).", low=1, high=1000)
    batch_size: int = param(16, "Rows of the input x = randn(batch_size, width).", low=1, high=65536)
    dtype: str = param("float32", "Floating point type; float32 draws the weights 8x faster on CPU.",
                       choices=["float32", "float64"])
    bins: int = param(50, "Histogram bins per layer.", low=2, high=1000)

    def validate(self) -> None:
        from nnlab.core.errors import UserError

        check_list("scale", self.scale)
        # The weights are depth matrices of width^2 numbers, resident at once: refuse what cannot fit.
        nbytes = self.depth * self.width**2 * (4 if self.dtype == "float32" else 8)
        if nbytes > 16 * 2**30:
            raise UserError(f"width/depth: {self.depth} layers of {self.width}^2 weights need "
                            f"{nbytes / 2**30:.0f} GiB; keep it under 16 GiB")


def memory_bytes(config: InitConfig) -> int:
    """The depth weight matrices (resident at once), and per layer and scale the activations, pre-activations
    and gradients (batch x width each) kept for the backward pass, plus the interpreter and libraries."""
    item = 4 if config.dtype == "float32" else 8
    activations_kept = 4 * (config.depth + 1) * config.batch_size * config.width
    return item * (config.depth * config.width**2 + activations_kept) + 200 * 2**20


# A seconds-long smoke version: everything but the width.
QUICK = {"width": 512}


def default_scales(activation: str) -> list[str]:
    name = activation.partition(":")[0]
    return RELU_SCALES if name in ("relu", "leaky_relu") else SLIDE_SCALES


# ----------------------------------------------------------------------------------------------------
# The experiment


def propagate(x, directions, w: float, act: activations.Activation, upstream, bins: int) -> dict[str, Any]:
    """Forward h_l = act((h_{l-1} @ G_l) * w), then back-propagate `upstream` = dL/dh_L.

    x: (B, n); directions: depth tensors G_l of shape (n, n), standard normal; upstream: (B, n).
    Returns per-layer statistics and histogram counts (plain python numbers).
    """
    import torch

    h = x.detach().requires_grad_(True)
    hs, pres = [h], []
    for G in directions:
        pre = (h @ G) * w  # (B, n); equal to h @ (w G) without materialising w G
        h = act.torch_fn(pre)
        pres.append(pre)
        hs.append(h)
    grads = torch.autograd.grad(hs[-1], hs, grad_outputs=upstream)  # dL/dh_l for l = 0..depth

    n_in = x.shape[1]
    layers, counts = [], []
    with torch.no_grad():
        lo, hi = act.bounds or (min(float(t.min()) for t in hs[1:]), max(float(t.max()) for t in hs[1:]))
        if hi <= lo:  # every unit equal (e.g. relu dead everywhere): widen so the histogram has a bin
            lo, hi = lo - 0.5, hi + 0.5
        for i, (pre, h) in enumerate(zip(pres, hs[1:], strict=True), start=1):
            z = hs[i - 1]
            row = {
                "layer": i,
                "mean": float(h.mean()),
                "std": float(h.std(correction=0)),
                "pre_std": float(pre.std(correction=0)),
                "predicted_pre_std": predicted_pre_std(w, n_in, float(z.square().mean().sqrt())),
                "saturated": None,
                "grad_std": float(grads[i].std(correction=0)),
            }
            if act.saturation is not None:
                s_lo, s_hi = act.saturation
                row["saturated"] = float(((h < s_lo) | (h > s_hi)).double().mean())
            layers.append(row)
            counts.append([int(c) for c in torch.histc(h.double(), bins=bins, min=lo, max=hi).tolist()])
    edges = [lo + (hi - lo) * k / bins for k in range(bins + 1)]
    return {
        "layers": layers,
        "input_grad_std": float(grads[0].std(correction=0)),
        "histogram": {"edges": edges, "counts": counts},
    }


def run(config: InitConfig, rec: Run) -> dict[str, Any]:
    import torch

    from nnlab.core.seeding import seed_everything, torch_generator

    seed_everything(config.seed)
    act = activations.get(config.activation)
    scales = config.scale or default_scales(config.activation)
    n, dtype, device = config.width, getattr(torch, config.dtype), rec.device
    gen = torch_generator(config.seed, device)

    # The draw order is part of what a seed means: input, the depth weight directions, upstream gradient.
    def randn(*shape):
        return torch.randn(*shape, generator=gen, device=device, dtype=dtype)

    x = randn(config.batch_size, n)
    directions = [randn(n, n) for _ in rec.track(range(config.depth), "drawing weights")]
    upstream = randn(config.batch_size, n)

    results: dict[str, dict[str, Any]] = {}
    for spec in rec.track(scales, "propagating"):
        w = weight_std(spec, n)
        result = propagate(x, directions, w, act, upstream, config.bins)
        results[spec] = {"weight_std": w, **result}
        for row in result["layers"]:
            rec.log({"step": row["layer"], "scale": spec, **{k: v for k, v in row.items() if k != "layer"}})

    layers = {spec: r["layers"] for spec, r in results.items()}
    return {
        "activation": act.name,
        "width": n,
        "depth": config.depth,
        "scales": scales,
        # One list for a single scale (the common case for `--scale X`); one per scale when comparing.
        "layers": layers[scales[0]] if len(scales) == 1 else layers,
        "weight_std": {spec: r["weight_std"] for spec, r in results.items()},
        "input_grad_std": {spec: r["input_grad_std"] for spec, r in results.items()},
        "histograms": {spec: r["histogram"] for spec, r in results.items()},
        "claims": check_claims(layers, act.name, {s: r["weight_std"] * math.sqrt(n) for s, r in results.items()}),
    }


# ----------------------------------------------------------------------------------------------------
# Reading the numbers


def variance_growth(rows: list[dict[str, Any]]) -> float:
    """Geometric-mean ratio Var[pre_{l+1}] / Var[pre_l] over the layers (1: kept, 0.5: halved)."""
    if len(rows) < 2:
        return float("nan")
    first, last = rows[0]["pre_std"], rows[-1]["pre_std"]
    if first <= 0 or last <= 0:
        return 0.0
    return (last / first) ** (2.0 / (len(rows) - 1))


def std_ratio(rows: list[dict[str, Any]]) -> float:
    """std after the last layer / after the first; 0 when the first is already 0 (underflow: vanished)."""
    return rows[-1]["std"] / rows[0]["std"] if rows[0]["std"] > 0 else 0.0


def check_claims(layers: dict[str, list[dict[str, Any]]], activation: str,
                 gains: dict[str, float]) -> list[dict[str, Any]]:
    """The lecture's initialization claims that this run's scales and activation can test.

    gains: w sqrt(n_in) per scale, the factor by which the first layer multiplies the input's spread.
    """
    claims = []
    for spec, rows in layers.items():
        errors = [abs(r["pre_std"] / r["predicted_pre_std"] - 1) for r in rows if r["predicted_pre_std"] > 0]
        worst = max(errors) if errors else float("nan")
        claims.append(claim(f"init.variance-formula.{spec}",
            f"scale {spec}: Var[y] = n_in w^2 E[z^2] predicts every layer's pre-activation std",
            round(worst, 4), "max relative error < 0.05", worst < 0.05,
        ))
    name = activation.partition(":")[0]
    if name == "tanh":
        # The slide's 0.01 and 0.05 at width 4096 are gains w sqrt(n_in) of 0.64 and 3.2; a numeric scale
        # is judged by its gain, so the claims stay meaningful at any width.
        for spec, rows in layers.items():
            if spec in NAMED:
                continue
            gain = gains[spec]
            if gain <= VANISHING_GAIN:
                ratio = std_ratio(rows)
                claims.append(claim(f"init.vanishes.{spec}",
                    f"scale {spec} (gain w sqrt(n_in) = {gain:.2f}): tanh activations vanish with depth "
                    "(std last / first layer)", round(ratio, 4), "< 0.2", ratio < 0.2))
            if gain >= SATURATING_GAIN:
                sat = rows[-1]["saturated"]
                claims.append(claim(f"init.saturates.{spec}",
                    f"scale {spec} (gain w sqrt(n_in) = {gain:.2f}): tanh saturates "
                    "(fraction |h| > 0.99 at the last layer)", round(sat, 4), "> 0.2 (slide: about a third)",
                    sat > 0.2))
        if "xavier" in layers:
            rows = layers["xavier"]
            ratio = std_ratio(rows)
            sat = max(r["saturated"] for r in rows)
            claims.append(claim("init.xavier-keeps-spread",
                "Xavier keeps tanh's spread: std last / first layer, no saturation",
                {"std_ratio": round(ratio, 4), "max_saturated": round(sat, 4)},
                "std_ratio > 0.2 and max_saturated < 0.05", ratio > 0.2 and sat < 0.05,
            ))
    if name == "relu":
        if "he" in layers:
            g = variance_growth(layers["he"])
            claims.append(claim("init.he-keeps-variance", "He keeps ReLU's variance (Var ratio per layer)", round(g, 4),
                                "within 0.85-1.15", 0.85 <= g <= 1.15))
        if "xavier" in layers:
            g = variance_growth(layers["xavier"])
            claims.append(claim("init.xavier-halves-relu",
                "Xavier halves ReLU's variance every layer (Var ratio per layer)", round(g, 4),
                                "within 0.4-0.6", 0.4 <= g <= 0.6))
    return claims


def headline(summary: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """Columns and rows of the table printed at the end of a run."""
    columns = ["scale", "w", "pre std L1", "std L1", "std last", "saturated last", "grad std input"]
    rows = []
    for spec, layer_rows in layers_by_scale(summary).items():
        first, last = layer_rows[0], layer_rows[-1]
        rows.append([spec, summary["weight_std"][spec], first["pre_std"], first["std"], last["std"],
                     last["saturated"], summary["input_grad_std"][spec]])
    return columns, rows
