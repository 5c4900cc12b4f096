"""Exercises of `nnlab approx` (read by nnlab.exercise.catalog; the schema is nnlab/exercise/model.py).

The quick run fits random-feature networks of widths 2-64 on two seeds; the slopes it fits move with the seed,
and tests/test_exercise_spread.py (slow) checks each tolerance against their spread over seeds 0-4.
"""

from __future__ import annotations

# The quick run's sweep, pinned: what the questions say (a change to --quick leaves the answers alone).
SWEEP = ["widths=[2, 4, 8, 16, 64]", "slope_from=4", "seeds=2", "dims=[1, 2]"]
SETTINGS = ["target=[sawtooth, bump]", "activation=sigmoid", *SWEEP]


def first_target(run) -> str:
    return run.config["target"][0]


def slope(run, d: int) -> float:
    return run.numbers[f"{first_target(run)}.d{d}.sigmoid.slope"]


EXERCISES = [
    dict(
        id="approx.sawtooth-slope-d1",
        question="A sawtooth on [0, 1] fitted by width-D sigmoid networks: what log-log slope does the relative MSE "
                 "have against D (D from 4 to 64)?",
        question_zh="用宽度为 D 的 sigmoid 网络拟合 [0, 1] 上的锯齿函数：相对 MSE 对 D 的双对数斜率是多少（D 从 4 到 "
                    "64）？",
        kind="number", unit="slope (log MSE / log D)", unit_zh="斜率（log MSE / log D）", low=-20.0, high=5.0,
        settings=SETTINGS, flip=["feature_scale=0.5"],
        answer=lambda run: slope(run, 1),
        tolerance={"abs": 0.5},
        tolerance_note="seeds 0-4: -1.7 to -2.2, a std of 0.17; 0.5 separates -1 (Barron) from -2 and -3",
        hint="Universal approximation: Barron's bound gives MSE ~ 1/D for smooth targets; a target with kinks "
             "converges more slowly than a smooth one.",
        hint_zh="万能逼近：对光滑目标，Barron 界给出 MSE ~ 1/D；有尖点的目标比光滑目标收敛得慢。",
        explanation="About -2 (-1.7 to -2.2 over seeds): faster than Barron's -1 (a bound, not a rate) yet far slower "
                    "than the smooth bump's "
                    "-6, because the sawtooth's jumps need many units each.",
        explanation_zh="约 −2（随种子在 −1.7 到 −2.2 之间）：比 Barron 的 −1 快（那是上界而非速率），但远慢于光滑 "
                       "bump 的 −6，因为锯齿的每个跳变都需要"
                       "许多单元。",
    ),
    dict(
        id="approx.curse-gap",
        question="How much flatter is the sawtooth's slope in d = 2 than in d = 1 (slope d2 - slope d1)?",
        question_zh="锯齿函数在 d = 2 时的斜率比 d = 1 时平缓多少（斜率 d2 − 斜率 d1）？",
        kind="number", unit="slope difference", unit_zh="斜率差", low=-10.0, high=10.0,
        settings=SETTINGS, flip=["feature_scale=0.5"],
        answer=lambda run: slope(run, 2) - slope(run, 1),
        tolerance={"abs": 0.4},
        tolerance_note="seeds 0-4: 0.31 to 0.76, a std of 0.15; 0.4 asks for the sign and the size",
        hint="The curse of dimensionality: in d dimensions a rate D^(-s/d) flattens as d grows.",
        hint_zh="维数灾难：在 d 维中速率 D^(−s/d) 随 d 增大而变平。",
        explanation="Positive, about 0.3 to 0.8 depending on the seed: the same widths buy less accuracy in two "
                    "dimensions. The bump, smooth, "
                    "flattens too, but from a far steeper start.",
        explanation_zh="为正，随种子在 0.3 到 0.8 之间：同样的宽度在二维中换来的精度更少。光滑的 bump 也变平，"
                       "但起点陡得多。",
    ),
    dict(
        id="approx.bump-error-d1",
        question="The smooth bump in d = 1, sigmoid features: what relative MSE (MSE / Var f) does width D = 64 "
                 "reach? (An order of magnitude.)",
        question_zh="d = 1 的光滑 bump，sigmoid 特征：宽度 D = 64 时相对 MSE（MSE / Var f）是多少？（数量级即可）",
        kind="number", unit="relative MSE", unit_zh="相对 MSE", low=0.0, high=10.0,
        settings=["target=bump", "activation=sigmoid", *SWEEP], flip=["widths=[2, 4, 8, 16]"],
        answer=lambda run: run.numbers[f"{first_target(run)}.d1.sigmoid.rel_mse_at_largest_width"],
        tolerance={"factor": 10.0},
        tolerance_note="seeds 0-4 moved it within a factor 3; a factor 10 asks for the power of ten",
        hint="A smooth target's error falls fast with D (slope near -6 here): from about 0.15 at D = 2.",
        hint_zh="光滑目标的误差随 D 下降很快（这里斜率约 −6）：D = 2 时约 0.15。",
        explanation="About 1e-9: with 64 random sigmoids and exact least squares the bump is fitted to rounding-like "
                    "accuracy; at D = 16 it is still 1e-5.",
        explanation_zh="约 1e-9：64 个随机 sigmoid 加精确最小二乘，几乎拟合到舍入精度；D = 16 时仍是 1e-5。",
    ),
]
