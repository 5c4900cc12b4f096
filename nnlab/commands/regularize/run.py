"""The run of `nnlab regularize`: each overfitting setting trained and measured (settings.py), then the claims
judged over all of them (claims.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nnlab.commands.regularize.config import RegularizeConfig

if TYPE_CHECKING:
    from nnlab.core.run import Run


def prepare(config: RegularizeConfig) -> None:
    """Check (or download) and decode MNIST before a run directory exists."""
    if "mnist" in config.setting:
        from nnlab.data.mnist import prepare_mnist

        prepare_mnist(config.data_dir)


def run(config: RegularizeConfig, rec: Run) -> dict[str, Any]:
    """The run, at config.threads CPU threads (set by the runner)."""
    from nnlab.commands.regularize.claims import claims
    from nnlab.commands.regularize.settings import run_setting
    from nnlab.core.seeding import seed_everything

    seed_everything(config.seed)
    results = {}
    for setting in config.setting:
        results[setting] = run_setting(config, setting, config.epochs_of(setting), rec)
    summary: dict[str, Any] = {
        "settings": results,
        "methods": config.methods(),
        "keep_prob": config.p(),
        "beta": config.beta,
        "l1_step": config.l1_step,
        "seeds": config.seeds,
        "claims": claims(results, config),
    }
    if any(r.get("diverged_at") is not None for r in results.values()):
        summary["status"] = "diverged"
    return summary
