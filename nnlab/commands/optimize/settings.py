"""How a config resolves on its problem: every option left at none replaced by the problem's default
(`resolve`, `hyper`; the defaults themselves are in config.py), and which methods draw minibatches."""

from __future__ import annotations

from dataclasses import dataclass

from nnlab.commands.optimize.config import OptimizeConfig, parse_start, problem_defaults

N_EXAMPLES = 64          # examples J^(i) behind each 2-D landscape, for SGD
DIVERGE_FACTOR = 1e8     # loss above this times max(1, |f(start)|) counts as diverged


@dataclass(frozen=True)
class Settings:
    """A run's problem-dependent settings, every none replaced by the problem's default."""

    steps: int
    batch_size: int           # as asked; the mlp problem caps it at its training set
    noise: float
    start: list[float] | None  # the 2-D starting point; None on mlp


def resolve(config: OptimizeConfig) -> Settings:
    d = problem_defaults(config.problem, config.kappa)
    default_start = list(d.start) if d.start is not None else None
    start = parse_start(config.start) if config.start else default_start
    return Settings(steps=config.steps or d.steps, batch_size=config.batch_size or d.batch_size,
                    noise=d.noise if config.noise is None else config.noise, start=start)


def hyper(method: str, config: OptimizeConfig, lr: float | None = None) -> dict[str, float]:
    """The keyword arguments of the rule `method` under `config` (lr overrides config and defaults)."""
    d = problem_defaults(config.problem, config.kappa)
    hp: dict[str, float] = {"lr": lr or config.lr or d.lr[method]}
    if method in ("heavy_ball", "nesterov"):
        hp["beta"] = d.beta[method] if config.beta is None else config.beta
    if method == "rmsprop":
        hp["beta"] = config.rms_beta
    if method == "adam":
        hp.update(beta1=config.beta1, beta2=config.beta2)
    if method in ("adagrad", "rmsprop", "adam"):
        hp["eps"] = config.eps
    return hp


def stochastic(method: str, problem: str) -> bool:
    """On the 2-D problems only SGD draws minibatches; on mlp every method but GD does."""
    return method == "sgd" if problem != "mlp" else method != "gd"
