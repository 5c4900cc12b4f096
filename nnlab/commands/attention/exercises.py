"""Exercises of `nnlab attention` (read by nnlab.exercise.catalog; the schema is nnlab/exercise/model.py).

The entropies are measured on random queries and keys, the accuracy on a short training: tests/test_exercise_spread.py
(slow) checks each tolerance against the answer's spread over seeds 0-4.
"""

from __future__ import annotations

# The quick run's model, pinned: what the questions say (a change to --quick leaves the answers alone).
PINNED = ["steps=60", "seeds=1", "pairs=8", "n_values=16", "entropy_tokens=32", "entropy_dims=[4, 256]"]

EXERCISES = [
    dict(
        id="attention.unscaled-entropy",
        question="Random queries and keys of width m = 256, n = 32 tokens: what is the softmax's entropy (nats) "
                 "WITHOUT the 1/sqrt(m) scaling? (Uniform weights would give log 32 = 3.47.)",
        question_zh="宽度 m = 256 的随机 query 和 key，n = 32 个词元：不做 1/sqrt(m) 缩放时，softmax 的熵（nats）"
                    "是多少？"
                    "（均匀权重为 log 32 = 3.47。）",
        kind="number", unit="nats", unit_zh="奈特", low=0.0, high=10.0,
        settings=PINNED, flip=["entropy_tokens=4"],
        answer=lambda run: run.numbers["entropy.unscaled.m256"],
        tolerance={"abs": 0.1},
        tolerance_note="seeds 0-4: 0.22 to 0.26, a std of 0.014; 0.1 (seven of those) tells 'nearly one-hot' "
                       "from 'soft' (uniform: 3.47)",
        hint="q . k of unit-variance entries has std sqrt(m) = 16: the largest score wins by far.",
        hint_zh="单位方差分量的 q·k 标准差为 sqrt(m) = 16：最大的分数遥遥领先。",
        explanation="About 0.2: scores of std 16 make the softmax nearly one-hot, so almost no gradient reaches the "
                    "other keys. Dividing by sqrt(m) brings the std to 1 and the entropy near 3.",
        explanation_zh="约 0.2：标准差为 16 的分数让 softmax 几乎是 one-hot，其他 key 几乎得不到梯度。除以 sqrt(m) "
                       "把标准差"
                       "降到 1，熵回到约 3。",
    ),
    dict(
        id="attention.scaled-entropy",
        question="The same (m = 256, n = 32) WITH the 1/sqrt(m) scaling: what is the softmax's entropy (nats)?",
        question_zh="同样的设置（m = 256，n = 32），做 1/sqrt(m) 缩放后，softmax 的熵（nats）是多少？",
        kind="number", unit="nats", unit_zh="奈特", low=0.0, high=10.0,
        settings=PINNED, flip=["entropy_tokens=4"],
        answer=lambda run: run.numbers["entropy.scaled.m256"],
        tolerance={"abs": 0.2},
        tolerance_note="seeds 0-4: 3.01 to 3.04, a std of 0.013; 0.2 asks for 'near log n, a little below'",
        hint="Scaled scores have std 1: the weights are exp(N(0, 1)) normalized, not uniform but close.",
        hint_zh="缩放后分数标准差为 1：权重是归一化的 exp(N(0, 1))，不均匀但接近均匀。",
        explanation="About 3.0, half a nat below log 32 = 3.47 whatever m is: the scaling keeps the softmax soft.",
        explanation_zh="约 3.0，比 log 32 = 3.47 低约半个奈特，且与 m 无关：缩放让 softmax 保持“软”。",
    ),
    dict(
        id="attention.mean-pooling-accuracy",
        question="Key-value lookup (8 pairs, 16 possible values): what held-out accuracy does a model with mean "
                 "pooling instead of attention reach after 60 steps?",
        question_zh="键值查找（8 对，16 种可能的值）：把注意力换成平均池化的模型，训练 60 "
                    "步后在留出集上的准确率是多少？",
        kind="number", unit="accuracy", unit_zh="准确率", low=0.0, high=1.0,
        settings=PINNED, flip=["n_values=4"],
        answer=lambda run: run.numbers["mean_pooling.accuracy"],
        tolerance={"abs": 0.08},
        tolerance_note="seeds 0-4: 0.14 to 0.18, a std of 0.015; 0.08 tells chance-like from learned",
        hint="A mean over the tokens forgets which value sat beside which key; chance is 1/16, guessing a value "
             "present in the sequence about 1/8.",
        hint_zh="对词元取平均会丢失“哪个值挨着哪个键”；随机猜为 1/16，猜序列中出现过的值约 1/8。",
        explanation=f"About 0.15, near a blind guess among the values present, while attention reaches above 0.9: "
                    f"the lookup needs a query to select its key. (Chance: {1 / 16:.3f}.)",
        explanation_zh="约 0.15，接近在出现过的值中盲猜，而注意力模型超过 0.9：查找需要 query 去选中它的 key。"
                       f"（随机水平：{1 / 16:.3f}。）",
    ),
]
