"""Universal approximation: two-layer networks F(x) = W2 sigma(W1 x + b1) + b2 of width D on [0, 1]^d.

For every target, dimension d, width D and seed: the squared L2 error on held-out uniform samples and
the sup error on a dense grid (d = 1, 2) or a large sample (d >= 3). Then the lecture's claims:
Barron (1993): a target with finite C_f has squared L2 error <= C_f^2 / D whatever d, so log MSE against
log D falls with slope -1 or steeper in every d; the curse of dimensionality: a merely Lipschitz target's
curves flatten as d grows; linear regression is exact on a linear target; kernel ridge regression
converges fastest on a smooth 1-D target. Baselines at a comparable budget: linear regression,
Chebyshev polynomials (Weierstrass), kernel ridge regression with D Gaussian kernels.

--fit features draws the hidden layer at random (|w| about --feature-scale times 1/2..4, kinks inside the
cube; cos: random phases) and solves the outer layer by ridge least squares, every width and repeat from
one Cholesky factorisation (convex, exact up to the tiny ridge); --fit train trains every layer with Adam
from that same start (slower: minutes for the default sweep).
Targets: bump (smooth, C_f = 1 in every d), cosines (smooth), sawtooth and distance (Lipschitz),
linear, or a formula in x such as "sin(2*pi*x1) * x2" or "norm(x - 0.5)".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from nnlab.core.claims import check, claim
from nnlab.core.config import ExperimentConfig, check_list, param
from nnlab.core.device import torch_threads
from nnlab.core.seeding import stream
from nnlab.core.summaries import curve, fitted_slope
from nnlab.nn import activations
from nnlab.nn import approximation as ap

if TYPE_CHECKING:
    from nnlab.core.run import Run

DEFAULT_WIDTHS = [2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]
SLOPE_TOLERANCE = 0.1   # about one seed-to-seed std of a fitted slope (0.04-0.11 measured at d = 8, 3 seeds)
FLATTEN_MARGIN = 0.25   # the Lipschitz slope at the largest d must be this much flatter than at the smallest
EXACT = 1e-20           # relative MSE of an exact fit: float64 rounding squared, times conditioning
FAST_ERROR = 1e-6       # relative MSE at which the kernel and the networks are compared (width needed to reach it)
EXP_R2 = 0.95           # R^2 of log(error) on D that an exponential decay clears and a power law does not
BUMP_CF = 1.0           # C_f = int |f^(w)| dw of the bump (cos form), every d


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


def n_samples(config: ApproxConfig) -> int:
    return config.samples or max(512, 4 * max(config.widths))


def sup_points(d: int, rng: np.random.Generator) -> np.ndarray:
    """A dense grid for d = 1 (4097 points) and d = 2 (129^2), else 8192 uniform samples."""
    grid = ap.dense_grid(d)
    return grid if grid is not None else rng.random((8192, d))


# ----------------------------------------------------------------------------------------------------
# One dimension: every target, method, width and seed


def evaluate(pred: np.ndarray, truth: np.ndarray, n_test: int) -> tuple[np.ndarray, np.ndarray]:
    """pred (S, m, W, T), truth (m, T), the first n_test rows held-out samples -> mse, sup: (S, W, T)."""
    err = pred - truth[None, :, None, :]
    return np.mean(err[:, :n_test] ** 2, axis=1), np.max(np.abs(err[:, n_test:]), axis=1)


def fit_network(config: ApproxConfig, act_spec: str, d: int, x, y, x_eval, device: str, run_track=iter):
    """Predictions (S, m, W, T) on x_eval (m, d) of the networks of every width in config.widths."""
    import torch

    act = activations.get(act_spec)
    S = x.shape[0]
    index = config.activation.index(act_spec)
    rng = stream(config.seed, "features", d, index)
    w, b = ap.draw_features(rng, act_spec, d, max(config.widths), config.feature_scale, S)

    def t(a):
        return torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float64, device=device)

    xt, yt, wt, bt = t(x), t(y), t(w), t(b)
    if config.fit == "features":
        coefs = ap.nested_lstsq(ap.hidden(act, xt, wt, bt), yt, [k + 1 for k in config.widths], config.ridge)
    else:
        # Small problems are many tiny elementwise ops (Adam's on a few thousand numbers): on a busy CPU,
        # OpenMP's synchronisation then costs more than the arithmetic, so they run on one thread. Measure
        # the crossover with `python benchmarks/approx_vectorised.py` under OMP_NUM_THREADS=1 and =2.
        small = xt.device.type == "cpu" and S * y.shape[-1] * x.shape[1] * max(config.widths) < 2**22
        with torch_threads(1 if small else torch.get_num_threads()):
            trained = [ap.train_width(act, xt, yt, wt[..., :k], bt[..., :k], config.steps, config.lr)
                       for k in run_track(config.widths)]
    x_all = np.broadcast_to(x_eval, (S, *x_eval.shape))
    preds = []
    for start in range(0, x_eval.shape[0], 4096):  # chunks keep (S, 4096, 1 + D_max) in memory
        chunk = t(x_all[:, start:start + 4096])
        if config.fit == "features":
            preds.append(ap.predict(ap.hidden(act, chunk, wt, bt), coefs).cpu().numpy())
        else:
            preds.append(np.concatenate([predict(chunk).cpu().numpy() for predict in trained], axis=2))
    return np.concatenate(preds, axis=1)


def fit_baselines(config: ApproxConfig, d: int, x, y, x_eval) -> dict[str, tuple[np.ndarray, list[int]]]:
    """Linear, Chebyshev and kernel predictions (S, m, W, T) with each method's parameter count per width."""
    import torch

    def solve(basis_train, basis_eval, sizes, ridge=config.ridge):
        coefs = ap.nested_lstsq(torch.as_tensor(basis_train), torch.from_numpy(y), sizes, ridge)
        return ap.predict(torch.as_tensor(basis_eval), coefs).numpy()

    S, n = x.shape[0], x.shape[1]
    x_all = np.broadcast_to(x_eval, (S, *x_eval.shape))
    out: dict[str, tuple[np.ndarray, list[int]]] = {}
    # Linear and Chebyshev bases of the evaluation points do not depend on the seed: (1, m, P), broadcast.
    lin = solve(ap.linear_basis(x), ap.linear_basis(x_eval[None]), [d + 1], ridge=0.0)  # [1, x] is well posed
    out["linear"] = (np.repeat(lin, len(config.widths), axis=2), [d + 1] * len(config.widths))

    # Chebyshev: as many terms as the network has parameters, capped for a stable fit on n uniform samples.
    max_terms, max_degree = n // 4, max(2, int(math.sqrt(n) / 2))
    degrees = [min(ap.polynomial_degree(ap.network_parameters(k, d), d, max_terms), max_degree)
               for k in config.widths]
    indices = ap.chebyshev_indices(d, max(degrees))
    sizes = [ap.n_terms(d, k) for k in degrees]
    out["polynomial"] = (solve(ap.chebyshev_basis(x, indices), ap.chebyshev_basis(x_eval[None], indices), sizes),
                         sizes)

    # Kernel ridge: D Gaussian kernels centred on the first D training points (nested in D).
    xt = torch.from_numpy(x)
    centres = xt[:, : max(config.widths)]
    h = config.kernel_width * math.sqrt(d)
    kernel_eval = torch.cat([ap.gaussian_kernel(torch.from_numpy(x_all[:, s:s + 4096].copy()), centres, h)
                             for s in range(0, x_eval.shape[0], 4096)], dim=1)
    pred = solve(ap.gaussian_kernel(xt, centres, h), kernel_eval, [k + 1 for k in config.widths])
    out["kernel"] = (pred, [k * (d + 1) + 1 for k in config.widths])
    return out


def run(config: ApproxConfig, rec: Run) -> dict[str, Any]:
    from nnlab.core.seeding import seed_everything

    seed_everything(config.seed)
    S, n, widths = config.seeds, n_samples(config), config.widths
    methods = [f"net:{a}" for a in config.activation] + (["polynomial", "kernel", "linear"] if config.baselines
                                                         else [])
    records: list[dict[str, Any]] = []
    targets_info: dict[str, dict[str, Any]] = {}
    fits: dict[str, Any] = {}
    for d in rec.track(config.dims, "dimensions"):
        targets = [ap.get_target(spec, d) for spec in config.target]
        x = stream(config.seed, "train-inputs", d).random((S, n, d))  # each seed its own training sample
        x_test = stream(config.seed, "test-inputs", d).random((config.test_samples, d))
        x_sup = sup_points(d, stream(config.seed, "sup-inputs", d))
        grid = np.linspace(0, 1, 201)[:, None] if d == 1 else np.zeros((0, d))
        x_eval = np.concatenate([x_test, x_sup, grid])
        y = np.stack([tg.fn(x) for tg in targets], -1)  # (S, n, T)
        truth = np.stack([tg.fn(x_eval) for tg in targets], -1)  # (m, T)
        variance = truth[: config.test_samples].var(axis=0)
        for tg, v in zip(targets, variance, strict=True):
            targets_info.setdefault(tg.name, {"kind": tg.kind, "formula": tg.formula, "variance": {}})
            targets_info[tg.name]["variance"][str(d)] = float(v)

        predictions: dict[str, tuple[np.ndarray, list[int]]] = {}
        for act in config.activation:
            pred = fit_network(config, act, d, x, y, x_eval, rec.device,
                               lambda ws, a=act, d=d: rec.track(ws, f"training {a}, d = {d}"))
            predictions[f"net:{act}"] = (pred, [ap.network_parameters(k, d) for k in widths])
        if config.baselines:
            predictions.update(fit_baselines(config, d, x, y, x_eval))

        n_grid = grid.shape[0]
        for method, (pred, params) in predictions.items():
            body = pred[:, : pred.shape[1] - n_grid]
            mse, sup = evaluate(body, truth[: truth.shape[0] - n_grid], config.test_samples)  # (S, W, T)
            for j, tg in enumerate(targets):
                for i, k in enumerate(widths):
                    for s in range(S):
                        rec.log({"step": len(records), "target": tg.name, "d": d, "method": method, "width": k,
                                 "repeat": s, "mse": float(mse[s, i, j]), "sup": float(sup[s, i, j])})
                    records.append(summarise(tg.name, d, method, k, params[i], mse[:, i, j], sup[:, i, j],
                                             float(variance[j])))
            if n_grid and method.startswith("net:"):
                # a few widths, spread out: those nearest 4, 16 and 64
                shown = sorted({min(widths, key=lambda k, a=aim: abs(math.log(k / a))) for aim in (4, 16, 64)})
                fits.setdefault("x", grid[:, 0].tolist())
                for j, tg in enumerate(targets):
                    entry = fits.setdefault(tg.name, {"truth": truth[-n_grid:, j].tolist()})
                    entry[method] = {str(k): pred[0, -n_grid:, widths.index(k), j].tolist() for k in shown}
    slopes = fit_slopes(records, config)
    summary = {
        "fit": config.fit, "widths": widths, "dims": config.dims, "methods": methods, "samples": n,
        "targets": targets_info, "results": records, "slopes": slopes, "fits_1d": fits,
        "width_needed": widths_needed(records, config.target_error),
        "target_error": config.target_error, "slope_from": config.slope_from,
    }
    summary["claims"] = check_claims(summary, config)
    return summary


def summarise(target: str, d: int, method: str, width: int, params: int, mse: np.ndarray, sup: np.ndarray,
              variance: float) -> dict[str, Any]:
    rel = mse / variance if variance > 0 else mse
    return {"target": target, "d": d, "method": method, "width": width, "parameters": int(params),
            "mse": float(mse.mean()), "mse_std": float(mse.std()), "mse_min": float(mse.min()),
            "mse_max": float(mse.max()), "rel_mse": float(rel.mean()), "rel_mse_seeds": rel.tolist(),
            "sup": float(sup.mean()), "sup_std": float(sup.std())}


# ----------------------------------------------------------------------------------------------------
# Reading the numbers


FLOOR = 1e-12  # relative MSE below which the error is rounding and ridge, not approximation


def fit_slopes(records: list[dict[str, Any]], config: ApproxConfig) -> list[dict[str, Any]]:
    """Slope of log MSE (mean over seeds) against log D per (target, d, method), on D >= slope_from."""
    out = []
    keys = sorted({(r["target"], r["d"], r["method"]) for r in records}, key=str)
    for target, d, method in keys:
        if method == "linear":
            continue
        rows = [r for r in curve(records, target, d, method) if r["width"] >= config.slope_from]
        ws = [r["width"] for r in rows]
        slope = ap.loglog_slope(ws, [r["rel_mse"] for r in rows], FLOOR)
        per_seed = [ap.loglog_slope(ws, [r["rel_mse_seeds"][i] for r in rows], FLOOR)
                    for i in range(len(rows[0]["rel_mse_seeds"]) if rows else 0)]
        per_seed = [p for p in per_seed if p is not None]
        above = sum(r["rel_mse"] > FLOOR for r in rows)
        # No slope because the error already sits at rounding level: converged faster than any power.
        converged = slope is None and bool(rows) and rows[-1]["rel_mse"] <= FLOOR
        out.append({"target": target, "d": d, "method": method, "slope": slope, "points": above,
                    "converged": converged, "seed_std": float(np.std(per_seed)) if len(per_seed) > 1 else None})
    return out


def widths_needed(records: list[dict[str, Any]], eps: float) -> list[dict[str, Any]]:
    keys = sorted({(r["target"], r["d"], r["method"]) for r in records}, key=str)
    out = []
    for target, d, method in keys:
        rows = curve(records, target, d, method)
        out.append({"target": target, "d": d, "method": method,
                    "width": ap.width_needed([r["width"] for r in rows], [r["rel_mse"] for r in rows], eps)})
    return out


def first_of_kind(summary: dict[str, Any], kind: str) -> str | None:
    return next((name for name, info in summary["targets"].items() if info["kind"] == kind), None)


def check_claims(summary: dict[str, Any], config: ApproxConfig) -> list[dict[str, Any]]:
    claims = []
    dims, records = config.dims, summary["results"]
    smooth = first_of_kind(summary, "smooth")
    nets = [m for m in summary["methods"] if m.startswith("net:")]
    if smooth:
        for method in nets:
            slopes = {str(d): fitted_slope(summary, smooth, d, method, converged=-math.inf) for d in dims}
            known = [s for s in slopes.values() if s is not None]
            worst = max(known) if known else None
            claims.append(claim(f"approx.barron-rate.{method}",
                f"Barron: {smooth}'s squared L2 error falls at least like 1/D in every d ({method}, "
                f"log-log slope on D >= {config.slope_from}; 'at rounding' = already below {FLOOR:g} Var f)",
                {k: (None if v is None else "at rounding" if v == -math.inf else round(v, 3))
                 for k, v in slopes.items()},
                f"every slope <= {-1 + SLOPE_TOLERANCE:g} (-1, tolerance {SLOPE_TOLERANCE})",
                worst is not None and len(known) == len(dims) and worst <= -1 + SLOPE_TOLERANCE))
    if "bump" in summary["targets"] and "net:cos" in nets:
        ratios = [r["mse"] * r["width"] / BUMP_CF**2 for r in records
                  if r["target"] == "bump" and r["method"] == "net:cos"]
        claims.append(claim("approx.barron-bound",
            "Barron's bound for cos networks: MSE <= C_f^2 / D with C_f = 1 for the bump, "
                            "at every d and D (max of MSE * D / C_f^2)", round(max(ratios), 4), "<= 1",
                            max(ratios) <= 1))
    lipschitz = first_of_kind(summary, "lipschitz")
    if lipschitz and len(dims) >= 2:
        for method in nets:
            slopes = {str(d): fitted_slope(summary, lipschitz, d, method) for d in dims}
            lo, hi = slopes[str(min(dims))], slopes[str(max(dims))]
            flatter = None if lo is None or hi is None else hi - lo
            claims.append(claim(f"approx.curse.{method}",
                f"Curse of dimensionality: {lipschitz}'s error curves flatten as d grows ({method}; slope at "
                f"d = {max(dims)} minus slope at d = {min(dims)})",
                {"slopes": {k: (None if v is None else round(v, 3)) for k, v in slopes.items()},
                 "flatter_by": None if flatter is None else round(flatter, 3)},
                f">= {FLATTEN_MARGIN}", flatter is not None and flatter >= FLATTEN_MARGIN))
    linear = first_of_kind(summary, "linear")
    if linear and config.baselines:
        worst = max(r["rel_mse"] for r in records if r["target"] == linear and r["method"] == "linear")
        claims.append(check("approx.linear-exact",
            "Linear regression is exact on the linear target (max relative MSE over d)",
                            float(f"{worst:.3g}"), f"< {EXACT:g} (rounding)", worst < EXACT))
    if smooth and config.baselines and 1 in dims:
        rows = curve(records, smooth, 1, "kernel")
        # The ridge (relative to the features' scale) puts a floor under the error; decay is judged above it.
        floor = max(FLOOR, 10 * config.ridge)
        fit = ap.exponential_fit([r["width"] for r in rows], [r["rel_mse"] for r in rows], floor)
        exponential = fit is not None and fit["rate"] < 0 and fit["r2_exponential"] >= EXP_R2 \
            and fit["r2_exponential"] > fit["r2_power"]
        claims.append(claim("approx.kernel-exponential",
            f"For C-infinity smooth functions, kernel ridge regression converges exponentially (lecture: "
            f"对于 C^∞ 光滑的函数，核岭回归能达到指数收敛), on {smooth}, d = 1: log(relative MSE) is linear "
            "in D down to the ridge floor (fit of log error on D against a power law's fit on log D)",
            f"fewer than 3 widths above the ridge floor {floor:g}: give smaller --widths or --ridge" if fit is None
            else {k: round(v, 4) if isinstance(v, float) else v for k, v in fit.items()},
            f"rate < 0, R^2 (exponential) >= {EXP_R2} and above the power law's",
            exponential))
        needed = {m: ap.width_needed([r["width"] for r in curve(records, smooth, 1, m)],
                                     [r["rel_mse"] for r in curve(records, smooth, 1, m)], FAST_ERROR)
                  for m in summary["methods"] if m != "linear"}
        # Our addition: the lecture sets kernel ridge beside the networks but ranks nothing.
        net_best = min((needed[m] for m in nets if needed[m] is not None), default=None)
        kernel = needed["kernel"]
        claims.append(claim("approx.kernel-beats-networks",
            f"Kernel ridge needs a smaller width than the random-feature networks to reach relative MSE "
            f"{FAST_ERROR:g} on {smooth}, d = 1",
            {"kernel": kernel and round(kernel, 1), "best network": net_best and round(net_best, 1)},
            "kernel < best network", kernel is not None and (net_best is None or kernel < net_best),
            source="nnlab"))
    return claims


def headline(summary: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """Per target, d and network: relative MSE at the smallest and largest width, and the fitted slope."""
    widths = summary["widths"]
    columns = ["target", "d", "network", f"rel MSE D={widths[0]}", f"rel MSE D={widths[-1]}",
               f"sup D={widths[-1]}", f"slope (D >= {summary['slope_from']})"]
    rows = []
    for s in summary["slopes"]:
        if not s["method"].startswith("net:"):
            continue
        c = curve(summary["results"], s["target"], s["d"], s["method"])
        rows.append([s["target"], s["d"], s["method"], c[0]["rel_mse"], c[-1]["rel_mse"], c[-1]["sup"], s["slope"]])
    return columns, rows
