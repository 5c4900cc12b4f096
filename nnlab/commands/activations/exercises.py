"""Exercises of `nnlab activations` (read by nnlab.exercise.catalog; the schema is nnlab/exercise/model.py).

Every answer here is a quadrature or a closed form of the run (no Monte Carlo is read), so it is the same for
every seed: the tolerances are for the prediction's arithmetic, not for noise.
"""

from __future__ import annotations

ORDERED = ["sigmoid", "tanh", "relu"]


def per_layer_order(run):
    """The three activations, smallest E|sigma'(z)| first."""
    return sorted(ORDERED, key=lambda name: run.numbers[f"{name}.per_layer_factor"])


EXERCISES = [
    dict(
        id="activations.sigmoid-per-layer",
        question="With pre-activations z ~ N(0, 1), by what factor does one sigmoid layer shrink the "
                 "back-propagated gradient on average, E|sigma'(z)|?",
        question_zh="当预激活 z ~ N(0, 1) 时，一层 sigmoid 平均把反向传播的梯度缩小多少倍，即 E|σ'(z)| 是多少？",
        kind="number", unit="factor per layer", unit_zh="每层的倍数", low=0.0, high=1.0,
        settings=["activation=sigmoid"], flip=["input_std=3"],
        answer=lambda run: run.numbers["sigmoid.per_layer_factor"],
        tolerance={"abs": 0.02},
        tolerance_note="quadrature: no seed changes it; 0.02 is a tenth of the answer",
        hint="The lecture's activation functions: sigma'(z) = sigma(z)(1 - sigma(z)) is at most 1/4, at z = 0.",
        hint_zh="讲义“激活函数”一节：σ'(z) = σ(z)(1 − σ(z))，最大值 1/4，在 z = 0 处取到。",
        explanation="sigma' peaks at 0.25 and falls off fast, so its mean over N(0, 1) is about 0.21: every "
                    "sigmoid layer divides the gradient by about 5, which is why deep sigmoid networks vanish.",
        explanation_zh="σ' 的峰值只有 0.25 且下降很快，在 N(0, 1) 上的均值约 0.21：每一层 sigmoid 把梯度缩小约 5 倍，"
                       "这就是深层 sigmoid 网络梯度消失的原因。",
    ),
    dict(
        id="activations.tanh-saturation-wide",
        question="With wide pre-activations z ~ N(0, 3^2), what share of tanh units saturates, "
                 "|tanh'(z)| < 0.01?",
        question_zh="当预激活较宽，z ~ N(0, 3²) 时，有多大比例的 tanh 单元饱和（|tanh'(z)| < 0.01）？",
        kind="number", unit="share of units", unit_zh="单元比例", low=0.0, high=1.0,
        settings=["activation=tanh", "input_std=3"], flip=["input_std=1"],
        answer=lambda run: run.numbers["tanh.saturated_fraction"],
        tolerance={"abs": 0.04},
        tolerance_note="closed form P(|z| > atanh(sqrt(0.99))): no seed changes it; 0.04 allows a rough atanh",
        hint="tanh'(z) = 1 - tanh(z)^2 < 0.01 where |tanh z| > 0.995, i.e. |z| > about 3; then P(|N(0, 3^2)| > 3).",
        hint_zh="tanh'(z) = 1 − tanh²(z) < 0.01 即 |tanh z| > 0.995，也就是 |z| 大约 > 3；再求 P(|N(0, 3²)| > 3)。",
        explanation="|z| > 2.99 is one standard deviation of N(0, 3^2): about 32% of the units pass no gradient. "
                    "At z ~ N(0, 1) the same share is 0.3%: the input's scale decides saturation.",
        explanation_zh="|z| > 2.99 恰是 N(0, 3²) 的一个标准差：约 32% 的单元几乎不传梯度。z ~ N(0, 1) 时这一比例只有 "
                       "0.3%：是否饱和由输入的尺度决定。",
    ),
    dict(
        id="activations.per-layer-order",
        question="Order sigmoid, tanh and relu by E|sigma'(z)| with z ~ N(0, 1), smallest first.",
        question_zh="按 E|σ'(z)|（z ~ N(0, 1)）从小到大给 sigmoid、tanh、relu 排序。",
        kind="order", choices=ORDERED,
        settings=["activation=[sigmoid, tanh, relu]"], flip=["input_std=3"],
        answer=per_layer_order,
        hint="sigmoid' <= 1/4; relu' is 1 on half the line; tanh' = 1 at 0 and falls off within |z| ~ 1.",
        hint_zh="sigmoid' ≤ 1/4；relu' 在一半的实轴上为 1；tanh' 在 0 处为 1，|z| 约 1 以外迅速衰减。",
        explanation="sigmoid 0.21 < relu 0.50 < tanh 0.61 at unit scale. Widen z (input_std 3) and tanh saturates "
                    "below relu, whose derivative does not depend on the scale.",
        explanation_zh="单位尺度下 sigmoid 0.21 < relu 0.50 < tanh 0.61。把 z 放宽（input_std 3），tanh 饱和，降到 "
                       "relu "
                       "之下，而 relu 的导数与尺度无关。",
    ),
    dict(
        id="activations.tanh-product-depth",
        question="Through L = 8 tanh layers, each with its own z ~ N(0, 1), what is E|prod of the 8 tanh'(z_l)|?",
        question_zh="经过 L = 8 层 tanh（每层独立的 z ~ N(0, 1)），8 个 tanh'(z_l) 之积的期望 E|∏| 是多少？",
        kind="number", unit="gradient factor", unit_zh="梯度倍数", low=0.0, high=1.0,
        settings=["activation=tanh", "depth=8"], flip=["depth=4"],
        answer=lambda run: run.numbers["tanh.expected_product"],
        tolerance={"factor": 1.5},
        tolerance_note="quadrature (independent layers: the per-layer mean to the power L), seed-free; a factor "
                       "1.5 allows the per-layer factor rounded to one digit",
        hint="Independent factors: E|prod| = (E|tanh'(z)|)^L. The back-propagation chapter: the gradient is a "
             "product of one derivative per layer.",
        hint_zh="各因子独立：E|∏| = (E|tanh'(z)|)^L。见讲义反向传播一章：梯度是每层一个导数的乘积。",
        explanation="E|tanh'(z)| is about 0.61, and 0.61^8 is about 0.018: eight layers already cut the gradient "
                    "fifty-fold. Halve the depth and it is 0.13.",
        explanation_zh="E|tanh'(z)| 约 0.61，0.61⁸ 约 0.018：八层就让梯度缩小五十倍。深度减半则为 0.13。",
    ),
]
