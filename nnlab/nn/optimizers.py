"""The lecture's update rules (非凸优化), written exactly as the slides write them.

Every rule is a pure function `rule(x, grad, state, **hyper) -> (x_next, state_next)`: x and grad are
numpy arrays or torch tensors of one shape, `state` a dict (empty before the first step) that is never
mutated, only replaced. Only arithmetic and `** 0.5` are used, so the same code runs on both.

    gd          x_{k+1} = x_k - alpha grad f(x_k)
    sgd         x_{k+1} = x_k - alpha (1/|B_j|) sum_{i in B_j} grad J^(i)(x_k)   (the grad passed in)
    heavy_ball  y_k = x_k + beta (x_k - x_{k-1});  x_{k+1} = y_k - alpha grad f(x_k)
    nesterov    y_k = x_k + beta (x_k - x_{k-1});  x_{k+1} = y_k - alpha grad f(y_k)
    adagrad     s2_{k+1} = s2_k + dx_k * dx_k;  x_{k+1} = x_k - alpha / sqrt(s2_{k+1} + 1e-7) * dx_k
    rmsprop     s2_{k+1} = beta s2_k + (1 - beta) dx_k * dx_k;  then as adagrad
    adam        v_{k+1} = beta1 v_k + (1 - beta1) dx_k;  s_{k+1} = beta2 s_k + (1 - beta2) dx_k * dx_k
                v^_{k+1} = v_{k+1} / (1 - beta1^(k+1));  s^_{k+1} = s_{k+1} / (1 - beta2^(k+1))
                x_{k+1} = x_k - alpha / sqrt(s^_{k+1} + 1e-7) * v^_{k+1}

The momentum rules start with x_{-1} = x_0 (no velocity), the accumulators with zeros. Nesterov needs
the gradient at y_k, not at x_k: ask `gradient_point(name, x, state, **hyper)` where to evaluate it.

torch.optim, compared in tests/test_nn_optimizers.py:
- SGD(momentum=beta) keeps b_{k+1} = beta b_k + g_k, x_{k+1} = x_k - alpha b_{k+1}; with
  b_k = -(x_k - x_{k-1}) / alpha this is heavy_ball exactly (same x_k, float64 round-off only).
- SGD(momentum=beta, nesterov=True) iterates the lecture's y_k, not x_k: with b_k = -(x_k - x_{k-1}) / alpha,
  y_{k+1} = y_k - alpha (grad f(y_k) + beta b_{k+1}), which is torch's update of its parameter p_k = y_k.
- Adagrad, RMSprop and Adam divide by sqrt(s) + eps, the lecture by sqrt(s + 1e-7); with eps = 0 on both
  sides (and s > 0, i.e. a nonzero first gradient) they are the same algorithm.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

EPS = 1e-7  # the slides' constant inside the square root

State = dict[str, Any]


def gd(x, grad, state: State, *, lr: float) -> tuple[Any, State]:
    """Steepest descent: x_{k+1} = x_k - alpha grad f(x_k)."""
    return x - lr * grad, state


def sgd(x, grad, state: State, *, lr: float) -> tuple[Any, State]:
    """SGD: x_{k+1} = x_k - alpha (1/|B_j|) sum_{i in B_j} grad J^(i)(x_k).

    The update is gd's; what makes it stochastic is `grad`, a minibatch mean (see `epoch_batches`).
    """
    return x - lr * grad, state


def heavy_ball(x, grad, state: State, *, lr: float, beta: float) -> tuple[Any, State]:
    """Polyak: y_k = x_k + beta (x_k - x_{k-1});  x_{k+1} = y_k - alpha grad f(x_k).  grad at x_k."""
    prev = state.get("prev", x)  # x_{-1} = x_0
    y = x + beta * (x - prev)
    return y - lr * grad, {"prev": x}


def nesterov_point(x, state: State, *, beta: float):
    """Where Nesterov evaluates the gradient: y_k = x_k + beta (x_k - x_{k-1})."""
    prev = state.get("prev", x)
    return x + beta * (x - prev)


def nesterov(x, grad, state: State, *, lr: float, beta: float) -> tuple[Any, State]:
    """Nesterov: y_k = x_k + beta (x_k - x_{k-1});  x_{k+1} = y_k - alpha grad f(y_k).  grad at y_k."""
    y = nesterov_point(x, state, beta=beta)
    return y - lr * grad, {"prev": x}


def adagrad(x, grad, state: State, *, lr: float, eps: float = EPS) -> tuple[Any, State]:
    """AdaGrad: s2_{k+1} = s2_k + dx_k * dx_k;  x_{k+1} = x_k - alpha / sqrt(s2_{k+1} + 1e-7) * dx_k."""
    s2 = state.get("s2", 0.0 * grad) + grad * grad
    return x - lr / (s2 + eps) ** 0.5 * grad, {"s2": s2}


def rmsprop(x, grad, state: State, *, lr: float, beta: float, eps: float = EPS) -> tuple[Any, State]:
    """RMSProp: s2_{k+1} = beta s2_k + (1 - beta) dx_k * dx_k;  x_{k+1} = x_k - alpha / sqrt(s2_{k+1} + 1e-7) * dx_k."""
    s2 = beta * state.get("s2", 0.0 * grad) + (1 - beta) * grad * grad
    return x - lr / (s2 + eps) ** 0.5 * grad, {"s2": s2}


def adam(x, grad, state: State, *, lr: float, beta1: float = 0.9, beta2: float = 0.999,
         eps: float = EPS) -> tuple[Any, State]:
    """Adam: v_{k+1} = beta1 v_k + (1 - beta1) dx_k;  s_{k+1} = beta2 s_k + (1 - beta2) dx_k * dx_k;
    v^ = v_{k+1} / (1 - beta1^(k+1));  s^ = s_{k+1} / (1 - beta2^(k+1));  x_{k+1} = x_k - alpha / sqrt(s^ + 1e-7) * v^.
    """
    k = state.get("k", 0)
    v = beta1 * state.get("v", 0.0 * grad) + (1 - beta1) * grad
    s = beta2 * state.get("s", 0.0 * grad) + (1 - beta2) * grad * grad
    v_hat = v / (1 - beta1 ** (k + 1))
    s_hat = s / (1 - beta2 ** (k + 1))
    return x - lr / (s_hat + eps) ** 0.5 * v_hat, {"k": k + 1, "v": v, "s": s}


RULES: dict[str, Callable[..., tuple[Any, State]]] = {
    "gd": gd, "sgd": sgd, "heavy_ball": heavy_ball, "nesterov": nesterov,
    "adagrad": adagrad, "rmsprop": rmsprop, "adam": adam,
}
NAMES = list(RULES)
# The hyperparameters each rule takes, besides lr (names as in the rule's signature).
HYPER = {"gd": (), "sgd": (), "heavy_ball": ("beta",), "nesterov": ("beta",), "adagrad": ("eps",),
         "rmsprop": ("beta", "eps"), "adam": ("beta1", "beta2", "eps")}


def gradient_point(name: str, x, state: State, **hyper: Any):
    """The point whose gradient `name` needs at this step: y_k for Nesterov, x_k for the others."""
    return nesterov_point(x, state, beta=hyper["beta"]) if name == "nesterov" else x


def step(name: str, x, grad_fn: Callable[[Any], Any], state: State, **hyper: Any) -> tuple[Any, State]:
    """One step of rule `name`: evaluate grad_fn where the rule asks for it, then update."""
    grad = grad_fn(gradient_point(name, x, state, **hyper))
    return RULES[name](x, grad, state, **hyper)


def epoch_batches(rng, n: int, batch_size: int):
    """Minibatches without replacement, forever: each epoch a fresh permutation of {0..n-1} is cut into
    groups B_1, ..., B_k of batch_size (the last one smaller when batch_size does not divide n).
    """
    while True:
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            yield order[start:start + batch_size]
