"""What a finished `nnlab attention` run shows (headline) and the numbers the tools read (numbers), from its
summary alone."""

from __future__ import annotations

import statistics
from typing import Any

from nnlab.commands.attention.claims import spread
from nnlab.core.i18n import tr

MIXERS = {"attention": "retrieval", "mean": "mean_pooling"}  # summary["results"] key -> the numbers' name


def headline(summary: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    if summary["task"] == "vit":
        v = summary["vit"]
        return ([tr("model", "模型"), tr("test acc", "测试准确率"), tr("val acc", "验证准确率"), tr("epochs", "轮数"),
                 tr("train s", "训练秒数"), tr("params", "参数量")],
                [[f"ViT {summary['layers']}x{summary['dim']}/{summary['heads']}h", v["test/acc"], v["val/acc"],
                  v["epochs"], v["train_s"], v["params"]]])
    columns = [tr("mixer", "混合方式"), tr("acc mean", "准确率均值"), tr("acc std", "准确率标准差"),
               tr("acc min", "准确率最小值"), tr("acc max", "准确率最大值"), tr("train s (each)", "训练秒数（每个）")]
    rows = []
    for mixer, rs in summary["results"].items():
        s = spread([r["eval/acc"] for r in rs])
        rows.append([mixer, s["mean"], s["std"], s["min"], s["max"], statistics.fmean(r["train_s"] for r in rs)])
    return columns, rows


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def numbers(summary: dict[str, Any]) -> dict[str, float | None]:
    """Stable names -> values. Both tasks: matches_torch.max_error (max |ours - torch|, float64) and the softmax
    entropy at initialization per width m (entropy.scaled.m<m>, entropy.unscaled.m<m>, nats). retrieve: held-out
    accuracy over the seeds (mean, std, min, max) and seconds per model, for retrieval (the attention model) and
    mean_pooling; blind_guess.accuracy; retrieval.lookup_hits (the best head's fraction of queries whose largest
    weight is on their own pair). vit: vit.test.acc, vit.test.loss, vit.val.acc, vit.epochs, vit.steps,
    vit.train_s, vit.params (the first ViT's), vit.test.acc_mean and vit.test.acc_std (over the --seeds ViTs).
    None: not measured (a diverged model's NaN stays NaN)."""
    diffs = summary.get("matches_torch") or {}
    out: dict[str, float | None] = {"matches_torch.max_error": max(map(float, diffs.values())) if diffs else None}
    for row in summary.get("entropy") or []:
        out[f"entropy.scaled.m{row['m']}"] = _number(row.get("scaled"))
        out[f"entropy.unscaled.m{row['m']}"] = _number(row.get("unscaled"))
    if summary.get("task") == "vit":
        v = summary.get("vit") or {}
        out |= {"vit.test.acc": _number(v.get("test/acc")), "vit.test.loss": _number(v.get("test/loss")),
                "vit.val.acc": _number(v.get("val/acc")), "vit.epochs": _number(v.get("epochs")),
                "vit.steps": _number(v.get("steps")), "vit.train_s": _number(v.get("train_s")),
                "vit.params": _number(v.get("params"))}
        accs = [r["test/acc"] for r in v.get("seeds") or []]  # every ViT's (vit.test.acc is the first one's)
        s = spread(accs) if accs else {}
        out |= {"vit.test.acc_mean": _number(s.get("mean")), "vit.test.acc_std": _number(s.get("std"))}
        return out
    results = summary.get("results") or {}
    for mixer, name in MIXERS.items():
        rs = results.get(mixer) or []
        s = spread([r["eval/acc"] for r in rs]) if rs else {}
        out |= {f"{name}.accuracy": _number(s.get("mean")), f"{name}.accuracy_std": _number(s.get("std")),
                f"{name}.accuracy_min": _number(s.get("min")), f"{name}.accuracy_max": _number(s.get("max")),
                f"{name}.train_s": statistics.fmean(r["train_s"] for r in rs) if rs else None}
    out["blind_guess.accuracy"] = _number(summary.get("guess_present_value_acc"))
    hits = (summary.get("maps") or {}).get("hits")
    out["retrieval.lookup_hits"] = max(h for layer in hits for h in layer) if hits else None
    return out
