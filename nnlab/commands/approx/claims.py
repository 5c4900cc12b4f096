"""The claims of `nnlab approx`: Barron's rate and bound, the curse of dimensionality, the baselines."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from nnlab.commands.approx.curves import FLOOR
from nnlab.commands.approx.readers import curve, fitted_slope
from nnlab.core.claims import check, claim
from nnlab.nn import approximation as ap

if TYPE_CHECKING:
    from nnlab.commands.approx.config import ApproxConfig

SLOPE_TOLERANCE = 0.1   # about one seed-to-seed std of a fitted slope (0.04-0.11 measured at d = 8, 3 seeds)
FLATTEN_MARGIN = 0.25   # the Lipschitz slope at the largest d must be this much flatter than at the smallest
EXACT = 1e-20           # relative MSE of an exact fit: float64 rounding squared, times conditioning
FAST_ERROR = 1e-6       # relative MSE at which the kernel and the networks are compared (width needed to reach it)
EXP_R2 = 0.95           # R^2 of log(error) on D that an exponential decay clears and a power law does not
BUMP_CF = 1.0           # C_f = int |f^(w)| dw of the bump (cos form), every d


def first_of_kind(summary: dict[str, Any], kind: str) -> str | None:
    return next((name for name, info in summary["targets"].items() if info["kind"] == kind), None)


def check_claims(summary: dict[str, Any], config: ApproxConfig) -> list[dict[str, Any]]:
    claims = []
    dims, records = config.dims, summary["results"]
    smooth = first_of_kind(summary, "smooth")
    nets = [m for m in summary["methods"] if m.startswith("net:")]
    if smooth:
        for method in nets:
            slopes = {str(d): fitted_slope(summary, smooth, d, method, converged=-math.inf) for d in dims}
            known = [s for s in slopes.values() if s is not None]
            worst = max(known) if known else None
            claims.append(claim(f"approx.barron-rate.{method}",
                f"Barron: {smooth}'s squared L2 error falls at least like 1/D in every d ({method}, "
                f"log-log slope on D >= {config.slope_from}; 'at rounding' = already below {FLOOR:g} Var f)",
                {k: (None if v is None else "at rounding" if v == -math.inf else round(v, 3))
                 for k, v in slopes.items()},
                f"every slope <= {-1 + SLOPE_TOLERANCE:g} (-1, tolerance {SLOPE_TOLERANCE})",
                worst is not None and len(known) == len(dims) and worst <= -1 + SLOPE_TOLERANCE))
    if "bump" in summary["targets"] and "net:cos" in nets:
        ratios = [r["mse"] * r["width"] / BUMP_CF**2 for r in records
                  if r["target"] == "bump" and r["method"] == "net:cos"]
        claims.append(claim("approx.barron-bound",
            "Barron's bound for cos networks: MSE <= C_f^2 / D with C_f = 1 for the bump, "
                            "at every d and D (max of MSE * D / C_f^2)", round(max(ratios), 4), "<= 1",
                            max(ratios) <= 1))
    lipschitz = first_of_kind(summary, "lipschitz")
    if lipschitz and len(dims) >= 2:
        for method in nets:
            slopes = {str(d): fitted_slope(summary, lipschitz, d, method) for d in dims}
            lo, hi = slopes[str(min(dims))], slopes[str(max(dims))]
            flatter = None if lo is None or hi is None else hi - lo
            claims.append(claim(f"approx.curse.{method}",
                f"Curse of dimensionality: {lipschitz}'s error curves flatten as d grows ({method}; slope at "
                f"d = {max(dims)} minus slope at d = {min(dims)})",
                {"slopes": {k: (None if v is None else round(v, 3)) for k, v in slopes.items()},
                 "flatter_by": None if flatter is None else round(flatter, 3)},
                f">= {FLATTEN_MARGIN}", flatter is not None and flatter >= FLATTEN_MARGIN))
    linear = first_of_kind(summary, "linear")
    if linear and config.baselines:
        worst = max(r["rel_mse"] for r in records if r["target"] == linear and r["method"] == "linear")
        claims.append(check("approx.linear-exact",
            "Linear regression is exact on the linear target (max relative MSE over d)",
                            float(f"{worst:.3g}"), f"< {EXACT:g} (rounding)", worst < EXACT))
    if smooth and config.baselines and 1 in dims:
        rows = curve(records, smooth, 1, "kernel")
        # The ridge (relative to the features' scale) puts a floor under the error; decay is judged above it.
        floor = max(FLOOR, 10 * config.ridge)
        fit = ap.exponential_fit([r["width"] for r in rows], [r["rel_mse"] for r in rows], floor)
        exponential = fit is not None and fit["rate"] < 0 and fit["r2_exponential"] >= EXP_R2 \
            and fit["r2_exponential"] > fit["r2_power"]
        claims.append(claim("approx.kernel-exponential",
            f"For C-infinity smooth functions, kernel ridge regression converges exponentially (lecture: "
            f"对于 C^∞ 光滑的函数，核岭回归能达到指数收敛), on {smooth}, d = 1: log(relative MSE) is linear "
            "in D down to the ridge floor (fit of log error on D against a power law's fit on log D)",
            f"fewer than 3 widths above the ridge floor {floor:g}: give smaller --widths or --ridge" if fit is None
            else {k: round(v, 4) if isinstance(v, float) else v for k, v in fit.items()},
            f"rate < 0, R^2 (exponential) >= {EXP_R2} and above the power law's",
            exponential))
        needed = {m: ap.width_needed([r["width"] for r in curve(records, smooth, 1, m)],
                                     [r["rel_mse"] for r in curve(records, smooth, 1, m)], FAST_ERROR)
                  for m in summary["methods"] if m != "linear"}
        # Our addition: the lecture sets kernel ridge beside the networks but ranks nothing.
        net_best = min((needed[m] for m in nets if needed[m] is not None), default=None)
        kernel = needed["kernel"]
        claims.append(claim("approx.kernel-beats-networks",
            f"Kernel ridge needs a smaller width than the random-feature networks to reach relative MSE "
            f"{FAST_ERROR:g} on {smooth}, d = 1",
            {"kernel": kernel and round(kernel, 1), "best network": net_best and round(net_best, 1)},
            "kernel < best network", kernel is not None and (net_best is None or kernel < net_best),
            source="nnlab"))
    return claims
