"""The run of `nnlab init`: the slide's deep, wide network forward and back, per weight scale."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from nnlab.commands.init.claims import check_claims
from nnlab.commands.init.config import InitConfig, default_scales
from nnlab.nn import activations
from nnlab.nn.initializers import predicted_pre_std, weight_std

if TYPE_CHECKING:
    from nnlab.core.run import Run


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
        if not (math.isfinite(lo) and math.isfinite(hi)):  # overflowed (a legal --scale 1e30): the run diverges;
            lo, hi = finite_range(hs[1:])                  # the histogram shows what is finite (histc skips the rest)
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
                # the lecture's Cov[z_i] in place of E[z^2]: z's mean removed (the same for zero-mean z)
                "predicted_pre_std_cov": predicted_pre_std(w, n_in, float(z.std(correction=0))),
                "pre_var_rel_sd": variance_rel_sd(z, pre.shape[1]),
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


def variance_rel_sd(z, n_out: int) -> float:
    """Relative standard deviation, over W, of the mean square of y = z W (z: (B, n_in), W_ij ~ N(0, w^2)).

    Given z, each column y_i = z W_i is N(0, w^2 G) with G = z z^T (B, B), independent over the n_out columns,
    so |y_i|^2 has mean w^2 tr G and variance 2 w^4 |G|_F^2, and their average over the columns has a relative
    sd of sqrt(2 / n_out) |G|_F / tr G: about sqrt(2 / (n_out B)) for nearly orthogonal rows, sqrt(2 / n_out)
    when they are all alike. 0 when z is exactly 0 (y is then exactly 0: no spread)."""
    import torch

    peak = float(z.abs().max())
    if peak == 0:
        return 0.0
    # A float64 copy (never z itself, which the caller keeps), scaled in place: the ratio does not depend on z's
    # scale, and tiny z (1e-150) would underflow in |G|_F.
    z = z.to(dtype=torch.float64, copy=True)
    z /= peak
    # |z z^T|_F = |z^T z|_F: the smaller of (B, B) and (n_in, n_in), so a batch of 16384 rows costs no 2 GiB
    gram = z @ z.T if z.shape[0] <= z.shape[1] else z.T @ z
    trace = float(z.square().sum())
    return math.sqrt(2.0 / n_out) * float(gram.norm()) / trace  # NaN where z overflowed: the check then fails


def finite_range(tensors) -> tuple[float, float]:
    """(min, max) over the finite entries of `tensors`; (0, 0) when there are none."""
    finite = [t[t.isfinite()] for t in tensors]
    finite = [t for t in finite if t.numel()]
    if not finite:
        return 0.0, 0.0
    return min(float(t.min()) for t in finite), max(float(t.max()) for t in finite)


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
