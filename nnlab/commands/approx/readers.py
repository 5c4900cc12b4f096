"""Readers of an approx run's summary.json, shared by the headline and the plots (which never import the run)."""

from __future__ import annotations

from typing import Any


def curve(records: list[dict[str, Any]], target: str, d: int, method: str) -> list[dict[str, Any]]:
    return sorted((r for r in records if r["target"] == target and r["d"] == d and r["method"] == method),
                  key=lambda r: r["width"])


def fitted_slope(summary: dict[str, Any], target: str, d: int, method: str, converged: float | None = None):
    """The fitted slope; `converged` stands in for a curve already at rounding level (no slope to fit)."""
    for s in summary["slopes"]:
        if (s["target"], s["d"], s["method"]) == (target, d, method):
            return converged if s["slope"] is None and s.get("converged") else s["slope"]
    return None
