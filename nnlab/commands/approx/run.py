"""The run of `nnlab approx`: every dimension's fits, their error records, slopes and claims."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from nnlab.commands.approx import theory
from nnlab.commands.approx.claims import check_claims
from nnlab.commands.approx.config import ApproxConfig, n_samples
from nnlab.commands.approx.curves import fit_slopes, widths_needed
from nnlab.commands.approx.fit import evaluate, fit_baselines, fit_network, sup_points
from nnlab.core.seeding import stream
from nnlab.nn import approximation as ap

if TYPE_CHECKING:
    from nnlab.core.run import Run


def run(config: ApproxConfig, rec: Run) -> dict[str, Any]:
    """The run, with numpy's overflow warnings off: a legal target can overflow float64 (exp(700*x1)); its
    errors then come out inf or NaN, which the runner reports as `diverged`, naming them, in one place rather
    than as a warning per array on stderr."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return fit_everything(config, rec)


def fit_everything(config: ApproxConfig, rec: Run) -> dict[str, Any]:
    from nnlab.core.seeding import seed_everything

    seed_everything(config.seed)
    S, n, widths = config.seeds, n_samples(config), config.widths
    methods = [f"net:{a}" for a in config.activation] + (["polynomial", "kernel", "linear"] if config.baselines
                                                         else [])
    records: list[dict[str, Any]] = []
    targets_info: dict[str, dict[str, Any]] = {}
    fits: dict[str, Any] = {}
    side: dict[str, Any] = {}  # theory.py's measurements: kernel widths 1..64, Weierstrass, learned features
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
        for tg, column in zip(targets, truth.T, strict=True):  # max f - min f over every evaluation point
            targets_info[tg.name].setdefault("range", {})[str(d)] = float(np.ptp(column))

        if d == 1:
            smooth = next((j for j, tg in enumerate(targets) if tg.kind == "smooth"), None)
            if smooth is not None and config.baselines:
                side["kernel_dense"] = {"target": targets[smooth].name, **theory.kernel_dense(
                    config, x, y[..., smooth], x_test, truth[: config.test_samples, smooth], float(variance[smooth]))}
            side["weierstrass"] = theory.weierstrass(targets, config.max_degree)
        if d == min(config.dims):
            learner = next((tg for tg in targets if tg.kind == "smooth"), targets[0])
            side["learned_features"] = theory.learned_features(config, learner, d, rec.device, rec.check_stop)

        predictions: dict[str, tuple[np.ndarray, list[int]]] = {}
        for act in config.activation:
            pred = fit_network(config, act, d, x, y, x_eval, rec.device,
                               lambda ws, a=act, d=d: rec.track(ws, f"training {a}, d = {d}"), rec.check_stop)
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
        "target_error": config.target_error, "slope_from": config.slope_from, "epsilon": config.epsilon,
        "barron_constants": theory.barron_constants(config), **side,
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
