"""Exercises of `nnlab modules` (read by nnlab.exercise.catalog; the schema is nnlab/exercise/model.py).

Each runs one section of the command (section=...), so a run takes a fraction of a second; the random ones' tolerances
are checked against their spread over seeds 0-4 by tests/test_exercise_spread.py (slow).
"""

from __future__ import annotations

PLACEMENTS = ["pre", "post", "none"]


def most_even(run) -> str:
    return min(PLACEMENTS, key=lambda kind: run.numbers[f"layernorm.gradient_spread_{kind}"])


EXERCISES = [
    dict(
        id="modules.euler-slope",
        question="A residual stack of L blocks x + (1/L) f(x) is Euler's method for dx/dt = f(x). What log-log "
                 "slope does its error at t = 1 have against L?",
        question_zh="L 个残差块 x + (1/L) f(x) 构成的网络就是 dx/dt = f(x) 的欧拉法。它在 t = 1 处的误差对 L "
                    "的双对数斜率是多少？",
        kind="number", unit="slope (log error / log L)", unit_zh="斜率（log 误差 / log L）", low=-10.0, high=5.0,
        settings=["section=residual", "deep_blocks=10"], flip=["euler_scheme=heun"],
        answer=lambda run: run.numbers["residual.euler_slope"],
        tolerance={"abs": 0.15},
        tolerance_note="seeds 0-4: within 0.03 of -0.98; 0.15 tells first order (-1) from second (-2)",
        hint="The residual networks passage: x_{l+1} = x_l + h f(x_l) with h = 1/L; Euler's global error is O(h).",
        hint_zh="讲义残差网络一段：x_{l+1} = x_l + h f(x_l)，h = 1/L；欧拉法的全局误差为 O(h)。",
        explanation="About -1: doubling the blocks halves the error, Euler's first order. A Heun block (two "
                    "evaluations) gives -2.",
        explanation_zh="约 −1：块数加倍误差减半，即欧拉法的一阶精度。Heun 块（两次求值）给出 −2。",
    ),
    dict(
        id="modules.residual-gradient",
        question="Deep tanh networks of 10 two-layer blocks, Xavier initialization: how many times larger is the "
                 "first layer's gradient norm with residual connections than without?",
        question_zh="10 个两层块的深层 tanh 网络，Xavier 初始化：有残差连接时第一层梯度的范数是没有时的多少倍？",
        kind="number", unit="ratio residual / plain", unit_zh="比值 残差 / 普通", low=0.0, high=1e12,
        settings=["section=residual", "deep_blocks=10"], flip=["deep_blocks=40"],
        answer=lambda run: run.numbers["residual.first_grad_residual"] / run.numbers["residual.first_grad_plain"],
        tolerance={"factor": 2.0},
        tolerance_note="seeds 0-3: 16.2 to 17.5; a factor 2 asks for its size, not its digits",
        hint="Through x + F(x) the Jacobian is I + dF/dx: the identity carries the gradient past every block, "
             "while the plain network multiplies 20 Jacobians of norm below 1.",
        hint_zh="经过 x + F(x)，雅可比矩阵是 I + dF/dx：恒等项把梯度直接传过每个块；普通网络则连乘 20 个范数小于 1 "
                "的雅可比矩阵。",
        explanation="About 17: the plain network's gradient shrinks by a few percent per layer, compounded over 20 "
                    "layers, while the residual one's stays of order 1. At 40 blocks the gap is about 350: it grows "
                    "exponentially with depth.",
        explanation_zh="约 17：普通网络的梯度每层缩小百分之几，20 层累积下来；残差网络的梯度保持在 1 的量级。40 "
                       "个块时差距约"
                       " 350：随深度指数增长。",
    ),
    dict(
        id="modules.layernorm-scale",
        question="Scale W and b by a = 100 in LN(W z + b) (eps = 0): what is the largest change of the output, "
                 "max |LN(aWz + ab) - LN(Wz + b)|?",
        question_zh="在 LN(W z + b)（eps = 0）中把 W 和 b 同乘 a = 100：输出的最大变化 max |LN(aWz + ab) − LN(Wz + "
                    "b)| 是多少？",
        kind="number", unit="max abs difference", unit_zh="最大绝对差", low=0.0, high=100.0,
        settings=["section=layernorm", "ln_depth=12"], flip=["ln_eps=0.5"],
        answer=lambda run: run.numbers["layernorm.invariance_error"],
        tolerance={"abs": 1e-6},
        tolerance_note="an identity up to rounding (about 1e-15 for every seed); 1e-6 counts any 'zero' as right",
        hint="LayerNorm subtracts the mean and divides by the std over the units: both scale with a.",
        hint_zh="LayerNorm 减去各单元的均值再除以标准差：二者都随 a 等比缩放。",
        explanation="0 up to rounding: (a h - a mean) / (a std) = (h - mean) / std. With eps > 0 inside the square "
                    "root the cancellation is no longer exact and small a changes the output.",
        explanation_zh="在舍入误差内为 0：(a h − a·均值) / (a·标准差) = (h − 均值) / 标准差。若根号内 eps > 0，"
                       "约分不再精确，"
                       "小的 a 会改变输出。",
    ),
    dict(
        id="modules.most-even-gradients",
        question="In a deep tanh network (12 layers, weight std 0.5), where should LayerNorm go for the most even "
                 "gradient norms across layers: pre (before the activation), post (after it), or none?",
        question_zh="在深层 tanh 网络（12 层，权重标准差 0.5）中，LayerNorm 放在哪里各层梯度范数最均匀：pre（激活前）、"
                    "post（激活后），还是 none（不用）？",
        kind="choice", choices=PLACEMENTS,
        settings=["section=layernorm", "ln_depth=12"], flip=["ln_weight_std=0.01"],
        answer=most_even,
        hint="Weight std 0.5 at width 64 is a gain of 4: without a normalization before it, tanh saturates.",
        hint_zh="宽 64 时权重标准差 0.5 即增益 4：激活前不做归一化，tanh 就会饱和。",
        explanation="pre: normalizing before tanh keeps it out of saturation, so the gradient norms stay within a "
                    "few times of each other; post and none spread them over two orders of magnitude. With weight "
                    "std 0.01 nothing saturates and the plain network (none) is the most even.",
        explanation_zh="pre：在 tanh 前归一化使其不饱和，各层梯度范数相差仅几倍；post 和 none 则相差两个数量级。"
                       "权重标准差为 0.01 时没有饱和，不用 LayerNorm（none）反而最均匀。",
    ),
]
