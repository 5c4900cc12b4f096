"""What a finished `nnlab activations` run shows (headline) and what the tools over runs read (numbers)."""

from __future__ import annotations

from typing import Any

from nnlab.core.i18n import tr


def headline(summary: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    L = summary["depth"]
    t = summary["threshold"]
    columns = [tr("activation", "激活函数"), tr("sigma'(0)", "σ'(0)"),
               tr(f"saturated fraction (|sigma'| < {t:g})", f"饱和比例（|σ'| < {t:g}）"),
               tr("E|sigma'(z)|", "E|σ'(z)|"), tr(f"E|prod| at L={L}", f"L={L} 时的 E|乘积|"),
               tr(f"median |prod| at L={L}", f"L={L} 时 |乘积| 的中位数")]
    rows = [[n, a["grad_at_0"], a["saturated_fraction"], a["products"]["per_layer_factor"],
             a["products"]["expected"][-1], a["products"]["median"][-1]] for n, a in summary["activations"].items()]
    return columns, rows



def numbers(summary: dict[str, Any]) -> dict[str, float | None]:
    """Per activation (its name as given, e.g. `sigmoid`, `leaky_relu:0.1`), by what each number is:

    <name>.grad_at_0           sigma'(0)
    <name>.saturated_fraction  P(|sigma'(Z)| < threshold), Z ~ N(0, input_std^2)
    <name>.per_layer_factor    E|sigma'(Z)|, the factor by which E|prod| shrinks per layer
    <name>.expected_product    E|prod of depth derivatives| (quadrature)
    <name>.median_product      median |prod of depth derivatives| over the Monte-Carlo chains

and, when the output layers ran (means over their seeds):

    outputs.softmax.test_accuracy                     the softmax classifier's test accuracy
    outputs.positive.exp.small_target_relative_error  mean |pred - y| / y on the positive target's smaller half
    outputs.positive.identity.small_target_relative_error
    outputs.regression.identity.test_mse              test MSE on sin(pi x)
    outputs.regression.exp.test_mse                   the same with e^x (at least mean(min(y, 0)^2))
    """
    out: dict[str, float | None] = {}
    for name, a in summary["activations"].items():
        p = a["products"]
        out |= {f"{name}.grad_at_0": a["grad_at_0"], f"{name}.saturated_fraction": a["saturated_fraction"],
                f"{name}.per_layer_factor": p["per_layer_factor"], f"{name}.expected_product": p["expected"][-1],
                f"{name}.median_product": p["median"][-1]}
    runs = summary.get("outputs", {}).get("runs")
    if runs:
        out |= {"outputs.softmax.test_accuracy": _mean(runs["classification/softmax"]["test_accuracy"]),
                **{f"outputs.positive.{h}.small_target_relative_error":
                   _mean(runs[f"positive/{h}"]["small_target_relative_error"]) for h in ("exp", "identity")},
                **{f"outputs.regression.{h}.test_mse": _mean(runs[f"regression/{h}"]["test_mse"])
                   for h in ("identity", "exp")}}
    return {k: None if v is None else float(v) for k, v in out.items()}


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)
