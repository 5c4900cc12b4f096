"""The claims of `nnlab approx` on the theorems' own terms: Weierstrass and Cybenko in the sup norm, learned
against random features, and the curse as the width D ~ (L/eps)^d growing exponentially in d."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from nnlab.commands.approx.readers import curve
from nnlab.core.claims import claim
from nnlab.nn import approximation_theory as at

if TYPE_CHECKING:
    from nnlab.commands.approx.config import ApproxConfig

SUP_ROUNDING = 1e-10   # sup error / range below which a polynomial fit is at float64 rounding (no slope to fit)
WEIERSTRASS_SLOPE = -0.5  # log-log slope of the sup error against the degree: falling, not a plateau (a jump's
#                           Gibbs overshoot stays at 9% of the jump whatever the degree: slope about 0)
CURSE_FACTOR = 2.0     # the width needed at least doubles with every added dimension: (L/eps)^d with L/eps >= 2


def theory_claims(summary: dict[str, Any], config: ApproxConfig) -> list[dict[str, Any]]:
    out = []
    if summary.get("learned_features"):
        out.append(learned_claim(summary["learned_features"]))
    if summary.get("weierstrass"):
        out.append(weierstrass_claim(summary["weierstrass"], config.epsilon, summary["targets"]))
    nets = [m for m in summary["methods"] if m.startswith("net:")]
    if 1 in config.dims:
        out += [cybenko_claim(summary, method, config.epsilon) for method in nets]
    lipschitz = next((n for n, info in summary["targets"].items() if info["kind"] == "lipschitz"), None)
    if lipschitz and len(config.dims) >= 2:
        out += [curse_claim(summary, lipschitz, method) for method in nets]
    return out


def learned_claim(side: dict[str, Any]) -> dict[str, Any]:
    """Learned features beat fixed random ones at the same width: mean log10(learned / random) over the seeds,
    two standard errors below 0."""
    ratios = np.log10(np.asarray(side["learned"]) / np.asarray(side["random"]))
    mean = float(ratios.mean())
    sem = float(ratios.std(ddof=1) / math.sqrt(len(ratios))) if len(ratios) > 1 else 0.0
    return claim("approx.learned-features",
        f"同时学习权重和特征 (learn the weights and the features together): at the same width D = {side['width']} "
        f"({side['activation']}, {side['target']}, d = {side['d']}), Adam on every layer ({side['steps']} steps "
        "from the random start) reaches a lower relative MSE than least squares on the fixed random features "
        f"(log10 of learned / random per seed, {len(ratios)} seeds)",
        {"random_rel_mse": [round(v, 6) for v in side["random"]],
         "learned_rel_mse": [round(v, 6) for v in side["learned"]],
         "log10_ratio_mean": round(mean, 3), "log10_ratio_sem": round(sem, 3)},
        "mean + 2 sem < 0 (learned below random)", mean + 2 * sem < 0,
        why=f"learned features end at {10**mean:.3g} x the random features' error (log10 {mean:.2f} +- "
            f"{2 * sem:.2f}): training did not improve on least squares over the fixed features",
        tip="--learn-steps 1000 (enough Adam steps to move the features)",
        zh=f"同时学习权重和特征：在相同宽度 D = {side['width']}（{side['activation']}，{side['target']}，"
           f"d = {side['d']}）下，对每一层用 Adam 训练（从随机起点出发 {side['steps']} 步）得到的相对 MSE 低于"
           f"在固定随机特征上做最小二乘（每个随机种子取 log10(学习 / 随机)，共 {len(ratios)} 个种子）",
        why_zh=f"学习得到的特征最终误差是随机特征的 {10**mean:.3g} 倍（log10 为 {mean:.2f} ± {2 * sem:.2f}）："
               "训练没有比固定特征上的最小二乘更好")


def weierstrass_claim(side: dict[str, Any], epsilon: float, targets: dict[str, Any]) -> dict[str, Any]:
    """Every target's polynomial sup error falls with the degree and ends within eps * range (d = 1). The
    target's variance at d = 1 is measured too: one that overflows (exp(700 x)) fails the claim, as it fails
    the rest of the run."""
    degrees = side["degrees"]
    measured, failures, failures_zh = {}, [], []
    for name, t in side["targets"].items():
        scale = t["range"] or 1.0
        rel = [s / scale for s in t["sup"]]
        high = [(k, r) for k, r in zip(degrees, rel, strict=True) if k >= 4]
        slope = at.loglog_slope([k for k, _ in high], [r for _, r in high], SUP_ROUNDING) if len(high) >= 3 else None
        at_rounding = rel[-1] <= SUP_ROUNDING
        falls = at_rounding or (slope is not None and slope <= WEIERSTRASS_SLOPE)
        # the range itself is measured: an overflowing target's inf range would turn sup / range into 0
        measured[name] = {"sup_over_range": float(f"{rel[-1]:.3g}"), "range": float(f"{t['range']:.3g}"),
                          "variance": float(f"{targets[name]['variance']['1']:.3g}"),
                          "slope": "at rounding" if at_rounding else None if slope is None else round(slope, 3)}
        if not (falls and rel[-1] <= epsilon):
            failures.append(f"{name}: sup {rel[-1]:.3g} x range at degree {degrees[-1]}, slope "
                            f"{measured[name]['slope']}")
            failures_zh.append(f"{name}：{degrees[-1]} 次时 sup 误差为值域的 {rel[-1]:.3g} 倍，斜率为 "
                               f"{measured[name]['slope']}")
    return claim("approx.weierstrass",
        f"Weierstrass: for every eps > 0 a polynomial p has |f(x) - p(x)| < eps on [a, b] (lecture: 对于所有 [a, b] "
        f"区间内的 x ，都有 |f(x) − p(x)| < ε): least-squares polynomials of degree 1..{degrees[-1]} at Chebyshev "
        f"nodes, sup error on a 4097-point grid of [0, 1] (d = 1), as a fraction of each target's range",
        measured, f"at degree {degrees[-1]}: sup <= {epsilon:g} x range, and falling with the degree (log-log slope "
        f"<= {WEIERSTRASS_SLOPE} over degrees >= 4, or at rounding)", not failures,
        why="; ".join(failures) or None, tip=f"--max-degree 128 (degrees up to it), --epsilon {epsilon:g}",
        zh=f"Weierstrass：对于任意 ε > 0，存在多项式 p，使得对于所有 [a, b] 区间内的 x ，都有 |f(x) − p(x)| < ε："
           f"在 Chebyshev 节点上用最小二乘拟合 1..{degrees[-1]} 次多项式，在 [0, 1]（d = 1）的 4097 点网格上"
           "计算 sup 误差，表示为各目标函数值域的比例",
        why_zh="；".join(failures_zh) or None)


def cybenko_claim(summary: dict[str, Any], method: str, epsilon: float) -> dict[str, Any]:
    """Cybenko at d = 1: for every target, the best width's sup error (mean + std over seeds) is within
    eps * range. The sup is on the 4097-point grid."""
    measured, failures, failures_zh = {}, [], []
    for name, info in summary["targets"].items():
        rows = [r for r in curve(summary["results"], name, 1, method) if math.isfinite(r["sup"])]
        if not rows:
            measured[name] = None
            failures.append(f"{name}: no finite sup error")
            failures_zh.append(f"{name}：没有有限的 sup 误差")
            continue
        best = min(rows, key=lambda r: r["sup"])
        scale = info["range"]["1"] or 1.0
        bound = (best["sup"] + best["sup_std"]) / scale
        measured[name] = {"width": best["width"], "sup_over_range": float(f"{best['sup'] / scale:.3g}"),
                          "std_over_range": float(f"{best['sup_std'] / scale:.3g}")}
        if not bound <= epsilon:
            failures.append(f"{name}: best sup {best['sup'] / scale:.3g} +- {best['sup_std'] / scale:.2g} x range "
                            f"(D = {best['width']})")
            failures_zh.append(f"{name}：最佳 sup 误差为值域的 {best['sup'] / scale:.3g} ± "
                               f"{best['sup_std'] / scale:.2g} 倍（D = {best['width']}）")
    act = method.removeprefix("net:")
    return claim(f"approx.cybenko-sup.{method}",
        f"Cybenko (1989): for every eps > 0 a width-D two-layer network has |F(x) - f(x)| < eps for all x in I_d "
        f"(lecture: ∀x ∈ I_d, |F(x) − f(x)| < ε): {act} networks, d = 1, the sup error on a 4097-point grid at the "
        f"sweep's best width, as a fraction of each target's range (mean + std over seeds)",
        measured, f"<= {epsilon:g} for every target", not failures, why="; ".join(failures) or None,
        tip="--widths up to 1024 (a wider sweep)",
        zh=f"Cybenko (1989)：对于任意 ε > 0，存在宽度为 D 的两层神经网络，对 I_d 中的所有 x 都有 |F(x) − f(x)| < ε"
           f"（讲义：∀x ∈ I_d, |F(x) − f(x)| < ε）：{act} 网络，d = 1，取扫描中最佳宽度处在 4097 点网格上的 sup "
           "误差，表示为各目标函数值域的比例（各随机种子的均值 + 标准差）",
        why_zh="；".join(failures_zh) or None)


def curse_claim(summary: dict[str, Any], target: str, method: str) -> dict[str, Any]:
    """D ~ (L/eps)^d: the width needed for the target error grows by at least CURSE_FACTOR per dimension at every
    step between consecutive d's, up to the first d the sweep's widths do not reach (a lower bound there)."""
    rows = sorted((w for w in summary["width_needed"] if w["target"] == target and w["method"] == method),
                  key=lambda w: w["d"])
    ceiling = max(summary["widths"])
    steps = []
    for a, b in zip(rows, rows[1:], strict=False):
        if a["width"] is None:
            break
        g = at.growth_per_dimension([a["d"], b["d"]], [a["width"], b["width"]], ceiling)
        steps.append({"d": f"{a['d']}->{b['d']}", "factor": round(g["factor"], 2), "lower_bound": g["lower_bound"]})
        if g["lower_bound"]:
            break
    worst = min((s["factor"] for s in steps), default=None)
    eps = summary["target_error"]
    return claim(f"approx.curse-exponential.{method}",
        f"Curse of dimensionality: for L-Lipschitz f the width needed grows like D ~ (L/eps)^d (lecture: 宽度需要为 "
        f"D ∼ (L/ϵ)^d): {target}, {method.removeprefix('net:')} networks, width needed for MSE / Var f <= {eps:g}, "
        "its growth factor per added dimension between consecutive d (a lower bound where the sweep's widths "
        "stop short)",
        {"widths": {str(w["d"]): None if w["width"] is None else round(w["width"], 1) for w in rows},
         "factors": steps},
        f"every factor >= {CURSE_FACTOR:g} per dimension", worst is not None and worst >= CURSE_FACTOR,
        why=("the width is not reached even at the smallest d, so no growth can be measured" if worst is None else
             f"the width needed grows only {worst:.3g}x per added dimension: not the exponential (L/eps)^d"),
        tip="--widths 2 --widths 4 ... --widths 1024 (a sweep that reaches the error at the smallest d)"
        if worst is None else "--target-error 0.01 (a small eps makes L/eps, the base of the exponential, large)",
        zh=f"维数灾难：对于 L-Lipschitz 函数 f，所需宽度按 D ~ (L/ε)^d 增长（讲义：宽度需要为 D ∼ (L/ϵ)^d）："
           f"{target}，{method.removeprefix('net:')} 网络，达到 MSE / f 的方差 ≤ {eps:g} 所需的宽度，以及相邻 d "
           "之间每增加一维的增长倍数（扫描的宽度不够时为下界）",
        why_zh=("即使在最小的 d 也达不到该误差，因此无法测量增长" if worst is None else
                f"每增加一维，所需宽度只增长 {worst:.3g} 倍：不是指数式的 (L/ε)^d"))
