"""The claims of `nnlab optimize` on the 2-D problems, judged on the run the user asked for (its learning rates,
start, steps, noise and batch):

    quadratic   GD oscillates across the valley (lecture); this run's lr against 2 / L (nnlab); momentum ends
                lower than GD (nnlab); the sweep's divergence edge (nnlab)
    saddle      GD lingers, SGD's noise (over many noise draws) and heavy ball escape sooner (nnlab)
    nonconvex   GD settles in a local minimum (lecture)
    rosenbrock  none (the lecture makes no claim about it: the paths and the sweep are shown only)

Identities and closed forms (GD's best rate, the sqrt(kappa) speedup at theory's parameters, the control pair
at 0.98 and 1.02 x 2 / L, the saddle's stable line) are checks: no setting makes them fail. Every path a claim
reads is either the user's own (the deterministic methods give the same path when re-simulated) or a labelled
control.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nnlab.commands.optimize.config import OptimizeConfig, quadratic_theory
from nnlab.commands.optimize.paths import simulate
from nnlab.commands.optimize.settings import N_EXAMPLES, Settings, hyper, resolve
from nnlab.core.claims import check, claim
from nnlab.nn import landscapes

NOISE_DRAWS = 20       # SGD noise draws (offsets and minibatch order, named streams) behind the saddle claim
MOST = 2 / 3           # "SGD escapes sooner" must hold in at least this fraction of the draws
ESCAPED = -0.2         # f below this is near a minimum of the saddle problem (the saddle has f = 0, minima -1/4)
# The lecture's words (最速度梯度下降法 slide), quoted exactly.
OSCILLATION = ("损失函数具有高条件数，损失函数在一个方向上变化很快，"
               "而在另一个方向上变化很慢，会出现震荡。")
SETTLED = 1e-3         # ||grad f|| below this: the path has stopped at a stationary point


def claims_2d(config: OptimizeConfig, summary: dict[str, Any]) -> list[dict[str, Any]]:
    from nnlab.commands.optimize import claims_choice

    problem = landscapes.get(config.problem, config.kappa)
    s = resolve(config)
    out: list[dict[str, Any]] = []
    if config.problem == "quadratic":
        out += claims_quadratic(config, problem, s, summary.get("lr_sweep"))
        out += claims_choice.step_size_claims(config, problem, s)
    elif config.problem == "saddle":
        out += claims_saddle(config, problem, s)
    elif config.problem == "nonconvex":
        out += claims_nonconvex(config, problem, s)
    if claims_choice.chosen(config):
        final = {m: math.inf if r["diverged_step"] else r["final_loss"] for m, r in summary["methods"].items()}
        if "gd" not in final:
            gd = user_path(config, problem, s, "gd")
            final["gd"] = math.inf if gd["diverged_step"] else gd["losses"][-1]
        note = "" if "gd" in config.methods() else "(GD not among --method: simulated at this run's settings)"
        note_zh = "" if "gd" in config.methods() else "（GD 不在 --method 之中：按本次运行的设置模拟）"
        out += claims_choice.chosen_claims(config, final, s.steps, note, note_zh)
    if "sgd" in config.methods():
        out.append(claims_choice.without_replacement_check(config, s))
    return out


def user_path(config: OptimizeConfig, problem, s: Settings, method: str) -> dict[str, Any]:
    """The path of a deterministic method at the run's settings: the very path the run drew (or would have drawn
    had --method named it)."""
    return simulate(problem, method, hyper(method, config), s.start, s.steps)


def whose(config: OptimizeConfig, method: str) -> str:
    return "this run's" if method in config.methods() else "(not among --method, simulated at this run's settings)"


def whose_zh(config: OptimizeConfig, method: str) -> str:
    return "本次运行的" if method in config.methods() else "（不在 --method 之中，按本次运行的设置模拟的）"


def y_travel(points: list[list[float]]) -> float | None:
    """sum_k |y_{k+1} - y_k| / |y_0|: 1 for a path straight down to the valley floor y = 0, large for a zig-zag."""
    y = np.asarray(points)[:, 1]
    return float(np.abs(np.diff(y)).sum() / abs(y[0])) if y[0] != 0 else None  # None: no y to travel


def sign_flips(points: list[list[float]], axis: int = 1) -> float:
    """Fraction of the steps k -> k+1 where coordinate `axis` (1: y, 0: x) changes sign, over the steps before it
    falls below 1e-12 of its start (after that float64 rounding, not the method, decides the sign). 0 for a path
    of no step."""
    y = np.asarray(points)[:, axis]
    live = np.abs(y[:-1]) > 1e-12 * abs(y[0])
    return float(np.mean((y[1:] * y[:-1] < 0)[live])) if live.any() else 0.0


def _round(v: float | None, digits: int) -> float | None:
    return None if v is None else round(v, digits)


def steps_to(losses: list[float], target: float) -> int | None:
    """First k with losses[k] <= target, or None."""
    return next((k for k, v in enumerate(losses) if v <= target), None)


def claims_quadratic(config: OptimizeConfig, problem, s: Settings, sweep) -> list[dict[str, Any]]:
    kappa, t = config.kappa, quadratic_theory(config.kappa)
    gd = user_path(config, problem, s, "gd")
    lr = hyper("gd", config)["lr"]
    claims = []

    flips, x_flips = sign_flips(gd["points"]), sign_flips(gd["points"], axis=0)
    zigzags = len(gd["points"]) > 1 and flips >= 0.5 and x_flips == 0
    claims.append(claim("optimize.zigzag",
        f"\"{OSCILLATION}\" (high condition number: fast along one direction, slow along the other: oscillation) "
        f"— {whose(config, 'gd')} GD path on (x^2 + {kappa:g} y^2) / 2 at lr {lr:.4g} from {s.start}, "
        f"{s.steps} steps: it zig-zags across the valley, y (the steep direction, curvature {kappa:g}) changing "
        "sign at most steps while x (the flat one, curvature 1) creeps toward 0 without overshooting",
        {"lr_times_L": round(lr * kappa, 4), "lr_times_mu": round(lr, 4), "y_sign_flip_fraction": round(flips, 3),
         "x_sign_flip_fraction": round(x_flips, 3), "y_travel": _round(y_travel(gd["points"]), 2),
         "diverged_step": gd["diverged_step"]},
        "y flips in >= half the steps, x never (1/L < lr < 1/mu)", zigzags,
        zh=f"“{OSCILLATION}” —— {whose_zh(config, 'gd')} GD 路径：在 (x^2 + {kappa:g} y^2) / 2 上，学习率 {lr:.4g}，"
           f"从 {s.start} 出发，{s.steps} 步：它在山谷两壁之间来回震荡，y（陡峭方向，曲率 {kappa:g}）在大多数步中"
           "变号，而 x（平坦方向，曲率 1）缓慢趋向 0，从不越过",
        why=(f"x overshoots too (its sign flips in {x_flips:.0%} of the steps): at kappa {kappa:g} both directions "
             "are steep for this step, so GD bounces along a line instead of zig-zagging across a valley")
        if x_flips > 0 else (f"y changed sign in only {flips:.0%} of the steps: at lr x L = {lr * kappa:.3g} <= 1 GD "
                             "creeps down the steep wall without overshooting (and crawls along x)"),
        why_zh=(f"x 也越过了 0（它的符号在 {x_flips:.0%} 的步中翻转）：在 kappa {kappa:g} 下，对这个步长而言两个方向"
                "都很陡，所以 GD 沿一条直线来回弹跳，而不是在山谷两壁之间震荡")
        if x_flips > 0 else (f"y 只在 {flips:.0%} 的步中变号：lr × L = {lr * kappa:.3g} <= 1 时，GD 沿陡壁缓慢下降而"
                             "不越过（并沿 x 方向缓慢爬行）"),
        tip=f"--lr {1.9 / kappa:.3g} (just below 2 / L) on --kappa 50"))
    # The run's own lr against the closed form: GD on a quadratic grows iff alpha > 2 / L (given a y component).
    predicted = lr > 2 / kappa
    grew = gd["diverged_step"] is not None or gd["losses"][-1] > gd["losses"][0]
    claims.append(claim("optimize.lr-vs-2-over-l",
        f"{whose(config, 'gd')} GD at lr {lr:.4g} against 2 / L = {2 / kappa:.4g}: predicted to "
        f"{'diverge' if predicted else 'converge'}, and it did",
        {"lr": lr, "two_over_L": 2 / kappa, "predicted": "diverges" if predicted else "converges",
         "outcome": "diverged" if grew else "converged", "diverged_step": gd["diverged_step"],
         "final_over_initial_f": gd["losses"][-1] / gd["losses"][0] if gd["losses"][0] > 0 else None},
        "outcome = prediction (diverged: f grew or passed 1e8 f0)", grew == predicted, source="nnlab",
        zh=f"{whose_zh(config, 'gd')} GD，学习率 {lr:.4g}，对照 2 / L = {2 / kappa:.4g}：预测它会"
           f"{'发散' if predicted else '收敛'}，结果确实如此",
        why=f"GD {'converged' if not grew else 'diverged'} though lr {lr:.4g} "
            f"{'>' if predicted else '<='} 2 / L predicted otherwise: the closed form needs a y component to grow "
            "(a start on y = 0 has none)",
        why_zh=f"学习率 {lr:.4g} {'>' if predicted else '<='} 2 / L 预测的是{'发散' if predicted else '收敛'}，GD 却"
               f"{'收敛' if not grew else '发散'}了：闭式解要有 y 分量才会增长（从 y = 0 上出发则没有）",
        tip="a start with y != 0, e.g. --start -4,1"))

    # Control experiment at fixed settings: the problem's own start, 3000 steps, GD just below and just above 2/L.
    # It holds for every kappa from 1 to 1e4 (the closed form |1 - alpha L| < 1 iff alpha < 2 / L): a check; the
    # claim on the run itself is lr-vs-2-over-l above.
    x0 = [-4.0, 1.0]
    below = simulate(problem, "gd", {"lr": 0.98 * 2 / kappa}, x0, 3000)
    above = simulate(problem, "gd", {"lr": 1.02 * 2 / kappa}, x0, 3000)
    claims.append(check("optimize.diverges-above-2-over-l",
        f"control experiment at fixed settings (GD from {x0}, 3000 steps, lr 0.98 and 1.02 times 2 / L = "
        f"{2 / kappa:.4g}): a learning rate above 2 / L diverges, one just below converges",
        {"below_final_over_f0": below["losses"][-1] / below["losses"][0],
         "below_diverged_step": below["diverged_step"], "above_diverged_step": above["diverged_step"]},
        "below ends < 1e-3 f0, above diverges",
        below["diverged_step"] is None and below["losses"][-1] < 1e-3 * below["losses"][0]
        and above["diverged_step"] is not None,
        zh=f"固定设置下的对照实验（GD 从 {x0} 出发，3000 步，学习率取 2 / L = {2 / kappa:.4g} 的 0.98 倍和 1.02 倍）："
           "学习率高于 2 / L 时发散，略低于它时收敛"))

    # Momentum on this run: heavy ball and Nesterov at the run's lr and beta against GD at the run's lr.
    final = {m: (math.inf if p["diverged_step"] else p["losses"][-1])
             for m, p in (("gd", gd), *((m, user_path(config, problem, s, m)) for m in ("heavy_ball", "nesterov")))}
    claims.append(claim("optimize.momentum-beats-gd",
        f"on this run's settings ({s.steps} steps from {s.start}), heavy ball and Nesterov end lower than GD "
        "(final f)", {m: "diverged" if math.isinf(v) else float(f"{v:.4g}") for m, v in final.items()},
        "heavy_ball < gd and nesterov < gd", final["heavy_ball"] < final["gd"] and final["nesterov"] < final["gd"],
        source="nnlab",
        zh=f"在本次运行的设置下（从 {s.start} 出发，{s.steps} 步），重球法 (heavy ball) 与 Nesterov 的最终 f 都低于 GD",
        why="with this run's beta the momentum methods did not end below GD (beta 0 makes them GD at another lr; "
            "a step that already reaches the minimum leaves nothing to speed up)",
        why_zh="以本次运行的 beta，动量方法的最终 f 没有低于 GD（beta 为 0 时它们就是另一学习率下的 GD；若一步已能"
               "到达极小点，也就没有什么可加速的）",
        tip="--beta 0.9 on --kappa 50"))

    claims += checks_quadratic(problem, kappa, t)
    # The sweep's edge is judged only where there is a GD sweep to read (--lr-sweep off, or no gd: no claim).
    if sweep and "gd" in sweep:
        rows = sweep["gd"]
        first = next((r["lr"] for r in rows if r["label"] == "diverged"), None)
        last_ok = max((r["lr"] for r in rows if r["label"] != "diverged"), default=None)
        claims.append(claim("optimize.sweep-divergence-edge",
            f"in this run's GD learning-rate sweep, divergence starts between the last convergent and the first "
            f"divergent lr, around 2 / L = {2 / kappa:.4g}", {"last_convergent": last_ok, "first_divergent": first},
            "last_convergent <= 2/L < first_divergent",
            first is not None and last_ok is not None and last_ok <= 2 / kappa < first, source="nnlab",
            zh=f"在本次运行的 GD 学习率扫描中，发散始于最后一个收敛的学习率与第一个发散的学习率之间，约在 "
               f"2 / L = {2 / kappa:.4g} 处",
            why=f"the sweep's last convergent lr is {last_ok} and its first divergent {first}: the sweep's range "
                "must hold rates on both sides of 2 / L",
            why_zh=f"扫描中最后一个收敛的学习率为 {last_ok}，第一个发散的为 {first}：扫描范围必须包含 2 / L "
                   "两侧的学习率",
            tip=f"--lr-sweep {0.1 / kappa:.3g}:{10 / kappa:.3g}:12"))
    return claims


def checks_quadratic(problem, kappa: float, t: dict[str, float]) -> list[dict[str, Any]]:
    """Closed forms, reproduced at theory's parameters (they hold for every kappa: checks, not claims)."""
    x0 = [-4.0, 1.0]

    def det(method: str, steps: int, **hp: float) -> dict[str, Any]:
        return simulate(problem, method, hp, x0, steps)

    # GD's measured rate over a fine grid of alphas: the best is theory's.
    alphas = np.linspace(0.5, 1.99, 150) / kappa
    rates = [_rate(det("gd", 30, lr=float(a))["points"]) for a in alphas]
    i = int(np.argmin(rates))
    at_theory = _rate(det("gd", 30, lr=t["gd_lr"])["points"])
    out = [check("optimize.gd-rate",
        f"best GD rate on the quadratic: (kappa - 1) / (kappa + 1) = {t['gd_rate']:.5f} per step at "
        f"alpha = 2 / (1 + kappa) = {t['gd_lr']:.5f}",
        {"rate_at_theory_alpha": round(at_theory, 6), "best_alpha_on_grid": round(float(alphas[i]), 6),
         "best_rate_on_grid": round(rates[i], 6)},
        "rate within 1e-6; best grid alpha within one grid step",
        abs(at_theory - t["gd_rate"]) < 1e-6 and abs(alphas[i] - t["gd_lr"]) <= alphas[1] - alphas[0],
        zh=f"二次函数上 GD 的最佳收敛率：在 alpha = 2 / (1 + kappa) = {t['gd_lr']:.5f} 时为每步 "
           f"(kappa - 1) / (kappa + 1) = {t['gd_rate']:.5f}")]

    # Steps to f / f(start) < 1e-10 at each method's theory-best constant parameters (GD needs ~ 11.5 kappa).
    # Measured for kappa from 1 to 1000 it always lands within a factor 2 of sqrt(kappa): a closed form, a check.
    target, cap = 1e-10 * problem.f(np.array(x0)), int(30 * kappa) + 200
    n = {"gd": steps_to(det("gd", cap, lr=t["gd_lr"])["losses"], target),
         "gd_1/L": steps_to(det("gd", cap, lr=1 / kappa)["losses"], target),
         "heavy_ball": steps_to(det("heavy_ball", cap, lr=t["hb_lr"], beta=t["hb_beta"])["losses"], target),
         "nesterov": steps_to(det("nesterov", cap, lr=t["nesterov_lr"], beta=t["nesterov_beta"])["losses"], target)}
    reached = all(v for v in n.values())
    hb = n["gd"] / n["heavy_ball"] if reached else None
    nes = n["gd_1/L"] / n["nesterov"] if reached else None
    q = math.sqrt(kappa)
    out.append(check("optimize.momentum-speedup",
        f"control at fixed settings (theory's best constant parameters, from {x0}): heavy ball and Nesterov beat "
        f"GD by about sqrt(kappa) = {q:.2f} (steps to f < 1e-10 f0; heavy ball vs GD both at their best alpha, "
        "Nesterov vs GD both at alpha = 1/L)",
        {"steps": n, "speedup_heavy_ball": hb and round(hb, 2), "speedup_nesterov": nes and round(nes, 2),
         "asymptotic_heavy_ball": _log_ratio(t["hb_rate"], t["gd_rate"]),
         "asymptotic_nesterov": _log_ratio(t["nesterov_rate"], 1 - 1 / kappa)},
        f"each speedup within a factor 2 of sqrt(kappa) (within {cap} steps)",
        reached and all(q / 2 <= sp <= 2 * q for sp in (hb, nes)),
        zh=f"固定设置下的对照（理论最佳常数参数，从 {x0} 出发）：重球法和 Nesterov 比 GD 快约 sqrt(kappa) = {q:.2f} 倍"
           "（以达到 f < 1e-10 f0 所需的步数计；重球法与 GD 都取各自的最佳 alpha，Nesterov 与 GD 都取 alpha = 1/L）"))
    return out


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


def saddle_escapes(config: OptimizeConfig, problem, s: Settings) -> dict[str, Any]:
    """Steps to f < ESCAPED (None: not within the run's steps) for GD and heavy ball (deterministic) and for SGD
    over NOISE_DRAWS draws of its noise (draw k: its own offsets c_i and minibatch order, named streams)."""
    from nnlab.core.seeding import stream

    gd = steps_to(user_path(config, problem, s, "gd")["losses"], ESCAPED)
    hb = steps_to(user_path(config, problem, s, "heavy_ball")["losses"], ESCAPED)
    sgd = []
    for k in range(NOISE_DRAWS):
        offsets = landscapes.offsets(stream(config.seed, "saddle-claim-offsets", k), N_EXAMPLES, s.noise)
        res = simulate(problem, "sgd", hyper("sgd", config), s.start, s.steps,
                       stream(config.seed, "saddle-claim-minibatches", k), offsets, s.batch_size)
        sgd.append(steps_to(res["losses"], ESCAPED))
    return {"gd": gd, "heavy_ball": hb, "sgd": sgd}


def judge_saddle(esc: dict[str, Any], steps: int) -> tuple[dict[str, Any], bool]:
    """(measured, holds): heavy ball escapes sooner than GD, and SGD does in at least MOST of the noise draws
    (not escaping within the run counts as never)."""
    never = math.inf
    gd = never if esc["gd"] is None else esc["gd"]
    sooner = [e is not None and e < gd for e in esc["sgd"]]
    done = [e for e in esc["sgd"] if e is not None]
    fraction = sum(sooner) / len(sooner)
    measured = {"gd": esc["gd"], "heavy_ball": esc["heavy_ball"],
                "sgd_escaped": f"{len(done)}/{len(esc['sgd'])}",
                "sgd_mean": round(float(np.mean(done)), 1) if done else None,
                "sgd_sd": round(float(np.std(done, ddof=1)), 1) if len(done) > 1 else None,
                "sgd_range": [min(done), max(done)] if done else None,
                "sgd_sooner_fraction": round(fraction, 3), "within_steps": steps}
    holds = esc["heavy_ball"] is not None and esc["heavy_ball"] < gd and fraction >= MOST
    return measured, holds


def claims_saddle(config: OptimizeConfig, problem, s: Settings) -> list[dict[str, Any]]:
    measured, holds = judge_saddle(saddle_escapes(config, problem, s), s.steps)
    # Closed form at fixed settings: on y = 0 the y-gradient y^3 - y vanishes and x contracts by 1 - alpha.
    lr = hyper("gd", OptimizeConfig(problem="saddle"))["lr"]
    stuck = simulate(problem, "gd", {"lr": lr}, [1.5, 0.0], 1000)
    return [
        claim("optimize.saddle-escape",
            "after the slide's \"鞍点和局部极小点\" (saddle points and local minima): GD lingers near the saddle, "
            f"SGD's noise and heavy ball's momentum escape sooner (steps to f < {ESCAPED} from {s.start} within "
            f"{s.steps} steps at this run's lr, noise {s.noise:g} and batch {s.batch_size}; SGD over "
            f"{NOISE_DRAWS} noise draws)", measured,
            f"heavy_ball sooner than gd; sgd sooner than gd in >= {MOST:.0%} of the draws", holds, source="nnlab",
            zh="依课件“鞍点和局部极小点”一页：GD 在鞍点附近徘徊，SGD 的噪声与重球法的动量使它们更早逃离（在本次运行的"
               f"学习率、噪声 {s.noise:g} 和批大小 {s.batch_size} 下，从 {s.start} 出发、{s.steps} 步之内达到 "
               f"f < {ESCAPED} 所需的步数；SGD 取 {NOISE_DRAWS} 次噪声抽样）",
            why=f"SGD escaped sooner than GD in {measured['sgd_sooner_fraction']:.0%} of the noise draws (heavy ball "
                f"at step {measured['heavy_ball']}, GD at {measured['gd']}): without noise SGD is GD",
            why_zh=f"只在 {measured['sgd_sooner_fraction']:.0%} 的噪声抽样中 SGD 比 GD 更早逃离（重球法"
                   f"{_at_zh(measured['heavy_ball'])}，GD {_at_zh(measured['gd'])}）：没有噪声时 SGD 就是 GD",
            tip="--noise 0.5 (the default noise of the saddle problem)"),
        check("optimize.saddle-stable-line",
            f"started exactly on the saddle's stable line (y = 0, from x = 1.5), GD at lr {lr:g} converges to the "
            "saddle itself (1000 steps)",
            {"final_x": stuck["points"][-1], "final_loss": stuck["losses"][-1]}, "|x| < 1e-6, f = 0",
            float(np.linalg.norm(stuck["points"][-1])) < 1e-6,
            zh=f"恰从鞍点的稳定直线上出发（y = 0，自 x = 1.5 起），学习率 {lr:g} 的 GD 收敛到鞍点本身（1000 步）"),
    ]


def _at_zh(step: int | None) -> str:
    """'在第 k 步' (at step k), or that it did not escape within the run's steps."""
    return "未在步数之内逃离" if step is None else f"在第 {step} 步"


def claims_nonconvex(config: OptimizeConfig, problem, s: Settings) -> list[dict[str, Any]]:
    gd = user_path(config, problem, s, "gd")
    end = np.array(gd["points"][-1])
    f, g = gd["losses"][-1], float(np.linalg.norm(problem.gradient(end)))
    ok = gd["diverged_step"] is None and f > 0.1 and g < SETTLED
    return [claim("optimize.local-minimum",
        f"\"鞍点和局部极小点\" (saddle points and local minima): {whose(config, 'gd')} GD from {s.start} at lr "
        f"{hyper('gd', config)['lr']:.4g} settles in a local minimum, not the global one (f = 0 at the origin)",
        {"final_x": [round(v, 4) for v in end.tolist()], "final_f": round(f, 4), "final_grad_norm": float(f"{g:.3g}"),
         "diverged_step": gd["diverged_step"]},
        f"settled (||grad f|| < {SETTLED:g}) at f > 0.1", ok,
        zh=f"“鞍点和局部极小点”：{whose_zh(config, 'gd')} GD 从 {s.start} 出发，学习率 "
           f"{hyper('gd', config)['lr']:.4g}，停在一个局部极小点，而不是全局极小点（原点处 f = 0）",
        why=f"GD ended at f = {f:.3g} with ||grad f|| = {g:.2g}: "
            + ("in the global minimum's basin (f near 0)" if f <= 0.1 else "not yet settled, or diverged"),
        why_zh=f"GD 结束于 f = {f:.3g}，||grad f|| = {g:.2g}："
               + ("落在全局极小点的吸引域内（f 接近 0）" if f <= 0.1 else "尚未停稳，或已发散"),
        tip="the problem's default start (--start unset), from which GD falls into a side basin")]
