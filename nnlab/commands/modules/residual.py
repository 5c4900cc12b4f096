"""Section residual: residual blocks as Euler steps of an ODE, and why residual networks train.

Euler: f(x) = tanh(A x + c) with A ~ N(0, 4/d) entries, c ~ N(0, 1/4); 64 inputs x ~ N(0, I_d). For each
L, the residual net of L blocks of step h = 1/L (nnlab.nn.residual) against the flow x(1) from RK4 with
`euler_ref_steps` steps; the error is the mean over inputs of ||x_L - x(1)||_2. A least-squares line through
(log L, log error) gives the order: slope -1 for Euler blocks, -2 for Heun blocks.

Gradients: `deep_blocks` blocks of width 64 with torch's default Linear init, on one batch of 128 random
inputs and targets (MSE). Plain block: z -> tanh(MM(tanh(MM(z)))); residual block, the lecture's
Res(z) = z + tanh(MM(tanh(MM(z)))). The gradient norm of the first layer's weights, and of every layer's.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from nnlab.commands.modules.config import ModulesConfig
from nnlab.core.claims import claim
from nnlab.core.seeding import stream, torch_stream
from nnlab.nn.residual import loglog_slope, residual_net, rk4, tanh_field

if TYPE_CHECKING:
    from nnlab.core.run import Run

INPUTS, WIDTH, BATCH = 64, 64, 128
ORDER = {"euler": -1.0, "heun": -2.0}


def euler_curve(config: ModulesConfig) -> dict[str, Any]:
    rng = stream(config.seed, "residual-field")
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


def gradient_norms(config: ModulesConfig, residual: bool) -> list[float]:
    """||dL/dW|| for every Linear layer, input side first (same weights and data for both kinds)."""
    import torch

    gen = torch_stream(config.seed, "residual-deep-net")

    def uniform(*shape):  # torch's default Linear init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), weights and biases
        return (torch.rand(*shape, generator=gen, dtype=torch.float64) * 2 - 1) / math.sqrt(WIDTH)

    Ws = [uniform(WIDTH, WIDTH).requires_grad_() for _ in range(2 * config.deep_blocks)]
    bs = [uniform(WIDTH) for _ in Ws]
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
    curve = euler_curve(config)
    for L, e in zip(curve["blocks"], curve["errors"], strict=True):
        rec.log({"step": L, "section": "residual", "blocks": L, "error": e})
    grads = {"plain": gradient_norms(config, False), "residual": gradient_norms(config, True)}
    for kind, norms in grads.items():
        for layer, g in enumerate(norms, start=1):
            rec.log({"step": layer, "section": "residual", "network": kind, "grad_norm": g})
    first = {k: v[0] for k, v in grads.items()}
    ratio = first["residual"] / first["plain"] if first["plain"] > 0 else float("inf")
    slope, expected = curve["slope"], ORDER["euler"]
    claims = [
        # --euler-scheme heun flips it (slope about -2); too few reference steps flatten it.
        claim("modules.euler-order-1",
              f"ODE解释: {config.euler_scheme} residual blocks x + h f(x), h = 1/L, approach the flow of "
              f"dx/dt = f(x) with error about C/L (fitted log-log slope over L = {curve['blocks'][0]}.."
              f"{curve['blocks'][-1]}, r^2 {curve['fit_r2']:.4f})",
              round(slope, 4) if math.isfinite(slope) else None, "within -1 ± 0.15",
              math.isfinite(slope) and abs(slope - expected) <= 0.15),
        # --deep-blocks 1 flips it: one block is too shallow for the plain net's gradient to vanish.
        claim("modules.residual-gradient",
              f"a deep residual network ({config.deep_blocks} blocks) keeps the first layer's gradient that a "
              "plain one of the same depth loses: ||dL/dW_1|| residual / plain",
              ratio, "> 100", ratio > 100, source="nnlab"),
    ]
    diverged = not (math.isfinite(slope) and all(math.isfinite(g) for n in grads.values() for g in n))
    return {**curve, "scheme": config.euler_scheme, "ref_steps": config.euler_ref_steps, "gradient_norms": grads,
            "first_grad": first, "first_grad_ratio": ratio, "deep_blocks": config.deep_blocks,
            "diverged": diverged, "claims": claims}
