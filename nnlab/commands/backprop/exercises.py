"""Exercises of `nnlab backprop` (read by nnlab.exercise.catalog; the schema is nnlab/exercise/model.py).

The chain-rule answers are exact arithmetic on the slide's formula; the cost answer is a timing slope, whose
spread on a busy machine sets its tolerance (tests/test_exercise_spread.py, slow, checks it over seeds 0-4).
"""

from __future__ import annotations

CHAIN_ONLY = ["cost=false", "train=false"]

EXERCISES = [
    dict(
        id="backprop.slide-dx",
        question="The slide's graph u = x^2, v = u + y, w = z v, r = w^2 at (x, y, z) = (1, 2, 4): what is dr/dx?",
        question_zh="讲义中的计算图 u = x², v = u + y, w = z v, r = w²，在 (x, y, z) = (1, 2, 4) 处 dr/dx 是多少？",
        kind="number", unit="dr/dx", unit_zh="dr/dx", low=-1e6, high=1e6,
        settings=CHAIN_ONLY, flip=["point=x=2,y=2,z=4"],
        answer=lambda run: run.numbers["gradient.x"],
        tolerance={"abs": 1e-6, "rel": 1e-6},
        tolerance_note="exact arithmetic (the engine agrees with torch to rounding); the tolerance is rounding's",
        hint="Back-propagation: the adjoint of each node is the sum over its children of child's adjoint times "
             "the local derivative; start from dr/dr = 1.",
        hint_zh="反向传播：每个节点的伴随值等于对其所有子节点求和（子节点伴随值 × 局部导数）；从 dr/dr = 1 开始。",
        explanation="dr/dw = 2w = 24, dr/dv = 24 z = 96, dr/du = 96, dr/dx = 96 * 2x = 192.",
        explanation_zh="dr/dw = 2w = 24，dr/dv = 24 z = 96，dr/du = 96，dr/dx = 96 × 2x = 192。",
    ),
    dict(
        id="backprop.slide-dz",
        question="In the same graph at (1, 2, 4), what is dr/dz?",
        question_zh="同一计算图在 (1, 2, 4) 处，dr/dz 是多少？",
        kind="number", unit="dr/dz", unit_zh="dr/dz", low=-1e6, high=1e6,
        settings=CHAIN_ONLY, flip=["point=x=1,y=5,z=4"],
        answer=lambda run: run.numbers["gradient.z"],
        tolerance={"abs": 1e-6, "rel": 1e-6},
        tolerance_note="exact arithmetic; the tolerance is rounding's",
        hint="w = z v, so dw/dz = v; then the chain rule through r = w^2.",
        hint_zh="w = z v，所以 dw/dz = v；再经 r = w² 用链式法则。",
        explanation="dr/dz = 2w * v = 2 * 12 * 3 = 72.",
        explanation_zh="dr/dz = 2w · v = 2 × 12 × 3 = 72。",
    ),
    dict(
        id="backprop.backward-time-slope",
        question="For MLPs of N hidden layers, what log-log slope does the backward pass's time have against N when "
                 "back-propagation keeps the intermediates?",
        question_zh="对 N 个隐藏层的 MLP，若反向传播保留中间结果，反向传播时间对 N 的双对数斜率是多少？",
        kind="number", unit="slope (log time / log N)", unit_zh="斜率（log 时间 / log N）", low=-5.0, high=5.0,
        settings=["train=false", "cost_libraries=engine"], flip=["cost_backward=recompute"],
        answer=lambda run: run.numbers["cost.engine.backward_slope"],
        tolerance={"abs": 0.35},
        tolerance_note="a timing: seeds 0-4 on a shared 2-core machine gave 0.9-1.1; 0.35 tells 1 from 2",
        hint="The cost of a gradient: one backward pass visits every node once, as the forward pass does.",
        hint_zh="梯度的代价：一次反向传播像前向传播一样，每个节点只访问一次。",
        explanation="About 1: the backward time is O(N), a small constant times the forward pass. Recomputing each "
                    "layer's input from x instead (keeping nothing) costs O(N^2), slope 2.",
        explanation_zh="约 1：反向时间为 O(N)，是前向的常数倍。若不保留中间结果、每层输入都从 x 重算，代价为 O(N²)，"
                       "斜率 2。",
    ),
]
