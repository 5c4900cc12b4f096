"""The record of one lecture claim as measured: what it says, what we got, what we expected, did it hold."""

from __future__ import annotations

from typing import Any


def claim(text: str, measured: Any, expected: str, holds: bool) -> dict[str, Any]:
    """`expected` is a short human-readable criterion ("< 0.2", "within 5%"), `holds` its outcome."""
    return {"claim": text, "measured": measured, "expected": expected, "holds": bool(holds)}
