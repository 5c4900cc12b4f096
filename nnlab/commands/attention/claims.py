"""The claims and checks of `nnlab attention`, each a pure function of the numbers the run measured."""

from __future__ import annotations

import math
from typing import Any

from nnlab.commands.attention.config import AttentionConfig
from nnlab.core.claims import check, claim

CHECK_TOL = 1e-10        # float64: ours and torch's differ by summation order only
BEATS_ACC = 0.9          # the attention model "reaches high accuracy"
BEATS_MARGIN = 0.3       # ... and beats mean pooling by at least this much (accuracy)
VIT_ACC = 0.9            # "learns": test accuracy of a small ViT (chance is 0.1)


def spread(values: list[float]) -> dict[str, float]:
    """Mean, standard deviation (n - 1; 0 for one value), min and max (NaN for a diverged run propagates)."""
    import numpy as np

    a = np.asarray(values, dtype=float)
    return {"mean": float(a.mean()), "std": float(a.std(ddof=1)) if len(a) > 1 else 0.0,
            "min": float(a.min()), "max": float(a.max())}


def matches_torch_check(diffs: dict[str, float], config: AttentionConfig) -> dict[str, Any]:
    """Ours (numpy, float64) against torch given the same weights: every max |difference| under CHECK_TOL."""
    return check("attention.matches-torch",
        f"nnlab.nn.attention (numpy, float64) equals torch given the same weights at m = {config.dim}, "
        f"h = {config.heads}: multi-head attention vs nn.MultiheadAttention, causal self-attention vs "
        "scaled_dot_product_attention, and the torch port the models use (max |difference|)",
        {k: float(f"{v:.3g}") for k, v in diffs.items()}, f"all < {CHECK_TOL:g}",
        max(diffs.values()) < CHECK_TOL)


def scaling_claim(entropy: list[dict[str, float]], n: int) -> dict[str, Any]:
    """1/sqrt(m) keeps the entropy put as m grows; without it the largest m's softmax is far sharper."""
    scaled = [row["scaled"] for row in entropy]
    last = entropy[-1]
    steady = max(scaled) - min(scaled) < 0.1 * math.log(n)
    sharp = last["unscaled"] < 0.5 * last["scaled"]
    return claim("attention.scaling-keeps-softmax-soft",
        f"e_ij = q_i . k_j / sqrt(m) keeps a_ij soft at initialization: mean entropy of a_ij (nats, n = {n} "
        f"tokens, uniform = {math.log(n):.3f}) with the 1/sqrt(m) stays put as m grows; without it the "
        "softmax turns nearly one-hot",
        {str(row["m"]): {"scaled": round(row["scaled"], 3), "unscaled": round(row["unscaled"], 3)}
         for row in entropy},
        f"scaled varies < {0.1 * math.log(n):.3f} over m; unscaled < half of scaled at m = {last['m']}",
        steady and sharp, source="nnlab")


def beats_claim(results: dict[str, list[dict[str, Any]]], config: AttentionConfig) -> dict[str, Any]:
    """Attention reaches BEATS_ACC on the lookup and beats mean pooling by BEATS_MARGIN (means over the seeds)."""
    att = spread([r["eval/acc"] for r in results["attention"]])
    mean = spread([r["eval/acc"] for r in results["mean"]])
    ok = att["mean"] >= BEATS_ACC and att["mean"] - mean["mean"] >= BEATS_MARGIN  # NaN (diverged) fails
    return claim("attention.beats-mean-pooling",
        f"Key-value lookup ({config.pairs} pairs, {config.queries} queries) needs attention: the encoder "
        f"reaches high held-out accuracy; the same model with attention replaced by mean pooling does not "
        f"({config.seeds} seeds each, {config.steps} steps)",
        {"attention": {k: round(v, 4) for k, v in att.items()},
         "mean_pooling": {k: round(v, 4) for k, v in mean.items()}},
        f"attention mean >= {BEATS_ACC} and at least {BEATS_MARGIN} above mean pooling's", ok, source="nnlab")


def vit_claim(result: dict[str, Any], config: AttentionConfig) -> dict[str, Any]:
    """The small ViT learns MNIST: its one test accuracy reaches VIT_ACC (chance 0.1)."""
    return claim("attention.vit-learns",
        f"A small vision Transformer ({config.layers} blocks, m = {config.dim}, h = {config.heads}, "
        f"{config.patch} x {config.patch} patches) learns MNIST: accuracy on the {result['test_samples']} "
        f"test images, scored once after {result['epochs']} epoch(s)",
        round(result["test/acc"], 4), f">= {VIT_ACC} (chance 0.1)", result["test/acc"] >= VIT_ACC,
        source="nnlab")
