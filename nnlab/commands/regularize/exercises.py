"""Exercises of `nnlab regularize` (read by nnlab.exercise.catalog; the schema is nnlab/exercise/model.py).

The quick run is the regression setting on one seed; tests/test_exercise_spread.py (slow) checks each tolerance
against the answer's spread over seeds 0-4.
"""

from __future__ import annotations

# One seed of the regression setting at its defaults: what the questions (and the tolerances' spreads) are about.
PINNED = ["setting=regression", "seeds=1", "lam=[0.001, 0.01]"]

EXERCISES = [
    dict(
        id="regularize.l1-zeros",
        question="Fit 15 noisy points with a 64-unit network and an L1 penalty (proximal steps): what share of the "
                 "weights ends exactly at 0?",
        question_zh="用 64 个单元的网络加 L1 惩罚（近端梯度步）拟合 15 个带噪声的点：有多大比例的权重恰好为 0？",
        kind="number", unit="share of weights", unit_zh="权重比例", low=0.0, high=1.0,
        settings=PINNED, flip=["l1_step=subgradient"],
        answer=lambda run: run.numbers["regression.l1.w_zero"],
        tolerance={"abs": 0.1},
        tolerance_note="seeds 0-4: 0.95-0.99; 0.1 asks for 'almost all' against 'none'",
        hint="L1's proximal step is soft thresholding: every weight with |w| < eta * lambda is set to exactly 0.",
        hint_zh="L1 的近端步是软阈值：|w| < η·λ 的权重被精确置 0。",
        explanation="About 95%: a few weights carry the fit, the rest are exact zeros. L2 shrinks weights but leaves "
                    "none at 0; subgradient steps (sign(w)) oscillate around 0 and leave none exact either.",
        explanation_zh="约 95%：少数权重承担拟合，其余精确为 0。L2 只缩小权重而不会置 0；次梯度步（sign(w)）在 0 附近"
                       "振荡，也不会得到精确的 0。",
    ),
    dict(
        id="regularize.gap-none",
        question="Without regularization, what is the gap between test and training loss (MSE) after 2000 "
                 "full-batch steps on the 15 points?",
        question_zh="不加正则化，在 15 个点上做 2000 步全批量训练后，测试损失与训练损失（MSE）之差是多少？",
        kind="number", unit="test - train MSE", unit_zh="测试 − 训练 MSE", low=0.0, high=100.0,
        settings=PINNED, flip=["noise=0.02"],
        answer=lambda run: run.numbers["regression.none.gap"],
        tolerance={"factor": 4.0},
        tolerance_note="seeds 0-4: 0.075 to 0.38, a std of 0.6 in log; a factor 4 is two of those, and still "
                       "tells overfitting (above the noise's variance, 0.04) from none",
        hint="Overfitting: the training loss falls below the noise's variance (0.2^2) while the test loss grows.",
        hint_zh="过拟合：训练损失降到噪声方差（0.2²）以下，而测试损失上升。",
        explanation="About 0.1 to 0.4 depending on the seed, several times the noise variance: the network "
                    "interpolates the noise. With less noise "
                    "(0.02) there is little to overfit and the gap shrinks by orders of magnitude.",
        explanation_zh="随种子在 0.1 到 0.4 之间，是噪声方差的数倍：网络把噪声也插值了。噪声更小（0.02）时无可过拟合，"
                       "差距缩小几个数量级。",
    ),
    dict(
        id="regularize.elastic-zeros",
        question="The elastic net R = 10 sum theta^2 + sum |theta| (proximal steps for the |theta| part) on the same "
                 "fit: what share of the weights ends exactly at 0?",
        question_zh="弹性网络 R = 10 Σθ² + Σ|θ|（|θ| 部分用近端步）做同样的拟合：有多大比例的权重恰好为 0？",
        kind="number", unit="share of weights", unit_zh="权重比例", low=0.0, high=1.0,
        settings=PINNED, flip=["l1_step=subgradient"],
        answer=lambda run: run.numbers["regression.elastic.w_zero"],
        tolerance={"abs": 0.1},
        tolerance_note="seeds 0-4: 0.92 to 0.94, a std of 0.007; 0.1 asks for 'most' against 'none'",
        hint="The squared part shrinks every weight in proportion; the |theta| part still soft-thresholds the small "
             "ones to 0.",
        hint_zh="平方项按比例缩小每个权重；|θ| 项仍把小权重软阈值到 0。",
        explanation="Still most of them: adding the L2 part keeps L1's exact zeros (the soft threshold is applied "
                    "after the shrink) while it spreads the rest more evenly. Subgradient steps leave none exact.",
        explanation_zh="仍是大部分：加入 L2 项不影响 L1 的精确零（软阈值在缩放之后施加），只让其余权重分布更均匀。"
                       "次梯度步"
                       "得不到精确的 0。",
    ),
]
