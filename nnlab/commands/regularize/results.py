"""What a finished run of `nnlab regularize` shows (headline: one row per setting and method, each at its best
lambda) and the numbers tools read."""

from __future__ import annotations

from typing import Any

from nnlab.commands.regularize.config import PENALTIES
from nnlab.core.i18n import tr


def headline(summary: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    columns = [tr("setting", "设置"), tr("method", "方法"), tr("best lambda", "最佳 λ"), tr("train loss", "训练损失"),
               tr("test loss", "测试损失"), tr("gap", "差距"), tr("test error", "测试误差"), tr("+-", "±"),
               tr("zeros", "零权重比例"), tr("|w| < 1e-3", "|w| < 1e-3")]
    rows = []
    for setting, res in summary["settings"].items():
        for method, b in res["best"].items():
            rows.append([setting, method, b["lam"] if method in PENALTIES else "—",
                         b["train_loss"]["mean"], b["test_loss"]["mean"], b["gap"]["mean"], b["test_error"]["mean"],
                         b["test_error"]["sd"], b["w_zero"]["mean"], b["w_small"]["mean"]])
    return columns, rows


def numbers(summary: dict[str, Any]) -> dict[str, float | None]:
    """Per setting and method, each at its best lambda, means over the seeds: `<setting>.<method>.<name>` with
    name one of lam (penalties only), train_loss, test_loss, gap (test - train loss of J), test_error,
    test_error_sd (over the seeds), w_zero (share of weights exactly 0), w_small (share with |w| < 1e-3)."""
    out: dict[str, float | None] = {}
    for setting, res in summary["settings"].items():
        for method, b in res["best"].items():
            name = f"{setting}.{method}"
            if method in PENALTIES:
                out[f"{name}.lam"] = _number(b["lam"])
            for key in ("train_loss", "test_loss", "gap", "test_error"):
                out[f"{name}.{key}"] = _number(b[key]["mean"])
            out[f"{name}.test_error_sd"] = _number(b["test_error"]["sd"])
            out[f"{name}.w_zero"] = _number(b["w_zero"]["mean"])
            out[f"{name}.w_small"] = _number(b["w_small"]["mean"])
    return out


def _number(value: Any) -> float | None:
    return None if value is None else float(value)
