"""Exercises of `nnlab init` (read by nnlab.exercise.catalog; the schema is nnlab/exercise/model.py).

Seed spreads: tests/test_exercise_spread.py (slow) reruns each random answer over
seeds 0-4 and checks that its tolerance is at least twice their standard deviation.
"""

from __future__ import annotations

EXERCISES = [
    dict(
        id="init.saturation-005",
        question="With w = 0.05 in the slide's network (6 tanh layers, 4096 wide, W = w * randn), what share of "
                 "layer-6 units has |tanh| > 0.99?",
        question_zh="取 w = 0.05（讲义中的网络：6 层 tanh，宽 4096，W = w * randn），第 6 层有多大比例的单元 |tanh| > "
                    "0.99？",
        kind="number", unit="share of units", unit_zh="单元比例", low=0.0, high=1.0,
        settings=["scale=0.05", "width=4096"], flip=["width=1024"],
        answer=lambda run: run.numbers["0.05.saturated_last"],
        tolerance={"abs": 0.06},
        tolerance_note="seeds 0-4: 0.33 with a spread (std) under 0.01; 0.06 allows a rough Gaussian estimate",
        hint="The initialization slides: w * sqrt(4096) = 3.2 is the gain per layer, so pre-activations are "
             "spread far beyond tanh's linear part.",
        hint_zh="讲义“初始化”一节：每层增益 w·sqrt(4096) = 3.2，预激活远超出 tanh 的线性区。",
        explanation="With a gain of 3.2 the pre-activations have std about 2.5 after the first layer and a third of "
                    "the units sit at |tanh| > 0.99: the slide's picture of activations piled at -1 and 1, where "
                    "the gradient is nearly 0.",
        explanation_zh="增益为 3.2 时，第一层之后预激活的标准差约 2.5，三分之一的单元落在 |tanh| > 0.99：正是讲义中"
                       "激活堆在 −1 和 1 的图，那里梯度几乎为 0。",
    ),
    dict(
        id="init.vanish-001",
        question="With w = 0.01 (6 tanh layers, 512 wide), what is the std of the last layer's activations, the "
                 "input being randn?",
        question_zh="取 w = 0.01（6 层 tanh，宽 512，输入为 randn），最后一层激活的标准差是多少？",
        kind="number", unit="std", unit_zh="标准差", low=0.0, high=10.0,
        settings=["scale=0.01", "width=512"], flip=["width=2048"],
        answer=lambda run: run.numbers["0.01.std_last"],
        tolerance={"factor": 3.0},
        tolerance_note="seeds 0-4: within 10% of 1.3e-4; a factor 3 asks for the order of magnitude",
        hint="Near 0, tanh is the identity: each layer multiplies the std by w * sqrt(n) = 0.01 * sqrt(512).",
        hint_zh="在 0 附近 tanh 近似恒等：每层把标准差乘以 w·sqrt(n) = 0.01·sqrt(512)。",
        explanation="0.01 * sqrt(512) = 0.226 per layer, six times: 0.226^6 is about 1.3e-4. The activations (and "
                    "with them the gradients) vanish; at width 2048 the gain is 0.45 and they shrink far less.",
        explanation_zh="每层 0.01·sqrt(512) = 0.226，六层：0.226⁶ 约 1.3e-4。激活（以及梯度）消失；宽度 2048 时增益 "
                       "0.45，"
                       "衰减小得多。",
    ),
    dict(
        id="init.xavier-last-std",
        question="With Xavier initialization (w = 1/sqrt(512), 6 tanh layers, 512 wide), what is the std of the "
                 "last layer's activations?",
        question_zh="使用 Xavier 初始化（w = 1/sqrt(512)，6 层 tanh，宽 512），最后一层激活的标准差是多少？",
        kind="number", unit="std", unit_zh="标准差", low=0.0, high=10.0,
        settings=["scale=xavier", "width=512"], flip=["activation=relu"],
        answer=lambda run: run.numbers["xavier.std_last"],
        tolerance={"abs": 0.08},
        tolerance_note="seeds 0-4: 0.30 with a std under 0.01; 0.08 allows the per-layer shrink estimated roughly",
        hint="Xavier keeps the pre-activation's variance of a linear layer; tanh shrinks it a little each layer.",
        hint_zh="Xavier 让线性层前后方差不变；tanh 每层再把它缩小一点。",
        explanation="The std shrinks slowly (about 0.86 per layer) instead of vanishing or saturating: about 0.3 after "
                    "six layers. With ReLU the same w loses half the variance per layer (He's sqrt(2) fixes it).",
        explanation_zh="标准差缓慢减小（每层约 0.86），既不消失也不饱和：六层后约 0.3。换成 ReLU，同样的 w 每层损失一半"
                       "方差（He 初始化的 sqrt(2) 正是为此）。",
    ),
]
