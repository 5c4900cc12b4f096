"""Numbers over the seeds of `nnlab regularize`: mean, sample sd and the values (stats), and their text (pm)."""

from __future__ import annotations

from typing import Any

import numpy as np


def stats(values: list[float]) -> dict[str, Any]:
    """Mean, sample sd (0 for one value) and the values themselves; NaN stays NaN."""
    arr = np.asarray(values, dtype=float)
    sd = float(arr.std(ddof=1)) if len(arr) > 1 else 0.0
    return {"mean": float(arr.mean()), "sd": sd, "values": arr.tolist()}


def pm(s: dict[str, Any]) -> str:
    """'mean ± sd (n seeds)' for the claims table; the full values stay in the setting's results."""
    n = len(s["values"])
    return f"{s['mean']:.4g} ± {s['sd']:.2g} ({n} seed{'s' if n > 1 else ''})"
