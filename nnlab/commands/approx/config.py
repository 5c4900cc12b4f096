"""The configuration of `nnlab approx`: its parameters, the --quick values, the training-set size and the memory
estimate."""

from __future__ import annotations

from dataclasses import dataclass

from nnlab.core.config import ExperimentConfig, check_list, param
from nnlab.nn import activations
from nnlab.nn import approximation as ap

DEFAULT_WIDTHS = [2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]


@dataclass
class ApproxConfig(ExperimentConfig):
    target: list[str] = param(
        ["bump", "sawtooth", "linear"],
        f"Targets on [0,1]^d: {', '.join(ap.TARGETS)}, or a formula in x (x[0] or x1, pi, e, sin, exp, "
        "norm(x - 0.5), ...). Repeat for several.")
    dims: list[int] = param([1, 2, 4, 8], "Input dimensions d to sweep (repeatable).", low=1, high=16)
    widths: list[int] = param(DEFAULT_WIDTHS, "Hidden widths D (repeatable).", low=1, high=8192)
    activation: list[str] = param(["sigmoid", "cos"], "Hidden activations, one network family each: "
                                  f"{', '.join(activations.NAMES)} (leaky_relu:GAMMA, softplus:BETA).",
                                  check=activations.check_spec)
    fit: str = param("features", "features: random hidden layer, least squares for W2, b2 (convex, exact); "
                     "train: all layers by Adam from the same start.", choices=["features", "train"])
    seeds: int = param(3, "Repeats, each with its own training samples and features (drawn from --seed); "
                       "mean and spread are reported.", low=1, high=50)
    samples: int = param(0, "Training samples; 0: 4 x the largest width (at least 512), so the error "
                         "measured is approximation, not overfitting.", low=0, high=1_000_000)
    test_samples: int = param(4096, "Held-out uniform samples for the L2 error.", low=16, high=1_000_000)
    feature_scale: float = param(5.0, "Typical |w| of the random hidden weights, spread over 1/2..4 times this "
                                 "(the bump's spectrum sits at |w| = 5).", low=0.0, low_open=True, high=1e4)
    ridge: float = param(1e-10, "Ridge lam relative to the mean squared feature norm (keeps the least squares "
                         "well posed; 0: none unless the Cholesky fails, then 1e-15 growing tenfold).", low=0.0,
                         high=1.0)
    kernel_width: float = param(0.2, "Gaussian kernel bandwidth h = kernel_width * sqrt(d).", low=0.0,
                                low_open=True, high=1e4)
    baselines: bool = param(True, "Also fit linear regression, Chebyshev polynomials and kernel ridge.")
    steps: int = param(1000, "Adam steps for --fit train (full batch).", low=1, high=1_000_000)
    lr: float = param(0.01, "Adam learning rate for --fit train.", low=0.0, low_open=True, high=100.0)
    slope_from: int = param(32, "Fit the log-log slopes on widths >= this (smaller D are pre-asymptotic: "
                            "the error is still about Var f).", low=1, high=8192)
    target_error: float = param(0.01, "Relative MSE (MSE / Var f) for the width-needed-versus-d plot.",
                                low=0.0, low_open=True, high=1.0)

    def validate(self) -> None:
        from nnlab.core.errors import UserError

        for name in ("target", "dims", "widths", "activation"):
            check_list(name, getattr(self, name), required=True)
        for spec in self.target:
            for d in sorted(self.dims):  # a formula must make sense in every d of the sweep
                problem = ap.check_target(spec, d)
                if problem:
                    raise UserError(f"target: {problem}")
        self.widths = sorted(self.widths)  # curves, slopes and the table read them smallest first
        if self.samples and self.samples < max(self.widths) + 2:
            raise UserError(f"samples: {self.samples} is fewer than the largest width + 2 ({max(self.widths) + 2})")


def n_samples(config: ApproxConfig) -> int:
    return config.samples or max(512, 4 * max(config.widths))


def memory_bytes(config: ApproxConfig) -> int:
    """A generous estimate of the largest arrays (float64): per d, the training features of every seed and
    width (S, n, D) twice (features and their Gram/solve), predictions on the evaluation points, and the
    kernel baseline's n x n Gram matrix."""
    n, d_max, w_max = n_samples(config), max(config.dims), max(config.widths)
    m = config.test_samples + 8192 + 201  # test, sup grid, plot grid points
    T = len(config.target)
    per_seed = 2 * n * (w_max + 1) + m * (w_max + 1) + m * len(config.widths) * T + n * d_max
    kernel = 3 * n * n if config.baselines else 0
    return 8 * (config.seeds * per_seed + kernel) + 200 * 2**20  # + interpreter, torch and numpy themselves


QUICK = {"dims": [1, 2], "widths": [2, 4, 8, 16, 64], "seeds": 2, "samples": 512, "test_samples": 512, "steps": 50,
         "slope_from": 4}
