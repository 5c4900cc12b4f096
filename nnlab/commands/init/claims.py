"""The claims of `nnlab init`: the variance formula per layer, the slides' tanh regimes, ReLU's variance."""

from __future__ import annotations

import math
from typing import Any

from nnlab.core.claims import claim

# tanh regimes by gain g = w sqrt(n_in), at or below which tanh is expected to vanish, at or above which to
# saturate (the slide's 0.01 and 0.05 at width 4096 are 0.64 and 3.2; Xavier is 1). The gates sit where the
# measured criteria below flip at depth 6 (width 1024, one seed: per-layer std ratio 0.75 / 0.81 / 0.86 at
# g = 0.8 / 0.9 / 1.0, last-layer saturated fraction 0.07 / 0.19 at g = 2.0 / 2.5): within a few percent of a
# gate the draw decides.
VANISHING_GAIN = 0.85    # g at or below: activations shrink geometrically layer after layer
SATURATING_GAIN = 2.2    # g at or above: a sizeable share of units sits at |tanh| > 0.99
VANISHING_RATIO = 0.79   # per-layer std ratio (std_L / std_1)^(1 / (L - 1)) below which they vanished
SATURATED_SHARE = 0.1    # last-layer fraction |h| > 0.99 above which they saturated


def variance_growth(rows: list[dict[str, Any]]) -> float | None:
    """Geometric-mean ratio Var[pre_{l+1}] / Var[pre_l] over the layers (1: kept, 0.5: halved); None for 1."""
    if len(rows) < 2:
        return None
    first, last = rows[0]["pre_std"], rows[-1]["pre_std"]
    if first <= 0 or last <= 0:
        return 0.0
    return (last / first) ** (2.0 / (len(rows) - 1))


def std_ratio(rows: list[dict[str, Any]]) -> float:
    """std after the last layer / after the first; 0 when the first is already 0 (underflow: vanished)."""
    return rows[-1]["std"] / rows[0]["std"] if rows[0]["std"] > 0 else 0.0


def predicted_regime(gain: float) -> str:
    if gain <= VANISHING_GAIN:
        return "vanishes"
    return "saturates" if gain >= SATURATING_GAIN else "keeps its spread"


def measured_regime(rows: list[dict[str, Any]]) -> tuple[str | None, dict[str, Any]]:
    """The regime the layers show (None when there are too few layers to tell a trend) and its numbers."""
    sat = rows[-1]["saturated"]
    ratio = per_layer_ratio(rows)
    numbers = {"per_layer_std_ratio": None if ratio is None else round(ratio, 4), "saturated_last": round(sat, 4)}
    if sat > SATURATED_SHARE:
        return "saturates", numbers
    if ratio is None:
        return None, numbers
    return ("vanishes" if ratio < VANISHING_RATIO else "keeps its spread"), numbers


def per_layer_ratio(rows: list[dict[str, Any]]) -> float | None:
    """(std_L / std_1)^(1 / (L - 1)): how much of its spread a layer keeps; None below 3 layers."""
    if len(rows) < 3:
        return None
    return std_ratio(rows) ** (1 / (len(rows) - 1))


def regime_claim(spec: str, gain: float, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The slides' three pictures as one claim per scale: 0.01 vanishes, 0.05 saturates, Xavier keeps."""
    predicted = predicted_regime(gain)
    measured, numbers = measured_regime(rows)
    numbers["regime"] = measured or f"undecided: {len(rows)} layers (a trend needs 3)"
    return claim(
        f"init.regime.{spec}",
        f"scale {spec} (gain w sqrt(n_in) = {gain:.2f}; the slides' 0.01, 0.05 and Xavier are 0.64, 3.2 and 1 "
        f"at width 4096): tanh activations {predicted} with depth",
        numbers,
        f"{predicted} (vanishes: per-layer std ratio < {VANISHING_RATIO}; saturates: last-layer share "
        f"|h| > 0.99 above {SATURATED_SHARE})",
        measured == predicted,
    )


def check_claims(layers: dict[str, list[dict[str, Any]]], activation: str,
                 gains: dict[str, float]) -> list[dict[str, Any]]:
    """The lecture's initialization claims that this run's scales and activation can test.

    gains: w sqrt(n_in) per scale, the factor by which the first layer multiplies the input's spread.
    """
    claims = []
    for spec, rows in layers.items():
        errors = [abs(r["pre_std"] / r["predicted_pre_std"] - 1) for r in rows if r["predicted_pre_std"] > 0]
        # max() skips a NaN that is not first (every comparison with it is False): an overflowed layer (a legal
        # --scale 1e30) must fail the claim, not vanish from it
        worst = max(errors) if errors and all(math.isfinite(e) for e in errors) else float("nan")
        claims.append(claim(f"init.variance-formula.{spec}",
            f"scale {spec}: Var[y] = n_in w^2 E[z^2] predicts every layer's pre-activation std",
            round(worst, 4), "max relative error < 0.05", worst < 0.05,
        ))
    name = activation.partition(":")[0]
    if name == "tanh":
        # Every scale, named or numeric, gets the regime its gain predicts and the verdict against it, so a
        # scale never drops its claim: the slide's 0.05 at width 512 (gain 1.13) is predicted, and shown, to
        # keep its spread rather than saturate.
        for spec, rows in layers.items():
            claims.append(regime_claim(spec, gains[spec], rows))
    if name == "relu":
        # The lecture's ReLU variant: Cov[y] = 1/2 n_in w^2 Cov[z], so 1/sqrt(n_in) halves and He keeps it.
        for spec, low, high, verb in (("he", 0.85, 1.15, "keeps"), ("xavier", 0.4, 0.6, "halves")):
            if spec not in layers:
                continue
            g = variance_growth(layers[spec])
            cid = "init.he-keeps-variance" if spec == "he" else "init.xavier-halves-relu"
            claims.append(claim(cid, f"{'He' if spec == 'he' else 'Xavier'} {verb} ReLU's variance every layer "
                                "(Var ratio per layer, geometric mean over the layers)",
                                "undecided: 1 layer (a ratio needs 2)" if g is None else round(g, 4),
                                f"within {low}-{high}", g is not None and low <= g <= high))
    return claims
