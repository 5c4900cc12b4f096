"""The error curves of an `nnlab approx` run read as rates: log-log slopes and the width a target error needs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from nnlab.commands.approx.readers import curve
from nnlab.nn import approximation_theory as at

if TYPE_CHECKING:
    from nnlab.commands.approx.config import ApproxConfig

FLOOR = 1e-12  # relative MSE below which the error is rounding and ridge, not approximation


def fit_slopes(records: list[dict[str, Any]], config: ApproxConfig) -> list[dict[str, Any]]:
    """Slope of log MSE (mean over seeds) against log D per (target, d, method), on D >= slope_from."""
    out = []
    keys = sorted({(r["target"], r["d"], r["method"]) for r in records}, key=str)
    for target, d, method in keys:
        if method == "linear":
            continue
        rows = [r for r in curve(records, target, d, method) if r["width"] >= config.slope_from]
        ws = [r["width"] for r in rows]
        slope = at.loglog_slope(ws, [r["rel_mse"] for r in rows], FLOOR)
        per_seed = [at.loglog_slope(ws, [r["rel_mse_seeds"][i] for r in rows], FLOOR)
                    for i in range(len(rows[0]["rel_mse_seeds"]) if rows else 0)]
        per_seed = [p for p in per_seed if p is not None]
        above = sum(r["rel_mse"] > FLOOR for r in rows)
        # No slope because the error already sits at rounding level: converged faster than any power.
        converged = slope is None and bool(rows) and rows[-1]["rel_mse"] <= FLOOR
        out.append({"target": target, "d": d, "method": method, "slope": slope, "points": above,
                    "converged": converged, "seed_std": float(np.std(per_seed)) if len(per_seed) > 1 else None})
    return out


def widths_needed(records: list[dict[str, Any]], eps: float) -> list[dict[str, Any]]:
    keys = sorted({(r["target"], r["d"], r["method"]) for r in records}, key=str)
    out = []
    for target, d, method in keys:
        rows = curve(records, target, d, method)
        out.append({"target": target, "d": d, "method": method,
                    "width": at.width_needed([r["width"] for r in rows], [r["rel_mse"] for r in rows], eps)})
    return out
