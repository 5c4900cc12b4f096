"""The run of `nnlab activations`: every activation and its derivative on a grid, its saturating regions, and
the product of derivatives through stacked layers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from nnlab.commands.activations.claims import check_claims, output_claims
from nnlab.commands.activations.config import ActivationsConfig
from nnlab.commands.activations.quadrature import normal_expectation
from nnlab.nn import activations

if TYPE_CHECKING:
    from nnlab.core.run import Run


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
            "saturating": act.saturation is not None,  # bounded (sigmoid, tanh): sigma' -> 0 in both tails
        }
        for L in range(config.depth):
            rec.log({"step": L + 1, "activation": act.name, "expected_abs_product": products["expected"][L],
                     "median_abs_product": products["median"][L]})
    summary = {"z": z.tolist(), "threshold": config.threshold, "input_std": config.input_std,
               "depth": config.depth, "activations": results}
    if config.output_steps:
        from nnlab.commands.activations.outputs import train

        summary["outputs"] = train(config.output_seeds, config.output_steps, config.positive_range, config.seed)
    summary["claims"] = check_claims(summary) + (output_claims(summary["outputs"]) if "outputs" in summary else [])
    return summary

