"""What a finished `nnlab init` run shows (headline) and what the tools over runs read (numbers)."""

from __future__ import annotations

from typing import Any

from nnlab.commands.init.readers import layers_by_scale
from nnlab.core.i18n import tr


def headline(summary: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """Columns and rows of the table printed at the end of a run."""
    columns = [tr("scale", "尺度"), "w", tr("pre std L1", "第 1 层激活前标准差"), tr("std L1", "第 1 层标准差"),
               tr("std last", "末层标准差"), tr("saturated last", "末层饱和比例"),
               tr("grad std input", "输入梯度标准差")]
    rows = []
    for spec, layer_rows in layers_by_scale(summary).items():
        first, last = layer_rows[0], layer_rows[-1]
        rows.append([spec, summary["weight_std"][spec], first["pre_std"], first["std"], last["std"],
                     last["saturated"], summary["input_grad_std"][spec]])
    return columns, rows


def numbers(summary: dict[str, Any]) -> dict[str, float | None]:
    """Per weight scale (as given: `0.05`, `xavier`, `he`), by what each number is:

    <scale>.pre_std_first   std of the first layer's pre-activations h_0 @ W_1
    <scale>.std_first       std of the first layer's activations
    <scale>.std_last        std of the last layer's activations
    <scale>.saturated_last  share of the last layer's units in a saturating region (None: the activation has none)
    <scale>.grad_std_input  std of dL/dx, the gradient back-propagated to the input
    """
    out: dict[str, float | None] = {}
    for spec, rows in layers_by_scale(summary).items():
        first, last = rows[0], rows[-1]
        out |= {f"{spec}.pre_std_first": first["pre_std"], f"{spec}.std_first": first["std"],
                f"{spec}.std_last": last["std"], f"{spec}.saturated_last": last["saturated"],
                f"{spec}.grad_std_input": summary["input_grad_std"][spec]}
    return {k: None if v is None else float(v) for k, v in out.items()}
