"""The options of `nnlab regularize` (RegularizeConfig, QUICK, memory_bytes) and their per-setting defaults:
the ground floor of the command, it imports none of its other modules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nnlab.core.command import INTERPRETER_BYTES
from nnlab.core.config import ExperimentConfig, check_list, param
from nnlab.core.errors import UserError

SETTINGS = ["regression", "mnist"]
METHODS = ["none", "l2", "l1", "elastic", "dropout"]
PENALTIES = ("l2", "l1", "elastic")  # the methods J + lambda R, with a lambda to choose
# Per-setting defaults for the keys whose default is 0 / empty.
DEFAULTS = {
    "regression": {"train_size": 15, "val_size": 100, "lam": [1e-4, 1e-3, 1e-2, 1e-1], "batch_size": 50000,
                   "lr": 0.3},
    "mnist": {"train_size": 1000, "val_size": 1000, "lam": [1e-4, 1e-3, 1e-2, 1e-1], "batch_size": 50, "lr": 0.1},
}
MNIST_TRAIN = 60000
MAX_BYTES = 4 * 2**30  # weights, gradients and a working copy of every network: refuse beyond this


def _keep(v: float) -> str | None:
    return None if 0 < v <= 1 else f"the keep probability p must be in (0, 1], got {v!r}"


def _drop(v: float) -> str | None:
    return None if 0 <= v < 1 else f"the drop probability 1 - p must be in [0, 1), got {v!r}"


@dataclass
class RegularizeConfig(ExperimentConfig):
    setting: list[str] = param(list(SETTINGS), "Which overfitting settings to run: regression (few noisy points, "
                               "the curve picture) and/or mnist (1,000 real images).", choices=SETTINGS)
    method: list[str] = param(["all"], "Regularizers to compare: none, l2, l1, elastic, dropout, or all.",
                              choices=[*METHODS, "all"])
    lam: list[float] = param([], "Penalty weight lambda in J + lambda R; repeat for a sweep (each penalty's best "
                             "is chosen on validation). Empty: 1e-4, 1e-3, 1e-2, 1e-1.", low=0.0, low_open=True,
                             high=1e3)
    beta: float = param(10.0, "Elastic net: R = beta sum theta^2 + sum |theta| (10 makes both parts count for "
                        "weights of a few hundredths).", low=0.0, high=1e6)
    keep_prob: float | None = param(None, "Dropout: the lecture's keep probability p (survivors scaled by 1/p). "
                                    "null: 0.5 as on the slide, or 1 - --dropout.", check=_keep, low=0.0,
                                    high=1.0)
    dropout: float | None = param(None, "Dropout: the probability 1 - p of DROPPING a unit (train-mnist's "
                                  "convention). Give this or --keep-prob, not both.", check=_drop, low=0.0,
                                  high=1.0)
    l1_step: str = param("prox", "How the |theta| part is stepped: prox (soft thresholding: exact zeros) or "
                         "subgradient (sign(theta): zeros are not exact).", choices=["prox", "subgradient"])
    train_size: int = param(0, "Training examples (0: 15 points for regression, 1000 images for mnist).",
                            low=0, high=50000)
    val_size: int = param(0, "Validation examples for choosing lambda (0: 100 points / 1000 images).",
                          low=0, high=50000)
    epochs: int = param(0, "Passes over the training set, for every setting (0: --reg-epochs, --mnist-epochs).",
                        low=0, high=100000)
    reg_epochs: int = param(2000, "Regression: epochs (full-batch steps) when --epochs is 0.", low=1, high=100000)
    mnist_epochs: int = param(30, "MNIST: epochs when --epochs is 0.", low=1, high=100000)
    seeds: int = param(3, "Replicates (seeds) per method and lambda: the spreads in the claims.", low=1, high=10)
    lr: float = param(0.0, "Learning rate eta of the proximal gradient steps (0: 0.3 for regression, 0.1 for "
                      "mnist).", low=0.0, high=10.0)
    batch_size: int = param(0, "Examples per step (0: the full batch for regression, 50 for mnist).", low=0,
                            high=50000)
    degree: int = param(10, "Regression: Legendre features P_1(x) .. P_degree(x).", low=1, high=50)
    reg_hidden: list[int] = param([64], "Regression: hidden layer sizes (tanh); empty: a linear model on the "
                                  "polynomial features (dropout then drops features).", low=1, high=4096)
    noise: float = param(0.2, "Regression: std of the noise on y = sin(pi x).", low=0.0, high=10.0)
    test_points: int = param(1000, "Regression: test points per replicate.", low=1, high=100000)
    hidden: list[int] = param([64, 64], "MNIST: hidden layer sizes (ReLU).", low=1, high=4096)
    test_curve_size: int = param(2000, "MNIST: test images used for the per-epoch curves (the final numbers use "
                                 "all 10,000).", low=1, high=10000)
    eval_points: int = param(12, "How many epochs (geometrically spaced) are evaluated for the curves.",
                             low=2, high=1000)
    mc_samples: int = param(100, "Thinned networks sampled for dropout's Monte Carlo ensemble.", low=1,
                            high=10000)
    data_dir: str | None = param(None, "Folder with the four MNIST .gz files (null: $NNLAB_DATA_DIR, else the "
                                 "copy shipped with nnlab; missing files are downloaded).")
    threads: int = param(1, "CPU threads for torch (0: every core this process may use). 1 by default: the stacked "
                         "networks' matrices are small (64 units, batches of 50), and on a busy machine waiting "
                         "threads make every step several times slower.", low=0, high=1024)

    def validate(self) -> None:
        check_list("setting", self.setting, required=True)
        check_list("method", self.method, required=True)
        check_list("lam", self.lam)
        if self.keep_prob is not None and self.dropout is not None:
            raise UserError("give --keep-prob (the lecture's keep probability p) or --dropout (1 - p), not both")
        if "mnist" in self.setting and self.size("mnist", "train_size") + self.size("mnist", "val_size") > MNIST_TRAIN:
            raise UserError(f"train_size + val_size: at most {MNIST_TRAIN} MNIST training images")
        for setting in self.setting:
            if self.size(setting, "train_size") < 2:
                raise UserError("train_size: at least 2 examples")
            if self.size(setting, "val_size") < 1:
                raise UserError("val_size: at least 1 example")
            sizes = [self.degree, *self.reg_hidden, 1] if setting == "regression" else [784, *self.hidden, 10]
            params = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=False))
            nets = len(self.members_of(0, setting)) * self.seeds
            nbytes = 4 * 4 * params * nets
            if nbytes > MAX_BYTES:
                raise UserError(f"{setting}: {nets} networks of {params:,} "
                                f"parameters need about {nbytes / 2**30:.1f} GiB; use fewer lambdas "
                                "or smaller layers")

    # -- resolved values ---------------------------------------------------------------------------------
    def size(self, setting: str, key: str) -> Any:
        return getattr(self, key) or DEFAULTS[setting][key]

    def epochs_of(self, setting: str) -> int:
        return self.epochs or (self.reg_epochs if setting == "regression" else self.mnist_epochs)

    def lams(self, setting: str) -> list[float]:
        return sorted(self.lam) or DEFAULTS[setting]["lam"]

    def methods(self) -> list[str]:
        return METHODS if "all" in self.method else [m for m in METHODS if m in self.method]

    def p(self) -> float:
        if self.keep_prob is not None:
            return self.keep_prob
        return 1 - self.dropout if self.dropout is not None else 0.5

    def members_of(self, replicate: int, setting: str) -> list[Any]:
        """The (method, lambda, keep probability) of every network of one replicate."""
        from nnlab.nn.stacked import Member

        out = []
        for m in self.methods():
            if m in ("l2", "l1", "elastic"):
                out += [Member(m, lam, 1.0, replicate) for lam in self.lams(setting)]
            else:
                out.append(Member(m, 0.0, self.p() if m == "dropout" else 1.0, replicate))
        return out


def memory_bytes(config: RegularizeConfig) -> int:
    """The stacked networks with their gradients and momentum (what validate bounds), the MNIST images as
    float32 on the device, and the interpreter with torch and numpy; per setting, with K networks, sizes
    d_in, n_1 .. n_L, d_out and B = min(batch, train) rows a step (4-byte floats unless said):

    - a training step's activations kept for backward and their gradients, ~6 (K, B, n_l) per hidden layer
      (pre-activation, activation, the dropout copy and mask, their gradients; measured ~4), and the gathered
      inputs (K, B, d_in) twice and outputs (K, B, d_out) three times;
    - an evaluation chunk: the inputs (K, 500, d_in) and ~3 (K, 500, n) of the widest layer;
    - dropout's Monte Carlo ensemble, per chunk of 2000 rows ~4 (seeds, 2000, n) of the widest layer, and its
      expectation check: ~4 float64 (seeds, 1000, n_1);
    - regression data: train, validation and test points of every seed as float64 Legendre features, their
      (degree + 1) Vandermonde temporary and the float32 copy (~3 (seeds, N, degree + 1) of 8 bytes)."""
    networks = 0
    for setting in config.setting:
        sizes = [config.degree, *config.reg_hidden, 1] if setting == "regression" else [784, *config.hidden, 10]
        params = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=False))
        K = len(config.members_of(0, setting)) * config.seeds
        networks += 4 * 4 * params * K
        B = min(config.size(setting, "batch_size"), config.size(setting, "train_size"))
        hidden, widest = sum(sizes[1:-1]), max(sizes[1:])
        networks += 4 * K * B * (2 * sizes[0] + 6 * hidden + 3 * sizes[-1])
        networks += 4 * K * 500 * (sizes[0] + 3 * widest)
        if "dropout" in config.methods():
            networks += 4 * config.seeds * (4 * 2000 * widest + 2 * 4 * 1000 * sizes[1])
        if setting == "regression":
            points = config.size(setting, "train_size") + config.size(setting, "val_size") + config.test_points
            networks += 8 * 3 * config.seeds * points * (config.degree + 1)
    data = 2 * 70_000 * 784 * 4 if "mnist" in config.setting else 0
    return networks + data + INTERPRETER_BYTES


# Seconds, and every claim still judged on a run long enough to show it: the regression setting alone at its
# full 2000 steps (about 5 s on one core). MNIST needs tens of epochs to overfit 1,000 images, which is not
# seconds: a 4-epoch MNIST smoke run showed no gap to grow, so --quick leaves that setting to the full run.
# Three seeds, as the full run: the claims judge a spread, and one seed has none (the seeds share one batched
# stack, so three cost about 1.4x one: 4.4 s against 3.1 s of CPU, measured with `time`).
QUICK = {"setting": ["regression"], "seeds": 3, "lam": [1e-3, 1e-2], "eval_points": 6, "mc_samples": 20,
         "test_points": 200, "threads": 1}
