"""The claims of `nnlab activations`: saturation where the closed forms say, sigma'(0), the vanishing product."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nnlab.commands.activations.quadrature import STEP
from nnlab.core.claims import check, claim


def saturation_onset(name: str, t: float) -> float | None:
    """Closed form of the |z| beyond which |sigma'(z)| < t, for sigmoid and tanh.

    sigmoid'(z) = 1 / (4 cosh^2(z/2)) < t  <=>  |z| > 2 arccosh(1 / (2 sqrt t));
    tanh'(z) = 1 / cosh^2(z) < t           <=>  |z| > arccosh(1 / sqrt t).
    """
    if name == "sigmoid" and t < 0.25:
        return 2 * math.acosh(1 / (2 * math.sqrt(t)))
    if name == "tanh" and t < 1:
        return math.acosh(1 / math.sqrt(t))
    return None


def check_claims(summary: dict[str, Any]) -> list[dict[str, Any]]:
    acts, t, s, L = summary["activations"], summary["threshold"], summary["input_std"], summary["depth"]
    z_max = summary["z"][-1]
    claims = []
    for name in ("sigmoid", "tanh"):
        onset = saturation_onset(name, t)
        if name not in acts or onset is None or onset >= z_max:
            continue
        regions = acts[name]["saturated_regions"]
        grid_step = summary["z"][1] - summary["z"][0]
        measured = [round(regions[0][1], 4), round(regions[-1][0], 4)] if len(regions) == 2 else regions
        ok = len(regions) == 2 and abs(regions[0][1] + onset) <= grid_step and abs(regions[-1][0] - onset) <= grid_step
        fraction = acts[name]["saturated_fraction"]
        closed = math.erfc(onset / (s * math.sqrt(2)))  # P(|Z| > onset)
        # The fraction is a Riemann sum of an indicator on the quadrature grid (step h): each of its two edges can be
        # off by up to h times the density there, so that is the tolerance, not a fixed number.
        tolerance = 2 * STEP * math.exp(-0.5 * (onset / s) ** 2) / math.sqrt(2 * math.pi) + 1e-12
        claims.append(check(f"activations.saturates.{name}",
            f"{name} saturates in both tails: |sigma'| < {t:g} exactly for |z| > {onset:.4f} (closed form); "
            f"the fraction of N(0, {s:g}^2) inputs there is P(|Z| > {onset:.3f}) = {closed:.3g}",
            {"regions_end_start": measured, "fraction": float(f"{fraction:.6g}")},
            f"region edges within one grid step; fraction within {tolerance:.2g} (the quadrature's reach)",
            ok and abs(fraction - closed) <= tolerance,
            zh=f"{name} 在两侧尾部饱和：恰在 |z| > {onset:.4f} 处 |σ'| < {t:g}（闭式解）；N(0, {s:g}²) 的输入落在该处的"
               f"比例为 P(|Z| > {onset:.3f}) = {closed:.3g}"))
    if "sigmoid" in acts:
        # sigma'(z) = 1/4 - z^2/16 + O(z^4): a grid whose nearest point to 0 is step/2 away peaks that much lower.
        top = acts["sigmoid"]["max_abs_grad"]
        step = summary["z"][1] - summary["z"][0]
        slack = (step / 2) ** 2 / 16
        claims.append(check("activations.sigmoid-derivative-max",
            "sigmoid' is at most 1/4 (at z = 0), so a product through L layers is at most 4^-L",
            top, f"<= 1/4, and within {slack:.2g} of it (the grid's nearest point to 0)",
            0.25 - slack - 1e-15 <= top <= 0.25 + 1e-15,
            zh="sigmoid' 至多为 1/4（在 z = 0 处取到），因此经过 L 层的乘积至多为 4^-L"))
    factors = {n: a["products"]["per_layer_factor"] for n, a in acts.items()}
    if "sigmoid" in acts:  # the ranking is about the saturating sigmoid; without it there is nothing to judge
        fastest = min(factors, key=factors.get)
        claims.append(claim("activations.vanishing-product",
            f"Of the activations shown, E|prod of {L} derivatives| shrinks fastest for the saturating sigmoid: its "
            f"per-layer factor E|sigma'(z)|, z ~ N(0, {s:g}^2), is the smallest",
            {n: round(f, 4) for n, f in factors.items()}, "sigmoid's factor is the smallest shown",
            factors["sigmoid"] == min(factors.values()), source="nnlab",
            why=f"{fastest}'s factor {factors[fastest]:.3g} is below sigmoid's {factors['sigmoid']:.3g}: at these "
                f"inputs its products shrink faster",
            zh=f"在所示的激活函数中，饱和的 sigmoid 的 E|{L} 个导数之积| 缩小得最快：它的每层因子 E|σ'(z)|"
               f"（z ~ N(0, {s:g}²)）最小",
            why_zh=f"{fastest} 的因子 {factors[fastest]:.3g} 低于 sigmoid 的 {factors['sigmoid']:.3g}：在这些输入下，"
                   f"它的乘积缩小得更快",
            tip="--input-std 1 (cos' = -sin z is small only near 0, where a tiny input std keeps every z)"))
        claims.append(check("activations.sigmoid-factor-bound",
            "sigmoid' <= 1/4 everywhere, so its per-layer factor E|sigma'(z)| <= 1/4 and E|prod| <= 4^-L",
            round(factors["sigmoid"], 6), "<= 1/4", factors["sigmoid"] <= 0.25,
            zh="sigmoid' 处处 <= 1/4，因此它的每层因子 E|σ'(z)| <= 1/4，且 E|乘积| <= 4^-L"))
    saturating = {n: a["products"]["expected"][-1] for n, a in acts.items() if a.get("saturating")}
    if saturating:
        worst = max(saturating, key=saturating.get)
        claims.append(claim("activations.saturating-derivatives-vanish",
            f"\"激活函数饱和(saturating) … 导数消失\" (saturating activations: the derivative vanishes): through "
            f"{L} layers at z ~ N(0, {s:g}^2), E|prod of derivatives| of each saturating activation shown falls "
            f"below {t:g}, the |sigma'| that marks a saturated region",
            {n: float(f"{v:.4g}") for n, v in saturating.items()}, f"< {t:g} for each", saturating[worst] < t,
            why=f"{worst}'s E|prod| through {L} layers is {saturating[worst]:.3g}, not below {t:g}: too few layers, "
                f"or inputs too close to 0 to reach its saturated tails",
            zh=f"“激活函数饱和(saturating) … 导数消失”：在 z ~ N(0, {s:g}²) 下经过 {L} 层，所示每个饱和激活函数的"
               f" E|导数之积| 都低于 {t:g}，即标志饱和区域的 |σ'| 阈值",
            why_zh=f"{worst} 经过 {L} 层的 E|乘积| 为 {saturating[worst]:.3g}，没有低于 {t:g}：层数太少，"
                   f"或输入太靠近 0，到不了它的饱和尾部",
            tip="--depth 20"))
    expected_at_0 = {"relu": 0.0, "sigmoid": 0.25, "tanh": 1.0, "gelu": 0.5, "cos": 0.0}
    worst = 0.0
    measured = {}
    for n, a in acts.items():
        base, _, arg = n.partition(":")
        ref = expected_at_0.get(base, float(arg or 0.01) if base == "leaky_relu" else 0.5)  # softplus: 1/2
        measured[n] = a["grad_at_0"]
        worst = max(worst, abs(a["grad_at_0"] - ref))
    claims.append(check("activations.derivative-at-zero",
        "sigma'(0) as the closed forms say: relu 0 (torch's convention), sigmoid 1/4, tanh 1, "
                        "leaky_relu gamma, gelu 1/2, softplus 1/2, cos 0", measured, "within 1e-15",
                        worst <= 1e-15,
                        zh="σ'(0) 的值与各闭式解给出的一致：relu 为 0（torch 的约定），sigmoid 为 1/4，tanh 为 1，"
                           "leaky_relu 为 γ，gelu 为 1/2，softplus 为 1/2，cos 为 0"))
    return claims



def _spread(values: list[float]) -> dict[str, Any]:
    arr = np.asarray(values, dtype=float)
    sd = float(arr.std(ddof=1)) if len(arr) > 1 else 0.0
    return {"mean": float(f"{arr.mean():.4g}"), "sd": float(f"{sd:.2g}"), "seeds": [float(f"{v:.4g}") for v in arr]}


def output_claims(out: dict[str, Any]) -> list[dict[str, Any]]:
    """The lecture's three output layers (nnlab/commands/activations/outputs.py), judged over the seeds."""
    runs, a, n = out["runs"], out["positive_range"], out["seeds"]
    records = []
    cls = runs["classification/softmax"]
    records.append(check("activations.output-softmax",
        "\"多类分类问题\" h(x)_j = e^(x_j) / sum_k e^(x_k): the trained softmax layer's outputs are class "
        "probabilities (each > 0, each row summing to 1)",
        {"max_sum_error": cls["sum_error"], "min_probability": cls["min_probability"],
         "test_accuracy": _spread(cls["test_accuracy"])}, "|sum - 1| <= 1e-12 and min > 0",
        cls["sum_error"] <= 1e-12 and cls["min_probability"] > 0,
        zh="“多类分类问题” h(x)_j = e^(x_j) / Σ_k e^(x_k)：训练后的 softmax 层的输出是类别概率（每个都 > 0，"
           "每行之和为 1）"))
    exp_min = min(min(runs["positive/exp"]["min_prediction"]), min(runs["regression/exp"]["min_prediction"]))
    records.append(check("activations.output-exp-positive",
        "\"正输出问题\" h(x) = e^x: every prediction of the e^x output layer is > 0, whatever the network's weights",
        {"min_prediction": exp_min}, "> 0", exp_min > 0,
        zh="“正输出问题” h(x) = e^x：无论网络的权重如何，e^x 输出层的每个预测都 > 0"))
    # positive target: the relative error on its smaller half, e^x (fit to log y) against identity, paired by seed
    rel_exp = np.asarray(runs["positive/exp"]["small_target_relative_error"])
    rel_id = np.asarray(runs["positive/identity"]["small_target_relative_error"])
    log_ratio = np.log(rel_id / rel_exp)
    se = float(log_ratio.std(ddof=1) / math.sqrt(n)) if n > 1 else 0.0
    nonpositive = runs["positive/identity"]["nonpositive_share"]
    records.append(claim("activations.output-positive",
        f"\"正输出问题：h(x) = e^x\" (positive outputs: e^x): on a positive target spanning e^-{a:g} .. e^{a:g}, the "
        "same network with an e^x output layer (fit to log y) has a smaller relative error on the target's smaller "
        "half than with the identity (fit to y), whose error is set by the large values; measured: mean "
        "|prediction - y| / y there",
        {"e^x": _spread(rel_exp.tolist()), "identity": _spread(rel_id.tolist()),
         "log_ratio_mean": float(f"{log_ratio.mean():.4g}"), "log_ratio_se": float(f"{se:.2g}"),
         "identity_nonpositive_share": _spread(nonpositive)},
        "mean log(identity / e^x) over the seeds > 1 standard error", log_ratio.mean() - se > 0,
        why=f"the identity's relative error {rel_id.mean():.3g} is not clearly above e^x's {rel_exp.mean():.3g} "
            f"(log ratio {log_ratio.mean():+.2g} ± {se:.2g}): a target this narrow (e^-{a:g} .. e^{a:g}) has no "
            "small values for the identity to miss",
        zh=f"“正输出问题：h(x) = e^x”：在取值从 e^-{a:g} 到 e^{a:g} 的正目标上，同一网络用 e^x 输出层（拟合 log y）时，"
           "在目标较小的一半上的相对误差小于用恒等输出层（拟合 y）时，后者的误差由大的值决定；测量量：该处的平均 "
           "|预测 - y| / y",
        why_zh=f"恒等输出层的相对误差 {rel_id.mean():.3g} 并没有明显高于 e^x 的 {rel_exp.mean():.3g}（对数比 "
               f"{log_ratio.mean():+.2g} ± {se:.2g}）：取值这么窄的目标（e^-{a:g} .. e^{a:g}）没有可让恒等输出层"
               "错过的小值",
        tip="--positive-range 4"))
    reg, floor = runs["regression/identity"]["test_mse"], out["positive_head_floor"]
    mse = _spread(reg)
    records.append(claim("activations.output-regression",
        "\"回归问题：没有激活函数 h(x) = x\" (regression: no output activation): on a target of both signs, "
        "sin(pi x), the identity output layer's test MSE is below the least MSE any positive output layer such as "
        "e^x can reach, mean(min(y, 0)^2)",
        {"identity_mse": mse, "e^x_mse": _spread(runs["regression/exp"]["test_mse"]), "positive_floor": floor},
        "mean + sd of the identity's MSE < the floor", mse["mean"] + mse["sd"] < floor,
        why=f"the identity's test MSE {mse['mean']:.3g} ± {mse['sd']:.2g} is not below {floor:.3g}: the network "
            "has not fit the target yet",
        zh="“回归问题：没有激活函数 h(x) = x”：在有正有负的目标 sin(πx) 上，恒等输出层的测试 MSE 低于任何正输出层"
           "（如 e^x）所能达到的最小 MSE，即 mean(min(y, 0)²)",
        why_zh=f"恒等输出层的测试 MSE {mse['mean']:.3g} ± {mse['sd']:.2g} 没有低于 {floor:.3g}：网络还没有拟合好目标",
        tip="--output-steps 400"))
    return records
