"""The run of `nnlab backprop`: the chain rule (part 1), then what a gradient costs (2) and MNIST training (3)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nnlab.commands.backprop.chain import chain_claims, chain_rule, is_slide_function
from nnlab.commands.backprop.config import BackpropConfig, resolve_point
from nnlab.commands.backprop.cost import cost_claims, measure_cost
from nnlab.commands.backprop.train import train_claims, train_mnist
from nnlab.nn import formulas

if TYPE_CHECKING:
    from nnlab.core.run import Run


def run(config: BackpropConfig, rec: Run) -> dict[str, Any]:
    from nnlab.core.seeding import seed_everything

    seed_everything(config.seed)
    program = formulas.parse(config.expr)
    point = resolve_point(config.point, program)
    summary = chain_rule(program, point, config.fd_step)
    for i, node in enumerate(summary["nodes"]):
        rec.log({"step": i, "section": "chain", **node})
    records = chain_claims(summary, is_slide_function(program))
    if config.cost:
        summary["cost"] = measure_cost(config, rec)
        records += cost_claims(summary["cost"])
    if config.train:
        summary["train"] = train_mnist(config, rec)
        records += train_claims(summary["train"])
        if not summary["train"]["finite"]:
            summary["status"] = "diverged"
    summary["claims"] = records
    return summary
