"""What the options of `nnlab optimize` mean on each problem: --start and --lr-sweep parsed, and the
per-problem defaults in one place (one frozen `ProblemDefaults` per problem, like a Hydra config group),
so that an option left at none is resolved here and nowhere else (`resolve`, `hyper`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nnlab.experiments.optimize import OptimizeConfig

N_EXAMPLES = 64          # examples J^(i) behind each 2-D landscape, for SGD
MAX_START = 1e3          # |coordinate| of a --start; far beyond every landscape's features, still drawable
DIVERGE_FACTOR = 1e8     # loss above this times max(1, |f(start)|) counts as diverged
SWEEP_POINTS = 13        # learning rates in an automatic sweep: default lr * 10^[-2 .. 1]


def parse_start(text: str) -> list[float]:
    """'x,y' -> [x, y]; raises ValueError with a reason."""
    parts = [p.strip() for p in text.split(",")]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise ValueError(f"expected numbers 'x,y', got {text!r}") from None
    if not all(math.isfinite(v) and abs(v) <= MAX_START for v in values):
        raise ValueError(f"expected numbers within +-{MAX_START:g} (the landscapes live near the origin), got {text!r}")
    return values


def parse_sweep(text: str) -> tuple[float, float, int] | str:
    """'auto' / 'off' stay words; 'LO:HI[:N]' -> (lo, hi, n) log-spaced learning rates (n defaults to 13)."""
    if text in ("auto", "off"):
        return text
    parts = text.split(":")
    if len(parts) not in (2, 3):
        raise ValueError(f"expected auto, off or LO:HI[:N], got {text!r}")
    try:
        lo, hi = float(parts[0]), float(parts[1])
        n = int(parts[2]) if len(parts) == 3 else SWEEP_POINTS
    except ValueError:
        raise ValueError(f"expected auto, off or LO:HI[:N] with numbers, got {text!r}") from None
    if not (0 < lo < hi and math.isfinite(hi)):
        raise ValueError(f"need 0 < LO < HI, got {text!r}")
    if not 2 <= n <= 200:
        raise ValueError(f"N must be 2..200, got {n}")
    return lo, hi, n


# ----------------------------------------------------------------------------------------------------
# Per-problem defaults


@dataclass(frozen=True)
class ProblemDefaults:
    """What --steps, --lr, --beta, --batch-size, --noise and --start mean on one problem when left out."""

    steps: int                 # update steps per method
    lr: dict[str, float]       # learning rate alpha per method
    beta: dict[str, float]     # momentum beta of heavy_ball and nesterov
    batch_size: int = 8        # minibatch of the stochastic methods: of N_EXAMPLES examples (2-D), of images (mlp)
    noise: float = 1.0         # size of the offsets c_i behind SGD's noise (2-D problems only)
    start: tuple[float, float] | None = None  # x_0 of the 2-D problems (the claims start there too)


def quadratic_theory(kappa: float) -> dict[str, float]:
    """f = (x^2 + kappa y^2) / 2: mu = 1, L = kappa, and the textbook best constant parameters."""
    q = math.sqrt(kappa)
    return {
        "gd_lr": 2 / (1 + kappa), "gd_rate": (kappa - 1) / (kappa + 1),
        "hb_lr": 4 / (q + 1) ** 2, "hb_beta": ((q - 1) / (q + 1)) ** 2, "hb_rate": (q - 1) / (q + 1),
        "nesterov_lr": 1 / kappa, "nesterov_beta": (q - 1) / (q + 1), "nesterov_rate": 1 - 1 / q,
    }


_BETA_09 = {"heavy_ball": 0.9, "nesterov": 0.9}
# Learning rates tuned by hand (see tests) except on the quadratic, where theory gives them.
_DEFAULTS = {
    "rosenbrock": ProblemDefaults(1500, {"gd": 1e-3, "sgd": 1e-3, "heavy_ball": 1e-3, "nesterov": 1e-3,
                                         "adagrad": 1.0, "rmsprop": 0.01, "adam": 0.1}, _BETA_09, noise=2.0,
                                  start=(-1.2, 1.0)),
    # Just off the saddle's stable line y = 0: gd crawls along it before y grows away.
    "saddle": ProblemDefaults(200, {"gd": 0.1, "sgd": 0.1, "heavy_ball": 0.1, "nesterov": 0.1, "adagrad": 0.3,
                                    "rmsprop": 0.01, "adam": 0.1}, _BETA_09, start=(1.5, 1e-3)),
    "nonconvex": ProblemDefaults(200, {"gd": 0.3, "sgd": 0.3, "heavy_ball": 0.5, "nesterov": 0.3, "adagrad": 1.0,
                                       "rmsprop": 0.1, "adam": 0.3}, _BETA_09, start=(4.2, 3.0)),
    "mlp": ProblemDefaults(300, {"gd": 1.0, "sgd": 0.3, "heavy_ball": 0.1, "nesterov": 0.1, "adagrad": 0.1,
                                 "rmsprop": 3e-3, "adam": 0.01}, _BETA_09, batch_size=32),
}


def problem_defaults(problem: str, kappa: float = 50.0) -> ProblemDefaults:
    """The defaults of `problem` (the quadratic's depend on its condition number kappa)."""
    if problem == "quadratic":
        t = quadratic_theory(kappa)
        return ProblemDefaults(150, {"gd": t["gd_lr"], "sgd": t["gd_lr"], "heavy_ball": t["hb_lr"],
                                     "nesterov": t["nesterov_lr"], "adagrad": 1.0, "rmsprop": 0.03, "adam": 0.1},
                               {"heavy_ball": t["hb_beta"], "nesterov": t["nesterov_beta"]}, start=(-4.0, 1.0))
    return _DEFAULTS[problem]


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
