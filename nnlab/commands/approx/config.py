"""The configuration of `nnlab approx`: its parameters, the --quick values, the training-set size and the memory
estimate."""

from __future__ import annotations

import math
from dataclasses import dataclass

from nnlab.core.command import INTERPRETER_BYTES
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
    target_error: float = param(0.01, "Relative MSE (MSE / Var f) for the width-needed-versus-d plot and the "
                                "curse's growth factor.", low=0.0, low_open=True, high=1.0)
    epsilon: float = param(0.1, "Sup-norm tolerance eps of the Weierstrass and Cybenko claims, as a fraction of "
                           "the target's range on [0, 1] (max f - min f).", low=0.0, low_open=True, high=1.0)
    max_degree: int = param(128, "Highest polynomial degree of the Weierstrass sweep (d = 1, degrees 1, 2, 4, "
                            "... up to it, fitted at 1024 Chebyshev nodes).", low=1, high=1000)
    learn_width: int = param(4, "Width D at which learned features (Adam on every layer) are set against fixed "
                             "random ones (least squares on the outer layer), at the smallest d.", low=1,
                             high=1024)
    learn_steps: int = param(1000, "Adam steps (full batch, --lr) of that learned-features network.", low=1,
                             high=1_000_000)

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
    """A generous estimate of the largest arrays at one d (float64, so 8 bytes a number), summed as if all were
    alive at once, with S seeds, n training samples, P = 1 + the largest width, W widths, T targets and m
    evaluation points (test samples, the sup grid and the plot grid):

    - fitting a network: the training features (S, n, P) and the copy `hidden` concatenates, the Gram matrix
      (S, P, P) with its ridged clone and Cholesky factor, the inputs (S, n, d) and targets (S, n, T); --fit
      train instead keeps, per width, float32 (S T, n, D) activations and their gradients (~4 of them);
    - an evaluation chunk's features (S, 4096, P), three of them (pre-activation, activation, concatenated);
    - every method's predictions (S, m, W, T), all kept until measured, and `evaluate`'s error and its squares
      (two more);
    - the baselines: the kernel's evaluation features (S, m, P) and their concatenation, its training kernel
      (S, n, P) with the three temporaries behind it, and the Chebyshev bases on the evaluation points (1, m, C),
      C <= n / 4 terms, with the gather temporary and the product, and their (.., d, degree + 1) tables."""
    n, d_max, w_max = n_samples(config), max(config.dims), max(config.widths)
    S, T, W, P = config.seeds, len(config.target), len(config.widths), w_max + 1
    m = config.test_samples + max(8192, 129**2) + 201  # test, sup grid (d = 2's 129^2 the largest), plot grid
    methods = len(config.activation) + (3 if config.baselines else 0)
    numbers = S * (2 * n * P + 3 * P * P + n * (d_max + T)) + 3 * S * min(m, 4096) * P
    if config.fit == "train":
        numbers += 2 * S * T * n * w_max + S * T * min(m, 4096) * w_max  # float32: half a float64 each
    numbers += (methods + 2) * S * m * W * T
    if config.baselines:
        terms, degree = max(d_max + 1, n // 4), max(2, int(math.sqrt(n) / 2))
        numbers += 2 * S * m * P + 4 * S * n * P + (m + 2 * S * n) * (3 * terms + d_max * (degree + 1))
    return 8 * numbers + INTERPRETER_BYTES  # + interpreter, torch and numpy themselves


QUICK = {"dims": [1, 2], "widths": [2, 4, 8, 16, 64], "seeds": 2, "samples": 512, "test_samples": 512, "steps": 50,
         "slope_from": 4}
