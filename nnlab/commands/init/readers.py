"""Readers of an init run's summary.json, shared by the headline and the plots (which never import the run)."""

from __future__ import annotations

from typing import Any


def layers_by_scale(summary: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """summary["layers"] as {scale: rows} whether the run compared scales or not."""
    layers = summary["layers"]
    return {summary["scales"][0]: layers} if isinstance(layers, list) else layers
