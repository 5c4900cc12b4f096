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
step. The claims are checked on separate short runs with fixed settings, so they hold whatever options
the paths were drawn with: GD's zig-zag, its best rate (kappa - 1) / (kappa + 1), the sqrt(kappa)
speedup of heavy ball and Nesterov, divergence above 2 / L, escape from the saddle, and (mlp) the
sharpness of minima found with small and large batches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from nnlab.core.claims import check, claim
from nnlab.core.config import ExperimentConfig, check_list, param
from nnlab.core.errors import UserError
from nnlab.nn import landscapes, optimizers

if TYPE_CHECKING:
    from nnlab.core.run import Run

PROBLEMS = [*landscapes.PROBLEMS_2D, "mlp"]
N_EXAMPLES = 64          # examples J^(i) behind each 2-D landscape, for SGD
MAX_START = 1e3         # |coordinate| of a --start; far beyond every landscape's features, still drawable
DIVERGE_FACTOR = 1e8     # loss above this times max(1, |f(start)|) counts as diverged
SWEEP_POINTS = 13        # learning rates in an automatic sweep: default lr * 10^[-2 .. 1]


def _below_one(v: float) -> str | None:
    return None if v < 1 else f"must be < 1, got {v!r}"


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


def _check_start(text: str) -> str | None:
    if not text:
        return None
    try:
        parse_start(text)
    except ValueError as exc:
        return str(exc)
    return None


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
                             low=0, low_open=True)
    beta: float | None = param(None, "Momentum beta of heavy_ball and nesterov; none: theory's optimum on the "
                               "quadratic, 0.9 elsewhere.", low=0, check=_below_one)
    beta1: float = param(0.9, "Adam's beta1 (first moment).", low=0, check=_below_one)
    beta2: float = param(0.999, "Adam's beta2 (second moment).", low=0, check=_below_one)
    rms_beta: float = param(0.9, "RMSProp's beta in s2 = beta s2 + (1 - beta) dx * dx.", low=0, check=_below_one)
    eps: float = param(1e-7, "The constant inside the square roots of AdaGrad, RMSProp and Adam (slides: 1e-7).",
                       low=0)
    steps: int | None = param(None, "Update steps per method; none: per problem (150 quadratic, 1500 rosenbrock, "
                              "200 saddle and nonconvex, 300 mlp).", low=1, high=100_000)
    start: str = param("", "Starting point 'x,y' of a 2-D problem; empty: the problem's default.",
                       check=_check_start)
    kappa: float = param(50.0, "Condition number of the quadratic (x^2 + kappa y^2) / 2.", low=1, high=1e4)
    batch_size: int | None = param(None, "Minibatch size of the stochastic methods; none: 8 of 64 examples "
                                   "(2-D), 32 (mlp).", low=1)
    noise: float | None = param(None, "Size of the per-example offsets c_i behind SGD's noise on 2-D problems; "
                                "none: 2 on rosenbrock, 1 elsewhere.", low=0)
    lr_sweep: str = param("auto", "Learning-rate sweep: auto (default lr * 10^-2 .. 10^1, 2-D only), off, or "
                          "LO:HI[:N] log-spaced.", check=_check_sweep)
    train_size: int = param(2048, "mlp: training images (a fixed random subset of MNIST's 60,000).",
                            low=16, high=60_000)
    hidden: int = param(32, "mlp: hidden units of the 784-hidden-10 tanh network.", low=1, high=4096)
    large_batch: int = param(512, "mlp: the large batch size of the sharpness comparison.", low=1)
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
        check_list("method", self.method)
        if self.problem == "mlp" and self.large_batch > self.train_size:
            raise UserError(f"large_batch: {self.large_batch} is more than train_size {self.train_size}")

    def methods(self) -> list[str]:
        return list(optimizers.NAMES) if "all" in self.method else list(self.method)


QUICK = {"steps": 60, "lr_sweep": "off", "train_size": 256, "hidden": 16, "large_batch": 128, "sharpness_seeds": 1}

DEFAULT_STEPS = {"quadratic": 150, "rosenbrock": 1500, "saddle": 200, "nonconvex": 200, "mlp": 300}
# Per-problem learning rates, tuned by hand (see tests) except where theory gives them (quadratic).
DEFAULT_LR = {
    "rosenbrock": {"gd": 1e-3, "sgd": 1e-3, "heavy_ball": 1e-3, "nesterov": 1e-3, "adagrad": 1.0,
                   "rmsprop": 0.01, "adam": 0.1},
    "saddle": {"gd": 0.1, "sgd": 0.1, "heavy_ball": 0.1, "nesterov": 0.1, "adagrad": 0.3,
               "rmsprop": 0.01, "adam": 0.1},
    "nonconvex": {"gd": 0.3, "sgd": 0.3, "heavy_ball": 0.5, "nesterov": 0.3, "adagrad": 1.0,
                  "rmsprop": 0.1, "adam": 0.3},
    "mlp": {"gd": 1.0, "sgd": 0.3, "heavy_ball": 0.1, "nesterov": 0.1, "adagrad": 0.1,
            "rmsprop": 3e-3, "adam": 0.01},
}


def quadratic_theory(kappa: float) -> dict[str, float]:
    """f = (x^2 + kappa y^2) / 2: mu = 1, L = kappa, and the textbook best constant parameters."""
    q = math.sqrt(kappa)
    return {
        "gd_lr": 2 / (1 + kappa), "gd_rate": (kappa - 1) / (kappa + 1),
        "hb_lr": 4 / (q + 1) ** 2, "hb_beta": ((q - 1) / (q + 1)) ** 2, "hb_rate": (q - 1) / (q + 1),
        "nesterov_lr": 1 / kappa, "nesterov_beta": (q - 1) / (q + 1), "nesterov_rate": 1 - 1 / q,
    }


def default_lr(method: str, problem: str, kappa: float) -> float:
    if problem == "quadratic":
        t = quadratic_theory(kappa)
        return {"gd": t["gd_lr"], "sgd": t["gd_lr"], "heavy_ball": t["hb_lr"], "nesterov": t["nesterov_lr"],
                "adagrad": 1.0, "rmsprop": 0.03, "adam": 0.1}[method]
    return DEFAULT_LR[problem][method]


def hyper(method: str, config: OptimizeConfig, lr: float | None = None) -> dict[str, float]:
    """The keyword arguments of the rule `method` under `config` (lr overrides config and defaults)."""
    hp: dict[str, float] = {"lr": lr or config.lr or default_lr(method, config.problem, config.kappa)}
    if method in ("heavy_ball", "nesterov"):
        beta = config.beta
        if beta is None and config.problem == "quadratic":
            beta = quadratic_theory(config.kappa)["hb_beta" if method == "heavy_ball" else "nesterov_beta"]
        hp["beta"] = 0.9 if beta is None else beta
    if method == "rmsprop":
        hp["beta"] = config.rms_beta
    if method == "adam":
        hp.update(beta1=config.beta1, beta2=config.beta2)
    if method in ("adagrad", "rmsprop", "adam"):
        hp["eps"] = config.eps
    return hp


# ----------------------------------------------------------------------------------------------------
# 2-D problems


def simulate(problem: landscapes.Landscape, method: str, hp: dict[str, float], start, steps: int,
             rng: np.random.Generator | None = None, offsets: np.ndarray | None = None,
             batch_size: int = 8) -> dict[str, Any]:
    """Run `method` from `start`; points[k] = x_k for k = 0..last, losses[k] = f(x_k).

    Stochastic when `offsets` is given: the gradient at p is grad f(p) + mean_{i in B} c_i over the
    next minibatch B. Stops at the first step whose loss is not finite or exceeds DIVERGE_FACTOR x f(start).
    """
    x = np.array(start, dtype=np.float64)
    batches = optimizers.epoch_batches(rng, len(offsets), batch_size) if offsets is not None else None

    def grad_fn(p: np.ndarray) -> np.ndarray:
        g = problem.gradient(p)
        return g + offsets[next(batches)].mean(axis=0) if batches is not None else g

    f0 = problem.f(x)
    limit = DIVERGE_FACTOR * max(1.0, abs(f0))
    points, losses, state, diverged = [x.tolist()], [f0], {}, None
    with np.errstate(all="ignore"):
        for k in range(steps):
            x, state = optimizers.step(method, x, grad_fn, state, **hp)
            loss = problem.f(x)
            if not (math.isfinite(loss) and np.all(np.isfinite(x))) or loss > limit:
                diverged = k + 1
                break
            points.append(x.tolist())
            losses.append(loss)
    return {"points": points, "losses": losses, "diverged_step": diverged}


def _stochastic(method: str, problem: str) -> bool:
    return method == "sgd" if problem != "mlp" else method != "gd"


def method_rng(seed: int, method: str, extra: int = 0) -> np.random.Generator:
    """A generator per method, so a method's minibatches do not depend on which others run."""
    return np.random.default_rng([seed, optimizers.NAMES.index(method), extra])


def run_2d(config: OptimizeConfig, rec: Run) -> dict[str, Any]:
    from nnlab.core.seeding import seed_everything

    rng = seed_everything(config.seed)
    problem = landscapes.get(config.problem, config.kappa)
    start = parse_start(config.start) if config.start else list(problem.start)
    steps = config.steps or DEFAULT_STEPS[config.problem]
    noise = config.noise if config.noise is not None else (2.0 if config.problem == "rosenbrock" else 1.0)
    offsets = landscapes.offsets(rng, N_EXAMPLES, noise)
    batch_size = config.batch_size or 8

    def go(method: str, hp: dict[str, float], extra: int = 0) -> dict[str, Any]:
        sto = _stochastic(method, config.problem)
        return simulate(problem, method, hp, start, steps, method_rng(config.seed, method, extra),
                        offsets if sto else None, batch_size)

    methods, results = config.methods(), {}
    for method in rec.track(methods, "optimizing"):
        hp = hyper(method, config)
        res = go(method, hp)
        for k, (p, loss) in enumerate(zip(res["points"], res["losses"], strict=True)):
            rec.log({"method": method, "step": k, "loss": loss, "x": p})
        results[method] = {"hyper": hp, "final_loss": res["losses"][-1], "final_x": res["points"][-1],
                           "diverged_step": res["diverged_step"], "steps_run": len(res["losses"]) - 1}

    sweep = None
    mode = parse_sweep(config.lr_sweep)
    if mode != "off":
        sweep = {}
        for method in rec.track(methods, "learning-rate sweep"):
            lrs = sweep_lrs(mode, hyper(method, config)["lr"])
            sweep[method] = label_sweep([
                {"lr": lr, **_final(go(method, hyper(method, config, lr), extra=1 + i))} for i, lr in enumerate(lrs)
            ], problem.minimum)

    diverged = {m: r["diverged_step"] for m, r in results.items() if r["diverged_step"] is not None}
    summary: dict[str, Any] = {
        "problem": config.problem, "kappa": config.kappa if config.problem == "quadratic" else None,
        "start": start, "steps": steps, "noise": noise, "batch_size": batch_size, "n_examples": N_EXAMPLES,
        "minimum": problem.minimum, "bounds": plot_bounds(problem.bounds, start), "methods": results,
        "lr_sweep": sweep, "diverged": diverged, "gif": config.gif,
        # Claims start from the problem's own point, so they mean the same whatever --start drew the paths.
        "claims": claims_2d(config, problem, list(problem.start), sweep),
    }
    if diverged:
        summary["status"] = "diverged"
    return summary


def plot_bounds(bounds, start) -> list[float]:
    """The problem's box, widened to hold the starting point with a 10% margin."""
    x0, x1, y0, y1 = bounds
    mx, my = 0.1 * (x1 - x0), 0.1 * (y1 - y0)
    return [min(x0, start[0] - mx), max(x1, start[0] + mx), min(y0, start[1] - my), max(y1, start[1] + my)]


def _final(res: dict[str, Any]) -> dict[str, Any]:
    return {"final_loss": None if res["diverged_step"] else res["losses"][-1], "diverged_step": res["diverged_step"]}


def sweep_lrs(mode, base_lr: float) -> list[float]:
    if mode == "auto":
        return [float(base_lr * 10 ** e) for e in np.linspace(-2, 1, SWEEP_POINTS)]
    lo, hi, n = mode
    return [float(v) for v in np.geomspace(lo, hi, n)]


def label_sweep(rows: list[dict[str, Any]], minimum: float) -> list[dict[str, Any]]:
    """Label each lr: diverged, or good (gap to the minimum within 100x the best gap, or 1e-6 of the
    worst), else too small / too large depending on which side of the best lr it lies."""
    finite = [r for r in rows if r["final_loss"] is not None]
    if not finite:
        return [{**r, "label": "diverged"} for r in rows]
    gaps = [max(r["final_loss"] - minimum, 0.0) for r in finite]
    best = min(range(len(finite)), key=lambda i: gaps[i])
    tol = max(100 * gaps[best], 1e-6 * max(gaps), 1e-12)
    best_lr = finite[best]["lr"]
    out = []
    for r in rows:
        if r["final_loss"] is None:
            label = "diverged"
        elif max(r["final_loss"] - minimum, 0.0) <= tol:
            label = "good"
        else:
            label = "too small" if r["lr"] < best_lr else "too large"
        out.append({**r, "label": label})
    return out


# ----------------------------------------------------------------------------------------------------
# Claims on the 2-D problems, each from its own short deterministic runs


def y_travel(points: list[list[float]]) -> float:
    """sum_k |y_{k+1} - y_k| / |y_0|: 1 for a path straight down to the valley floor y = 0, large for a zig-zag."""
    y = np.asarray(points)[:, 1]
    return float(np.abs(np.diff(y)).sum() / abs(y[0])) if y[0] != 0 else float("nan")


def steps_to(losses: list[float], target: float) -> int | None:
    """First k with losses[k] <= target, or None."""
    return next((k for k, v in enumerate(losses) if v <= target), None)


def claims_2d(config: OptimizeConfig, problem, start, sweep) -> list[dict[str, Any]]:
    if config.problem == "quadratic":
        return claims_quadratic(config, problem, start, sweep)
    if config.problem == "saddle":
        return claims_saddle(config, problem, start)
    if config.problem == "nonconvex":
        return claims_nonconvex(config, problem, start)
    return []


def claims_quadratic(config: OptimizeConfig, problem, start, sweep) -> list[dict[str, Any]]:
    kappa, t = config.kappa, quadratic_theory(config.kappa)
    claims = []

    def det(method: str, steps: int, **hp: float) -> dict[str, Any]:
        return simulate(problem, method, hp, start, steps)

    base = OptimizeConfig(problem="quadratic", kappa=kappa)
    zig = {m: y_travel(det(m, 150, **hyper(m, base))["points"]) for m in optimizers.NAMES if m != "sgd"}
    smooth = ("nesterov", "adagrad", "rmsprop", "adam")
    claims.append(claim("optimize.zigzag",
        "ill-conditioning: GD zig-zags across the narrow valley, Nesterov and the adaptive methods go almost "
        "straight (total |dy| travelled / |y_0| over 150 steps at the default settings; heavy ball's theory-best "
        "alpha exceeds 2 / L, so it overshoots at first)", {m: round(v, 2) for m, v in zig.items()},
        "gd > 10 and nesterov, adagrad, rmsprop, adam < 3", zig["gd"] > 10 and max(zig[m] for m in smooth) < 3))

    # GD's measured rate over a fine grid of alphas: the best is theory's.
    alphas = np.linspace(0.5, 1.99, 150) / kappa
    rates = [_rate(det("gd", 30, lr=float(a))["points"]) for a in alphas]
    i = int(np.argmin(rates))
    at_theory = _rate(det("gd", 30, lr=t["gd_lr"])["points"])
    claims.append(check("optimize.gd-rate",
        f"best GD rate on the quadratic: (kappa - 1) / (kappa + 1) = {t['gd_rate']:.5f} per step at "
        f"alpha = 2 / (1 + kappa) = {t['gd_lr']:.5f}",
        {"rate_at_theory_alpha": round(at_theory, 6), "best_alpha_on_grid": round(float(alphas[i]), 6),
         "best_rate_on_grid": round(rates[i], 6)},
        "rate within 1e-6; best grid alpha within one grid step",
        abs(at_theory - t["gd_rate"]) < 1e-6 and abs(alphas[i] - t["gd_lr"]) <= alphas[1] - alphas[0]))

    # Steps to f / f(start) < 1e-10 at each method's theory-best constant parameters (GD needs ~ 11.5 kappa).
    target, cap = 1e-10 * problem.f(np.array(start)), int(30 * kappa) + 200
    n = {"gd": steps_to(det("gd", cap, lr=t["gd_lr"])["losses"], target),
         "gd_1/L": steps_to(det("gd", cap, lr=1 / kappa)["losses"], target),
         "heavy_ball": steps_to(det("heavy_ball", cap, lr=t["hb_lr"], beta=t["hb_beta"])["losses"], target),
         "nesterov": steps_to(det("nesterov", cap, lr=t["nesterov_lr"], beta=t["nesterov_beta"])["losses"], target)}
    reached = all(v for v in n.values())
    hb = n["gd"] / n["heavy_ball"] if reached else None
    nes = n["gd_1/L"] / n["nesterov"] if reached else None
    q = math.sqrt(kappa)
    claims.append(claim("optimize.momentum-speedup",
        f"heavy ball and Nesterov beat GD by about sqrt(kappa) = {q:.2f} (steps to f < 1e-10 f0; heavy ball vs "
        "GD both at their best alpha, Nesterov vs GD both at alpha = 1/L)",
        {"steps": n, "speedup_heavy_ball": hb and round(hb, 2), "speedup_nesterov": nes and round(nes, 2),
         "asymptotic_heavy_ball": _log_ratio(t["hb_rate"], t["gd_rate"]),
         "asymptotic_nesterov": _log_ratio(t["nesterov_rate"], 1 - 1 / kappa)},
        f"each speedup within a factor 2 of sqrt(kappa) (within {cap} steps)",
        reached and all(q / 2 <= s <= 2 * q for s in (hb, nes))))

    # Divergence above 2/L: GD at 0.98 * 2/L converges, at 1.02 * 2/L it blows up.
    below = det("gd", 3000, lr=0.98 * 2 / kappa)
    above = det("gd", 3000, lr=1.02 * 2 / kappa)
    claims.append(claim("optimize.diverges-above-2-over-l",
        "a learning rate above 2 / L diverges (GD at 0.98 and 1.02 times 2 / L, 3000 steps)",
        {"below_final_loss": below["losses"][-1], "above_diverged_step": above["diverged_step"]},
        "below converges (< 1e-3 f0), above diverges",
        below["diverged_step"] is None and below["losses"][-1] < 1e-3 * below["losses"][0]
        and above["diverged_step"] is not None))
    if sweep and "gd" in sweep:
        rows = sweep["gd"]
        first = next((r["lr"] for r in rows if r["label"] == "diverged"), None)
        last_ok = max((r["lr"] for r in rows if r["label"] != "diverged"), default=None)
        claims.append(claim("optimize.sweep-divergence-edge",
            f"in the GD learning-rate sweep, divergence starts between the last convergent and the first "
            f"divergent lr, around 2 / L = {2 / kappa:.4g}", {"last_convergent": last_ok, "first_divergent": first},
            "last_convergent <= 2/L < first_divergent",
            first is not None and last_ok is not None and last_ok <= 2 / kappa < first))
    return claims


def _log_ratio(fast: float, slow: float) -> float | None:
    """ln(fast) / ln(slow): how many times fewer steps the faster rate needs asymptotically (None if a rate is 0)."""
    return round(math.log(fast) / math.log(slow), 2) if 0 < fast < 1 and 0 < slow < 1 else None


def _rate(points: list[list[float]]) -> float:
    """GD's rate on a diagonal quadratic: the slowest per-coordinate contraction max_i |x_k,i / x_0,i|^(1/k)
    (each coordinate contracts by exactly |1 - alpha lambda_i| per step; the worst one is the method's rate)."""
    p = np.abs(np.asarray(points))
    k = len(p) - 1
    rates = [float((p[-1, i] / p[0, i]) ** (1 / k)) for i in range(p.shape[1]) if p[0, i] > 0] if k > 0 else []
    return max(rates, default=float("nan"))  # nan: started at the minimum, or diverged at once


def claims_saddle(config: OptimizeConfig, problem, start) -> list[dict[str, Any]]:
    """Steps until f < -0.2 (near a minimum; the saddle has f = 0) at the saddle problem's defaults."""
    base = OptimizeConfig(problem="saddle", noise=config.noise, batch_size=config.batch_size)
    rng = np.random.default_rng([config.seed, 99])
    offsets = landscapes.offsets(rng, N_EXAMPLES, 1.0 if config.noise is None else config.noise)
    escape = {}
    for m in ("gd", "sgd", "heavy_ball", "nesterov"):
        res = simulate(problem, m, hyper(m, base), start, 1000, method_rng(config.seed, m, 99),
                       offsets if m == "sgd" else None, config.batch_size or 8)
        escape[m] = steps_to(res["losses"], -0.2)
    slow = escape["gd"]
    ok = slow is not None and all(escape[m] is not None and escape[m] < slow for m in ("sgd", "heavy_ball"))
    stuck = simulate(problem, "gd", hyper("gd", base), [start[0], 0.0], 1000)
    return [
        claim("optimize.saddle-escape",
            f"saddle point: GD stalls near the saddle, SGD noise and momentum escape sooner (steps to f < -0.2 "
              f"from {start})", escape, "gd slower than sgd and heavy_ball", ok),
        check("optimize.saddle-stable-line",
            "started exactly on the saddle's stable line (y = 0), GD converges to the saddle itself",
              {"final_x": stuck["points"][-1], "final_loss": stuck["losses"][-1]}, "|x| < 1e-6, f = 0",
              float(np.linalg.norm(stuck["points"][-1])) < 1e-6),
    ]


def claims_nonconvex(config: OptimizeConfig, problem, start) -> list[dict[str, Any]]:
    base = OptimizeConfig(problem="nonconvex")
    final = {m: simulate(problem, m, hyper(m, base), start, 500)["losses"][-1] for m in optimizers.NAMES
             if m != "sgd"}
    gd = final["gd"]
    return [claim("optimize.local-minimum",
        f"local minima: GD from {start} settles in a local minimum, not the global one (f = 0)",
                  {m: round(v, 4) for m, v in final.items()}, "gd's final f > 0.1", gd > 0.1)]


# ----------------------------------------------------------------------------------------------------
# Entry points


def prepare(config: OptimizeConfig) -> None:
    """The mlp problem's MNIST files are checked (or downloaded) before a run directory exists."""
    if config.problem == "mlp":
        from nnlab.core.mnist import load_mnist

        load_mnist(config.data_dir)


def run(config: OptimizeConfig, rec: Run) -> dict[str, Any]:
    if config.problem == "mlp":
        return run_mlp(config, rec)
    return run_2d(config, rec)


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


# ----------------------------------------------------------------------------------------------------
# mlp: a small network on real MNIST


def load_subset(config: OptimizeConfig, device: str, dtype):
    """A fixed random subset of MNIST's training images (train_size) and the whole test set, scaled to [0, 1]."""
    import torch

    from nnlab.core.mnist import load_mnist

    data = load_mnist(config.data_dir)
    pick = np.random.default_rng([config.seed, 7]).permutation(len(data.train_labels))[: config.train_size]

    def tensors(images, labels):
        X = torch.as_tensor(images.reshape(len(images), -1), device=device).to(dtype) / 255
        return X, torch.as_tensor(labels.astype(np.int64), device=device)

    return (*tensors(data.train_images[pick], data.train_labels[pick]),
            *tensors(data.test_images, data.test_labels))


def train_mlp(method: str, hp: dict[str, float], theta0, loss_on, n: int, batch_size: int | None, steps: int,
              rng: np.random.Generator, log=None):
    """`steps` updates of `method` from theta0; minibatches of batch_size (None: the full batch, GD).

    loss_on(theta, idx) is J on the examples idx (None: all of them). Logs the full training loss J(theta_k)
    at every k. Returns (theta, losses, diverged_step).
    """
    import torch

    batches = optimizers.epoch_batches(rng, n, batch_size) if batch_size else None
    theta, state, diverged = theta0.clone(), {}, None

    def grad_fn(point):
        idx = None if batches is None else torch.as_tensor(next(batches), device=theta0.device)
        point = point.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(loss_on(point, idx), point)
        return g

    with torch.no_grad():
        losses = [float(loss_on(theta, None))]
    if log:
        log({"method": method, "step": 0, "loss": losses[0]})
    for k in range(steps):
        theta, state = optimizers.step(method, theta, grad_fn, state, **hp)
        with torch.no_grad():
            loss = float(loss_on(theta, None))
        if not math.isfinite(loss) or loss > DIVERGE_FACTOR * max(1.0, losses[0]):
            diverged = k + 1
            break
        losses.append(loss)
        if log:
            log({"method": method, "step": k + 1, "loss": loss})
    return theta.detach(), losses, diverged


def gradient_noise(loss_on, theta, n: int, batch_size: int, rng: np.random.Generator, draws: int = 24) -> float:
    """Mean over minibatches B (without replacement) of ||g_B - g||^2, g the full-batch gradient."""
    import torch

    def grad(idx):
        p = theta.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(loss_on(p, idx), p)
        return g

    full = grad(None)
    out = [float((grad(torch.as_tensor(rng.permutation(n)[:batch_size], device=theta.device)) - full).square().sum())
           for _ in range(draws)]
    return sum(out) / draws


def run_mlp(config: OptimizeConfig, rec: Run) -> dict[str, Any]:

    # The matrices are small (a few thousand rows, 784 columns): one thread is fastest and does not fight
    # other processes for cores (measured 0.7 ms against 49 ms per forward pass on a busy 2-core machine).
    from nnlab.core.device import torch_threads

    with torch_threads(1):
        return _run_mlp(config, rec)


def _run_mlp(config: OptimizeConfig, rec: Run) -> dict[str, Any]:
    import torch

    from nnlab.core.seeding import seed_everything, torch_generator

    seed_everything(config.seed)
    dtype = torch.float32
    X, y, X_test, y_test = load_subset(config, rec.device, dtype)
    n, steps = len(y), config.steps or DEFAULT_STEPS["mlp"]
    batch_size = min(config.batch_size or 32, n)
    shapes = landscapes.mlp_shapes(X.shape[1], config.hidden)
    theta0 = landscapes.mlp_init(shapes, torch_generator(config.seed, rec.device), dtype, rec.device)

    def loss_on(theta, idx):
        return landscapes.mlp_loss(theta, shapes, X, y) if idx is None else \
            landscapes.mlp_loss(theta, shapes, X[idx], y[idx])

    def accuracy(theta, Xs, ys) -> float:
        with torch.no_grad():
            return float((landscapes.mlp_logits(theta, shapes, Xs).argmax(1) == ys).double().mean())

    results = {}
    for method in rec.track(config.methods(), "training"):
        hp = hyper(method, config)
        theta, losses, div = train_mlp(method, hp, theta0, loss_on, n, None if method == "gd" else batch_size,
                                       steps, method_rng(config.seed, method), rec.log)
        results[method] = {"hyper": hp, "final_loss": losses[-1], "diverged_step": div, "steps_run": len(losses) - 1,
                           "train_accuracy": None if div else accuracy(theta, X, y),
                           "test_accuracy": None if div else accuracy(theta, X_test, y_test)}

    sweep = None
    mode = parse_sweep(config.lr_sweep)
    if mode not in ("auto", "off"):  # "auto" sweeps only the cheap 2-D problems
        sweep = {}
        for method in rec.track(config.methods(), "learning-rate sweep"):
            rows = []
            for i, lr in enumerate(sweep_lrs(mode, hyper(method, config)["lr"])):
                _, losses, div = train_mlp(method, hyper(method, config, lr), theta0, loss_on, n,
                                           None if method == "gd" else batch_size, steps,
                                           method_rng(config.seed, method, 1 + i))
                rows.append({"lr": lr, "final_loss": None if div else losses[-1], "diverged_step": div})
            sweep[method] = label_sweep(rows, 0.0)

    sharp, claims = sharpness_study(config, theta0, loss_on, shapes, n, batch_size, steps, accuracy,
                                    (X, y, X_test, y_test), rec)
    diverged = {m: r["diverged_step"] for m, r in results.items() if r["diverged_step"] is not None}
    summary: dict[str, Any] = {
        "problem": "mlp", "train_size": n, "test_size": len(y_test), "hidden": config.hidden,
        "parameters": int(theta0.numel()), "steps": steps, "batch_size": batch_size, "minimum": 0.0,
        "methods": results, "lr_sweep": sweep, "diverged": diverged, "sharpness": sharp, "claims": claims,
    }
    if diverged:
        summary["status"] = "diverged"
    return summary


def sharpness_study(config, theta0, loss_on, shapes, n, batch_size, steps, accuracy, data, rec: Run):
    """SGD with a small and a large batch (same lr, same steps, same start): where do they end, how sharp is it?

    Sharpness: the top Hessian eigenvalue of the full training loss (power iteration on Hessian-vector
    products), and the mean loss increase under random perturbations of 5% relative size per block.
    """

    from nnlab.core.seeding import torch_generator

    X, y, X_test, y_test = data
    large = min(config.large_batch, n)
    hp = hyper("sgd", config)
    runs: dict[str, dict[str, Any]] = {}
    plan = [(f"batch {batch_size}", batch_size, k) for k in range(config.sharpness_seeds)]
    plan += [(f"batch {large}", large, k) for k in range(config.sharpness_seeds)]
    for name, bs, k in rec.track(plan, "sharpness"):
        # Same start theta0 for every run; seed k changes only the order of the minibatches.
        theta, losses, div = train_mlp("sgd", hp, theta0, loss_on, n, bs, steps,
                                       method_rng(config.seed, "sgd", 50 + k))
        entry = runs.setdefault(name, {"batch_size": bs, "examples_seen": steps * bs, "seeds": []})
        if div:
            entry["seeds"].append({"seed": k, "diverged_step": div})
            continue
        gen = torch_generator(config.seed + 1, rec.device)
        entry["seeds"].append({
            "seed": k, "train_loss": losses[-1], "top_eigenvalue": top_eigen(loss_on, theta, gen),
            "perturbed_loss_increase": landscapes.perturbed_increase(lambda t: loss_on(t, None), theta, shapes, gen),
            "train_accuracy": accuracy(theta, X, y), "test_accuracy": accuracy(theta, X_test, y_test),
        })
    for entry in runs.values():  # mean over the seeds that did not diverge
        done = [s for s in entry["seeds"] if "top_eigenvalue" in s]
        for key in ("train_loss", "top_eigenvalue", "perturbed_loss_increase", "train_accuracy", "test_accuracy"):
            if done:
                entry[key] = float(np.mean([s[key] for s in done]))
        if len(done) > 1:
            entry["top_eigenvalue_sd"] = float(np.std([s["top_eigenvalue"] for s in done], ddof=1))
    small, big = runs[f"batch {batch_size}"], runs[f"batch {large}"]
    claims = []
    if "top_eigenvalue" in small and "top_eigenvalue" in big:
        pairs = zip(small["seeds"], big["seeds"], strict=True)
        agree = sum(a.get("top_eigenvalue", math.inf) < b.get("top_eigenvalue", -math.inf) for a, b in pairs)
        claims.append(claim("optimize.flat-minima",
            f"flat minima (hypothesis): SGD with batch {batch_size} ends flatter than with batch {large} "
            f"(same lr {hp['lr']:g}, {steps} steps, {config.sharpness_seeds} minibatch orders; top Hessian "
            "eigenvalue of the training loss, mean over orders)",
            {"small": round(small["top_eigenvalue"], 4), "small_sd": round(small.get("top_eigenvalue_sd", 0.0), 4),
             "large": round(big["top_eigenvalue"], 4), "large_sd": round(big.get("top_eigenvalue_sd", 0.0), 4),
             "orders_where_small_is_flatter": f"{agree}/{config.sharpness_seeds}",
             "train_loss_small": round(small["train_loss"], 4), "train_loss_large": round(big["train_loss"], 4),
             "test_acc_small": round(small["test_accuracy"], 4), "test_acc_large": round(big["test_accuracy"], 4)},
            "mean small < mean large", small["top_eigenvalue"] < big["top_eigenvalue"]))
    # The lecture's "gradient + random perturbation": E||g_B - g||^2 = (n - B) / (B (n - 1)) sigma^2 without
    # replacement, so the ratio between the two batch sizes is known without knowing sigma^2.
    rng = np.random.default_rng([config.seed, 11])
    noise = {bs: gradient_noise(loss_on, theta0, n, bs, rng) for bs in (batch_size, large)}
    predicted = ((n - batch_size) / batch_size) / ((n - large) / large) if large < n else float("inf")
    measured = noise[batch_size] / noise[large] if noise[large] > 0 else float("inf")
    claims.append(claim("optimize.gradient-noise",
        f"SGD's gradient = full gradient + noise whose size shrinks with the batch: E||g_B - g||^2 ratio of "
        f"batch {batch_size} to batch {large} at the start (theory (n-B)/(B(n-1)))",
        {"measured_ratio": round(measured, 3), "predicted_ratio": round(predicted, 3)},
        "within 35% (24 minibatches each)", abs(measured / predicted - 1) < 0.35 if math.isfinite(predicted)
        else noise[large] < 1e-20))
    return {"runs": runs, "lr": hp["lr"], "steps": steps, "gradient_noise": {str(k): v for k, v in noise.items()}}, \
        claims


def top_eigen(loss_on, theta, gen) -> float:
    return landscapes.top_eigenvalue(lambda t: loss_on(t, None), theta, gen)
