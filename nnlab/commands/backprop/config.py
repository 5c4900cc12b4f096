"""The configuration of `nnlab backprop`: its parameters, the point a formula is evaluated at, the cost MLPs'
sizes, the --quick values and the memory estimate."""

from __future__ import annotations

from dataclasses import dataclass

from nnlab.core.command import INTERPRETER_BYTES
from nnlab.core.config import ExperimentConfig, check_list, param
from nnlab.core.errors import UserError
from nnlab.nn import formula_graph, formulas

CLASSES = 10  # outputs of every MLP (the cost MLPs' random labels and MNIST's digits)
MIN_SIZES, MIN_SPAN = 6, 100.0  # a cost slope needs this many MLP sizes spanning this factor in parameters


def _check_expr(text: str) -> str | None:
    try:
        formulas.parse(text)
    except formulas.FormulaError as exc:
        return str(exc)
    return None


@dataclass
class BackpropConfig(ExperimentConfig):
    expr: str = param(formulas.SLIDE, "Formula: `name = expression` statements separated by ';' (the last may be "
                      "a bare expression) or one expression, over named variables; + - * / **, unary -, exp, log, "
                      "relu, sigmoid, tanh, leaky_relu(a[, gamma]), gelu, softplus(a[, beta]), pi, e.",
                      check=_check_expr)
    point: str = param("", "Variable values, by name (x=1,y=2,z=4) or in alphabetical order of the variables "
                       "(1,2,4). Empty: the slide's x=1,y=2,z=4 (only for a formula in x, y, z).")
    fd_step: float = param(1e-6, "Central finite differences step, relative: h = fd_step * max(1, |value|).",
                           low=0.0, low_open=True, high=0.1)
    cost: bool = param(True, "Part 2: measure forward vs forward + backward time and memory over MLP sizes.")
    cost_backward: str = param("reverse", "How the cost MLPs get their gradient: reverse (back-propagation, "
                               "intermediates kept) or recompute (nothing kept, each layer's input recomputed "
                               "from x: O(depth^2) time, the counter-example).", choices=["reverse", "recompute"])
    cost_libraries: list[str] = param(["engine", "torch"], "Which autograd to measure: engine (ours), torch.",
                                      choices=["engine", "torch"])
    cost_width: int = param(256, "Width of every hidden layer (and of the input) of the cost MLPs.", low=2, high=4096)
    cost_depths: list[int] = param([1, 2, 4, 8, 16, 32, 64, 128], "Hidden layers of each cost MLP: at least 6 "
                                   "sizes whose parameter counts span at least 100x.", low=1, high=4096)
    cost_batch: int = param(64, "Rows of the random input of the cost MLPs.", low=1, high=8192)
    cost_activation: str = param("tanh", "Activation of the cost MLPs.", choices=["tanh", "relu", "sigmoid"])
    repeats: int = param(5, "Timing samples per size and pass; the median is kept.", low=3, high=1000)
    warmup: int = param(1, "Untimed calls before the samples.", low=0, high=100)
    min_sample_ms: float = param(10.0, "Each sample repeats the call until it lasts this long (milliseconds).",
                                 low=0.0, high=10000.0)
    clock: str = param("cpu", "cpu: CPU time of this process (robust on a shared machine); wall: elapsed time.",
                       choices=["cpu", "wall"])
    threads: int = param(1, "CPU threads for torch and numpy's BLAS (0: every core this process may use).",
                         low=0, high=256)
    train: bool = param(True, "Part 3: train an MLP on MNIST with the engine and with torch, same start.")
    train_samples: int = param(3000, "Training images (the first N of MNIST's training set).", low=10, high=60000)
    test_samples: int = param(2000, "Test images for the accuracy (the first N of the test set).", low=10, high=10000)
    train_hidden: int = param(100, "Hidden units of the trained MLP (784 -> hidden -> 10).", low=1, high=4096)
    train_steps: int = param(120, "SGD steps (minibatches drawn without replacement, epoch after epoch).",
                             low=1, high=100000)
    train_batch: int = param(50, "Images per SGD step.", low=1, high=60000)
    train_lr: float = param(0.1, "SGD learning rate.", low=0.0, low_open=True, high=1e6)
    train_seeds: int = param(3, "MLPs trained with the engine, each from its own weights and batch order (the "
                             "first also with torch): the accuracy's mean and spread.", low=1, high=20)
    compare_steps: int = param(10, "The first steps over which the two loss curves must agree.", low=1,
                               high=1_000_000)
    data_dir: str | None = param(None, "Folder with the four MNIST .gz files (null: $NNLAB_DATA_DIR, else the "
                                 "copy shipped with nnlab).")

    def validate(self) -> None:
        if self.device == "cuda":
            raise UserError("--device: nnlab backprop runs on the CPU (numpy engine, float64 torch reference)")
        program = formulas.parse(self.expr)
        point = resolve_point(self.point, program)
        problem = formula_graph.domain_problem(program, point)
        if problem:
            raise UserError(f"--point: {problem}")
        if self.cost:
            check_list("cost_depths", self.cost_depths, required=True)
            check_list("cost_libraries", self.cost_libraries, required=True)
            sizes = parameter_counts(self)
            if len(sizes) < MIN_SIZES or max(sizes) / min(sizes) < MIN_SPAN:
                raise UserError(f"--cost-depths: a slope needs at least {MIN_SIZES} sizes spanning {MIN_SPAN:g}x in "
                                f"parameters; got {len(sizes)} spanning {max(sizes) / min(sizes):.3g}x")
            depth, w, b = max(self.cost_depths), self.cost_width, self.cost_batch
            # Parameters and their gradients (x2), the engine's 3 and torch's 1 kept activations per layer.
            nbytes = 8 * (2 * parameter_counts(self)[-1] + 4 * depth * b * w)
            if nbytes > 4 * 2**30:
                raise UserError(f"--cost-width/--cost-depths/--cost-batch: the largest MLP needs "
                                f"{nbytes / 2**30:.1f} GiB; keep it under 4 GiB")
        if self.train and self.train_batch > self.train_samples:
            raise UserError(f"--train-batch ({self.train_batch}) is larger than --train-samples ({self.train_samples})")
        if self.train and self.compare_steps > self.train_steps:
            raise UserError(f"--compare-steps ({self.compare_steps}) exceeds --train-steps ({self.train_steps})")


def memory_bytes(config: BackpropConfig) -> int:
    """The largest cost MLP (float64): its weights with their gradients and each engine's copies (4 per
    layer of w x w), and the batch x width intermediates the engines keep and make per layer (ours 3, autograd
    its own, the timed repeats' leftovers: measured 22 per layer at width 64, batch 512, depth 128, and 18.5 at
    width 512, batch 1024; counted 32); the MNIST images as float64; and the interpreter with torch and numpy."""
    depth, w, b = max(config.cost_depths), config.cost_width, config.cost_batch
    cost = 8 * depth * (4 * w * w + 32 * b * w) if config.cost else 0
    train = 8 * 784 * (config.train_samples + config.test_samples) * 2 if config.train else 0
    return cost + train + INTERPRETER_BYTES


QUICK = {"cost_width": 128, "cost_batch": 32, "repeats": 3, "min_sample_ms": 5.0, "train_samples": 1000,
         "test_samples": 500, "train_steps": 60, "train_hidden": 64}


def resolve_point(text: str, program: formulas.Program) -> dict[str, float]:
    try:
        if not text.strip():
            if program.variables != sorted(formulas.SLIDE_POINT):
                raise formulas.FormulaError(f"give a value for {', '.join(program.variables)}, e.g. --point "
                                            + ",".join(f"{v}=1" for v in program.variables))
            return dict(formulas.SLIDE_POINT)
        return formulas.parse_point(text, program.variables)
    except formulas.FormulaError as exc:
        raise UserError(f"--point: {exc}") from None


def parameter_counts(config: BackpropConfig) -> list[int]:
    from nnlab.nn.backprop_cost import parameter_count

    return [parameter_count(config.cost_width, d, CLASSES) for d in sorted(config.cost_depths)]
