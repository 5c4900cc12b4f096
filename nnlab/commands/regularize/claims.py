"""The claims and checks of `nnlab regularize`, judged over every setting that ran.

Claims (verdicts on the user's run): the gap grows without regularization (nnlab's reading of "过拟合"), each
penalty narrows it (nnlab's), each penalty lowers the test error (the lecture's cure), L1 is sparser than L2
(nnlab's), and the test-time dropout network approximates the ensemble of thinned networks (the lecture's).
Checks (identities): E[dropout(h)] = h, and L2 is weight decay for plain gradient descent (not for Adam).

Every number a verdict rests on is in `measured`, per seed where seeds differ, so a NaN fails it (core.claims).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nnlab.commands.regularize.config import PENALTIES, RegularizeConfig
from nnlab.commands.regularize.weight_decay import STEPS
from nnlab.core.claims import check, claim

NARROW = 0.9       # a penalty "narrows the gap" when its mean gap is below 0.9x the unregularized mean gap
GROWS = 1.2        # the gap "grows": its final value is at least 1.2x its value where validation loss was lowest
MIN_ZEROS = 0.01   # "sparser": at least 1% of the weights exactly zero, and more than L2's
AGREE = 0.97       # ensemble: predicted classes agree on at least 97% of the test images ...
ACC_DIFF = 0.01    # ... and the accuracies differ by at most 1 point
REL_DIFF = 0.1     # regression: rms(deterministic - ensemble) below 0.1x the std of the prediction
Z_MAX = 4.0        # E[dropout(h)] = h: the standardized error of the sample mean within 4 sigma
GD_SAME = 1e-9     # L2 = weight decay for GD: float64 iterates equal to round-off (measured ~1e-16)
ADAM_DIFFERS = 0.1  # ... and not for Adam: the penalty's effect differs by more than 10% (measured ~1 and more)


def _r(x: float, digits: int = 4) -> float:
    return float(f"{x:.{digits}g}") if isinstance(x, (int, float)) and math.isfinite(x) else x


def _spread(values: list[float]) -> dict[str, Any]:
    """mean, sample sd (0 for one seed) and the per-seed values, rounded for the claims table."""
    arr = np.asarray(values, dtype=float)
    sd = float(arr.std(ddof=1)) if len(arr) > 1 else 0.0
    return {"mean": _r(float(arr.mean())), "sd": _r(sd), "seeds": [_r(v) for v in arr.tolist()]}


def gap_grows(results: dict[str, Any], config: RegularizeConfig) -> dict[str, Any]:
    measured, failed, failed_zh = {}, [], []
    for setting, res in results.items():
        c = res["curves"]["none"]
        at_stop, final = [], []
        for r in range(config.seeds):
            val = [v[r] for v in c["val_loss"]]
            gaps = [te[r] - tr[r] for tr, te in zip(c["train_loss"], c["test_loss"], strict=True)]
            stop = int(np.nanargmin(val)) if np.isfinite(val).any() else 0  # the early-stopping epoch
            at_stop.append(gaps[stop])
            final.append(gaps[-1])
        # grown: the final gap >= GROWS x the gap at the early-stopping epoch (a gap that was <= 0 there and is
        # positive at the end has grown whatever the factor)
        grown = [f >= GROWS * s if s > 0 else f > 0 for s, f in zip(at_stop, final, strict=True)]
        res["gap_growth"] = {"at_stop": at_stop, "final": final, "grown": grown}
        measured[setting] = {"gap_at_lowest_val_loss": [_r(v) for v in at_stop], "final_gap": [_r(v) for v in final]}
        if not all(grown):
            failed.append(f"{setting}: the final gap is below {GROWS}x the gap at the lowest validation loss on "
                          f"{grown.count(False)} of {len(grown)} seeds")
            failed_zh.append(f"{setting}：{len(grown)} 个种子中有 {grown.count(False)} 个的最终差距低于验证损失最低处"
                             f"差距的 {GROWS} 倍")
    return claim("regularize.gap-grows",
        "Overfitting, measured: without regularization the train/test gap (test loss - train loss) grows after the "
        "epoch of lowest validation loss (early stopping's epoch) until the end of training", measured,
        f"final gap >= {GROWS} x the gap at that epoch (or > 0 where that gap was <= 0), every seed", not failed,
        source="nnlab", why="; ".join(failed) or None,
        zh="过拟合的实测：不加正则化时，训练/测试差距（测试损失 − 训练损失）在验证损失最低的那一轮（早停所取的轮次）"
           "之后持续增大，直到训练结束",
        why_zh="；".join(failed_zh) or None,
        tip="more steps (--reg-epochs 2000, --mnist-epochs 30): a short run stops before it overfits")


def penalties_narrow_gap(results: dict[str, Any], penalties: list[str]) -> dict[str, Any]:
    measured, failed, failed_zh = {}, [], []
    for setting, res in results.items():
        none = res["best"]["none"]["gap"]["values"]
        per = {}
        for m in penalties:
            gaps = res["best"][m]["gap"]["values"]
            ratio = float(np.mean(gaps) / np.mean(none)) if np.mean(none) > 0 else None
            res["best"][m]["gap_ratio"] = {"of_means": ratio}
            per[m] = {"gap": _spread(gaps), "ratio_to_none": _r(ratio) if ratio is not None else None,
                      "lam": res["best"][m]["lam"]}
            if ratio is None:
                failed.append(f"{setting}: the unregularized mean gap is {np.mean(none):.3g} <= 0, nothing to narrow")
                failed_zh.append(f"{setting}：不加正则化时的平均差距为 {np.mean(none):.3g} <= 0，无从缩小")
            elif not ratio < NARROW:
                failed.append(f"{setting}: {m}'s mean gap is {ratio:.3g}x the unregularized one")
                failed_zh.append(f"{setting}：{m} 的平均差距是不加正则化时的 {ratio:.3g} 倍")
        measured[setting] = {"none_gap": _spread(none), **per}
    return claim("regularize.penalties-narrow-gap",
        "Each penalty (L2, L1, elastic net) at its lambda chosen on validation narrows the train/test gap "
        "(test loss - train loss of J): mean gap / mean unregularized gap over the seeds. A gap can narrow by "
        "underfitting too: regularize.penalties-lower-test-error judges the cure", measured,
        f"< {NARROW} for every penalty in every setting", not failed, source="nnlab",
        why="; ".join(dict.fromkeys(failed)) or None,
        zh="每种惩罚（L2、L1、弹性网络）取在验证集上选出的 λ 时，都缩小训练/测试差距（J 的测试损失 − 训练损失）："
           "各种子平均差距 / 不加正则化时的平均差距。欠拟合也能让差距缩小：是否治好了过拟合，由 "
           "regularize.penalties-lower-test-error 判定",
        why_zh="；".join(dict.fromkeys(failed_zh)) or None, tip="a larger lambda in the grid (--lam 1e-2 --lam 1e-1)")


def penalties_lower_test_error(results: dict[str, Any], penalties: list[str]) -> dict[str, Any]:
    """Paired over seeds (a replicate's methods share data, initial weights and minibatch order): the penalty's
    test error minus the unregularized one; lower when the mean difference is below -1 standard error."""
    measured, failed, notes, failed_zh, notes_zh = {}, [], [], [], []
    for setting, res in results.items():
        none = np.asarray(res["best"]["none"]["test_error"]["values"], dtype=float)
        per = {}
        for m in penalties:
            err = np.asarray(res["best"][m]["test_error"]["values"], dtype=float)
            with np.errstate(invalid="ignore"):  # inf - inf of two diverged networks: NaN, which fails the claim
                d = err - none
            se = float(d.std(ddof=1) / math.sqrt(len(d))) if len(d) > 1 else 0.0
            per[m] = {"test_error": _spread(err.tolist()), "difference": _r(float(d.mean())),
                      "difference_se": _r(se), "lam": res["best"][m]["lam"]}
            if not float(d.mean()) < -se:
                failed.append(f"{setting}: {m} (lambda {res['best'][m]['lam']:g}) changes the test error by "
                              f"{d.mean():+.3g} ± {se:.2g} (from {none.mean():.4g})")
                failed_zh.append(f"{setting}：{m}（λ = {res['best'][m]['lam']:g}）使测试误差改变了 "
                                 f"{d.mean():+.3g} ± {se:.2g}（原为 {none.mean():.4g}）")
        measured[setting] = {"none_test_error": _spread(none.tolist()), **per}
        if res["task"] == "classification" and any(f.startswith(f"{setting}:") for f in failed):
            losses = ", ".join(f"{m} {res['best'][m]['test_loss']['mean']:.3g}" for m in ("none", *penalties))
            notes.append(f"on {setting} the test loss J (cross-entropy) is {losses}: a penalty can lower the loss "
                         "and leave the classification error as it was")
            notes_zh.append(f"在 {setting} 上，测试损失 J（交叉熵）为 {losses}：惩罚可以降低损失，而分类误差保持不变")
    why = "; ".join(failed) + (". " + "; ".join(notes) if notes else "")
    why_zh = "；".join(failed_zh) + ("。" + "；".join(notes_zh) if notes_zh else "")
    return claim("regularize.penalties-lower-test-error",
        "\"过拟合：正则化 J(θ) = J(θ) + λR(θ)\" (overfitting: regularization): each penalty (L2, L1, elastic net) at "
        "its lambda chosen on validation lowers the test error (regression: test MSE; mnist: 1 - accuracy on all "
        "10,000 test images) below the unregularized network's", measured,
        "mean paired difference (penalty - none) < -1 standard error, every penalty in every setting",
        not failed, why=why or None,
        zh="\"过拟合：正则化 J(θ) = J(θ) + λR(θ)\"：每种惩罚（L2、L1、弹性网络）取在验证集上选出的 λ 时，都使测试误差"
           "（回归：测试 MSE；MNIST：在全部 10,000 张测试图像上的 1 − 准确率）低于不加正则化的网络",
        why_zh=why_zh or None,
        tip="--setting regression (15 noisy points, where the penalties cut the test MSE several-fold; on 1,000 MNIST "
            "images, even with recipes/regularize-mnist.yaml, only dropout lowered the test error)")


def l1_sparser(results: dict[str, Any], config: RegularizeConfig) -> dict[str, Any]:
    measured, failed, failed_zh = {}, [], []
    for setting, res in results.items():
        z1, z2 = res["best"]["l1"]["w_zero"]["values"], res["best"]["l2"]["w_zero"]["values"]
        measured[setting] = {"l1": [_r(v) for v in z1], "l2": [_r(v) for v in z2]}
        bad = sum(not (a > b and a >= MIN_ZEROS) for a, b in zip(z1, z2, strict=True))
        if bad:
            failed.append(f"{setting}: on {bad} of {len(z1)} seeds L1 has {np.mean(z1):.2%} weights exactly 0 "
                          f"(L2 {np.mean(z2):.2%}), not more than L2 and >= {MIN_ZEROS:.0%}")
            failed_zh.append(f"{setting}：{len(z1)} 个种子中有 {bad} 个未满足“多于 L2 且 >= {MIN_ZEROS:.0%}”："
                             f"L1 恰为 0 的权重占 {np.mean(z1):.2%}（L2 为 {np.mean(z2):.2%}）")
    return claim("regularize.l1-sparser",
        f"L1 gives sparser weights than L2: the fraction of weights exactly 0 at each one's best lambda "
        f"({config.l1_step} steps on |theta|)", measured, f"l1 > l2 and l1 >= {MIN_ZEROS}, every seed", not failed,
        source="nnlab", why="; ".join(failed) or None,
        zh=f"L1 比 L2 给出更稀疏的权重：各自最佳 λ 下恰为 0 的权重比例（|θ| 一项用 {config.l1_step} 步更新）",
        why_zh="；".join(failed_zh) or None, tip="--l1-step prox (soft thresholding gives exact zeros)")


def dropout_ensemble(results: dict[str, Any], config: RegularizeConfig) -> dict[str, Any]:
    measured, failed, failed_zh = {}, [], []
    for setting, res in results.items():
        en = res["ensemble"]
        if res["task"] == "classification":
            agree, diff = en["agreement"]["values"], en["acc_diff"]["values"]
            measured[setting] = {"agreement": [_r(v) for v in agree], "accuracy_difference": [_r(v) for v in diff],
                                 "accuracy_test_time": _r(en["acc_deterministic"]["mean"]),
                                 "accuracy_ensemble": _r(en["acc_ensemble"]["mean"]),
                                 "accuracy_one_thinned": _r(en["acc_one_thinned"]["mean"])}
            if not (all(a >= AGREE for a in agree) and all(d <= ACC_DIFF for d in diff)):
                failed.append(f"{setting}: the test-time network agrees with the ensemble on {min(agree):.1%} of "
                              f"the images at worst, accuracies differ by up to {max(diff):.3f}")
                failed_zh.append(f"{setting}：测试时的网络与集成的预测类别最差只在 {min(agree):.1%} 的图像上一致，"
                                 f"准确率相差最多 {max(diff):.3f}")
        else:
            rel = en["rel_rms_diff"]["values"]
            measured[setting] = {"rms_difference_over_std": [_r(v) for v in rel],
                                 "one_thinned_network": _r(en["rel_rms_diff_one_thinned"]["mean"])}
            if not all(v < REL_DIFF for v in rel):
                failed.append(f"{setting}: the test-time prediction differs from the ensemble mean by up to "
                              f"{max(rel):.3g} of its std")
                failed_zh.append(f"{setting}：测试时的预测与集成均值之差最多达其标准差的 {max(rel):.3g} 倍")
    return claim("regularize.dropout-ensemble",
        f"Dropout \"训练了多个模型\" (trains many models: an ensemble of thinned networks) and is \"测试时保持不变\" "
        f"(the identity at test time): the test-time network approximates the average of {config.mc_samples} "
        "sampled thinned networks", measured,
        f"mnist: classes agree >= {AGREE}, accuracies within {ACC_DIFF}; regression: rms difference < "
        f"{REL_DIFF} x prediction std; every seed", not failed, why="; ".join(failed) or None,
        zh=f"Dropout \"训练了多个模型\"（随机删去输出后的子网络组成的集成），并且\"测试时保持不变\"："
           f"测试时的网络近似于 {config.mc_samples} 个随机抽取的子网络的平均",
        why_zh="；".join(failed_zh) or None,
        tip="--mc-samples 100 (an average of few thinned networks is itself noisy)")


def dropout_expectation(results: dict[str, Any], config: RegularizeConfig) -> dict[str, Any]:
    measured, holds = {}, True
    for setting, res in results.items():
        ex = res["expectation"]
        measured[setting] = {"z": [_r(v) for v in ex["z"]["values"]],
                             "relative_error": _r(ex["relative_error"]["mean"], 2)}
        holds &= all(abs(z) < Z_MAX for z in ex["z"]["values"])  # NaN: False (and the NaN in measured fails it)
    return check("regularize.dropout-expectation",
        f"\"以概率 1 - p 随机删去该层的一些输出，并把其余输出乘以 1/p\" keeps E[dropout(h)] = h "
        f"(p = {config.p():g}): the sample mean of the masked first hidden layer, standardized by its "
        "standard error (z per seed)", measured, f"|z| < {Z_MAX:g}", holds,
        zh=f"\"以概率 1 - p 随机删去该层的一些输出，并把其余输出乘以 1/p\" 保证 E[dropout(h)] = h"
           f"（p = {config.p():g}）：第一隐藏层经掩码后的样本均值，以其标准误标准化（每个种子一个 z）")


def l2_weight_decay(results: dict[str, Any]) -> dict[str, Any] | None:
    measured, holds = {}, True
    for setting, res in results.items():
        wd = res.get("weight_decay")
        if wd is None:
            continue
        gd, adam = wd["gd_relative_difference"], wd["adam_relative_difference"]
        measured[setting] = {"gd": _r(gd, 3), "adam": _r(adam, 3), "lam": wd["lam"]}
        holds &= gd <= GD_SAME and adam > ADAM_DIFFERS
    if not measured:
        return None
    return check("regularize.l2-weight-decay",
        "\"L_2 正则化 (weight decay)\": for plain gradient descent, 2 lambda theta in the gradient is the same as "
        "shrinking the weights by 1 - 2 eta lambda each step; for Adam it is not (its 1/sqrt(s) rescales the "
        f"penalty's gradient; decoupled decay is not rescaled). From the trained L2 network, {STEPS} full-batch "
        "steps each: relative difference of the iterates (GD) and of the penalty's effect (Adam)", measured,
        f"gd <= {GD_SAME:g}; adam > {ADAM_DIFFERS:g}", holds,
        zh="\"L_2 正则化 (weight decay)\"：对普通的梯度下降，梯度中的 2λθ 等同于每步把权重乘以 1 − 2ηλ；对 Adam 则不然"
           "（它的 1/√s 会缩放惩罚项的梯度，而解耦的权重衰减不被缩放）。从训练好的 L2 网络出发，各走 "
           f"{STEPS} 步全批量更新：迭代值的相对差异（GD）与惩罚效果的相对差异（Adam）")


def claims(results: dict[str, dict[str, Any]], config: RegularizeConfig) -> list[dict[str, Any]]:
    out = []
    methods = config.methods()
    penalties = [m for m in PENALTIES if m in methods]
    if "none" in methods:
        out.append(gap_grows(results, config))
    if "none" in methods and penalties:
        out.append(penalties_narrow_gap(results, penalties))
        out.append(penalties_lower_test_error(results, penalties))
    if "l1" in methods and "l2" in methods:
        out.append(l1_sparser(results, config))
    if "dropout" in methods:
        out.append(dropout_expectation(results, config))
        out.append(dropout_ensemble(results, config))
    weight_decay = l2_weight_decay(results)
    if weight_decay is not None:
        out.append(weight_decay)
    return out
