"""Optimization: GD, SGD, heavy ball, Nesterov, AdaGrad, RMSProp and Adam on landscapes you can watch
(lecture: 非凸优化).

Problems: `quadratic` (x^2 + kappa y^2) / 2, ill-conditioned (kappa = 50): GD zig-zags across the valley;
`rosenbrock`, a curved valley; `saddle`, a saddle at the origin with minima at (0, +-1); `nonconvex`,
a bowl of ripples with several local minima; `mlp`, a small network on a subset of real MNIST.

Every method uses the update rule exactly as the slides write it (nnlab/nn/optimizers.py), with 1e-7
inside the square roots. On the 2-D problems only `sgd` is stochastic: the landscape is the mean of 64
examples J^(i)(p) = f(p) + <c_i, p> (centred c_i of size --noise), and each epoch partitions them into
minibatches drawn without replacement. On `mlp`, every method but `gd` uses minibatches.

Defaults are per problem: learning rates (theory's best ones on the quadratic), beta, steps, start.
A method whose loss turns NaN/inf, or grows beyond 1e8 times its start, is recorded as diverged at that
step.

The claims judge the run you asked for, with your learning rates, start, steps, noise and batch: GD oscillates
across the ill-conditioned valley; your lr against 2 / L (predicted to diverge or not, and what happened);
heavy ball and Nesterov end lower than GD; SGD's noise (20 noise draws: fraction, mean and spread) and momentum
leave the saddle sooner than GD; GD settles in a local minimum; (mlp) at equal examples seen, the small batch
ends flatter, and the flatter point generalizes better (the lecture's hypothesis). Closed forms reproduced at
fixed settings (GD's best rate, the sqrt(kappa) speedup, GD at 0.98 and 1.02 x 2 / L, the saddle's stable
line, SGD's gradient-noise formula) are sanity checks.

\b
    nnlab optimize                                  every method on the quadratic, with a learning-rate sweep
    nnlab optimize --method gd --lr 0.05            above 2 / L = 0.04: diverges, and the claims say so
    nnlab optimize --problem saddle --quick         SGD over 20 noise draws against GD at the saddle
    nnlab optimize --problem nonconvex --start 0.5,0.5 --lr 0.01    GD reaches the global minimum: a claim fails
    nnlab optimize --problem mlp --quick            small vs large batch at equal examples seen
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nnlab.core.config import ExperimentConfig, check_list, param
from nnlab.core.errors import UserError
from nnlab.experiments.optimize.settings import parse_start, parse_sweep, problem_defaults
from nnlab.nn import landscapes, optimizers

if TYPE_CHECKING:
    from nnlab.core.run import Run

# The package: settings (options parsed, per-problem defaults), paths (2-D paths, the learning-rate sweep),
# claims2d (the 2-D claims), mlp (the MNIST problem); this module is the command's entry points.
PROBLEMS = [*landscapes.PROBLEMS_2D, "mlp"]


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
    """A generous estimate of the largest things held at once, plus ~200 MiB for the interpreter and libraries.

    2-D: every method's logged rows (~600 bytes each as JSON text and the dicts `redraw` reads back) and the
    quadratic's check paths (up to 30 kappa + 200 points of ~200 bytes). mlp: MNIST (uint8, 70,000 x 784), the
    float32 training subset and test set, activations kept for double backward (~8 per hidden unit per image),
    and the parameters with optimizer state and Hessian-vector graphs (~30 copies)."""
    steps = config.steps or problem_defaults(config.problem, config.kappa).steps
    base = 200 * 2**20
    if config.problem != "mlp":
        return base + 7 * (steps + 1) * 600 + 4 * (30 * int(config.kappa) + 200) * 200
    images = config.train_size + 10_000
    params = 785 * config.hidden + (config.hidden + 1) * 10
    return base + 70_000 * 784 + images * 784 * 4 * 2 + images * config.hidden * 4 * 8 + params * 4 * 30 \
        + 7 * (steps + 1) * 300


def prepare(config: OptimizeConfig) -> None:
    """The mlp problem's MNIST files are checked (or downloaded) before a run directory exists."""
    if config.problem == "mlp":
        from nnlab.core.mnist import prepare_mnist

        prepare_mnist(config.data_dir)


def run(config: OptimizeConfig, rec: Run) -> dict[str, Any]:
    if config.problem == "mlp":
        from nnlab.experiments.optimize.mlp import run_mlp

        return run_mlp(config, rec)
    from nnlab.experiments.optimize.claims2d import claims_2d
    from nnlab.experiments.optimize.paths import run_2d

    summary = run_2d(config, rec)
    # Claims judge this run's own settings; the few controls at fixed settings say so in their text.
    summary["claims"] = claims_2d(config, summary)
    return summary


def headline(summary: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    columns = ["method", "lr", "final loss", "diverged at"]
    rows = []
    for m, r in summary["methods"].items():
        rows.append([m, r["hyper"]["lr"], r["final_loss"], r["diverged_step"]])
    if summary.get("problem") == "mlp":
        columns += ["test acc"]
        for row, r in zip(rows, summary["methods"].values(), strict=True):
            row.append(r.get("test_accuracy"))
    return columns, rows
