"""Readers of a finished run's summary.json, shared by an experiment's headline and its plots.

They live here, not in the experiment modules, so that plots (and `nnlab redraw`) never import an
experiment: a figure is drawn from what the run wrote, with nothing but numbers in hand.
"""

from __future__ import annotations

from typing import Any


# -- nnlab init ----------------------------------------------------------------------------------------
def layers_by_scale(summary: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """summary["layers"] as {scale: rows} whether the run compared scales or not."""
    layers = summary["layers"]
    return {summary["scales"][0]: layers} if isinstance(layers, list) else layers


# -- nnlab approx --------------------------------------------------------------------------------------
def curve(records: list[dict[str, Any]], target: str, d: int, method: str) -> list[dict[str, Any]]:
    return sorted((r for r in records if r["target"] == target and r["d"] == d and r["method"] == method),
                  key=lambda r: r["width"])


def fitted_slope(summary: dict[str, Any], target: str, d: int, method: str, converged: float | None = None):
    """The fitted slope; `converged` stands in for a curve already at rounding level (no slope to fit)."""
    for s in summary["slopes"]:
        if (s["target"], s["d"], s["method"]) == (target, d, method):
            return converged if s["slope"] is None and s.get("converged") else s["slope"]
    return None
