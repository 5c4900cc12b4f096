"""The claims of `nnlab optimize` on the 2-D problems, each checked on its own short runs at the problem's
default settings from the problem's own starting point, so a verdict does not depend on the options the
paths were drawn with: GD's zig-zag and best rate, the sqrt(kappa) speedup of momentum, divergence above
2 / L, escape from a saddle, and a local minimum."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nnlab.core.claims import check, claim
from nnlab.experiments.optimize import OptimizeConfig
from nnlab.experiments.optimize.paths import simulate
from nnlab.experiments.optimize.settings import N_EXAMPLES, hyper, problem_defaults, quadratic_theory, resolve
from nnlab.nn import landscapes, optimizers


def claims_2d(config: OptimizeConfig, sweep: dict[str, list[dict[str, Any]]] | None) -> list[dict[str, Any]]:
    """The claims of config.problem (none on rosenbrock), from the problem's own start whatever --start was."""
    problem = landscapes.get(config.problem, config.kappa)
    start = list(problem_defaults(config.problem, config.kappa).start)
    if config.problem == "quadratic":
        return claims_quadratic(config, problem, start, sweep)
    if config.problem == "saddle":
        return claims_saddle(config, problem, start)
    if config.problem == "nonconvex":
        return claims_nonconvex(config, problem, start)
    return []


def y_travel(points: list[list[float]]) -> float:
    """sum_k |y_{k+1} - y_k| / |y_0|: 1 for a path straight down to the valley floor y = 0, large for a zig-zag."""
    y = np.asarray(points)[:, 1]
    return float(np.abs(np.diff(y)).sum() / abs(y[0])) if y[0] != 0 else float("nan")


def steps_to(losses: list[float], target: float) -> int | None:
    """First k with losses[k] <= target, or None."""
    return next((k for k, v in enumerate(losses) if v <= target), None)


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
    from nnlab.core.seeding import stream

    base = OptimizeConfig(problem="saddle", noise=config.noise, batch_size=config.batch_size)
    s = resolve(base)
    offsets = landscapes.offsets(stream(config.seed, "saddle-claim-offsets"), N_EXAMPLES, s.noise)
    escape = {}
    for m in ("gd", "sgd", "heavy_ball", "nesterov"):
        res = simulate(problem, m, hyper(m, base), start, 1000, stream(config.seed, "saddle-claim-minibatches", m),
                       offsets if m == "sgd" else None, s.batch_size)
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
