"""The run of `nnlab modules`: each asked-for section in turn (layernorm.py, residual.py, conv.py, unet.py, each
with `run_section(config, rec)`), its claims gathered into one list."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from nnlab.commands.modules.config import ModulesConfig

if TYPE_CHECKING:
    from nnlab.core.run import Run


def prepare(config: ModulesConfig) -> None:
    """Check the MNIST files before a run directory exists (only sections that read digits need them)."""
    if {"conv", "unet"} & set(config.sections()):
        from nnlab.data.mnist import prepare_mnist

        prepare_mnist(config.data_dir)


def run(config: ModulesConfig, rec: Run) -> dict[str, Any]:
    from nnlab.core.seeding import seed_everything

    seed_everything(config.seed)
    summary: dict[str, Any] = {"sections": config.sections(), "claims": []}
    for name in config.sections():  # threads: config.threads, set by the runner
        module = importlib.import_module(f"nnlab.commands.modules.{name}")  # layernorm.py, residual.py, ...
        result = module.run_section(config, rec)
        summary["claims"] += result.pop("claims")
        summary[name] = result
    if any(summary[s].get("diverged") for s in config.sections()):  # a NaN or inf is a result, not a crash
        summary["status"] = "diverged"
    return summary
