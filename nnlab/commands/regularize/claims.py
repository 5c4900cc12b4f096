"""The claims of `nnlab regularize`, judged over every setting that ran: the gap grows without regularization,
each penalty narrows it, L1 is sparser than L2, dropout keeps E[dropout(h)] = h and its test-time network
approximates the ensemble of thinned networks."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nnlab.commands.regularize.config import PENALTIES, RegularizeConfig
from nnlab.commands.regularize.stats import pm, stats
from nnlab.core.claims import check, claim

NARROW = 0.9       # a penalty "narrows the gap" when its gap is below 0.9x the unregularized one
GROWS = 1.2        # the gap "grows": its final value is at least 1.2x its value where validation loss was lowest
MIN_ZEROS = 0.01   # "sparser": at least 1% of the weights exactly zero, and more than L2's
AGREE = 0.97       # ensemble: predicted classes agree on at least 97% of the test images ...
ACC_DIFF = 0.01    # ... and the accuracies differ by at most 1 point
REL_DIFF = 0.1     # regression: rms(deterministic - ensemble) below 0.1x the std of the prediction
Z_MAX = 4.0        # E[dropout(h)] = h: the standardized error of the sample mean within 4 sigma


def _ok(x: float) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def claims(results: dict[str, dict[str, Any]], config: RegularizeConfig) -> list[dict[str, Any]]:
    out = []
    methods = config.methods()
    if "none" in methods:
        measured, holds = {}, True
        for setting, res in results.items():
            c, ratios = res["curves"]["none"], []
            for r in range(config.seeds):
                val = [v[r] for v in c["val_loss"]]
                gaps = [te[r] - tr[r] for tr, te in zip(c["train_loss"], c["test_loss"], strict=True)]
                if not all(_ok(v) for v in val + gaps):
                    ratios.append(float("nan"))
                    continue
                stop = int(np.argmin(val))  # the early-stopping epoch: lowest validation loss
                if gaps[stop] > 0:
                    ratios.append(gaps[-1] / gaps[stop])
                else:  # test loss below train loss at the stopping epoch: any positive final gap has grown
                    ratios.append(float("inf") if gaps[-1] > max(gaps[stop], 0) else 0.0)
            res["gap_growth"] = stats(ratios)
            measured[setting] = pm(res["gap_growth"])
            holds &= all(not math.isnan(v) and v >= GROWS for v in ratios)
        out.append(claim("regularize.gap-grows",
            "\"过拟合\" (overfitting): without regularization the train/test gap (test loss - train loss) grows "
            "during training; measured: final gap / gap at the epoch of lowest validation loss", measured,
            f">= {GROWS} for every seed", holds))
    penalties = [m for m in PENALTIES if m in methods]
    if "none" in methods and penalties:
        measured, holds = {}, True
        for setting, res in results.items():
            none = res["best"]["none"]["gap"]["values"]
            per = {}
            for m in penalties:
                gaps = res["best"][m]["gap"]["values"]
                ratio = float(np.mean(gaps) / np.mean(none)) if np.mean(none) > 0 else float("nan")
                per_seed = stats([g / n if n > 0 else float("nan") for g, n in zip(gaps, none, strict=True)])
                res["best"][m]["gap_ratio"] = {"of_means": ratio, "per_seed": per_seed}
                per[m] = (f"{ratio:.3g} (per seed {per_seed['mean']:.3g} ± {per_seed['sd']:.2g}; "
                          f"lambda {res['best'][m]['lam']:g})")
                holds &= _ok(ratio) and ratio < NARROW
            measured[setting] = per
        out.append(claim("regularize.penalties-narrow-gap",
            "\"过拟合：正则化 J(θ) = J(θ) + λR(θ)\" (L2, L1, elastic net): each penalty at its best lambda (chosen "
            "on validation) narrows the train/test gap; "
            "measured: mean gap / mean unregularized gap over the seeds", measured, f"< {NARROW} for every penalty",
            holds))
    if "l1" in methods and "l2" in methods:
        measured, holds = {}, True
        for setting, res in results.items():
            z1, z2 = res["best"]["l1"]["w_zero"], res["best"]["l2"]["w_zero"]
            measured[setting] = {"l1": pm(z1), "l2": pm(z2)}
            holds &= all(a > b and a >= MIN_ZEROS for a, b in zip(z1["values"], z2["values"], strict=True))
        out.append(claim("regularize.l1-sparser",
            f"L1 gives sparser weights than L2: fraction of weights exactly 0 at each one's best lambda "
            f"({config.l1_step} steps)", measured, f"l1 > l2 and l1 >= {MIN_ZEROS}, every seed", holds,
            source="nnlab"))
    if "dropout" in methods:
        measured, holds = {}, True
        for setting, res in results.items():
            ex = res["expectation"]
            measured[setting] = f"z {pm(ex['z'])}, relative error {ex['relative_error']['mean']:.2g}"
            holds &= all(_ok(z) and abs(z) < Z_MAX for z in ex["z"]["values"])
        out.append(check("regularize.dropout-expectation",
            f"\"以概率 1 - p 随机删去该层的一些输出，并把其余输出乘以 1/p\" keeps E[dropout(h)] = h "
            f"(p = {config.p():g}): the sample mean of the masked first hidden layer, standardized by its "
            "standard error", measured, f"|z| < {Z_MAX:g}", holds))
        measured, holds = {}, True
        for setting, res in results.items():
            en = res["ensemble"]
            if res["task"] == "classification":
                measured[setting] = (f"agreement {pm(en['agreement'])}, accuracy {en['acc_deterministic']['mean']:.4f}"
                                     f" (test-time) vs {en['acc_ensemble']['mean']:.4f} (ensemble), "
                                     f"{en['acc_one_thinned']['mean']:.4f} (one thinned)")
                holds &= all(a >= AGREE for a in en["agreement"]["values"]) and all(
                    d <= ACC_DIFF for d in en["acc_diff"]["values"])
            else:
                measured[setting] = (f"rms difference / std {pm(en['rel_rms_diff'])}, one thinned network "
                                     f"{en['rel_rms_diff_one_thinned']['mean']:.3g}")
                holds &= all(_ok(v) and v < REL_DIFF for v in en["rel_rms_diff"]["values"])
        out.append(claim("regularize.dropout-ensemble",
            f"Dropout \"训练了多个模型\" (an ensemble of thinned networks) and is \"测试时保持不变\" (the identity at "
            f"test time): the test-time network approximates the average of {config.mc_samples} sampled thinned "
            "networks", measured,
            f"mnist: classes agree >= {AGREE}, accuracies within {ACC_DIFF}; regression: rms difference < "
            f"{REL_DIFF} x prediction std; every seed", holds))
    return out
