"""Section layernorm: scale invariance of LN after an affine map, what breaks it, and LN before/after sigma.

Invariance: with y = MM_{W,b}(z) = W z + b, LN(a y) = LN(y) for a > 0 because the mean and the std both
scale by a (exactly when eps = 0; with eps > 0 the std becomes sqrt(a^2 var + eps), so small a breaks it).
Scaling W alone (b kept) changes the direction of W z + b, so LN changes, unless b = 0.

Deep tanh network of `ln_depth` layers, width m, W_l ~ N(0, w^2), no bias, three variants:
    none:  h = tanh(W h)          pre: h = tanh(LN(W h))  (LN before sigma)      post: h = LN(tanh(W h))
The loss is the mean squared error to a random target; the gradient norm ||dL/dW_l|| per layer at
initialization is what the figure shows (the first seed's). LN before tanh is scale invariant, so its profile
does not depend on w; LN after tanh does not stop large w from saturating tanh, and the gradient then explodes
toward the input. The claim compares the spread max/min of those norms, post / pre, over `seeds` draws.

The identities are checks: the invariance is computed with the lecture's LN-S (no eps; `ln_eps` > 0 is shown
beside it, where small a breaks it), and scaling W alone is the same as dividing b by a:
LN(MM_(aW,b)(z)) = LN(a MM_(W,b/a)(z)) = LN(MM_(W,b/a)(z)), a different bias, so not invariant unless b = 0.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from nnlab.commands.modules import spread as stats
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

    def ln(weights, bias, eps):
        return layer_norm(z @ weights.T + bias, eps=eps)

    base, base_eps = ln(W, b, 0.0), ln(W, b, config.ln_eps)
    rows = []
    for a in config.ln_scales:
        rows.append({"a": a,
                     "both": float(np.abs(ln(a * W, a * b, config.ln_eps) - base_eps).max()),  # at the run's eps
                     "both_exact": float(np.abs(ln(a * W, a * b, 0.0) - base).max()),  # the lecture's LN-S
                     "w_alone": float(np.abs(ln(a * W, b, 0.0) - base).max()),
                     "w_alone_vs_b_over_a": float(np.abs(ln(a * W, b, 0.0) - ln(W, b / a, 0.0)).max())})
    # Adding c to every entry of W adds c * sum(z) to every output component: LN removes it (mean subtraction).
    shifted = ln(W + 0.7, b, 0.0)
    return {"rows": rows, "row_shift_diff": float(np.abs(shifted - base).max())}


def gradient_profile(config: ModulesConfig, variant: str, repeat: int = 0) -> list[float]:
    """||dL/dW_l|| for l = 1..depth at initialization (float64, same weights and data for every variant; draw
    `repeat` of `seeds`, the first one the stream runs before seeds existed used)."""
    import torch
    import torch.nn.functional as F

    m, depth = config.ln_width, config.ln_depth
    gen = torch_stream(config.seed, "layernorm-deep-net", *([repeat] if repeat else []))
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
    draws = [(v, k) for k in range(config.seeds) for v in VARIANTS]
    profiles_by_seed: list[dict[str, list[float]]] = [{} for _ in range(config.seeds)]
    for v, k in rec.track(draws, "layernorm: deep tanh nets"):
        profiles_by_seed[k][v] = gradient_profile(config, v, k)
    profiles = profiles_by_seed[0]  # the figure's
    for v, norms in profiles.items():
        for layer, g in enumerate(norms, start=1):
            rec.log({"step": layer, "section": "layernorm", "variant": v, "grad_norm": g})
    scaled = [r for r in inv["rows"] if r["a"] != 1.0]
    max_both = max(r["both"] for r in inv["rows"])
    max_exact = max(r["both_exact"] for r in inv["rows"])
    max_alone = max((r["w_alone"] for r in scaled), default=0.0)
    alone_identity = max(r["w_alone_vs_b_over_a"] for r in inv["rows"])
    spreads_by_seed = [{v: spread(n) for v, n in p.items()} for p in profiles_by_seed]
    # log10 of max/min per seed: the spreads are ratios spanning decades, so they are averaged in logs
    log_spread = {v: stats.summarize([_log10(s[v]) for s in spreads_by_seed]) for v in VARIANTS}
    spreads = {v: 10 ** log_spread[v]["mean"] for v in VARIANTS}  # geometric means over the seeds
    log_ratio = stats.summarize([_log10(s["post"]) - _log10(s["pre"]) for s in spreads_by_seed])
    ratio = 10 ** log_ratio["mean"]
    scales = ", ".join(f"{a:g}" for a in config.ln_scales)
    eps_note = ("" if config.ln_eps == 0 else
                f"; with this run's eps = {config.ln_eps:g} the difference is {max_both:.3g}, since sqrt(a^2 var + "
                "eps) no longer scales with a")
    eps_note_zh = ("" if config.ln_eps == 0 else
                   f"；本次运行的 eps = {config.ln_eps:g} 时差为 {max_both:.3g}，"
                   "因为 √(a²·var + eps) 不再随 a 成比例缩放")
    more_even = stats.above(log_ratio, 0.0)
    records = [
        check("modules.layernorm-invariant",
              f"尺度不变性 (scale invariance): LN(MM_(aW,ab)(z)) = LN(MM_(W,b)(z)) for a in {{{scales}}} with the "
              f"lecture's LN-S (no eps): max |difference| over a, inputs and components{eps_note}",
              max_exact, f"<= {ROUNDING:g} (float rounding)", max_exact <= ROUNDING,
              why=f"LN-S changed by {max_exact:.3g} when W and b were scaled together: a bug in the LayerNorm",
              zh=f"尺度不变性：对 a ∈ {{{scales}}}，用讲义的 LN-S（不含 eps），LN(MM_(aW,ab)(z)) = LN(MM_(W,b)(z))："
                 f"对所有 a、输入和分量取差的绝对值的最大值{eps_note_zh}",
              why_zh=f"W 与 b 一起缩放时 LN-S 变化了 {max_exact:.3g}：LayerNorm 的实现有误"),
        check("modules.layernorm-w-alone-breaks",
              "scaling W alone (b kept) is not a symmetry of LN: LN(MM_(aW,b)(z)) = LN(MM_(W,b/a)(z)), the map "
              f"with a different bias, which here differs from LN(MM_(W,b)(z)) by {max_alone:.3g} "
              f"(max over a != 1; 0 only when b = 0)",
              {"identity_error": alone_identity, "difference_from_unscaled": max_alone},
              f"identity error <= {ROUNDING:g}", alone_identity <= ROUNDING,
              why=f"LN(MM_(aW,b)) and LN(MM_(W,b/a)) differ by {alone_identity:.3g}: a bug in the LayerNorm",
              zh="只缩放 W（保持 b 不变）不是 LN 的对称性：LN(MM_(aW,b)(z)) = LN(MM_(W,b/a)(z))，即换了偏置的映射，"
                 f"它在这里与 LN(MM_(W,b)(z)) 相差 {max_alone:.3g}（对 a ≠ 1 取最大值；仅当 b = 0 时为 0）",
              why_zh=f"LN(MM_(aW,b)) 与 LN(MM_(W,b/a)) 相差 {alone_identity:.3g}，而两者本应相同："
                     "LayerNorm 的实现有误"),
        # --ln-weight-std 0.01 flips it: tanh then stays linear, LN after it keeps the gradients even (max/min
        # about 1.6 at 24 layers) while LN before it has its own fixed profile (about 8.9).
        claim("modules.prenorm-even-gradients",
              f"LN before tanh keeps the per-layer gradient norms at init more even than LN after tanh (w = "
              f"{config.ln_weight_std:g}, {config.ln_depth} layers of width {config.ln_width}): spread max/min "
              f"over the layers, post / pre, geometric mean over {config.seeds} seed(s)",
              {"ratio": round(ratio, 4), "log10_ratio": log_ratio,
               "spread_pre": round(spreads["pre"], 4), "spread_post": round(spreads["post"], 4)},
              "ratio > 1: mean log10 ratio > 2 s.e. above 0", more_even, source="nnlab",
              why=stats.one_seed_why(log_ratio, "--seeds") or (
                  f"LN after tanh spreads the gradient norms {spreads['post']:.3g}-fold over the layers and LN before "
                  f"it {spreads['pre']:.3g}-fold (post / pre {ratio:.3g}, log10 {stats.interval(log_ratio)}): at "
                  "this weight scale tanh does not saturate, so LN after it does not let gradients explode"),
              tip="--ln-weight-std 0.5",
              zh=f"在 tanh 之前做 LN（前归一化层）比在 tanh 之后做 LN（后归一化层）让初始化时各层的梯度范数更均匀"
                 f"（w = {config.ln_weight_std:g}，{config.ln_depth} 层，宽度 {config.ln_width}）：梯度范数在各层间的"
                 f"离散度 max/min 之比（后 / 前），对 {config.seeds} 个种子取几何平均",
              why_zh=stats.one_seed_why_zh(log_ratio, "--seeds") or (
                  f"tanh 之后的 LN 使各层梯度范数相差 {spreads['post']:.3g} 倍，tanh 之前的 LN 使其相差 "
                  f"{spreads['pre']:.3g} 倍（后 / 前为 {ratio:.3g}，log10 为 {stats.interval_zh(log_ratio)}）：在这个"
                  "权重尺度下 tanh 并不饱和，所以激活函数之后的 LN 不会让梯度爆炸")),
        check("modules.layernorm-row-shift",
              "LN removes the mean: adding 0.7 to every entry of W (outputs shift by 0.7 sum(z)) leaves LN unchanged",
              inv["row_shift_diff"], f"<= {ROUNDING:g}", inv["row_shift_diff"] <= ROUNDING,
              zh="LN 会减去均值：给 W 的每个元素加 0.7（输出整体平移 0.7·sum(z)）后 LN 不变"),
    ]
    return {"invariance": inv["rows"], "max_invariance_diff": max_both, "max_invariance_diff_exact": max_exact,
            "max_w_alone_diff": max_alone, "w_alone_identity_error": alone_identity,
            "row_shift_diff": inv["row_shift_diff"], "gradient_norms": profiles, "gradient_spread": spreads,
            "gradient_spread_log10": log_spread, "spread_ratio_log10": log_ratio, "seeds": config.seeds,
            "eps": config.ln_eps, "depth": config.ln_depth, "weight_std": config.ln_weight_std,
            "diverged": not all(math.isfinite(g) for p in profiles_by_seed for n in p.values() for g in n),
            "claims": records}


def _log10(value: float) -> float:
    return math.log10(value) if value > 0 else float("nan")
