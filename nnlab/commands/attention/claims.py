"""The claims and checks of `nnlab attention`, each a pure function of the numbers the run measured."""

from __future__ import annotations

import math
from typing import Any

from nnlab.commands.attention.config import AttentionConfig
from nnlab.core.claims import check, claim

CHECK_TOL = 1e-10        # float64: ours and torch's differ by summation order only
BEATS_ACC = 0.9          # the attention model "reaches high accuracy"
BEATS_MARGIN = 0.3       # ... and beats mean pooling by at least this much (accuracy)
VIT_ACC = 0.5            # "learns": at least half the test digits right, five times chance (0.1)


def spread(values: list[float]) -> dict[str, float]:
    """Mean, standard deviation (n - 1; 0 for one value), min and max (NaN for a diverged run propagates)."""
    import numpy as np

    a = np.asarray(values, dtype=float)
    return {"mean": float(a.mean()), "std": float(a.std(ddof=1)) if len(a) > 1 else 0.0,
            "min": float(a.min()), "max": float(a.max())}


def matches_torch_check(diffs: dict[str, float], config: AttentionConfig) -> dict[str, Any]:
    """Ours (numpy, float64) against torch given the same weights: every max |difference| under CHECK_TOL."""
    return check("attention.matches-torch",
        f"nnlab.nn.attention (numpy, float64) equals torch given the same weights at m = {config.dim}, "
        f"h = {config.heads}: multi-head attention vs nn.MultiheadAttention, causal self-attention vs "
        "scaled_dot_product_attention, and the torch port the models use (max |difference|)",
        {k: float(f"{v:.3g}") for k, v in diffs.items()}, f"all < {CHECK_TOL:g}",
        max(diffs.values()) < CHECK_TOL,
        zh=f"在 m = {config.dim}、h = {config.heads} 时，给定相同的权重，nnlab.nn.attention（numpy，float64）与 torch "
           "的结果一致：多头注意力对照 nn.MultiheadAttention，因果自注意力对照 scaled_dot_product_attention，"
           "以及模型所用的 torch 移植版（最大 |差值|）")


def scaling_claim(entropy: list[dict[str, float]], n: int) -> dict[str, Any]:
    """1/sqrt(m) keeps the entropy put as m grows; without it the largest m's softmax is far sharper."""
    scaled = [row["scaled"] for row in entropy]
    last = entropy[-1]
    steady = max(scaled) - min(scaled) < 0.1 * math.log(n)
    sharp = last["unscaled"] < 0.5 * last["scaled"]
    return claim("attention.scaling-keeps-softmax-soft",
        f"e_ij = q_i . k_j / sqrt(m) keeps a_ij soft at initialization: mean entropy of a_ij (nats, n = {n} "
        f"tokens, uniform = {math.log(n):.3f}) with the 1/sqrt(m) stays put as m grows; without it the "
        "softmax turns nearly one-hot",
        {str(row["m"]): {"scaled": round(row["scaled"], 3), "unscaled": round(row["unscaled"], 3)}
         for row in entropy},
        f"scaled varies < {0.1 * math.log(n):.3f} over m; unscaled < half of scaled at m = {last['m']}",
        steady and sharp, source="nnlab",
        why=(f"with 1/sqrt(m) the entropy moves by {max(scaled) - min(scaled):.3g} nats over m" if not steady else
             f"without 1/sqrt(m) the entropy at m = {last['m']} is {last['unscaled']:.3g}, not below half of "
             f"{last['scaled']:.3g}: the widths are too small for the scale to matter"),
        zh=f"e_ij = q_i · k_j / √m 使 a_ij 在初始化时保持平缓：带 1/√m 时，a_ij 的平均熵（单位 nats，n = {n} 个 "
           f"token，均匀分布为 {math.log(n):.3f}）随 m 增大基本不变；去掉它，softmax 几乎变成 one-hot（独热）",
        why_zh=(f"带 1/√m 时，熵在不同 m 之间变化了 {max(scaled) - min(scaled):.3g} nats" if not steady else
                f"不带 1/√m 时，m = {last['m']} 处的熵为 {last['unscaled']:.3g}，没有低于 {last['scaled']:.3g} "
                "的一半：宽度太小，缩放的作用显不出来"),
        tip="--entropy-dims 4 --entropy-dims 1024")


def first_reaching(curve: list[list[float]], level: float) -> tuple[float, float] | None:
    """(step, accuracy) of the first logged point of a curve at or above `level`, or None."""
    return next(((step, acc) for step, acc in curve if acc >= level), None)


def beats_claim(results: dict[str, list[dict[str, Any]]], config: AttentionConfig) -> dict[str, Any]:
    """At the step where attention first reaches BEATS_ACC held-out accuracy (per seed), mean pooling, trained on
    the same sequences for the same steps, is at least BEATS_MARGIN below it (mean gap - 2 sem over the seeds).

    Judged there, not at the end: with enough steps a mean of nonlinear token features can store the pairs
    (an associative memory) and mean pooling climbs too, so an end-of-training gap depends on stopping early;
    the time attention needs to learn the lookup does not."""
    gaps, reached = [], []
    for att, mean in zip(results["attention"], results["mean"], strict=True):
        hit = first_reaching(att.get("curve") or [], BEATS_ACC)
        if hit is None:
            continue
        step, acc = hit
        control = dict(map(tuple, mean.get("curve") or [])).get(step, float("nan"))  # logged at the same steps
        reached.append(step)
        gaps.append(acc - control)
    n = len(results["attention"])
    gap = spread(gaps) if gaps else None
    sem = gap["std"] / math.sqrt(len(gaps)) if gap else math.nan
    holds = len(gaps) == n and gap is not None and gap["mean"] - 2 * sem >= BEATS_MARGIN
    final = {"attention": spread([r["eval/acc"] for r in results["attention"]]),
             "mean_pooling": spread([r["eval/acc"] for r in results["mean"]])}
    if len(gaps) < n:
        why = (f"attention reached {BEATS_ACC} held-out accuracy in {len(gaps)} of {n} seeds within {config.steps} "
               "steps: it has not learned the lookup, so there is nothing to compare")
        why_zh = (f"在 {config.steps} 步内，注意力模型只在 {n} 个种子中的 {len(gaps)} 个上达到 {BEATS_ACC} "
                  "的留出准确率：它还没有学会查找，因此无从比较")
    else:
        why = (f"when attention first reached {BEATS_ACC}, mean pooling was only {gap['mean']:.3g} +- "
               f"{2 * sem:.2g} below it (it needs {BEATS_MARGIN}): this lookup does not need attention")
        why_zh = (f"注意力模型首次达到 {BEATS_ACC} 时，平均池化只比它低 {gap['mean']:.3g} ± {2 * sem:.2g}"
                  f"（要求至少 {BEATS_MARGIN}）：这个查找任务并不需要注意力")
    return claim("attention.beats-mean-pooling",
        f"Key-value lookup ({config.pairs} pairs, {config.queries} queries) needs attention: at the step where the "
        f"encoder with attention first reaches {BEATS_ACC} held-out accuracy, the same model with attention "
        f"replaced by mean pooling (a_ij = 1/T), trained on the same sequences for as many steps, is far below it "
        f"({n} seeds; accuracy every {config.log_every} steps). Mean pooling can climb later (a mean of nonlinear "
        "token features can store the pairs), so the end-of-training accuracies are shown, not judged",
        {"gap_at_attention_step": None if gap is None else {k: round(v, 4) for k, v in gap.items()},
         "gap_sem": None if gap is None else round(sem, 4), "attention_step": reached,
         "final_accuracy": {k: {s: round(v, 4) for s, v in sp.items()} for k, sp in final.items()}},
        f"attention reaches {BEATS_ACC} in every seed; mean gap - 2 sem >= {BEATS_MARGIN}", holds, source="nnlab",
        why=why, tip="--steps 100 (enough for attention to learn the lookup)",
        zh=f"键值查找（{config.pairs} 个键值对，{config.queries} 个查询）需要注意力：在带注意力的编码器首次达到 "
           f"{BEATS_ACC} 留出准确率的那一步，把注意力换成平均池化（a_ij = 1/T）的同一模型，在相同序列上训练相同步数，"
           f"准确率远低于它（{n} 个种子；每 {config.log_every} 步记录一次准确率）。平均池化之后可能追上来"
           "（非线性 token 特征的平均也能存下这些键值对），所以训练结束时的准确率只展示，不作判定",
        why_zh=why_zh)


def vit_claim(result: dict[str, Any], config: AttentionConfig) -> dict[str, Any]:
    """The small ViT learns MNIST: mean test accuracy over the seeds, minus 2 standard errors, reaches VIT_ACC."""
    accs = [r["test/acc"] for r in result["seeds"]]
    s = spread(accs)
    sem = s["std"] / math.sqrt(len(accs))
    return claim("attention.vit-learns",
        f"A small vision Transformer ({config.layers} blocks, m = {config.dim}, h = {config.heads}, "
        f"{config.patch} x {config.patch} patches as tokens) learns MNIST: accuracy on the {result['test_samples']} "
        f"test images, scored once after {result['epochs']} epoch(s) of {result['train_samples']} images, "
        f"{len(accs)} seed(s); 'learns' = at least {VIT_ACC}, {VIT_ACC / 0.1:.0f} times chance (0.1)",
        {"test_accuracy": {k: round(v, 4) for k, v in s.items()}, "sem": round(sem, 4)},
        f"mean - 2 sem >= {VIT_ACC}", s["mean"] - 2 * sem >= VIT_ACC, source="nnlab",
        why=f"test accuracy {s['mean']:.3g} +- {2 * sem:.2g}: not clearly above {VIT_ACC} (chance 0.1); too few "
            "steps to learn", tip="--epochs 1 with the full training set (--train-samples 0)",
        zh=f"一个小型视觉 Transformer（ViT：{config.layers} 个模块，m = {config.dim}，h = {config.heads}，以 "
           f"{config.patch} × {config.patch} 的图块作为 token）能学会 MNIST：在 {result['train_samples']} 张图像上训练 "
           f"{result['epochs']} 个 epoch（轮）后，在 {result['test_samples']} 张测试图像上评分一次，"
           f"共 {len(accs)} 个种子；"
           f"“学会” = 准确率至少 {VIT_ACC}，即随机猜测（0.1）的 {VIT_ACC / 0.1:.0f} 倍",
        why_zh=f"测试准确率 {s['mean']:.3g} ± {2 * sem:.2g}：没有明显高于 {VIT_ACC}（随机猜测为 0.1）；"
               "训练步数太少，来不及学会")
