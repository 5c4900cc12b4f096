"""Section residual: residual blocks as Euler steps of an ODE, and why residual networks train.

Euler: f(x) = tanh(A x + c) with A ~ N(0, 4/d) entries, c ~ N(0, 1/4); 64 inputs x ~ N(0, I_d). For each
L, the residual net of L blocks of step h = 1/L (nnlab.nn.residual) against the flow x(1) from RK4 with
`euler_ref_steps` steps; the error is the mean over inputs of ||x_L - x(1)||_2. A least-squares line through
(log L, log error) gives the order: slope -1 for Euler blocks, -2 for Heun blocks. The lecture says only
"ODE解释"; this block (a one-layer field, its branch scaled by h) is nnlab's reading of it, so the claim is
nnlab's. Repeated over `seeds` fields and inputs: the slope's mean and standard error.

Gradients: `deep_blocks` blocks of width 64, on one batch of 128 random inputs and targets (MSE), initialized
as `deep_init` says: xavier, the lecture's W ~ N(0, 1/n_in) with b = 0, or torch, nn.Linear's default
U(-1/sqrt(n_in), 1/sqrt(n_in)) for weights and biases (a gain of about 0.58 a layer, so the plain net's
gradient vanishes like 0.58^(2 L) on top of tanh's shrinking). Plain block: z -> tanh(MM(tanh(MM(z))));
residual block, the lecture's Res(z) = z + tanh(MM(tanh(MM(z)))). The gradient norm of the first layer's
weights, and of every layer's, over `seeds` draws of weights and data.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from nnlab.commands.modules import spread as stats
from nnlab.commands.modules.config import ModulesConfig
from nnlab.core.claims import claim
from nnlab.core.seeding import stream, torch_stream
from nnlab.nn.residual import loglog_slope, residual_net, rk4, tanh_field

if TYPE_CHECKING:
    from nnlab.core.run import Run

INPUTS, WIDTH, BATCH = 64, 64, 128
ORDER = {"euler": -1.0, "heun": -2.0}
SLOPE_TOLERANCE = 0.15  # "about C/L": a fitted slope within -1 ± 0.15
GAIN_BAR = 10.0  # "an order of magnitude more gradient"
INIT_WORDS = {"xavier": "the lecture's initialization W ~ N(0, 1/n_in), b = 0",
              "torch": "torch's default nn.Linear initialization U(-1/sqrt(n_in), 1/sqrt(n_in))"}
INIT_WORDS_ZH = {"xavier": "讲义的初始化 W ~ N(0, 1/n_in)、b = 0",
                 "torch": "torch 默认的 nn.Linear 初始化 U(-1/√n_in, 1/√n_in)"}


def _keys(repeat: int) -> tuple[int, ...]:
    """Stream keys of a repeat: none for the first (the stream runs before seeds existed used), else its index."""
    return (repeat,) if repeat else ()


def euler_curve(config: ModulesConfig, repeat: int = 0) -> dict[str, Any]:
    rng = stream(config.seed, "residual-field", *_keys(repeat))
    d = config.euler_dim
    A = rng.standard_normal((d, d)) * 2.0 / math.sqrt(d)
    c = rng.standard_normal(d) * 0.5
    x0 = rng.standard_normal((INPUTS, d))
    f = tanh_field(A, c)
    ref = rk4(f, x0, config.euler_ref_steps)
    blocks = sorted(config.euler_blocks)
    errors = [float(np.linalg.norm(residual_net(f, x0, L, scheme=config.euler_scheme) - ref, axis=1).mean())
              for L in blocks]
    usable = [(L, e) for L, e in zip(blocks, errors, strict=True) if e > 0 and math.isfinite(e)]
    if len(usable) >= 2:
        slope, intercept, r2 = loglog_slope(*zip(*usable, strict=True))
    else:
        slope, intercept, r2 = float("nan"), float("nan"), float("nan")
    # Trajectories of the first input's first two coordinates: the flow and the coarsest nets (for the figure).
    path = [x0[:1]]
    h = 1.0 / 64
    for _ in range(64):
        path.append(rk4(f, path[-1], 4, T=h))
    return {"blocks": blocks, "errors": errors, "slope": slope, "intercept": intercept, "fit_r2": r2,
            "flow_path": np.concatenate(path)[:, :2].round(6).tolist(),
            # the states x_0 .. x_L of the first input through nets of the smallest L (the Euler polygons)
            "net_paths": {str(L): np.concatenate([x0[:1]] + [residual_net(f, x0[:1], l + 1, T=(l + 1) / L,
                                                                         scheme=config.euler_scheme)
                                                            for l in range(L)])[:, :2].round(6).tolist()
                          for L in blocks[:3]},
            "start": x0[0, :2].tolist()}


def gradient_norms(config: ModulesConfig, residual: bool, repeat: int = 0) -> list[float]:
    """||dL/dW|| for every Linear layer, input side first (same weights and data for both kinds)."""
    import torch

    gen = torch_stream(config.seed, "residual-deep-net", *_keys(repeat))

    def uniform(*shape):  # torch's default Linear init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), weights and biases
        return (torch.rand(*shape, generator=gen, dtype=torch.float64) * 2 - 1) / math.sqrt(WIDTH)

    def normal(*shape):  # the lecture's: W = randn(n_in, n_out) / sqrt(n_in)
        return torch.randn(*shape, generator=gen, dtype=torch.float64) / math.sqrt(WIDTH)

    if config.deep_init == "torch":
        Ws = [uniform(WIDTH, WIDTH).requires_grad_() for _ in range(2 * config.deep_blocks)]
        bs = [uniform(WIDTH) for _ in Ws]
    else:
        Ws = [normal(WIDTH, WIDTH).requires_grad_() for _ in range(2 * config.deep_blocks)]
        bs = [torch.zeros(WIDTH, dtype=torch.float64) for _ in Ws]
    x = torch.randn(BATCH, WIDTH, generator=gen, dtype=torch.float64)
    target = torch.randn(BATCH, WIDTH, generator=gen, dtype=torch.float64)
    h = x
    for l in range(0, len(Ws), 2):
        f = torch.tanh(torch.tanh(h @ Ws[l].T + bs[l]) @ Ws[l + 1].T + bs[l + 1])  # (B, WIDTH)
        h = h + f if residual else f
    loss = (h - target).square().mean()
    grads = torch.autograd.grad(loss, Ws)
    return [float(g.norm()) for g in grads]


def run_section(config: ModulesConfig, rec: Run) -> dict[str, Any]:
    curves = [euler_curve(config, k) for k in rec.track(range(config.seeds), "residual: Euler curves")]
    curve = curves[0]  # the figure's
    for L, e in zip(curve["blocks"], curve["errors"], strict=True):
        rec.log({"step": L, "section": "residual", "blocks": L, "error": e})
    by_seed = [{"plain": gradient_norms(config, False, k), "residual": gradient_norms(config, True, k)}
               for k in rec.track(range(config.seeds), "residual: deep nets")]
    grads = by_seed[0]
    for kind, norms in grads.items():
        for layer, g in enumerate(norms, start=1):
            rec.log({"step": layer, "section": "residual", "network": kind, "grad_norm": g})
    # Geometric means over the seeds (the norms span decades): first-layer norms, and the ratio's log10 spread.
    log_first = {kind: stats.summarize([_log10(g[kind][0]) for g in by_seed]) for kind in ("plain", "residual")}
    first = {kind: 10 ** v["mean"] for kind, v in log_first.items()}
    log_gain = stats.summarize([_log10(g["residual"][0]) - _log10(g["plain"][0]) for g in by_seed])
    ratio = 10 ** log_gain["mean"]
    plain_decay = 10 ** stats.summarize([_log10(g["plain"][0]) - _log10(g["plain"][-1]) for g in by_seed])["mean"]
    slope = stats.summarize([c["slope"] for c in curves])
    expected = ORDER["euler"]
    blocks = curve["blocks"]
    claims = [
        # --euler-scheme heun flips it (slope about -2); too few reference steps flatten it.
        claim("modules.euler-order-1",
              f"ODE reading (ODE解释) of residual blocks: {config.euler_scheme} blocks x + h f(x), f(x) = tanh(A x + "
              f"c), h = 1/L, approach the flow of dx/dt = f(x) with error about C/L: log-log slope of the error "
              f"over L = {blocks[0]}..{blocks[-1]}, mean over {config.seeds} seed(s) of the field and inputs",
              {"slope": slope, "fit_r2_first": round(curve["fit_r2"], 6)},
              f"{expected:g} ± {SLOPE_TOLERANCE:g}, the mean ± 2 s.e. inside", stats.within(
                  slope, expected, SLOPE_TOLERANCE), source="nnlab",
              why=stats.one_seed_why(slope, "--seeds") or (
                  f"the error falls with slope {stats.interval(slope)}, not -1 ± {SLOPE_TOLERANCE:g}: "
                  + ("Heun's blocks are second order" if config.euler_scheme == "heun" else
                     "the reference flow or the block counts do not resolve Euler's first order")),
              tip="--euler-scheme euler" if config.euler_scheme != "euler" else "--euler-ref-steps 4096",
              zh=f"残差连接模块的 ODE解释：{config.euler_scheme} 残差块 x + h f(x)（f(x) = tanh(A x + c)，h = 1/L）"
                 f"逼近 dx/dt = f(x) 的流，误差约为 C/L：误差对 L = {blocks[0]}..{blocks[-1]} 的双对数斜率，"
                 f"对 {config.seeds} 个种子（向量场与输入）取平均",
              why_zh=stats.one_seed_why_zh(slope, "--seeds") or (
                  f"误差下降的斜率为 {stats.interval_zh(slope)}，不在 -1 ± {SLOPE_TOLERANCE:g} 之内："
                  + ("Heun 残差块是二阶的" if config.euler_scheme == "heun" else
                     "参考流或残差块的个数不足以分辨 Euler 的一阶收敛"))),
        # --deep-blocks 1 flips it: one block is too shallow for the plain net to fall behind (ratio about 1.7).
        claim("modules.residual-gradient",
              f"with {INIT_WORDS[config.deep_init]}, the first layer of a {config.deep_blocks}-block residual "
              "network (Res(z) = z + tanh(MM(tanh(MM(z))))) gets at least ten times the gradient of the first "
              "layer of the plain network of the same depth (z -> tanh(MM(tanh(MM(z))))): ||dL/dW_1|| residual / "
              f"plain, geometric mean over {config.seeds} seed(s)",
              {"ratio": round(ratio, 4), "log10_ratio": log_gain, "plain_first_over_last": float(f"{plain_decay:.4g}")},
              f"> {GAIN_BAR:g}: mean log10 ratio > 2 s.e. above 1", stats.above(log_gain, math.log10(GAIN_BAR)),
              source="nnlab",
              why=stats.one_seed_why(log_gain, "--seeds") or (
                  f"the residual network's first layer gets {ratio:.3g} times the plain one's gradient (log10 "
                  f"{stats.interval(log_gain)}): at {config.deep_blocks} block(s) the plain stack is too shallow "
                  "to lose much"),
              tip="--deep-blocks 20",
              zh=f"用{INIT_WORDS_ZH[config.deep_init]}时，{config.deep_blocks} 个残差块的残差网络"
                 "（Res(z) = z + tanh(MM(tanh(MM(z))))）第一层得到的梯度至少是同样深度的普通网络"
                 "（z -> tanh(MM(tanh(MM(z))))）第一层的十倍：||dL/dW_1|| 残差 / 普通，"
                 f"对 {config.seeds} 个种子取几何平均",
              why_zh=stats.one_seed_why_zh(log_gain, "--seeds") or (
                  f"残差网络第一层得到的梯度是普通网络的 {ratio:.3g} 倍（log10 为 {stats.interval_zh(log_gain)}）："
                  f"只有 {config.deep_blocks} 个残差块时，普通网络太浅，梯度损失不多")),
    ]
    diverged = not (all(math.isfinite(c["slope"]) for c in curves)
                    and all(math.isfinite(x) for g in by_seed for n in g.values() for x in n))
    return {**curve, "slope_seeds": slope, "scheme": config.euler_scheme, "ref_steps": config.euler_ref_steps,
            "gradient_norms": grads, "first_grad": first, "first_grad_ratio": ratio, "first_grad_log10": log_first,
            "first_grad_ratio_log10": log_gain, "plain_first_over_last": plain_decay, "deep_blocks": config.deep_blocks,
            "deep_init": config.deep_init, "seeds": config.seeds, "diverged": diverged, "claims": claims}


def _log10(value: float) -> float:
    return math.log10(value) if value > 0 else float("-inf") if value == 0 else float("nan")
