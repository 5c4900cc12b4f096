"""The claims and checks of `nnlab init`: the variance formula per layer (a check), the tanh regimes per scale
(nnlab's claims, one classifier for prediction and measurement), ReLU's variance under Xavier and He."""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import numpy as np

from nnlab.core.claims import check, claim
from nnlab.nn import meanfield

# One classifier of a tanh layer stack, applied both to this run's layers and to the infinite-width (mean-field)
# prediction for the scale's gain g = w sqrt(n_in) (nnlab.nn.meanfield), so a scale near a boundary is never
# judged by two different rules:
VANISHING_RATIO = 0.8    # per-layer std ratio (std_L / std_1)^(1 / (L - 1)) below which activations vanish
SATURATED_SHARE = 0.1    # last-layer share of units at |tanh| > 0.99 above which they saturate
TANH_EDGE = math.atanh(0.99)  # |pre-activation| beyond which |tanh| > 0.99
PLURAL = {"vanishes": "vanish", "saturates": "saturate", "keeps its spread": "keep their spread",
          None: "show no trend"}  # the regime as the verb of "activations ..."
PLURAL_ZH = {"vanishes": "消失", "saturates": "饱和", "keeps its spread": "保持其分布宽度",
             None: "没有明显趋势"}  # the same, as the predicate of "激活..."
# The variance formula holds in expectation over W; a layer's measured variance scatters about it with a
# relative standard deviation the layer's inputs fix (row["pre_var_rel_sd"]). Beyond this many of those, the
# formula (or the code) is wrong: 6 sd is about a one-in-a-billion event for a Gaussian, and still rare for the
# skewed chi-square of a layer only a few units wide.
SAMPLING_SDS = 6.0


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


def per_layer_ratio(rows: list[dict[str, Any]]) -> float | None:
    """(std_L / std_1)^(1 / (L - 1)): how much of its spread a layer keeps; None below 3 layers."""
    if len(rows) < 3:
        return None
    return std_ratio(rows) ** (1 / (len(rows) - 1))


def regime(rows: list[dict[str, Any]]) -> tuple[str | None, dict[str, Any]]:
    """The regime a stack of tanh layers shows (rows with "std" and "saturated"), None when there are too few
    layers to tell a trend, and the two numbers it was decided on. The one classifier of this module."""
    sat = rows[-1]["saturated"]
    ratio = per_layer_ratio(rows)
    numbers = {"per_layer_std_ratio": None if ratio is None else round(ratio, 4), "saturated_last": round(sat, 4)}
    if sat > SATURATED_SHARE:
        return "saturates", numbers
    if ratio is None:
        return None, numbers
    return ("vanishes" if ratio < VANISHING_RATIO else "keeps its spread"), numbers


def mean_field_rows(gain: float, depth: int) -> list[dict[str, float]]:
    """The infinite-width tanh stack for gain g and x ~ N(0, 1): per layer std and saturated share."""
    rows = meanfield.layer_statistics(np.tanh, gain, depth)
    return [{"std": r["std"], "saturated": meanfield.share_beyond(r["pre_var"], -TANH_EDGE, TANH_EDGE)} for r in rows]


def predicted_regime(gain: float, depth: int) -> str | None:
    return regime(mean_field_rows(gain, depth))[0]


@lru_cache(maxsize=16)  # one bisection per depth, shared by every scale of a run
def gain_bands(depth: int) -> tuple[float, float] | None:
    """(g_v, g_s): the gains where the mean-field stack of `depth` layers crosses the classifier's thresholds
    (vanishes below g_v, saturates above g_s), by bisection; None below 3 layers (no trend to tell)."""
    if depth < 3:
        return None

    def crossing(outcome) -> float:
        lo, hi = 0.01, 20.0  # outcome(lo) False, outcome(hi) True
        for _ in range(50):
            mid = math.sqrt(lo * hi)
            lo, hi = (lo, mid) if outcome(mid) else (mid, hi)
        return hi

    g_v = crossing(lambda g: predicted_regime(g, depth) != "vanishes")
    g_s = crossing(lambda g: mean_field_rows(g, depth)[-1]["saturated"] > SATURATED_SHARE)
    return g_v, g_s


def regime_claim(spec: str, gain: float, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The slides' three pictures generalised to any scale (nnlab's): the regime the mean-field recursion
    predicts for the scale's gain, against the regime this run's layers show, by the same classifier."""
    depth = len(rows)
    predicted, predicted_numbers = regime(mean_field_rows(gain, depth))
    measured, numbers = regime(rows)
    numbers["regime"] = measured or f"undecided: {depth} layers (a trend needs 3)"
    numbers["predicted"] = {"regime": predicted or "undecided", **predicted_numbers}
    bands = gain_bands(depth)
    band_words = ("" if bands is None else
                  f"; at {depth} layers it predicts vanishing below g = {bands[0]:.2f} and saturation above "
                  f"g = {bands[1]:.2f}")
    band_zh = ("" if bands is None else
               f"；在 {depth} 层时，它预测 g < {bands[0]:.2f} 时激活消失，g > {bands[1]:.2f} 时激活饱和")
    holds = measured is not None and measured == predicted
    if measured is None:
        why = f"{depth} layer(s) show no trend: the per-layer std ratio needs 3 layers"
        why_zh = f"{depth} 层看不出趋势：每层标准差比至少需要 3 层"
    else:
        why = (f"this run's activations {PLURAL[measured]} (per-layer std ratio {numbers['per_layer_std_ratio']}, "
               f"last-layer share |h| > 0.99 {numbers['saturated_last']:.3f}), while those of the infinite-width "
               f"network of gain {gain:.2f} {PLURAL[predicted]} (ratio {predicted_numbers['per_layer_std_ratio']}, "
               f"share {predicted_numbers['saturated_last']:.3f}): this width is too small for the wide-network limit")
        why_zh = (f"这次运行的激活{PLURAL_ZH[measured]}（每层标准差比 {numbers['per_layer_std_ratio']}，"
                  f"最后一层 |h| > 0.99 的比例 {numbers['saturated_last']:.3f}），而增益为 {gain:.2f} 的无限宽网络的"
                  f"激活{PLURAL_ZH[predicted]}（比值 {predicted_numbers['per_layer_std_ratio']}，"
                  f"比例 {predicted_numbers['saturated_last']:.3f}）：这个宽度太小，达不到宽网络极限")
    return claim(
        f"init.regime.{spec}",
        f"scale {spec} (gain g = w sqrt(n_in) = {gain:.2f}): tanh activations {PLURAL[predicted]} with depth, as "
        f"the infinite-width recursion q_(l+1) = g^2 E[tanh(u)^2], u ~ N(0, q_l), predicts{band_words} "
        "(nnlab's generalisation of the slides' pictures: 0.01 vanishes, 0.05 saturates, Xavier keeps its spread "
        "at width 4096)",
        numbers,
        f"the predicted regime, by one classifier: vanishes if the per-layer std ratio < {VANISHING_RATIO}, "
        f"saturates if the last layer's share |h| > 0.99 is above {SATURATED_SHARE}",
        holds, source="nnlab", why=why, tip="--width 4096" if measured else "--depth 6",
        zh=f"尺度 {spec}（增益 g = w√n_in = {gain:.2f}）：tanh 激活随深度{PLURAL_ZH[predicted]}，正如无限宽网络的递推 "
           f"q_(l+1) = g² E[tanh(u)²]，u ~ N(0, q_l) 所预测{band_zh}（nnlab 对幻灯片中图示的推广：宽度 4096 时，"
           "0.01 消失，0.05 饱和，Xavier 保持其分布宽度）",
        why_zh=why_zh,
    )


def variance_check(spec: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Var[y] = n_in w^2 E[z^2] at every layer, within sampling error; and what the lecture's Cov[z_i] gives."""
    z_scores, errors, cov_ratios, underflow = [], [], [], None
    for r in rows:
        predicted_var, measured_var = r["predicted_pre_std"] ** 2, r["pre_std"] ** 2
        if predicted_var == 0:  # z exactly 0 (or w = 0): y is exactly 0 too, or the code is wrong
            errors.append(0.0 if measured_var == 0 else math.inf)
            z_scores.append(errors[-1])
            continue
        if measured_var == 0 and underflow is None:  # the scale is below what the float type holds
            underflow = r
        error = measured_var / predicted_var - 1
        errors.append(error)
        z_scores.append(abs(error) / r["pre_var_rel_sd"] if r["pre_var_rel_sd"] > 0 else math.inf)
        cov_ratios.append(r["predicted_pre_std_cov"] / r["predicted_pre_std"])  # the two formulas, no sampling
    # max() skips a NaN that is not first (every comparison with it is False): an overflowed layer (a legal
    # --scale 1e30) must fail the check, not vanish from it
    worst_z = max(z_scores) if z_scores and all(not math.isnan(z) for z in z_scores) else float("nan")
    worst = max(errors, key=abs) if errors and all(not math.isnan(e) for e in errors) else float("nan")
    cov = min(cov_ratios) if cov_ratios and all(math.isfinite(c) for c in cov_ratios) else float("nan")
    if underflow is not None:
        why = (f"layer {underflow['layer']}'s pre-activations are exactly 0 where the formula predicts a std of "
               f"{underflow['predicted_pre_std']:.3g}: the scale underflowed the float type (try --dtype float64)")
        why_zh = (f"第 {underflow['layer']} 层的激活前值恰好为 0，而公式预测其标准差为 "
                  f"{underflow['predicted_pre_std']:.3g}：该尺度在这种浮点类型下下溢了（可试 --dtype float64）")
    else:
        why = f"a layer's variance is {worst:+.1%} off n_in w^2 E[z^2], {worst_z:.1f} sampling sds: beyond chance"
        why_zh = f"某一层的方差偏离 n_in w² E[z²] {worst:+.1%}，即 {worst_z:.1f} 个抽样标准差：超出了偶然的范围"
    cov_words = f"{cov:.3f} times that here" if cov_ratios else "the same here (no layer had inputs)"
    cov_zh = f"在此是它的 {cov:.3f} 倍" if cov_ratios else "在此与它相同（没有一层有输入）"
    return check(
        f"init.variance-formula.{spec}",
        f"scale {spec}: Var[y] = n_in w^2 E[z^2] predicts every layer's pre-activation variance within its "
        f"sampling error (E[z^2]: z's second moment; the lecture's Cov[z_i] predicts a std {cov_words}, 1/1.21 "
        "for ReLU inputs, whose mean is not 0)",
        {"max_relative_error": _rounded(worst, 5), "max_error_in_sampling_sds": _rounded(worst_z, 3),
         "cov_formula_std_ratio": _rounded(cov, 4) if cov_ratios else None},
        f"every layer within {SAMPLING_SDS:g} sampling sds", worst_z < SAMPLING_SDS, why=why,
        zh=f"尺度 {spec}：Var[y] = n_in w² E[z²] 在抽样误差之内预测了每一层激活前值的方差（E[z²]：z 的二阶矩；"
           f"讲义的 Cov[z_i] 所预测的标准差{cov_zh}，对 ReLU 的输入为 1/1.21，因其均值不为 0）",
        why_zh=why_zh,
    )


def _rounded(value: float, digits: int) -> float | str:
    """A number for the record; an infinite one (a layer predicted 0 and measured not) spelled out, since a record
    carrying infinity would fail as 'not finite' and mark the whole run diverged."""
    return "infinite" if math.isinf(value) else round(value, digits)


def check_claims(layers: dict[str, list[dict[str, Any]]], activation: str,
                 gains: dict[str, float]) -> list[dict[str, Any]]:
    """The lecture's initialization statements that this run's scales and activation can test (claims and checks).

    gains: w sqrt(n_in) per scale, the factor by which the first layer multiplies the input's spread.
    """
    records = [variance_check(spec, rows) for spec, rows in layers.items()]
    name = activation.partition(":")[0]
    if name == "tanh":
        # Every scale, named or numeric, gets the regime its gain predicts and the verdict against it, so a
        # scale never drops its claim: the slide's 0.05 at width 512 (gain 1.13) is predicted, and shown, to
        # keep its spread rather than saturate.
        records += [regime_claim(spec, gains[spec], rows) for spec, rows in layers.items()]
    if name == "relu":
        # The lecture's ReLU variant: Cov[y] = 1/2 n_in w^2 Cov[z], so 1/sqrt(n_in) halves and He keeps it.
        for spec, low, high, verb in (("he", 0.85, 1.15, "keeps"), ("xavier", 0.4, 0.6, "halves")):
            if spec not in layers:
                continue
            g = variance_growth(layers[spec])
            cid = "init.he-keeps-variance" if spec == "he" else "init.xavier-halves-relu"
            who = "He's w = 1/sqrt(n_in / 2)" if spec == "he" else "Xavier's w = 1/sqrt(n_in)"
            who_zh = "He 初始化的 w = 1/√(n_in/2)" if spec == "he" else "Xavier 初始化的 w = 1/√n_in"
            verb_zh = "保持不变" if spec == "he" else "减半"
            target = 1.0 if spec == "he" else 0.5
            records.append(claim(
                cid, f"如果激活函数为ReLU … w = 1/√(n_in/2) (for ReLU, {who} {verb} the variance every layer): "
                "Var[pre] ratio per layer, geometric mean over the layers",
                "undecided: 1 layer (a ratio needs 2)" if g is None else round(g, 4),
                f"within {low}-{high}", g is not None and low <= g <= high,
                why=("one layer has no layer-to-layer ratio" if g is None else
                     f"the variance is multiplied by {g:.3f} a layer, not about {target:g}"),
                tip="--depth 6",
                zh=f"如果激活函数为ReLU … w = 1/√(n_in/2)（对 ReLU，{who_zh} 使每一层的方差{verb_zh}）："
                   "每层 Var[pre] 之比，取各层的几何平均",
                why_zh=("只有一层，没有层与层之间的比值" if g is None else
                        f"方差每层乘以 {g:.3f}，而不是约 {target:g}")))
    return records
