"""What a finished `nnlab backprop` run shows (headline) and what the tools over runs read (numbers)."""

from __future__ import annotations

from typing import Any

from nnlab.core.i18n import tr

COST_LIBRARIES = ("engine", "torch")  # every library a cost part can measure: their names exist in every run
TRAIN_NUMBERS = ("first_loss", "last_loss", "max_rel_diff_first_steps", "test_accuracy_engine", "test_accuracy_torch")


def headline(summary: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """Every node: forward value and adjoint; for the variables, torch's and finite differences' partials."""
    out = summary["output"]
    columns = [tr("node", "节点"), tr("definition", "定义"), tr("forward value", "前向值"),
               tr(f"adjoint d{out}/d(node)", f"伴随值 ∂{out}/∂(节点)"), tr("torch", "torch"),
               tr("finite diff.", "有限差分")]
    torch_grad, fd = summary["torch"]["gradient"], summary["finite_differences"]["gradient"]
    rows = []
    for node in summary["nodes"]:
        name = node["name"]
        t = torch_grad.get(name) if name in torch_grad else (summary["torch"]["value"] if name == out else None)
        rows.append([name, node["definition"], node["value"], node["adjoint"], t, fd.get(name)])
    return columns, rows


def numbers(summary: dict[str, Any]) -> dict[str, float | None]:
    """By what each number is (None where the part did not run: --no-cost, --no-train, one library):

    value, gradient.<variable>         the formula's output and its partial derivatives (the engine's)
    node.<node>.value, .adjoint        every node's forward value and d(output)/d(node)
    torch_max_rel_diff                 the engine against torch autograd (value and gradient, relative)
    fd_max_rel_diff                    the engine against central finite differences
    cost.<library>.ratio_slope         log-log slope of time(forward + backward) / time(forward) against N
    cost.<library>.backward_slope      ... of the backward time against N
    cost.<library>.memory_slope        ... of the bytes kept for the backward pass against N
    cost.engine_vs_torch_max_rel_diff  the smallest cost MLP's gradients, engine against torch
    train.<number>                     the MNIST part: first_loss, last_loss, max_rel_diff_first_steps,
                                       test_accuracy_engine, test_accuracy_torch (the first MLP's)
    train.test_accuracy_engine_mean    the engine's test accuracy over the --train-seeds MLPs
    """
    out: dict[str, Any] = {"value": summary["value"]}
    out |= {f"gradient.{v}": g for v, g in summary["gradient"].items()}
    for node in summary["nodes"]:
        out |= {f"node.{node['name']}.value": node["value"], f"node.{node['name']}.adjoint": node["adjoint"]}
    out |= {"torch_max_rel_diff": summary["differences"]["torch_max_rel"],
            "fd_max_rel_diff": summary["differences"]["fd_max_rel"]}
    cost = summary.get("cost") or {}
    for library in COST_LIBRARIES:
        slopes = cost.get("slopes", {}).get(library, {})
        out |= {f"cost.{library}.{key}_slope": slopes.get(key) for key in ("ratio", "backward", "memory")}
    out["cost.engine_vs_torch_max_rel_diff"] = cost.get("engine_vs_torch_max_rel")
    train = summary.get("train") or {}
    out |= {f"train.{key}": train.get(key) for key in TRAIN_NUMBERS}
    seeds = train.get("test_accuracy_engine_seeds") or []
    out["train.test_accuracy_engine_mean"] = sum(seeds) / len(seeds) if seeds else None
    return {k: None if v is None else float(v) for k, v in out.items()}
