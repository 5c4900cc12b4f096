"""Weight scales for W_ij ~ N(0, w^2), the lecture's initialization slide.

    y = W z with W_ij ~ N(0, w^2)  =>  Var[y_i] = n_in w^2 E[z^2]
    xavier: w = 1 / sqrt(n_in)      keeps Var[y] = E[z^2]
    he:     w = sqrt(2 / n_in)      ReLU zeroes half of y, so Var[relu(y)]-driven layers need twice w^2

A scale spec is a positive number (the slide's 0.05 and 0.01), `xavier` or `he`.
"""

from __future__ import annotations

import math

NAMED = ("xavier", "he")


def check_scale(spec: str) -> str | None:
    """Why `spec` is not a valid scale, or None. Usable as a config `check`."""
    if spec in NAMED:
        return None
    try:
        value = float(spec)
    except ValueError:
        return f"{spec!r} is not a number, 'xavier' or 'he'"
    if not (math.isfinite(value) and value > 0):
        return f"{spec!r} must be a positive number"
    return None


def weight_std(spec: str, n_in: int) -> float:
    """The standard deviation w of each weight for a layer with `n_in` inputs."""
    if spec == "xavier":
        return 1.0 / math.sqrt(n_in)
    if spec == "he":
        return math.sqrt(2.0 / n_in)
    problem = check_scale(spec)
    if problem:
        raise ValueError(problem)
    return float(spec)


def predicted_pre_std(w: float, n_in: int, input_rms: float) -> float:
    """sqrt(Var[y]) for y = W z: sqrt(n_in) * w * sqrt(E[z^2]) (z's second moment, not its variance)."""
    return math.sqrt(n_in) * w * input_rms
