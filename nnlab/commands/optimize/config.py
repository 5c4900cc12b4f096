"""The options of `nnlab optimize` (OptimizeConfig, QUICK, memory_bytes) and what they mean when left out:
--start and --lr-sweep parsed, and the per-problem defaults in one place (one frozen `ProblemDefaults` per
problem, like a Hydra config group). The ground floor of the command: it imports none of its other modules."""

from __future__ import annotations

import math
from dataclasses import dataclass

from nnlab.core.command import INTERPRETER_BYTES
from nnlab.core.config import ExperimentConfig, check_list, param
from nnlab.core.errors import UserError
from nnlab.nn import landscapes, optimizers

PROBLEMS = [*landscapes.PROBLEMS_2D, "mlp"]
MAX_START = 1e3          # |coordinate| of a --start; far beyond every landscape's features, still drawable
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
    batch_size: int = 8        # minibatch of the stochastic methods: of the 64 examples (2-D), of images (mlp)
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


# ----------------------------------------------------------------------------------------------------
# The config


def _below_one(v: float) -> str | None:
    return None if v < 1 else f"must be < 1, got {v!r}"


def _check_start(text: str) -> str | None:
    if not text:
        return None
    try:
        parse_start(text)
    except ValueError as exc:
        return str(exc)
    return None


def _check_sweep(text: str) -> str | None:
    try:
        parse_sweep(text)
    except ValueError as exc:
        return str(exc)
    return None


@dataclass
class OptimizeConfig(ExperimentConfig):
    method: list[str] = param(["all"], "Update rule(s) to run, or all.", choices=[*optimizers.NAMES, "all"])
    problem: str = param("quadratic", "Landscape: 2-D quadratic, rosenbrock, saddle, nonconvex, or mlp (MNIST).",
                         choices=PROBLEMS)
    lr: float | None = param(None, "Learning rate alpha for every method; none: per-method, per-problem defaults.",
                             low=0, low_open=True, high=1e6)
    beta: float | None = param(None, "Momentum beta of heavy_ball and nesterov; none: theory's optimum on the "
                               "quadratic, 0.9 elsewhere.", low=0, high=1, check=_below_one)
    beta1: float = param(0.9, "Adam's beta1 (first moment).", low=0, high=1, check=_below_one)
    beta2: float = param(0.999, "Adam's beta2 (second moment).", low=0, high=1, check=_below_one)
    rms_beta: float = param(0.9, "RMSProp's beta in s2 = beta s2 + (1 - beta) dx * dx.", low=0, high=1,
                           check=_below_one)
    eps: float = param(1e-7, "The constant inside the square roots of AdaGrad, RMSProp and Adam (slides: 1e-7).",
                       low=0, high=1)
    steps: int | None = param(None, "Update steps per method; none: per problem (150 quadratic, 1500 rosenbrock, "
                              "200 saddle and nonconvex, 300 mlp).", low=1, high=100_000)
    start: str = param("", "Starting point 'x,y' of a 2-D problem; empty: the problem's default.",
                       check=_check_start)
    kappa: float = param(50.0, "Condition number of the quadratic (x^2 + kappa y^2) / 2.", low=1, high=1e4)
    batch_size: int | None = param(None, "Minibatch size of the stochastic methods; none: 8 of 64 examples "
                                   "(2-D), 32 (mlp; capped at --train-size).", low=1, high=60_000)
    noise: float | None = param(None, "Size of the per-example offsets c_i behind SGD's noise on 2-D problems; "
                                "none: 2 on rosenbrock, 1 elsewhere.", low=0, high=100)
    lr_sweep: str = param("auto", "Learning-rate sweep: auto (default lr * 10^-2 .. 10^1, 2-D only), off, or "
                          "LO:HI[:N] log-spaced.", check=_check_sweep)
    train_size: int = param(2048, "mlp: training images (a fixed random subset of MNIST's 60,000).",
                            low=16, high=60_000)
    hidden: int = param(32, "mlp: hidden units of the 784-hidden-10 tanh network.", low=1, high=4096)
    large_batch: int = param(512, "mlp: the large batch size of the sharpness comparison.", low=1,
                              high=60_000)
    sharpness_seeds: int = param(3, "mlp: SGD minibatch orders per batch size in the sharpness comparison "
                                 "(mean and spread are reported).", low=1, high=20)
    data_dir: str | None = param(None, "mlp: folder with the MNIST files; none: NNLAB_DATA_DIR or the package's.")
    gif: bool = param(False, "Also write an animated GIF of the paths (2-D problems).")

    def validate(self) -> None:
        if self.problem == "mlp":
            if self.start:
                raise UserError("start: the mlp problem has no 2-D starting point; leave --start out")
        elif self.start and len(parse_start(self.start)) != 2:
            raise UserError(f"start: {self.problem} is 2-D, expected two numbers 'x,y', got {self.start!r}")
        if "all" in self.method and len(self.method) > 1:
            raise UserError(f"method: 'all' already names every method, got {self.method}")
        check_list("method", self.method, required=True)
        if self.problem == "mlp" and self.large_batch > self.train_size:
            raise UserError(f"large_batch: {self.large_batch} is more than train_size {self.train_size}")
        if self.problem == "mlp":
            small = min(self.batch_size or problem_defaults("mlp").batch_size, self.train_size)
            if small == self.large_batch:
                raise UserError(f"large_batch: {self.large_batch} equals the batch size (capped at train_size "
                                f"{self.train_size}); the sharpness comparison needs two different batch sizes")

    def methods(self) -> list[str]:
        return list(optimizers.NAMES) if "all" in self.method else list(self.method)


QUICK = {"steps": 60, "lr_sweep": "off", "train_size": 256, "hidden": 16, "large_batch": 128, "sharpness_seeds": 1}


def memory_bytes(config: OptimizeConfig) -> int:
    """A generous estimate of the largest things held at once, plus 256 MiB for the interpreter and libraries
    (measured: ~220 MiB once torch and numpy are imported).

    2-D: every method's logged rows, (steps + 1) a method, each ~1200 bytes when read back (measured ~900: its
    JSON line and the dict {method, step, loss, x} with its floats, list and strings, that `nnlab.run`'s result,
    `redraw` and the figures read), the paths the claims re-simulate (up to ~5 alive, ~200 bytes a point: a
    2-float list and a loss), and the quadratic's check paths (up to 30 kappa + 200 points of ~200 bytes).
    mlp: MNIST (uint8, 70,000 x 784), the float32 training subset and test set (4 copies: the images, their
    nonzero columns that the lockstep passes read, gathered or converted copies), activations kept for double
    backward (~8 per hidden unit per image, for every run the batched power iteration differentiates at once),
    the parameters with Hessian-vector graphs (~30 copies), every lockstep run's parameters, optimizer state,
    gradient and gradient point (~5 copies a run), and the Gram matrix K of the tracked pre-activations (n^2
    floats up to n = 4096), and the sharpness runs' minibatches with their copies (~4 of (seeds, large_batch,
    784) floats). Measured: 560-577 MiB above the interpreter at train_size 30,000, hidden 16, large_batch 4096,
    GD alone; 862 MiB in all under coverage (the 4th copy is its margin)."""
    steps = config.steps or problem_defaults(config.problem, config.kappa).steps
    base = INTERPRETER_BYTES
    if config.problem != "mlp":
        rows = len(config.methods()) * (steps + 1) * 1200 + 5 * (steps + 1) * 200
        return base + rows + 4 * (30 * int(config.kappa) + 200) * 200
    images = config.train_size + 10_000
    params = 785 * config.hidden + (config.hidden + 1) * 10
    runs = len(config.methods()) + 2 * config.sharpness_seeds  # trained in lockstep (mlp_train.py)
    gram = 4 * config.train_size ** 2 if config.train_size <= 4096 else 0  # mlp_train.GRAM_MAX's K (n, n)
    return base + 70_000 * 784 + images * 784 * 4 * 4 + images * config.hidden * 4 * 8 * runs \
        + params * 4 * (30 + 5 * runs) + gram + 7 * (steps + 1) * 300 \
        + 4 * config.sharpness_seeds * config.large_batch * 784 * 4
