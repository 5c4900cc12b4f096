"""The lecture's cures for overfitting (过拟合：正则化, 丢弃法), written as the slides write them.

Penalties, J(theta) + lambda R(theta), with theta the weights (one array or tensor, any shape):

    l2       R = sum theta_i^2                          dR/dtheta = 2 theta      (weight decay)
    l1       R = sum |theta_i|                          dR/dtheta = sign(theta)  (a subgradient; 0 at 0)
    elastic  R = beta sum theta_i^2 + sum |theta_i|     dR/dtheta = 2 beta theta + sign(theta)

torch's `weight_decay=wd` adds wd * theta to the gradient, i.e. l2 with lambda = wd / 2.

A subgradient step on |theta| almost never lands on 0 exactly. The proximal step of the L1 part does:
prox_{t |.|}(v) = argmin_x (x - v)^2 / 2 + t |x| = sign(v) max(|v| - t, 0) (soft thresholding), so a
proximal-gradient step theta <- S(theta - eta grad(J + smooth part), eta lambda) sets weights exactly to 0.

Dropout, the slide's code: U = (rand(*H.shape) < p) / p; H *= U. p is the probability of KEEPING a
unit; survivors are scaled by 1/p so E[U] = 1 and E[dropout(h)] = h; at test time the layer is the
identity (the slide's predict() has no scaling). Every function takes numpy arrays or torch tensors.
"""

from __future__ import annotations

from typing import Any

import numpy as np

PENALTIES = ("l2", "l1", "elastic")


def _is_torch(x: Any) -> bool:
    return type(x).__module__.startswith("torch")


def _sign(x: Any) -> Any:
    if _is_torch(x):
        import torch

        return torch.sign(x)  # 0 at 0: the subgradient of |x| the lecture's R has at 0 chosen as 0
    return np.sign(x)


def _sum(x: Any) -> Any:
    return x.sum()


def l2(theta: Any) -> Any:
    """R = sum theta_i^2."""
    return _sum(theta * theta)


def l2_grad(theta: Any) -> Any:
    return 2 * theta


def l1(theta: Any) -> Any:
    """R = sum |theta_i|."""
    return _sum(abs(theta))


def l1_grad(theta: Any) -> Any:
    """sign(theta): the gradient where theta != 0, and the subgradient 0 (of [-1, 1]) at theta = 0."""
    return _sign(theta)


def elastic(theta: Any, beta: float) -> Any:
    """R = beta sum theta_i^2 + sum |theta_i| (the lecture's elastic net)."""
    return beta * l2(theta) + l1(theta)


def elastic_grad(theta: Any, beta: float) -> Any:
    return beta * l2_grad(theta) + l1_grad(theta)


def penalty(name: str, theta: Any, beta: float = 1.0) -> Any:
    """R(theta) for `name` in PENALTIES."""
    if name == "l2":
        return l2(theta)
    if name == "l1":
        return l1(theta)
    if name == "elastic":
        return elastic(theta, beta)
    raise ValueError(f"unknown penalty {name!r}; one of {', '.join(PENALTIES)}")


def penalty_grad(name: str, theta: Any, beta: float = 1.0) -> Any:
    """dR/dtheta (a subgradient, 0 at 0, for the |.| parts)."""
    if name == "l2":
        return l2_grad(theta)
    if name == "l1":
        return l1_grad(theta)
    if name == "elastic":
        return elastic_grad(theta, beta)
    raise ValueError(f"unknown penalty {name!r}; one of {', '.join(PENALTIES)}")


def split(name: str, beta: float = 1.0) -> tuple[float, float]:
    """(c2, c1) with R = c2 sum theta^2 + c1 sum |theta|: the smooth and the |.| part of each penalty."""
    return {"l2": (1.0, 0.0), "l1": (0.0, 1.0), "elastic": (beta, 1.0)}[name]


def soft_threshold(v: Any, t: Any) -> Any:
    """prox of t sum |x| at v: sign(v) max(|v| - t, 0); exact zeros wherever |v| <= t. t >= 0 broadcasts."""
    if _is_torch(v):
        import torch

        return torch.sign(v) * torch.clamp(v.abs() - t, min=0)
    return np.sign(v) * np.maximum(np.abs(v) - t, 0)


# ----------------------------------------------------------------------------------------------------
# Dropout


def dropout_mask(shape: tuple[int, ...], p: Any, rng: Any) -> Any:
    """U = (rand(*shape) < p) / p, the slide's mask: 1/p with probability p, else 0.

    rng: a numpy Generator (numpy mask) or a torch.Generator (torch mask, on the generator's device).
    p may be a number or anything broadcasting against `shape` (one keep probability per network).
    """
    if isinstance(rng, np.random.Generator):
        return (rng.random(shape) < p) / p
    import torch

    u = torch.rand(shape, generator=rng, device=rng.device)
    if isinstance(p, torch.Tensor) and p.dtype == u.dtype:
        # The same values in place: u <- 1.0 / 0.0 (u < p), then times 1/p (1 x (1/p) is the division's float):
        # no bool tensor to convert, no new float tensor (the ensemble draws ~4e8 of these).
        return u.lt_(p).mul_(1 / p)
    return (u < p) / p


def dropout(h: Any, p: Any, rng: Any) -> Any:
    """Training-time dropout as on the slide: h * U. At test time use h itself (identity)."""
    return h * dropout_mask(tuple(h.shape), p, rng)
