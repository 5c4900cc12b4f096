"""The `mlp` problem of `nnlab optimize`: every method trains a small 784-H-10 tanh network (its parameters
one flat vector, nnlab/nn/mlp_loss.py) on a subset of real MNIST; then SGD with a small and a large batch
are compared for the sharpness of the minima they find, and SGD's gradient noise against its theory. The runs
are trained in lockstep, batched (mlp_train.py); the sharpness probes of the runs are batched too."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from nnlab.commands.optimize import mlp_train
from nnlab.commands.optimize.config import OptimizeConfig
from nnlab.commands.optimize.mlp_train import Data, Spec
from nnlab.commands.optimize.paths import lr_sweep
from nnlab.commands.optimize.settings import hyper, resolve, stochastic
from nnlab.core.claims import check, claim
from nnlab.nn import mlp_loss

if TYPE_CHECKING:
    from nnlab.core.run import Run


def load_subset(config: OptimizeConfig, device: str, dtype):
    """A fixed random subset of MNIST's training images (train_size) and the whole test set, scaled to [0, 1]."""
    import torch

    from nnlab.core.seeding import stream
    from nnlab.data.mnist import run_mnist

    data = run_mnist(config.data_dir)
    pick = stream(config.seed, "mnist-subset").permutation(len(data.train_labels))[: config.train_size]

    def tensors(images, labels):
        X = torch.as_tensor(images.reshape(len(images), -1), device=device).to(dtype) / 255
        return X, torch.as_tensor(labels.astype(np.int64), device=device)

    return (*tensors(data.train_images[pick], data.train_labels[pick]),
            *tensors(data.test_images, data.test_labels))


def gradient_noise(data: Data, theta, batch_size: int, rng: np.random.Generator, draws: int = 24) -> float:
    """Mean over minibatches B (without replacement) of ||g_B - g||^2, g the full-batch gradient; the draws'
    gradients in one batched pass (rows of theta repeated)."""
    import torch

    _, full = data.grads(theta[None])                                        # (1, P)
    idx = torch.as_tensor(np.stack([rng.permutation(len(data.y))[:batch_size] for _ in range(draws)]),
                          device=theta.device)                               # (draws, B)
    _, G = data.grads(theta.expand(draws, -1), idx)                          # (draws, P)
    return sum((G - full).square().sum(1).tolist()) / draws


def run_mlp(config: OptimizeConfig, rec: Run) -> dict[str, Any]:
    # The matrices are small (a few thousand rows, 784 columns): one thread is fastest and does not fight
    # other processes for cores (measured 0.7 ms against 49 ms per forward pass on a busy 2-core machine).
    from nnlab.core.device import thread_limit

    with thread_limit(1):
        return _run_mlp(config, rec)


def _run_mlp(config: OptimizeConfig, rec: Run) -> dict[str, Any]:
    import torch

    from nnlab.core.seeding import seed_everything, stream, torch_stream

    seed_everything(config.seed)
    dtype = torch.float32
    X, y, X_test, y_test = load_subset(config, rec.device, dtype)
    s = resolve(config)
    n, steps = len(y), s.steps
    batch_size = min(s.batch_size, n)
    shapes = mlp_loss.mlp_shapes(X.shape[1], config.hidden)
    theta0 = mlp_loss.mlp_init(shapes, torch_stream(config.seed, "mlp-init", device=rec.device), dtype, rec.device)

    data = Data(shapes, X, y)

    def accuracy(theta, Xs, ys) -> float:
        with torch.no_grad():
            return float((mlp_loss.mlp_logits(theta, shapes, Xs).argmax(1) == ys).double().mean())

    def spec(method: str, hp: dict[str, float], rng: np.random.Generator) -> Spec:
        return Spec(method, hp, rng, batch_size if stochastic(method, "mlp") else None, steps)

    # Every method in lockstep, each with its own minibatch stream (its path does not depend on the others).
    methods = config.methods()
    hps = {m: hyper(m, config) for m in methods}
    paths = mlp_train.train([spec(m, hps[m], stream(config.seed, "minibatches", m)) for m in methods], theta0, data,
                            lambda it: rec.track(it, "training"))
    results = {}
    for method, p in zip(methods, paths, strict=True):
        for k, loss in enumerate(p.losses):
            rec.log({"method": method, "step": k, "loss": loss})
        div = p.diverged
        results[method] = {"hyper": hps[method], "final_loss": p.losses[-1], "diverged_step": div,
                           "steps_run": p.steps_run, "train_accuracy": None if div else accuracy(p.theta, X, y),
                           "test_accuracy": None if div else accuracy(p.theta, X_test, y_test)}

    def attempt(method: str, hp: dict[str, float], i: int) -> tuple[float | None, int | None]:
        (p,) = mlp_train.train([spec(method, hp, stream(config.seed, "sweep-minibatches", method, i))], theta0, data)
        return None if p.diverged else p.losses[-1], p.diverged

    sweep = lr_sweep(config, rec, 0.0, attempt)

    sharp, claims = sharpness_study(config, theta0, data, batch_size, steps, accuracy, (X_test, y_test), rec)
    diverged = {m: r["diverged_step"] for m, r in results.items() if r["diverged_step"] is not None}
    summary: dict[str, Any] = {
        "problem": "mlp", "train_size": n, "test_size": len(y_test), "hidden": config.hidden,
        "parameters": int(theta0.numel()), "steps": steps, "batch_size": batch_size, "minimum": 0.0,
        "methods": results, "lr_sweep": sweep, "diverged": diverged, "sharpness": sharp, "claims": claims,
    }
    if diverged:
        summary["status"] = "diverged"
    return summary


def sharpness_study(config, theta0, data: Data, batch_size, steps, accuracy, test, rec: Run):
    """SGD with a small and a large batch (same lr, same start, the same number of examples seen): where do they
    end, how sharp is it, how well does it generalize?

    The small batch takes `steps` steps; the large one takes as many steps as make the same number of examples
    (at least one). Sharpness: the top Hessian eigenvalue of the full training loss (power iteration on
    Hessian-vector products), and the mean loss increase under random perturbations of 5% relative size per block.
    """
    import torch

    from nnlab.core.seeding import stream, torch_stream

    X, y, (X_test, y_test), n = data.X, data.y, test, len(data.y)
    small, large = sorted((batch_size, min(config.large_batch, n)))  # validate() refused two equal sizes
    examples = steps * small
    plan_steps = {small: steps, large: max(1, round(examples / large))}
    hp = hyper("sgd", config)
    plan = [(bs, k) for bs in (small, large) for k in range(config.sharpness_seeds)]
    # Same start theta0 for every run; order k changes only the order of the minibatches. Every run in lockstep;
    # only the last loss is kept (its losses on the way only watch for divergence).
    paths = mlp_train.train([Spec("sgd", hp, stream(config.seed, "sharpness-order", k), bs, plan_steps[bs],
                                  record=False) for bs, k in plan], theta0, data, lambda it: rec.track(it, "sharpness"))
    runs: dict[str, dict[str, Any]] = {f"batch {bs}": {"batch_size": bs, "steps": plan_steps[bs],
                                                       "examples_seen": plan_steps[bs] * bs, "seeds": []}
                                       for bs in (small, large)}
    done = [i for i, p in enumerate(paths) if not p.diverged]
    # The same probe directions for every run (a fresh probe stream each): their sharpness differs by theta alone.
    gens = [torch_stream(config.seed, "sharpness-probe", device=rec.device) for _ in done]
    thetas = torch.stack([paths[i].theta for i in done]) if done else theta0[:0]
    V = torch.stack([torch.randn(theta0.shape, generator=g, dtype=theta0.dtype, device=theta0.device)
                     for g in gens]) if done else thetas
    eigen = top_eigens(data, thetas, V)
    rises = perturbed_increases(data, thetas, gens)
    for (bs, k), p in zip(plan, paths, strict=True):
        entry = runs[f"batch {bs}"]
        if p.diverged:
            entry["seeds"].append({"seed": k, "diverged_step": p.diverged})
            continue
        j = done.index(plan.index((bs, k)))
        entry["seeds"].append({
            "seed": k, "train_loss": p.losses[-1], "top_eigenvalue": eigen[j], "perturbed_loss_increase": rises[j],
            "train_accuracy": accuracy(p.theta, X, y), "test_accuracy": accuracy(p.theta, X_test, y_test),
        })
    for entry in runs.values():  # mean and spread over the orders that did not diverge
        done = [s for s in entry["seeds"] if "top_eigenvalue" in s]
        for key in ("train_loss", "top_eigenvalue", "perturbed_loss_increase", "train_accuracy", "test_accuracy"):
            if done:
                entry[key] = float(np.mean([s[key] for s in done]))
            if len(done) > 1:
                entry[key + "_sd"] = float(np.std([s[key] for s in done], ddof=1))
    a, b = runs[f"batch {small}"], runs[f"batch {large}"]
    claims = flat_minima_claims(a, b, hp["lr"], config.sharpness_seeds)
    claims.append(noise_check(data, theta0, small, large, stream(config.seed, "gradient-noise")))
    noise = claims[-1]["measured"]["noise"]
    return {"runs": runs, "lr": hp["lr"], "examples_seen": examples, "gradient_noise": noise}, claims


def _r(v: float | None, digits: int = 4) -> float | None:
    return None if v is None else round(v, digits)


def flat_minima_claims(a: dict[str, Any], b: dict[str, Any], lr: float, orders: int) -> list[dict[str, Any]]:
    """The lecture's two statements on one comparison: small batch `a` against large batch `b` (each a run entry
    of sharpness_study: means over minibatch orders, per-order seeds). A mean that is missing (every order
    diverged) or not finite (a saturated network's power iteration) makes both claims unjudgeable: they say so."""
    setting = (f"batch {a['batch_size']} ({a['steps']} steps) against batch {b['batch_size']} ({b['steps']} steps), "
               f"equal examples seen ({a['examples_seen']} and {b['examples_seen']}), lr {lr:g}, same start, "
               f"{orders} minibatch order(s), means over orders")
    setting_zh = (f"批大小 {a['batch_size']}（{a['steps']} 步）对比批大小 {b['batch_size']}（{b['steps']} 步），"
                  f"见过的实例数相同（{a['examples_seen']} 与 {b['examples_seen']}），学习率 {lr:g}，起点相同，"
                  f"{orders} 种小批量顺序，取各顺序的均值")
    keys = ("top_eigenvalue", "test_accuracy")
    bad = [f"{e['batch_size']}: {k}" for e in (a, b) for k in keys if not math.isfinite(e.get(k, math.nan))]
    note = f"not computable ({', '.join(bad)} missing or not finite: diverged or saturated)" if bad else None
    names_zh = {"top_eigenvalue": "Hessian 最大特征值", "test_accuracy": "测试准确率"}
    bad_zh = [f"批大小 {e['batch_size']} 的{names_zh[k]}" for e in (a, b) for k in keys
              if not math.isfinite(e.get(k, math.nan))]
    note_zh = f"无法计算（{'、'.join(bad_zh)}缺失或不是有限值：发散或饱和）" if bad else None

    def stats(key: str) -> dict[str, Any]:
        out = {f"{name}_{key}": _r(e.get(key)) for name, e in (("small", a), ("large", b))}
        out |= {f"{name}_{key}_sd": _r(e.get(key + "_sd")) for name, e in (("small", a), ("large", b))}
        return out

    pairs = list(zip(a["seeds"], b["seeds"], strict=True))
    agree = sum(x.get("top_eigenvalue", math.inf) < y.get("top_eigenvalue", -math.inf) for x, y in pairs)
    sharp = {**stats("top_eigenvalue"), "orders_where_small_is_flatter": f"{agree}/{len(pairs)}",
             "small_train_loss": _r(a.get("train_loss")), "large_train_loss": _r(b.get("train_loss"))}
    general = {**stats("test_accuracy"), "flatter": None}
    flat_holds = general_holds = False
    if note:
        sharp["note"] = general["note"] = note
    else:
        flat_holds = a["top_eigenvalue"] < b["top_eigenvalue"]
        flatter, other = (a, b) if flat_holds else (b, a)
        general["flatter"] = f"batch {flatter['batch_size']}"
        general_holds = flatter["test_accuracy"] > other["test_accuracy"]
    return [
        claim("optimize.flat-minima",
              "\"To fall into a sharp minimum, the gradient must be precise. The noise in SGD prevents that.\" — "
              f"the noisier small batch ends flatter (lower top Hessian eigenvalue of the training loss): {setting}",
              sharp, "mean small < mean large", flat_holds,
              zh="“要落入尖锐的极小点，梯度必须精确；SGD 中的噪声阻止了这一点。”（课件原文为英文）—— 噪声更大的小批量"
                 f"最终更平坦（训练损失的 Hessian 最大特征值更低）：{setting_zh}",
              why=sharp.get("note") or "the small batch did not end flatter than the large one (top Hessian "
                  "eigenvalues, means over the seeds)",
              why_zh=note_zh or "小批量最终并不比大批量更平坦（Hessian 最大特征值，各种子的均值）",
              tip="--large-batch 4096 (a larger gap in gradient noise between the two batches)"),
        claim("optimize.flat-minima-generalize",
              "\"It is hypothesized that flat minima generalize better.\" (a hypothesis, tested on this run) — "
              f"the flatter of the two ends with the higher test accuracy: {setting}",
              general, "test accuracy of the flatter > the other's (means)", general_holds,
              zh="“据推测，平坦的极小点泛化得更好。”（一个假说，在本次运行上检验）—— 两者中更平坦的那个最终测试准确率"
                 f"更高：{setting_zh}",
              why=general.get("note") or "the flatter of the two did not reach the higher test accuracy: flat "
                  "minima generalising better is a hypothesis, and this run did not bear it out",
              why_zh=note_zh or "两者中更平坦的那个并没有达到更高的测试准确率：平坦极小点泛化更好只是一个假说，本次运行"
                     "没有证实它",
              tip="more --sharpness-seeds, so the means are steadier"),
    ]


def noise_check(data: Data, theta0, small: int, large: int, rng) -> dict[str, Any]:
    """The lecture's "gradient + Random perturbation": without replacement E||g_B - g||^2 = c(B) sigma^2 with
    c(B) = (n - B) / (B (n - 1)), so the ratio between two batch sizes is known without sigma^2; a batch of
    the whole training set (c = 0) has no noise at all. A closed form checked by Monte Carlo: a check."""
    n = len(data.y)
    noise = {bs: gradient_noise(data, theta0, bs, rng) for bs in (small, large)}

    def c(bs: int) -> float:
        return (n - bs) / (bs * (n - 1))

    measured: dict[str, Any] = {"noise": {str(k): v for k, v in noise.items()},
                                "theory_c": {str(k): c(k) for k in (small, large)}}
    if c(large) > 0:
        predicted, ratio = c(small) / c(large), noise[small] / noise[large] if noise[large] > 0 else math.inf
        measured |= {"measured_ratio": round(ratio, 3) if math.isfinite(ratio) else None,
                     "predicted_ratio": round(predicted, 3)}
        expected, holds = "ratio within 35% (24 minibatches each)", abs(ratio / predicted - 1) < 0.35
    else:  # the large batch is the whole set: its gradient is the full gradient, up to float rounding
        expected, holds = f"batch {large} = n: noise <= 1e-6 x batch {small}'s", noise[large] <= 1e-6 * noise[small]
    return check("optimize.gradient-noise",
        f"SGD's gradient = full gradient + noise whose size shrinks with the batch: E||g_B - g||^2 of batch {small} "
        f"and batch {large} at the start against theory (n - B) / (B (n - 1)), n = {n}", measured, expected, holds,
        zh=f"SGD 的梯度 = 完整梯度 + 随批大小增大而减小的噪声 (Random perturbation)：批大小 {small} 与批大小 "
           f"{large} 在起点处的 E||g_B - g||^2，对照理论 (n - B) / (B (n - 1))，n = {n}")


def top_eigens(data: Data, thetas, V) -> list[float]:
    """The top Hessian eigenvalue of the full training loss at every row of thetas (R, P), power iteration from
    the rows of V, all rows at once (mlp_loss.top_eigenvalues)."""
    # As many rows at once as keep their double-backward graphs within LOSS_FLOATS activations (one run's when
    # n H alone exceeds it, as when the runs went one at a time).
    size = max(1, mlp_train.LOSS_FLOATS // (len(data.y) * data.shapes[0][1]))
    return [lam for i in range(0, len(thetas), size)
            for lam in mlp_loss.top_eigenvalues(data.losses, thetas[i:i + size], V[i:i + size])]


def perturbed_increases(data: Data, thetas, gens) -> list[float]:
    """mlp_loss.perturbed_increase at every row of thetas, each with its generator: every perturbed point and
    every base point in one batched pass."""
    import torch

    if not len(thetas):
        return []
    deltas = [mlp_loss.perturbations(t, data.shapes, g) for t, g in zip(thetas, gens, strict=True)]  # (D, P) each
    draws = len(deltas[0])
    with torch.no_grad():
        J = data.losses(torch.cat([thetas, *[t + d for t, d in zip(thetas, deltas, strict=True)]])).tolist()
    base, rest = J[:len(thetas)], J[len(thetas):]
    return [sum(v - base[i] for v in rest[i * draws:(i + 1) * draws]) / draws for i in range(len(thetas))]
