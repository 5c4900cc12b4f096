"""The run of `nnlab optimize`: the 2-D problems (paths.py, then their claims, claims2d.py) or the mlp problem
(mlp.py), each imported when its problem runs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nnlab.commands.optimize.config import OptimizeConfig

if TYPE_CHECKING:
    from nnlab.core.run import Run


def prepare(config: OptimizeConfig) -> None:
    """The mlp problem's MNIST files are checked (or downloaded) before a run directory exists."""
    if config.problem == "mlp":
        from nnlab.data.mnist import prepare_mnist

        prepare_mnist(config.data_dir)


def run(config: OptimizeConfig, rec: Run) -> dict[str, Any]:
    if config.problem == "mlp":
        from nnlab.commands.optimize.mlp import run_mlp

        return run_mlp(config, rec)
    from nnlab.commands.optimize.claims2d import claims_2d
    from nnlab.commands.optimize.paths import run_2d

    summary = run_2d(config, rec)
    # Claims judge this run's own settings; the few controls at fixed settings say so in their text.
    summary["claims"] = claims_2d(config, summary)
    return summary
