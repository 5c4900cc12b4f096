"""Section layernorm: scale invariance of LN after an affine map, what breaks it, and LN before/after sigma.

Invariance: with y = MM_{W,b}(z) = W z + b, LN(a y) = LN(y) for a > 0 because the mean and the std both
scale by a (exactly when eps = 0; with eps > 0 the std becomes sqrt(a^2 var + eps), so small a breaks it).
Scaling W alone (b kept) changes the direction of W z + b, so LN changes, unless b = 0.

Deep tanh network of `ln_depth` layers, width m, W_l ~ N(0, w^2), no bias, three variants:
    none:  h = tanh(W h)          pre: h = tanh(LN(W h))  (LN before sigma)      post: h = LN(tanh(W h))
The loss is the mean squared error to a random target; the gradient norm ||dL/dW_l|| per layer at
initialization is what the figure shows. LN before tanh is scale invariant, so its profile does not depend
on w; LN after tanh does not stop large w from saturating tanh, and the gradient then explodes toward the input.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from nnlab.commands.modules.config import ModulesConfig
from nnlab.core.claims import check, claim
from nnlab.core.seeding import stream, torch_stream
from nnlab.nn.layers import layer_norm

if TYPE_CHECKING:
    from nnlab.core.run import Run

VARIANTS = ("none", "pre", "post")
BATCH = 128
# Max difference counted as float rounding: a few hundred ulps of values of size ~1 (LN outputs have unit rms).
ROUNDING = 1e-12


def invariance(config: ModulesConfig, rng: np.random.Generator) -> dict[str, Any]:
    m = config.ln_width
    W = rng.standard_normal((m, m)) / math.sqrt(m)  # (m, m)
    b = rng.standard_normal(m) * config.ln_bias_std  # (m,)
    z = rng.standard_normal((BATCH, m))  # a batch of inputs, rows
    base = layer_norm(z @ W.T + b, eps=config.ln_eps)
    rows = []
    for a in config.ln_scales:
        both = layer_norm(z @ (a * W).T + a * b, eps=config.ln_eps)
        alone = layer_norm(z @ (a * W).T + b, eps=config.ln_eps)
        rows.append({"a": a, "both": float(np.abs(both - base).max()), "w_alone": float(np.abs(alone - base).max())})
    # Adding c to every entry of W adds c * sum(z) to every output component: LN removes it (mean subtraction).
    shifted = layer_norm(z @ (W + 0.7).T + b, eps=config.ln_eps)
    return {"rows": rows, "row_shift_diff": float(np.abs(shifted - base).max())}


def gradient_profile(config: ModulesConfig, variant: str) -> list[float]:
    """||dL/dW_l|| for l = 1..depth at initialization (float64, same weights and data for every variant)."""
    import torch
    import torch.nn.functional as F

    m, depth = config.ln_width, config.ln_depth
    gen = torch_stream(config.seed, "layernorm-deep-net")
    Ws = [(torch.randn(m, m, generator=gen, dtype=torch.float64) * config.ln_weight_std).requires_grad_()
          for _ in range(depth)]
    x = torch.randn(BATCH, m, generator=gen, dtype=torch.float64)
    target = torch.randn(BATCH, m, generator=gen, dtype=torch.float64)
    h = x
    for W in Ws:
        pre = h @ W.T  # (B, m)
        if variant == "none":
            h = torch.tanh(pre)
        elif variant == "pre":
            h = torch.tanh(F.layer_norm(pre, (m,)))
        else:
            h = F.layer_norm(torch.tanh(pre), (m,))
    loss = (h - target).square().mean()
    grads = torch.autograd.grad(loss, Ws)
    return [float(g.norm()) for g in grads]


def spread(norms: list[float]) -> float:
    """max / min of the per-layer gradient norms (1: every layer gets the same size of gradient)."""
    lo = min(norms)
    return max(norms) / lo if lo > 0 else float("inf")


def run_section(config: ModulesConfig, rec: Run) -> dict[str, Any]:
    inv = invariance(config, stream(config.seed, "layernorm-invariance"))
    for row in inv["rows"]:
        rec.log({"step": 0, "section": "layernorm", **row})
    profiles = {v: gradient_profile(config, v) for v in rec.track(VARIANTS, "layernorm: deep tanh net")}
    for v, norms in profiles.items():
        for layer, g in enumerate(norms, start=1):
            rec.log({"step": layer, "section": "layernorm", "variant": v, "grad_norm": g})
    max_both = max(r["both"] for r in inv["rows"])
    max_alone = max(r["w_alone"] for r in inv["rows"] if r["a"] != 1.0) if any(
        r["a"] != 1.0 for r in inv["rows"]) else 0.0
    spreads = {v: spread(n) for v, n in profiles.items()}
    ratio = spreads["post"] / spreads["pre"] if math.isfinite(spreads["post"]) else float("inf")
    scales = ", ".join(f"{a:g}" for a in config.ln_scales)
    claims = [
        # eps > 0 flips it at small a (tests: --ln-eps 1e-5 with a = 0.01); a check only if eps were fixed at 0.
        claim("modules.layernorm-invariant",
              f"尺度不变性: LN(MM_(aW,ab)(z)) = LN(MM_(W,b)(z)) for a in {{{scales}}}, eps = {config.ln_eps:g} "
              "(max |difference| over a, inputs and components)",
              max_both, f"<= {ROUNDING:g} (float rounding)", max_both <= ROUNDING),
        # b = 0 flips it (then scaling W alone is scaling both).
        claim("modules.layernorm-w-alone-breaks",
              "LN is not invariant to scaling W alone (b kept): max |LN(MM_(aW,b)(z)) - LN(MM_(W,b)(z))| over a != 1",
              max_alone, "> 1e-3", max_alone > 1e-3, source="nnlab"),
        # --ln-weight-std 0.01 flips it: tanh then stays linear and LN after it keeps the gradients even.
        claim("modules.prenorm-even-gradients",
              f"LN before tanh keeps the per-layer gradient norms more even than LN after tanh at init "
              f"(w = {config.ln_weight_std:g}, {config.ln_depth} layers): spread max/min, post / pre",
              round(ratio, 4) if math.isfinite(ratio) else None, "> 10", ratio > 10, source="nnlab"),
        check("modules.layernorm-row-shift",
              "LN removes the mean: adding 0.7 to every entry of W (outputs shift by 0.7 sum(z)) leaves LN unchanged",
              inv["row_shift_diff"], f"<= {ROUNDING:g}", inv["row_shift_diff"] <= ROUNDING),
    ]
    return {"invariance": inv["rows"], "max_invariance_diff": max_both, "max_w_alone_diff": max_alone,
            "row_shift_diff": inv["row_shift_diff"], "gradient_norms": profiles, "gradient_spread": spreads,
            "eps": config.ln_eps, "depth": config.ln_depth, "weight_std": config.ln_weight_std,
            "diverged": not all(math.isfinite(g) for n in profiles.values() for g in n), "claims": claims}
