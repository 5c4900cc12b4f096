"""Back-propagation: the chain rule node by node, checked against torch, and what a gradient costs.

\b
    nnlab backprop                                 the slide: r = [z (x^2 + y)]^2 at (1, 2, 4): r = 144,
                                                   gradient (192, 96, 72), the adjoints of u, v, w, r
    nnlab backprop --point x=2,y=1,z=3             the slide's r elsewhere (225; 360, 90, 150)
    nnlab backprop --expr "relu(a - b)**2 / (1 + exp(-a*b))" --point a=1.5,b=-2 --no-cost --no-train
    nnlab backprop --expr "u = x*y; r = log(u) - u**-1" --point 2,3
    nnlab backprop --cost-backward recompute       keep no intermediates: the cost claims must fail

Part 1, the chain rule. The formula (statements `name = expression` separated by ';', or one expression;
+ - * / **, unary minus, exp, log, relu, sigmoid, tanh, leaky_relu, gelu, softplus) is evaluated by a
reverse-mode engine written from scratch (nnlab/nn/autograd.py); the table lists every node with its
forward value and its adjoint d(output)/d(node), and the gradient is compared with torch autograd and
with central finite differences. plots/graph.png draws the graph with values, adjoints and the local
derivatives on the edges. At a kink the engine uses torch's subgradient (relu'(0) = 0), where finite
differences give the average slope (0.5): the finite-difference claim then fails, as it should.

Part 2, the lecture's cost claim: for MLPs whose parameter count N grows with the depth (fixed width,
so the forward work, the parameters and the intermediates all grow in proportion), time(forward +
backward) / time(forward) stays bounded, the backward time grows like N and the bytes kept for the
backward pass grow like N, for the engine and for torch (bytes seen by saved_tensors_hooks). Times are
medians of repeated samples of CPU time (--clock cpu) with one thread, which a busy shared machine
disturbs much less than wall time; the default width 256 makes the matrix work dominate the Python
overhead of each operation (at width 32 torch's fixed per-call cost flattens the small sizes).

Part 3: an MLP trained on real MNIST with the engine and with torch from the same weights on the same
minibatches: the loss curves agree to float64 rounding. --no-cost / --no-train skip parts 2 and 3.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nnlab.core.claims import check, claim
from nnlab.core.config import ExperimentConfig, check_list, param
from nnlab.core.errors import UserError
from nnlab.experiments.backprop_cost import cost_claims, measure_cost, thread_limit
from nnlab.nn import formula_graph, formulas

if TYPE_CHECKING:
    from nnlab.core.run import Run

CLASSES = 10
# Tolerances. FD: central differences with h = 1e-6 err by ~h^2 f''' + eps |f| / h, ~1e-9 relative for
# the slide; a kink errs by O(1). Slopes: a true O(N) claim measured 0.98-1.00 (backward) and |0.01-0.05|
# (ratio) on a loaded 2-core machine; the recompute counter-example gives backward slopes >= 1.3 and
# ratio slopes >= 0.45, memory slope 0.
TORCH_RTOL = 1e-9
FD_RTOL = 1e-6
TRAIN_RTOL = 1e-10
TRAIN_ACCURACY = 0.8
MIN_SIZES, MIN_SPAN = 6, 100.0


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
    threads: int = param(1, "Threads for torch and numpy's BLAS in parts 2 and 3 (0: leave them as they are).",
                         low=0, high=256)
    train: bool = param(True, "Part 3: train an MLP on MNIST with the engine and with torch, same start.")
    train_samples: int = param(3000, "Training images (the first N of MNIST's training set).", low=10, high=60000)
    test_samples: int = param(2000, "Test images for the accuracy (the first N of the test set).", low=10, high=10000)
    train_hidden: int = param(100, "Hidden units of the trained MLP (784 -> hidden -> 10).", low=1, high=4096)
    train_steps: int = param(120, "SGD steps (minibatches drawn without replacement, epoch after epoch).",
                             low=1, high=100000)
    train_batch: int = param(50, "Images per SGD step.", low=1, high=60000)
    train_lr: float = param(0.1, "SGD learning rate.", low=0.0, low_open=True, high=1e6)
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
    """The largest cost MLP (weights and their gradients, float64) with the intermediates each engine keeps
    (3 arrays per layer for ours), the MNIST images as float64, and the interpreter with torch and numpy."""
    depth, w, b = max(config.cost_depths), config.cost_width, config.cost_batch
    cost = 8 * depth * (2 * w * w + 4 * b * w) if config.cost else 0
    train = 8 * 784 * (config.train_samples + config.test_samples) * 2 if config.train else 0
    return 2 * cost + train + 300 * 2**20


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


def prepare(config: BackpropConfig) -> None:
    """MNIST is checked (or downloaded) before a run directory exists, when part 3 is on."""
    if config.train:
        from nnlab.core.mnist import prepare_mnist

        prepare_mnist(config.data_dir)


# ----------------------------------------------------------------------------------------------------
# Part 1: the chain rule


def is_slide_function(program: formulas.Program) -> bool:
    """Whether the formula is the slide's r = [z (x^2 + y)]^2, however staged (checked at probe points)."""
    if program.variables != ["x", "y", "z"]:
        return False
    for p in ({"x": 0.3, "y": -1.7, "z": 2.9}, {"x": -1.1, "y": 0.4, "z": -0.6}, {"x": 2.0, "y": 0.5, "z": 1.5}):
        r = (p["z"] * (p["x"] ** 2 + p["y"])) ** 2
        if not math.isclose(formula_graph.value_at(program, p), r, rel_tol=1e-12):
            return False
    return True


def slide_closed_form(p: dict[str, float]) -> tuple[float, dict[str, float]]:
    """r = z^2 (x^2 + y)^2: dr/dx = 4 x z^2 (x^2 + y), dr/dy = 2 z^2 (x^2 + y), dr/dz = 2 z (x^2 + y)^2."""
    x, y, z = p["x"], p["y"], p["z"]
    v = x * x + y
    return (z * v) ** 2, {"x": 4 * x * z * z * v, "y": 2 * z * z * v, "z": 2 * z * v * v}


def rel_diff(a: float, b: float) -> float:
    scale = max(abs(a), abs(b))
    return 0.0 if scale == 0 else abs(a - b) / scale


def chain_rule(program: formulas.Program, point: dict[str, float], fd_step: float) -> dict[str, Any]:
    """The engine's forward and backward pass at `point`, torch's and finite differences' gradients."""
    from nnlab.nn.autograd import local_derivatives

    graph = formula_graph.build(program, point)
    by_id = {id(n.tensor): n.name for n in graph.nodes}
    nodes = []
    for n in graph.nodes:
        local = {by_id[k]: v for k, v in local_derivatives(n.tensor).items() if k in by_id}
        nodes.append({"name": n.name, "definition": n.definition, "parents": n.parents, "value": n.tensor.item(),
                      "adjoint": float(n.tensor.grad) if n.tensor.grad is not None else 0.0, "local": local})
    gradient = graph.gradient()
    t_value, t_grad = formula_graph.torch_gradient(program, point)
    fd = formula_graph.finite_differences(program, point, fd_step)
    scale = max([abs(g) for g in gradient.values()] + [abs(g) for g in fd.values()] + [1e-300])
    return {
        "expression": program.text, "output": graph.output.name, "variables": program.variables, "point": point,
        "value": graph.value, "gradient": gradient, "nodes": nodes,
        "torch": {"value": t_value, "gradient": t_grad},
        "finite_differences": {"gradient": fd, "step": fd_step},
        "differences": {
            "torch_max_rel": max([rel_diff(graph.value, t_value)] + [rel_diff(gradient[v], t_grad[v])
                                                                      for v in gradient]),
            # |fd_i - g_i| / max_j(|g_j|, |fd_j|): relative to the gradient's size, so a zero partial is fine
            "fd_max_rel": max(abs(fd[v] - gradient[v]) / scale for v in gradient),
        },
    }


def chain_claims(chain: dict[str, Any], slide: bool) -> list[dict[str, Any]]:
    out = chain["output"]
    records = []
    if slide:
        # A closed form: only a wrong engine could fail it, so a check, not a claim.
        value, grad = slide_closed_form(chain["point"])
        worst = max([rel_diff(chain["value"], value)] + [rel_diff(chain["gradient"][v], grad[v]) for v in grad])
        records.append(check("backprop.slide-gradient",
                             f"{out} = [z (x^2 + y)]^2 and its gradient equal the closed form "
                             "(4 x z^2 (x^2 + y), 2 z^2 (x^2 + y), 2 z (x^2 + y)^2)",
                             {"value": value, **grad, "max_rel_diff": worst}, "<= 1e-12 relative", worst <= 1e-12))
    # The engine and torch implement the same derivative rules (including torch's subgradients): only a
    # bug separates them, at any formula and point, so this is a check of the engine, not a claim.
    d = chain["differences"]["torch_max_rel"]
    records.append(check("backprop.matches-torch", "the engine's value and gradient equal torch autograd's "
                         "(float64)", d, f"<= {TORCH_RTOL:g} relative", d <= TORCH_RTOL))
    # The user's verdict on their formula and point: the chain rule gives the derivative that finite
    # differences approximate wherever the formula is smooth there; a kink (relu(x) at x = 0: subgradient
    # 0, finite differences 0.5) or a step too small for float64 (--fd-step 1e-13) makes it fail.
    d = chain["differences"]["fd_max_rel"]
    records.append(claim("backprop.matches-finite-differences",
                         f"back-propagation's gradient of {out} at this point equals central finite "
                         f"differences (h = {chain['finite_differences']['step']:g} relative)",
                         d, f"<= {FD_RTOL:g} of the gradient's size", d <= FD_RTOL, source="nnlab"))
    return records


# ----------------------------------------------------------------------------------------------------
# Part 3: training on MNIST, engine and torch side by side


def train_mnist(config: BackpropConfig, rec: Run) -> dict[str, Any]:
    import numpy as np

    from nnlab.core.mnist import run_mnist
    from nnlab.core.seeding import stream
    from nnlab.nn.backprop_cost import init_weights
    from nnlab.nn.engine_training import train_both

    data = run_mnist(config.data_dir)

    def inputs(images: np.ndarray) -> np.ndarray:  # (n, 784) float64, MNIST's usual standardisation
        return ((images.reshape(len(images), -1) / 255.0 - 0.1307) / 0.3081).astype(np.float64)

    n = config.train_samples
    x, y = inputs(data.train_images[:n]), data.train_labels[:n].astype(np.int64)
    x_test = inputs(data.test_images[: config.test_samples])
    y_test = data.test_labels[: config.test_samples].astype(np.int64)
    order = stream(config.seed, "train-batches")
    batches: list[np.ndarray] = []
    while len(batches) < config.train_steps:  # epochs of permutations, sliced into full batches
        perm = order.permutation(n)
        batches += [perm[i:i + config.train_batch] for i in range(0, n - config.train_batch + 1, config.train_batch)]
    batches = batches[: config.train_steps]
    weights = init_weights(stream(config.seed, "train-weights"), [784, config.train_hidden, CLASSES])

    def log(step: int, le: float, lt: float) -> None:
        rec.log({"step": step, "section": "train", "loss_engine": le, "loss_torch": lt})
        rec.check_stop()

    with thread_limit(config), np.errstate(all="ignore"):
        result = train_both(weights, x, y, batches, "tanh", config.train_lr, x_test, y_test, on_step=log)
    le, lt = result["loss_engine"], result["loss_torch"]
    k = config.compare_steps
    return {
        "samples": n, "hidden": config.train_hidden, "steps": config.train_steps, "batch": config.train_batch,
        "lr": config.train_lr, "compare_steps": k,
        "first_loss": le[0], "last_loss": le[-1],
        "max_rel_diff_first_steps": max(rel_diff(a, b) for a, b in zip(le[:k], lt[:k], strict=True)),
        "max_rel_diff_all_steps": max(rel_diff(a, b) for a, b in zip(le, lt, strict=True)),
        "test_accuracy_engine": result["test_accuracy_engine"], "test_accuracy_torch": result["test_accuracy_torch"],
        "finite": bool(np.all(np.isfinite(le)) and np.all(np.isfinite(lt))),
    }


def train_claims(train: dict[str, Any]) -> list[dict[str, Any]]:
    d = train["max_rel_diff_first_steps"]
    acc = train["test_accuracy_engine"]
    return [
        # Same weights, same batches, same float64 arithmetic up to rounding: only a bug separates them.
        check("backprop.train-matches-torch", f"the engine's and torch's loss curves agree over the first "
              f"{train['compare_steps']} SGD steps on MNIST", d, f"<= {TRAIN_RTOL:g} relative",
              d <= TRAIN_RTOL),
        # Flipped by a learning rate too small (--train-lr 1e-5) or too few steps (--train-steps 1).
        claim("backprop.engine-trains", f"the engine's gradients train a 784-{train['hidden']}-10 MLP: test "
              f"accuracy after {train['steps']} steps", {"accuracy": acc, "first_loss": round(train["first_loss"], 4),
                                                          "last_loss": round(train["last_loss"], 4)},
              f">= {TRAIN_ACCURACY}", acc >= TRAIN_ACCURACY, source="nnlab"),
    ]


# ----------------------------------------------------------------------------------------------------


def run(config: BackpropConfig, rec: Run) -> dict[str, Any]:
    from nnlab.core.seeding import seed_everything

    seed_everything(config.seed)
    program = formulas.parse(config.expr)
    point = resolve_point(config.point, program)
    summary = chain_rule(program, point, config.fd_step)
    for i, node in enumerate(summary["nodes"]):
        rec.log({"step": i, "section": "chain", **node})
    records = chain_claims(summary, is_slide_function(program))
    if config.cost:
        summary["cost"] = measure_cost(config, rec)
        records += cost_claims(summary["cost"])
    if config.train:
        summary["train"] = train_mnist(config, rec)
        records += train_claims(summary["train"])
        if not summary["train"]["finite"]:
            summary["status"] = "diverged"
    summary["claims"] = records
    return summary


def headline(summary: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """Every node: forward value and adjoint; for the variables, torch's and finite differences' partials."""
    out = summary["output"]
    columns = ["node", "definition", "forward value", f"adjoint d{out}/d(node)", "torch", "finite diff."]
    torch_grad, fd = summary["torch"]["gradient"], summary["finite_differences"]["gradient"]
    rows = []
    for node in summary["nodes"]:
        name = node["name"]
        t = torch_grad.get(name) if name in torch_grad else (summary["torch"]["value"] if name == out else None)
        rows.append([name, node["definition"], node["value"], node["adjoint"], t, fd.get(name)])
    return columns, rows
