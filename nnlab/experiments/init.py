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
from nnlab.nn.initializers import check_scale, predicted_pre_std, weight_std

if TYPE_CHECKING:
    from nnlab.core.run import Run

SLIDE_SCALES = ["0.05", "0.01", "xavier"]
RELU_SCALES = ["xavier", "he"]
# Gains w sqrt(n_in) at or below which tanh is expected to vanish, at or above which to saturate
# (the slide's 0.01 and 0.05 at width 4096 are 0.64 and 3.2; Xavier is 1).
# tanh regimes by gain g = w sqrt(n_in). The gates sit where the measured criteria below flip at depth 6
# (width 1024, one seed: per-layer std ratio 0.75 / 0.81 / 0.86 at g = 0.8 / 0.9 / 1.0, last-layer
# saturated fraction 0.07 / 0.19 at g = 2.0 / 2.5): within a few percent of a gate the draw decides.
MAX_WEIGHT_BYTES = 8 * 2**30  # resident weights: twice the slide's experiment in float64 is a quarter of this
VANISHING_GAIN = 0.85    # g at or below: activations shrink geometrically layer after layer
SATURATING_GAIN = 2.2    # g at or above: a sizeable share of units sits at |tanh| > 0.99
VANISHING_RATIO = 0.79   # per-layer std ratio (std_L / std_1)^(1 / (L - 1)) below which they vanished
SATURATED_SHARE = 0.1    # last-layer fraction |h| > 0.99 above which they saturated


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
        if nbytes >= MAX_WEIGHT_BYTES:
            raise UserError(f"width/depth: {self.depth} layers of {self.width}^2 weights need "
                            f"{nbytes / 2**30:.0f} GiB; keep it under {MAX_WEIGHT_BYTES / 2**30:.0f} GiB")


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


def variance_growth(rows: list[dict[str, Any]]) -> float | None:
    """Geometric-mean ratio Var[pre_{l+1}] / Var[pre_l] over the layers (1: kept, 0.5: halved); None for 1."""
    if len(rows) < 2:
        return None
    first, last = rows[0]["pre_std"], rows[-1]["pre_std"]
    if first <= 0 or last <= 0:
        return 0.0
    return (last / first) ** (2.0 / (len(rows) - 1))


def std_ratio(rows: list[dict[str, Any]]) -> float:
    """std after the last layer / after the first; 0 when the first is already 0 (underflow: vanished)."""
    return rows[-1]["std"] / rows[0]["std"] if rows[0]["std"] > 0 else 0.0


def predicted_regime(gain: float) -> str:
    if gain <= VANISHING_GAIN:
        return "vanishes"
    return "saturates" if gain >= SATURATING_GAIN else "keeps its spread"


def measured_regime(rows: list[dict[str, Any]]) -> tuple[str | None, dict[str, Any]]:
    """The regime the layers show (None when there are too few layers to tell a trend) and its numbers."""
    sat = rows[-1]["saturated"]
    ratio = per_layer_ratio(rows)
    numbers = {"per_layer_std_ratio": None if ratio is None else round(ratio, 4), "saturated_last": round(sat, 4)}
    if sat > SATURATED_SHARE:
        return "saturates", numbers
    if ratio is None:
        return None, numbers
    return ("vanishes" if ratio < VANISHING_RATIO else "keeps its spread"), numbers


def per_layer_ratio(rows: list[dict[str, Any]]) -> float | None:
    """(std_L / std_1)^(1 / (L - 1)): how much of its spread a layer keeps; None below 3 layers."""
    if len(rows) < 3:
        return None
    return std_ratio(rows) ** (1 / (len(rows) - 1))


def regime_claim(spec: str, gain: float, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The slides' three pictures as one claim per scale: 0.01 vanishes, 0.05 saturates, Xavier keeps."""
    predicted = predicted_regime(gain)
    measured, numbers = measured_regime(rows)
    numbers["regime"] = measured or f"undecided: {len(rows)} layers (a trend needs 3)"
    return claim(
        f"init.regime.{spec}",
        f"scale {spec} (gain w sqrt(n_in) = {gain:.2f}; the slides' 0.01, 0.05 and Xavier are 0.64, 3.2 and 1 "
        f"at width 4096): tanh activations {predicted} with depth",
        numbers,
        f"{predicted} (vanishes: per-layer std ratio < {VANISHING_RATIO}; saturates: last-layer share "
        f"|h| > 0.99 above {SATURATED_SHARE})",
        measured == predicted,
    )


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
        # Every scale, named or numeric, gets the regime its gain predicts and the verdict against it, so a
        # scale never drops its claim: the slide's 0.05 at width 512 (gain 1.13) is predicted, and shown, to
        # keep its spread rather than saturate.
        for spec, rows in layers.items():
            claims.append(regime_claim(spec, gains[spec], rows))
    if name == "relu":
        # The lecture's ReLU variant: Cov[y] = 1/2 n_in w^2 Cov[z], so 1/sqrt(n_in) halves and He keeps it.
        for spec, low, high, verb in (("he", 0.85, 1.15, "keeps"), ("xavier", 0.4, 0.6, "halves")):
            if spec not in layers:
                continue
            g = variance_growth(layers[spec])
            cid = "init.he-keeps-variance" if spec == "he" else "init.xavier-halves-relu"
            claims.append(claim(cid, f"{'He' if spec == 'he' else 'Xavier'} {verb} ReLU's variance every layer "
                                "(Var ratio per layer, geometric mean over the layers)",
                                "undecided: 1 layer (a ratio needs 2)" if g is None else round(g, 4),
                                f"within {low}-{high}", g is not None and low <= g <= high))
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
