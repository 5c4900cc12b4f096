"""The claims of `nnlab activations`: saturation where the closed forms say, sigma'(0), the vanishing product."""

from __future__ import annotations

import math
from typing import Any

from nnlab.commands.activations.quadrature import STEP
from nnlab.core.claims import check, claim


def saturation_onset(name: str, t: float) -> float | None:
    """Closed form of the |z| beyond which |sigma'(z)| < t, for sigmoid and tanh.

    sigmoid'(z) = 1 / (4 cosh^2(z/2)) < t  <=>  |z| > 2 arccosh(1 / (2 sqrt t));
    tanh'(z) = 1 / cosh^2(z) < t           <=>  |z| > arccosh(1 / sqrt t).
    """
    if name == "sigmoid" and t < 0.25:
        return 2 * math.acosh(1 / (2 * math.sqrt(t)))
    if name == "tanh" and t < 1:
        return math.acosh(1 / math.sqrt(t))
    return None


def check_claims(summary: dict[str, Any]) -> list[dict[str, Any]]:
    acts, t, s, L = summary["activations"], summary["threshold"], summary["input_std"], summary["depth"]
    z_max = summary["z"][-1]
    claims = []
    for name in ("sigmoid", "tanh"):
        onset = saturation_onset(name, t)
        if name not in acts or onset is None or onset >= z_max:
            continue
        regions = acts[name]["saturated_regions"]
        grid_step = summary["z"][1] - summary["z"][0]
        measured = [round(regions[0][1], 4), round(regions[-1][0], 4)] if len(regions) == 2 else regions
        ok = len(regions) == 2 and abs(regions[0][1] + onset) <= grid_step and abs(regions[-1][0] - onset) <= grid_step
        fraction = acts[name]["saturated_fraction"]
        closed = math.erfc(onset / (s * math.sqrt(2)))  # P(|Z| > onset)
        # The fraction is a Riemann sum of an indicator on the quadrature grid (step h): each of its two edges can be
        # off by up to h times the density there, so that is the tolerance, not a fixed number.
        tolerance = 2 * STEP * math.exp(-0.5 * (onset / s) ** 2) / math.sqrt(2 * math.pi) + 1e-12
        claims.append(check(f"activations.saturates.{name}",
            f"{name} saturates in both tails: |sigma'| < {t:g} exactly for |z| > {onset:.4f} (closed form); "
            f"the fraction of N(0, {s:g}^2) inputs there is P(|Z| > {onset:.3f}) = {closed:.3g}",
            {"regions_end_start": measured, "fraction": float(f"{fraction:.6g}")},
            f"region edges within one grid step; fraction within {tolerance:.2g} (the quadrature's reach)",
            ok and abs(fraction - closed) <= tolerance))
    if "sigmoid" in acts:
        # sigma'(z) = 1/4 - z^2/16 + O(z^4): a grid whose nearest point to 0 is step/2 away peaks that much lower.
        top = acts["sigmoid"]["max_abs_grad"]
        step = summary["z"][1] - summary["z"][0]
        slack = (step / 2) ** 2 / 16
        claims.append(check("activations.sigmoid-derivative-max",
            "sigmoid' is at most 1/4 (at z = 0), so a product through L layers is at most 4^-L",
            top, f"<= 1/4, and within {slack:.2g} of it (the grid's nearest point to 0)",
            0.25 - slack - 1e-15 <= top <= 0.25 + 1e-15))
    factors = {n: a["products"]["per_layer_factor"] for n, a in acts.items()}
    if "sigmoid" in acts:  # the claim is about the saturating sigmoid; without it there is nothing to judge
        claims.append(claim("activations.vanishing-product",
            f"Saturating activations make derivatives vanish (lecture: 激活函数饱和, 导数消失): E|prod of {L} "
            f"derivatives| shrinks geometrically, fastest for the saturating sigmoid (per-layer factor "
            f"E|sigma'(z)|, z ~ N(0, {s:g}^2))",
            {n: round(f, 4) for n, f in factors.items()},
            "sigmoid's factor is the smallest shown and < 1/4", factors["sigmoid"] == min(factors.values())
            and factors["sigmoid"] < 0.25))
    expected_at_0 = {"relu": 0.0, "sigmoid": 0.25, "tanh": 1.0, "gelu": 0.5, "cos": 0.0}
    worst = 0.0
    measured = {}
    for n, a in acts.items():
        base, _, arg = n.partition(":")
        ref = expected_at_0.get(base, float(arg or 0.01) if base == "leaky_relu" else 0.5)  # softplus: 1/2
        measured[n] = a["grad_at_0"]
        worst = max(worst, abs(a["grad_at_0"] - ref))
    claims.append(check("activations.derivative-at-zero",
        "sigma'(0) as the closed forms say: relu 0 (torch's convention), sigmoid 1/4, tanh 1, "
                        "leaky_relu gamma, gelu 1/2, softplus 1/2, cos 0", measured, "within 1e-15",
                        worst <= 1e-15))
    return claims

