"""Claims of `nnlab optimize` about the methods themselves, on the 2-D problems:

    step-size.<m>     the lecture's 步长选取 (step-size choice): AdaGrad, RMSProp and Adam give each parameter
                      its own step alpha / sqrt(s), s the parameter's accumulated squared derivatives. On the
                      quadratic, the steep coordinate y should get the smaller step (judged per adaptive
                      method in the run)
    chosen.<m>-vs-gd  when the user chose methods (--method names fewer than all): each chosen method against
                      GD at the same number of steps from the same start, each at this run's learning rate
    sgd-without-replacement  a check: the run's minibatches, epoch by epoch, partition the examples into the
                      lecture's groups B_1 .. B_k (no example twice in an epoch, none left out)

Every path is re-simulated at the run's own settings (the 2-D methods other than SGD are deterministic, so it is
the path the run drew; GD when --method left it out is simulated at the run's settings and says so).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nnlab.commands.optimize.config import OptimizeConfig
from nnlab.commands.optimize.settings import N_EXAMPLES, Settings, hyper
from nnlab.core.claims import check, claim
from nnlab.nn import optimizers

ADAPTIVE = ("adagrad", "rmsprop", "adam")
# What the slides present as improvements on GD's steps (SGD is GD made cheap, not better per step)
IMPROVEMENTS = ("heavy_ball", "nesterov", *ADAPTIVE)
MOST = 0.5  # "for most of the run": more than half the steps


def effective_steps(problem, method: str, hp: dict[str, float], start, steps: int) -> np.ndarray:
    """(steps, 2) array: the per-coordinate step alpha / sqrt(s + eps) each update of `method` used, with s the
    rule's accumulator after the update (Adam's bias-corrected s^); rows stop where the path left finite numbers."""
    x, state, rows = np.array(start, dtype=np.float64), {}, []
    with np.errstate(all="ignore"):
        for _ in range(steps):
            x, state = optimizers.step(method, x, problem.gradient, state, **hp)
            if not np.all(np.isfinite(x)):
                break
            s = state["s2"] if "s2" in state else state["s"] / (1 - hp["beta2"] ** state["k"])
            rows.append(hp["lr"] / np.sqrt(s + hp["eps"]))
    return np.array(rows).reshape(-1, 2)


def step_size_claims(config: OptimizeConfig, problem, s: Settings) -> list[dict[str, Any]]:
    """On the quadratic: for each adaptive method of the run, is y's step smaller than x's for most steps?"""
    out = []
    for method in (m for m in config.methods() if m in ADAPTIVE):
        eff = effective_steps(problem, method, hyper(method, config), s.start, s.steps)
        ratio = eff[:, 1] / eff[:, 0] if len(eff) else np.array([math.nan])
        share = float(np.mean(ratio < 1)) if len(eff) else math.nan
        out.append(claim(f"optimize.step-size.{method}",
            f'"步长选取 … 每个参数导数累积量" (step-size choice: each parameter\'s accumulated derivatives). '
            f"nnlab's reading: {method}'s own step alpha / sqrt(s) per parameter is smaller along the steep y "
            f"(curvature {config.kappa:g}) than along the flat x (curvature 1) for most of this run's "
            f"{len(eff)} steps",
            {"share_of_steps_y_smaller": round(share, 3), "median_y_over_x_step": float(f"{np.median(ratio):.4g}")},
            f"share > {MOST}", share > MOST, source="nnlab",
            zh=f"“步长选取 … 每个参数导数累积量”。nnlab 的解读：{method} 给每个参数的步长 alpha / sqrt(s)，在本次运行"
               f"的 {len(eff)} 步的大多数步中，沿陡峭的 y（曲率 {config.kappa:g}）比沿平坦的 x（曲率 1）更小",
            why=f"y's step was the smaller one in only {share:.0%} of the steps (median y/x ratio "
                f"{np.median(ratio):.3g}): the accumulators follow the derivatives' sizes, and here y's were not "
                "the larger ones for long" + (" (kappa 1: no direction is steeper)" if config.kappa <= 1 else ""),
            why_zh=f"只在 {share:.0%} 的步中 y 的步长更小（y/x 步长比的中位数为 {np.median(ratio):.3g}）：累积量跟随"
                   "导数的大小，而这里 y 的导数并没有长时间更大" + ("（kappa 为 1：没有哪个方向更陡）"
                                                                  if config.kappa <= 1 else ""),
            tip="--kappa 50 (y 50 times steeper than x)"))
    return out


def chosen(config: OptimizeConfig) -> list[str]:
    """The methods the user chose, among those the slides present as improvements on GD: --method naming fewer
    than every method (the default runs them all)."""
    methods = config.methods()
    return [] if set(methods) >= set(optimizers.NAMES) else [m for m in methods if m in IMPROVEMENTS]


def chosen_claims(config: OptimizeConfig, final: dict[str, float], steps: int, gd_note: str,
                  gd_note_zh: str = "") -> list[dict[str, Any]]:
    """Each chosen method's final loss against GD's (inf: diverged), at equal steps; `final` has "gd" too
    (`gd_note_zh`: `gd_note` in Chinese)."""
    out = []
    for method in chosen(config):
        mine, gd = final[method], final["gd"]
        out.append(claim(f"optimize.chosen.{method}-vs-gd",
            f"the 非凸优化 slides present {method} as an improvement on plain gradient descent: on this run "
            f"({config.problem}, {steps} steps, each method at this run's learning rate), {method} ends lower than "
            f"GD {gd_note}",
            {method: _loss(mine), "gd": _loss(gd)}, f"final f: {method} < gd", mine < gd, source="nnlab",
            zh=f"“非凸优化”一节的课件把 {method} 作为对普通梯度下降的改进：在本次运行中（{config.problem}，{steps} 步，"
               f"各方法均用本次运行的学习率），{method} 的最终 f 低于 GD{gd_note_zh}",
            why=f"{method} ended at f = {_loss(mine)}, GD at {_loss(gd)}"
                + (": RMSProp's step alpha / sqrt(s) does not shrink as the gradient does, so it hovers near the "
                   "minimum at the scale of its learning rate" if method == "rmsprop" else ""),
            why_zh=f"{method} 结束于 f = {_loss_zh(mine)}，GD 结束于 {_loss_zh(gd)}"
                   + ("：RMSProp 的步长 alpha / sqrt(s) 不随梯度缩小，所以它以其学习率的尺度在极小点附近徘徊"
                      if method == "rmsprop" else ""),
            tip="--kappa 1000: one global step must then be tiny, and per-parameter or momentum steps pay off"
            if config.problem == "quadratic" else "--problem quadratic --kappa 1000"))
    return out


def _loss(value: float) -> float | str:
    return "diverged" if math.isinf(value) else float(f"{value:.4g}")


def _loss_zh(value: float) -> float | str:
    return "发散" if math.isinf(value) else float(f"{value:.4g}")


def without_replacement_check(config: OptimizeConfig, s: Settings, epochs: int = 3) -> dict[str, Any]:
    """SGD's minibatches from the run's own stream: each of the first epochs is a partition of the examples."""
    from nnlab.core.seeding import stream

    batches = optimizers.epoch_batches(stream(config.seed, "minibatches", "sgd"), N_EXAMPLES, s.batch_size)
    per_epoch = math.ceil(N_EXAMPLES / s.batch_size)
    partitions = []
    for _ in range(epochs):
        seen = np.concatenate([next(batches) for _ in range(per_epoch)])
        partitions.append(len(seen) == N_EXAMPLES and np.array_equal(np.sort(seen), np.arange(N_EXAMPLES)))
    return check("optimize.sgd-without-replacement",
        f"SGD's minibatches in this run: each of the first {epochs} epochs cuts the {N_EXAMPLES} examples into "
        f"{per_epoch} groups of <= {s.batch_size}, every example exactly once (sampling without replacement)",
        {"epochs_that_partition": int(sum(partitions)), "groups_per_epoch": per_epoch},
        f"= {epochs}", all(partitions),
        zh=f"本次运行中 SGD 的小批量：前 {epochs} 轮 (epoch) 中，每一轮都把 {N_EXAMPLES} 个实例分为 {per_epoch} 组"
           f"（每组不超过 {s.batch_size} 个），每个实例恰好出现一次（无放回采样）")
