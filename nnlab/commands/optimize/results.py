"""What a finished run of `nnlab optimize` shows (headline: one row per method) and the numbers tools read."""

from __future__ import annotations

from typing import Any

from nnlab.core.i18n import tr


def headline(summary: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    columns = [tr("method", "方法"), tr("lr", "学习率"), tr("final loss", "最终损失"), tr("diverged at", "发散于")]
    rows = []
    for m, r in summary["methods"].items():
        rows.append([m, r["hyper"]["lr"], r["final_loss"], r["diverged_step"]])
    if summary.get("problem") == "mlp":
        columns += [tr("test acc", "测试准确率")]
        for row, r in zip(rows, summary["methods"].values(), strict=True):
            row.append(r.get("test_accuracy"))
    return columns, rows


def numbers(summary: dict[str, Any]) -> dict[str, float | None]:
    """Per method, named by the method, not by its row: `<method>.lr` (alpha), `<method>.final_loss`,
    `<method>.diverged_step` (None: it did not diverge) and, on mlp, `<method>.test_accuracy`."""
    out: dict[str, float | None] = {}
    for method, r in summary["methods"].items():
        out[f"{method}.lr"] = _number(r["hyper"]["lr"])
        out[f"{method}.final_loss"] = _number(r["final_loss"])
        out[f"{method}.diverged_step"] = _number(r["diverged_step"])
        if summary.get("problem") == "mlp":
            out[f"{method}.test_accuracy"] = _number(r.get("test_accuracy"))
    return out


def _number(value: Any) -> float | None:
    return None if value is None else float(value)
