"""Activation functions and their derivatives: the slide's figures, saturation and vanishing products.

Every lecture activation (relu, sigmoid, tanh, leaky_relu, gelu, softplus, and cos from Barron's theorem)
and its derivative on a grid, with the saturating regions marked where |sigma'(z)| < --threshold.
Per activation: the fraction of a N(0, input_std^2) input that falls in a saturating region, and sigma'(0).
The vanishing-gradient picture: back-propagation through L stacked layers multiplies L derivatives,
prod_l sigma'(z_l); with z_l ~ N(0, input_std^2) independent ("typical inputs"), E|prod| = (E|sigma'(z)|)^L
(computed by quadrature) and the median of |prod| over Monte-Carlo chains show how fast it shrinks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from nnlab.core.claims import check, claim
from nnlab.core.config import ExperimentConfig, check_list, param
from nnlab.nn import activations

if TYPE_CHECKING:
    from nnlab.core.run import Run

DEFAULT_SET = ["relu", "sigmoid", "tanh", "leaky_relu:0.1", "gelu", "softplus", "cos"]


@dataclass
class ActivationsConfig(ExperimentConfig):
    activation: list[str] = param(
        DEFAULT_SET,
        f"Activations to show (repeatable): {', '.join(activations.NAMES)}; leaky_relu:GAMMA and "
        "softplus:BETA set the parameter (0.1 makes the leaky slope visible).", check=activations.check_spec)
    z_max: float = param(6.0, "The figures span z in [-z_max, z_max].", low=0.0, low_open=True, high=1e3)
    points: int = param(1201, "Grid points of the figures.", low=11, high=1_000_000)
    threshold: float = param(1e-2, "A region saturates where |sigma'(z)| < threshold.", low=0.0, low_open=True,
                             high=1e3)
    input_std: float = param(1.0, "Std of the 'typical' pre-activations z ~ N(0, input_std^2).", low=0.0,
                             low_open=True, high=1e3)
    depth: int = param(20, "Stacked layers L for the product of derivatives.", low=1, high=1000)
    chains: int = param(20000, "Monte-Carlo chains of L independent pre-activations.", low=10, high=10_000_000)

    def validate(self) -> None:

        check_list("activation", self.activation, required=True, same=lambda spec: activations.get(spec).name)


QUICK = {"points": 241, "chains": 2000, "depth": 8}


def memory_bytes(config: ActivationsConfig) -> int:
    """The Monte-Carlo chains (chains x depth float64, a few copies) dominate; the grids are small."""
    return 8 * (4 * config.chains * config.depth + 8 * config.points) + 200 * 2**20

# Quadrature grid for expectations under N(0, s^2): z = s * u, u on [-12, 12] (tails beyond are < 1e-32).
_U = np.linspace(-12.0, 12.0, 240_001)
_W = np.exp(-0.5 * _U**2) / math.sqrt(2 * math.pi) * (_U[1] - _U[0])


def normal_expectation(f, std: float) -> float:
    """E[f(Z)], Z ~ N(0, std^2), by the trapezoid rule on a fine grid (error far below 1e-9 here)."""
    return float(np.sum(f(std * _U) * _W))


def saturated_intervals(z: np.ndarray, saturated: np.ndarray) -> list[list[float]]:
    """Maximal runs of grid points where `saturated` holds, as [z_start, z_end] pairs."""
    flags = np.concatenate([[False], saturated, [False]]).astype(np.int8)
    starts = np.flatnonzero(np.diff(flags) == 1)      # first index of each run
    ends = np.flatnonzero(np.diff(flags) == -1) - 1   # last index of each run
    return [[float(z[a]), float(z[b])] for a, b in zip(starts, ends, strict=True)]


def derivative_products(act: activations.Activation, rng: np.random.Generator, std: float, depth: int,
                        chains: int) -> dict[str, list[float]]:
    """Per L = 1..depth: E|prod_l sigma'(z_l)| (quadrature) and quartiles of |prod| over Monte-Carlo chains."""
    mean_abs = normal_expectation(lambda z: np.abs(act.grad(z)), std)
    z = rng.standard_normal((chains, depth)) * std  # (chains, L)
    with np.errstate(divide="ignore"):
        log_abs = np.cumsum(np.log(np.abs(act.grad(z))), axis=1)  # log |prod| after each layer; -inf if 0
    # "nearest": no interpolation between -inf entries (relu's zero products)
    q25, q50, q75 = (np.exp(np.quantile(log_abs, q, axis=0, method="nearest")) for q in (0.25, 0.5, 0.75))
    return {
        "expected": [mean_abs**L for L in range(1, depth + 1)],
        "monte_carlo_mean": np.mean(np.exp(log_abs), axis=0).tolist(),
        "median": q50.tolist(), "q25": q25.tolist(), "q75": q75.tolist(),
        "zero_fraction": np.mean(np.isneginf(log_abs), axis=0).tolist(),
        "per_layer_factor": mean_abs,
    }


def run(config: ActivationsConfig, rec: Run) -> dict[str, Any]:
    from nnlab.core.seeding import seed_everything, stream

    seed_everything(config.seed)
    z = np.linspace(-config.z_max, config.z_max, config.points)
    results: dict[str, Any] = {}
    for spec in rec.track(config.activation, "activations"):
        act = activations.get(spec)
        y, g = act.fn(z), act.grad(z)
        sat = np.abs(g) < config.threshold
        fraction = normal_expectation(lambda t, a=act: (np.abs(a.grad(t)) < config.threshold).astype(float),
                                      config.input_std)
        products = derivative_products(act, stream(config.seed, "chains", act.name),
                                       config.input_std, config.depth, config.chains)
        results[act.name] = {
            "spec": spec,
            "fn": y.tolist(), "grad": g.tolist(),
            "saturated_regions": saturated_intervals(z, sat),
            "saturated_fraction": fraction,
            "grad_at_0": float(act.grad(np.array([0.0]))[0]),
            "max_abs_grad": float(np.max(np.abs(g))),
            "products": products,
        }
        for L in range(config.depth):
            rec.log({"step": L + 1, "activation": act.name, "expected_abs_product": products["expected"][L],
                     "median_abs_product": products["median"][L]})
    summary = {"z": z.tolist(), "threshold": config.threshold, "input_std": config.input_std,
               "depth": config.depth, "activations": results}
    summary["claims"] = check_claims(summary)
    return summary


# ----------------------------------------------------------------------------------------------------
# Claims


def saturation_onset(name: str, t: float) -> float | None:
    """Closed form of the |z| beyond which |sigma'(z)| < t, for sigmoid and tanh.

    sigmoid'(z) = 1 / (4 cosh^2(z/2)) < t  <=>  |z| > 2 arccosh(1 / (2 sqrt t));
    tanh'(z) = 1 / cosh^2(z) < t           <=>  |z| > arccosh(1 / sqrt t).
    """
    if name == "sigmoid" and t < 0.25:
        return 2 * math.acosh(1 / (2 * math.sqrt(t)))
    if name == "tanh" and t < 1:
        return math.acosh(1 / math.sqrt(t))
    return None


def check_claims(summary: dict[str, Any]) -> list[dict[str, Any]]:
    acts, t, s, L = summary["activations"], summary["threshold"], summary["input_std"], summary["depth"]
    z_max = summary["z"][-1]
    claims = []
    for name in ("sigmoid", "tanh"):
        onset = saturation_onset(name, t)
        if name not in acts or onset is None or onset >= z_max:
            continue
        regions = acts[name]["saturated_regions"]
        grid_step = summary["z"][1] - summary["z"][0]
        measured = [round(regions[0][1], 4), round(regions[-1][0], 4)] if len(regions) == 2 else regions
        ok = len(regions) == 2 and abs(regions[0][1] + onset) <= grid_step and abs(regions[-1][0] - onset) <= grid_step
        fraction = acts[name]["saturated_fraction"]
        closed = math.erfc(onset / (s * math.sqrt(2)))  # P(|Z| > onset)
        # The fraction is a Riemann sum of an indicator on the grid _U (step h): each of its two edges can be
        # off by up to h times the density there, so that is the tolerance, not a fixed number.
        tolerance = 2 * (_U[1] - _U[0]) * math.exp(-0.5 * (onset / s) ** 2) / math.sqrt(2 * math.pi) + 1e-12
        claims.append(check(f"activations.saturates.{name}",
            f"{name} saturates in both tails: |sigma'| < {t:g} exactly for |z| > {onset:.4f} (closed form); "
            f"the fraction of N(0, {s:g}^2) inputs there is P(|Z| > {onset:.3f}) = {closed:.3g}",
            {"regions_end_start": measured, "fraction": float(f"{fraction:.6g}")},
            f"region edges within one grid step; fraction within {tolerance:.2g} (the quadrature's reach)",
            ok and abs(fraction - closed) <= tolerance))
    if "sigmoid" in acts:
        # sigma'(z) = 1/4 - z^2/16 + O(z^4): a grid whose nearest point to 0 is step/2 away peaks that much lower.
        top = acts["sigmoid"]["max_abs_grad"]
        step = summary["z"][1] - summary["z"][0]
        slack = (step / 2) ** 2 / 16
        claims.append(check("activations.sigmoid-derivative-max",
            "sigmoid' is at most 1/4 (at z = 0), so a product through L layers is at most 4^-L",
            top, f"<= 1/4, and within {slack:.2g} of it (the grid's nearest point to 0)",
            0.25 - slack - 1e-15 <= top <= 0.25 + 1e-15))
    factors = {n: a["products"]["per_layer_factor"] for n, a in acts.items()}
    if "sigmoid" in acts:  # the claim is about the saturating sigmoid; without it there is nothing to judge
        claims.append(claim("activations.vanishing-product",
            f"Saturating activations make derivatives vanish (lecture: 激活函数饱和, 导数消失): E|prod of {L} "
            f"derivatives| shrinks geometrically, fastest for the saturating sigmoid (per-layer factor "
            f"E|sigma'(z)|, z ~ N(0, {s:g}^2))",
            {n: round(f, 4) for n, f in factors.items()},
            "sigmoid's factor is the smallest shown and < 1/4", factors["sigmoid"] == min(factors.values())
            and factors["sigmoid"] < 0.25))
    expected_at_0 = {"relu": 0.0, "sigmoid": 0.25, "tanh": 1.0, "gelu": 0.5, "cos": 0.0}
    worst = 0.0
    measured = {}
    for n, a in acts.items():
        base, _, arg = n.partition(":")
        ref = expected_at_0.get(base, float(arg or 0.01) if base == "leaky_relu" else 0.5)  # softplus: 1/2
        measured[n] = a["grad_at_0"]
        worst = max(worst, abs(a["grad_at_0"] - ref))
    claims.append(check("activations.derivative-at-zero",
        "sigma'(0) as the closed forms say: relu 0 (torch's convention), sigmoid 1/4, tanh 1, "
                        "leaky_relu gamma, gelu 1/2, softplus 1/2, cos 0", measured, "within 1e-15",
                        worst <= 1e-15))
    return claims


def headline(summary: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    L = summary["depth"]
    columns = ["activation", "sigma'(0)", f"saturated fraction (|sigma'| < {summary['threshold']:g})",
               "E|sigma'(z)|", f"E|prod| at L={L}", f"median |prod| at L={L}"]
    rows = [[n, a["grad_at_0"], a["saturated_fraction"], a["products"]["per_layer_factor"],
             a["products"]["expected"][-1], a["products"]["median"][-1]] for n, a in summary["activations"].items()]
    return columns, rows
