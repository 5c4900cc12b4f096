"""Exercises of `nnlab optimize` (read by nnlab.exercise.catalog; the schema is nnlab/exercise/model.py).

On the 2-D quadratic every method but SGD is deterministic; the answers read here are GD's and heavy ball's, and
which method crosses a loss first, so no seed moves them.
"""

from __future__ import annotations

import math

METHODS = ["gd", "sgd", "heavy_ball", "nesterov", "adagrad", "rmsprop", "adam"]
TARGET_LOSS = 1e-10


def divergence_bracket(run) -> dict:
    """The learning-rate sweep's last rate that converged and first that diverged, their geometric mean the value."""
    sweep = run.summary["lr_sweep"]["gd"]
    good = [p["lr"] for p in sweep if p["diverged_step"] is None]
    bad = [p["lr"] for p in sweep if p["diverged_step"] is not None]
    if not good or not bad:
        raise RuntimeError("the sweep found no divergence boundary: widen --lr-sweep")
    low, high = max(good), min(lr for lr in bad if lr > max(good))
    return {"value": math.sqrt(low * high), "low": low, "high": high}


def first_below(run) -> str:
    """The method whose loss first falls under TARGET_LOSS (ties: the lecture's order), or none."""
    first: dict[str, int] = {}
    for row in run.metrics:
        method, loss = row.get("method"), row.get("loss")
        if method in METHODS and loss is not None and loss < TARGET_LOSS and method not in first:
            first[method] = row["step"]
    return min(first, key=lambda m: (first[m], METHODS.index(m))) if first else "none"


EXERCISES = [
    dict(
        id="optimize.gd-diverge-lr",
        question="Gradient descent on the quadratic (x^2 + 50 y^2) / 2: above which learning rate does it diverge?",
        question_zh="在二次函数 (x² + 50 y²) / 2 上做梯度下降：学习率超过多少时发散？",
        kind="number", unit="learning rate", unit_zh="学习率", low=0.0, high=100.0,
        settings=["method=gd", "lr_sweep=auto", "steps=60"], flip=["kappa=10"],
        answer=divergence_bracket,
        tolerance={"rel": 0.05},
        tolerance_note="deterministic; right when inside the sweep's bracket (last converging rate, first diverging "
                       "one: a factor 1.8 apart) or within 5% of their geometric mean",
        hint="The lecture's step-size condition: GD converges on a quadratic when alpha < 2 / L, L the largest "
             "curvature.",
        hint_zh="讲义中的步长条件：在二次函数上当 α < 2 / L 时梯度下降收敛，L 为最大曲率。",
        explanation="L = 50, so 2/L = 0.04: the sweep's 0.039 converges (zigzagging in y) and 0.070 diverges. With "
                    "kappa = 10 the boundary moves to 0.2.",
        explanation_zh="L = 50，故 2/L = 0.04：扫描中 0.039 收敛（在 y 方向来回振荡），0.070 发散。κ = 10 时边界移到 "
                       "0.2。",
    ),
    dict(
        id="optimize.first-to-1e-10",
        question="On the kappa = 50 quadratic with each method's default settings, which optimizer reaches a loss "
                 "below 1e-10 first (within 150 steps)?",
        question_zh="在 κ = 50 的二次函数上，各方法用默认设置，哪个优化器最先把损失降到 1e-10 以下（150 步内）？",
        kind="choice", choices=[*METHODS, "none"],
        settings=["steps=150"], flip=["kappa=1"],
        answer=first_below,
        hint="Momentum with the theory's beta converges at rate (sqrt(kappa) - 1) / (sqrt(kappa) + 1) per step, GD "
             "at (kappa - 1) / (kappa + 1).",
        hint_zh="取理论最优 β 的动量法每步收敛率为 (√κ − 1) / (√κ + 1)，梯度下降为 (κ − 1) / (κ + 1)。",
        explanation="heavy_ball: its rate 0.75 per step beats GD's 0.96 by far on an ill-conditioned problem. On a "
                    "well-conditioned one (kappa = 1) GD's step 2 / (L + mu) = 1 lands on the minimum at once.",
        explanation_zh="heavy_ball：每步 0.75 的收敛率在病态问题上远胜梯度下降的 0.96。在良态问题（κ = 1）"
                       "上梯度下降的步长 2 / (L + μ) = 1 一步就到极小点。",
    ),
    dict(
        id="optimize.momentum-orders",
        question="After 60 steps on the kappa = 50 quadratic, by how many orders of magnitude is heavy ball's loss "
                 "below GD's, log10(loss_gd / loss_heavy_ball)?",
        question_zh="在 κ = 50 的二次函数上走 60 步后，heavy ball 的损失比梯度下降低几个数量级，即 log10(loss_gd / "
                    "loss_hb)？",
        kind="number", unit="orders of magnitude", unit_zh="数量级", low=-30.0, high=30.0,
        settings=["method=[gd, heavy_ball]", "steps=60"], flip=["kappa=5"],
        answer=lambda run: math.log10(run.numbers["gd.final_loss"] / run.numbers["heavy_ball.final_loss"]),
        tolerance={"abs": 1.0},
        tolerance_note="deterministic; 1 order of magnitude of slack for a rate estimated by hand",
        hint="Per step the loss falls by the square of the rate: 0.96^2 for GD, about 0.75^2 for heavy ball.",
        hint_zh="每步损失按收敛率的平方下降：梯度下降 0.96²，heavy ball 约 0.75²。",
        explanation="About 9: GD is still at 0.27 while heavy ball is at 4e-10. Acceleration matters most when kappa "
                    "is large; at kappa = 5 the gap is far smaller.",
        explanation_zh="约 9：梯度下降还在 0.27，heavy ball 已到 4e-10。κ 越大加速越重要；κ = 5 时差距小得多。",
    ),
]
