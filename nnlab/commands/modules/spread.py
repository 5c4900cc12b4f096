"""Mean and spread of a measurement repeated over seeds, and the verdict rule the section claims share.

A claim on a random effect is judged on the mean over seeds with its standard error se = std / sqrt(n)
(std with ddof = 1): it holds beyond the seeds' noise when the mean clears the bar by two standard errors
(a one-sided bound, about 95% for a few seeds if the values are roughly normal). With one seed there is
no spread, so no verdict: the claim is undecided and fails, saying so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def summarize(values: Sequence[float], digits: int = 4) -> dict[str, Any]:
    """{"mean", "std", "std_err", "n", "per_seed"} of `values` (a NaN stays a NaN: the claim then fails)."""
    values = [float(v) for v in values]
    n = len(values)
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else float("nan")
    return {"mean": _round(mean, digits), "std": _round(std, digits) if n > 1 else None,
            "std_err": _round(std / math.sqrt(n), digits) if n > 1 else None, "n": n,
            "per_seed": [_round(v, digits) for v in values]}


def above(stats: dict[str, Any], bar: float) -> bool:
    """mean - 2 se > bar, on at least two seeds."""
    return stats["n"] > 1 and stats["mean"] - 2 * stats["std_err"] > bar


def below(stats: dict[str, Any], bar: float) -> bool:
    """mean + 2 se < bar, on at least two seeds."""
    return stats["n"] > 1 and stats["mean"] + 2 * stats["std_err"] < bar


def within(stats: dict[str, Any], centre: float, tolerance: float) -> bool:
    """|mean - centre| + 2 se <= tolerance, on at least two seeds: the whole interval inside the band."""
    return stats["n"] > 1 and abs(stats["mean"] - centre) + 2 * stats["std_err"] <= tolerance


def interval(stats: dict[str, Any], unit: str = "") -> str:
    """'1.97 ± 0.30 dB (s.e., 3 seeds)', or '1.97 dB (one seed: no spread)'."""
    if stats["n"] < 2:
        return f"{stats['mean']:.3g}{unit} (one seed: no spread)"
    return f"{stats['mean']:.3g} ± {stats['std_err']:.2g}{unit} (s.e. over {stats['n']} seeds)"


def interval_zh(stats: dict[str, Any], unit: str = "") -> str:
    """`interval` in Chinese: '1.97 ± 0.30 dB（3 个种子的标准误）', or '1.97 dB（仅一个种子：没有离散度）'."""
    if stats["n"] < 2:
        return f"{stats['mean']:.3g}{unit}（仅一个种子：没有离散度）"
    return f"{stats['mean']:.3g} ± {stats['std_err']:.2g}{unit}（{stats['n']} 个种子的标准误）"


def one_seed_why(stats: dict[str, Any], option: str) -> str | None:
    """The reason a claim on one seed fails, or None when there are several."""
    if stats["n"] > 1:
        return None
    return f"one seed gives no spread, so a random effect cannot be told from chance (set {option} 3)"


def one_seed_why_zh(stats: dict[str, Any], option: str) -> str | None:
    """`one_seed_why` in Chinese."""
    if stats["n"] > 1:
        return None
    return f"只有一个种子，没有离散度，无法把随机效应与偶然区分开（请设置 {option} 3）"


def _round(value: float, digits: int) -> float:
    return round(value, digits) if math.isfinite(value) else value
