"""The lecture's "L_2 正则化 (weight decay)" measured on a trained network of `nnlab regularize`.

With R = sum theta^2, plain gradient descent on J + lambda R is

    theta <- theta - eta (grad J + 2 lambda theta) = (1 - 2 eta lambda) theta - eta grad J,

the weights shrunk by the factor 1 - 2 eta lambda each step ("weight decay") before the step on J: the same
iterates, to round-off. Adam divides the whole gradient by sqrt(s^) per coordinate, so the penalty's
2 lambda theta is rescaled too; decoupled weight decay (AdamW's theta <- theta - eta 2 lambda theta beside
the Adam step on J) is not. Both are run from the trained weights of the L2 network at its chosen lambda
(replicate 0) for a few full-batch steps on its training set, in float64, with the lecture's update rules
(nnlab/nn/optimizers.py); only the weights W are penalized, as in training.
"""

from __future__ import annotations

from typing import Any

from nnlab.nn import optimizers

STEPS = 20        # full-batch steps of each variant
ADAM_LR = 1e-3    # Adam's usual step (the lecture's alpha); GD uses the setting's own learning rate


def _flat(stack: Any, k: int):
    """Network k's parameters as one float64 vector, and the mask of its penalized entries (the weights)."""
    import torch

    parts, mask = [], []
    for W, b in zip(stack.W, stack.b, strict=True):
        for p, penalized in ((W[k], True), (b[k], False)):
            parts.append(p.detach().double().reshape(-1))
            mask.append(torch.full((p.numel(),), float(penalized), dtype=torch.float64))
    return torch.cat(parts), torch.cat(mask)


def _loss_fn(stack: Any, k: int, X, Y, task: str):
    """theta (flat, float64) -> the data term J of network k on (X, Y) (one replicate: X (N, d_in))."""
    import torch.nn.functional as F

    shapes = [(W.shape[1:], b.shape[1:]) for W, b in zip(stack.W, stack.b, strict=True)]
    act = stack.act
    Xd = X.double()

    def loss(theta):
        h, i = Xd, 0
        for layer, (ws, bs) in enumerate(shapes):
            nw, nb = ws.numel(), bs.numel()
            W, b = theta[i:i + nw].view(ws), theta[i + nw:i + nw + nb].view(bs)
            i += nw + nb
            h = h @ W + b
            if layer < len(shapes) - 1:
                h = act(h)
        if task == "regression":
            return (h - Y.double()).square().mean()
        return F.cross_entropy(h, Y)

    return loss


def compare(stack: Any, k: int, X, Y, task: str, lam: float, lr: float) -> dict[str, Any]:
    """GD and Adam, each with L2 in the gradient against weight decay beside the step, from network k's weights.

    Returned: per optimizer the relative difference of the penalty's effect,
        gd:   |theta_L2 - theta_decay| / |theta_L2 - theta_start|   (round-off only: ~1e-15)
        adam: |d_L2 - d_decay| / |d_decay|, with d = theta_variant - theta_adam-on-J-alone (the penalty's part)
    """
    import torch

    theta0, mask = _flat(stack, k)
    J = _loss_fn(stack, k, X, Y, task)

    def grad_J(theta):
        t = theta.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(J(t), t)
        return g

    def run(rule: str, step_lr: float, penalty: str) -> Any:
        """STEPS steps of `rule`; penalty 'l2' (2 lambda theta in the gradient), 'decay' (beside it) or 'none'."""
        theta, state = theta0.clone(), {}
        for _ in range(STEPS):
            g = grad_J(theta)
            if penalty == "l2":
                g = g + 2 * lam * mask * theta
            new, state = optimizers.RULES[rule](theta, g, state, lr=step_lr)
            if penalty == "decay":
                new = new - step_lr * 2 * lam * mask * theta  # theta <- theta - eta 2 lambda theta, decoupled
            theta = new
        return theta

    gd_l2, gd_decay = run("gd", lr, "l2"), run("gd", lr, "decay")
    adam_l2, adam_decay, adam_plain = (run("adam", ADAM_LR, p) for p in ("l2", "decay", "none"))
    moved = float((gd_l2 - theta0).norm())
    effect = float((adam_decay - adam_plain).norm())
    return {
        "steps": STEPS, "lam": lam, "gd_lr": lr, "adam_lr": ADAM_LR,
        "gd_relative_difference": float((gd_l2 - gd_decay).norm()) / moved if moved > 0 else float("nan"),
        "adam_relative_difference": float(((adam_l2 - adam_plain) - (adam_decay - adam_plain)).norm()) / effect
        if effect > 0 else float("nan"),
        "adam_penalty_effect_l2": float((adam_l2 - adam_plain).norm()),
        "adam_penalty_effect_decay": effect,
    }
