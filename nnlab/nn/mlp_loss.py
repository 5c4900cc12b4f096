"""The `mlp` problem of `nnlab optimize`: a 784-H-10 tanh network on MNIST whose parameters are one flat
tensor theta, so that the update rules of nnlab/nn/optimizers.py apply to it unchanged; its loss, and two
sharpness measures of a point theta (the top Hessian eigenvalue, the loss rise under random perturbations).

    theta = [W1 (n_in, H) | b1 (H,) | W2 (H, C) | b2 (C,)], flattened and packed in this order
    J(theta) = mean_i cross_entropy(tanh(X_i W1 + b1) W2 + b2, y_i)
"""

from __future__ import annotations

import math


def mlp_shapes(n_in: int, hidden: int, classes: int = 10) -> list[tuple[int, ...]]:
    """Shapes of W1 (n_in, H), b1 (H,), W2 (H, C), b2 (C,), packed in this order into theta."""
    return [(n_in, hidden), (hidden,), (hidden, classes), (classes,)]


def mlp_unpack(theta, shapes: list[tuple[int, ...]]) -> list:
    out, i = [], 0
    for shape in shapes:
        n = math.prod(shape)
        out.append(theta[i:i + n].reshape(shape))
        i += n
    return out


def mlp_init(shapes: list[tuple[int, ...]], generator, dtype, device):
    """W ~ N(0, 1 / n_in) (Xavier-like for tanh), b = 0, packed into one flat tensor."""
    import torch

    parts = []
    for shape in shapes:
        if len(shape) == 2:
            parts.append(torch.randn(shape, generator=generator, dtype=dtype, device=device).flatten()
                         / math.sqrt(shape[0]))
        else:
            parts.append(torch.zeros(shape, dtype=dtype, device=device))
    return torch.cat(parts)


def mlp_loss(theta, shapes, X, y):
    """J(theta) = mean_i cross_entropy(tanh(X_i W1 + b1) W2 + b2, y_i).  X: (n, n_in), y: (n,) int."""
    import torch.nn.functional as F

    W1, b1, W2, b2 = mlp_unpack(theta, shapes)
    return F.cross_entropy((X @ W1 + b1).tanh() @ W2 + b2, y)


def mlp_logits(theta, shapes, X):
    W1, b1, W2, b2 = mlp_unpack(theta, shapes)
    return (X @ W1 + b1).tanh() @ W2 + b2


def hvp(loss_fn, theta, v):
    """Hessian-vector product H(theta) v by double backward: grad_theta <grad_theta J(theta), v>."""
    import torch

    theta = theta.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(loss_fn(theta), theta, create_graph=True)
    (hv,) = torch.autograd.grad(g @ v, theta)
    return hv


def top_eigenvalue(loss_fn, theta, generator, iters: int = 30) -> float:
    """The Hessian's largest-magnitude eigenvalue by power iteration v <- Hv / ||Hv||; returns v^T H v."""
    import torch

    v = torch.randn(theta.shape, generator=generator, dtype=theta.dtype, device=theta.device)
    v = v / v.norm()
    lam = 0.0
    for _ in range(iters):
        hv = hvp(loss_fn, theta, v)
        lam = float(v @ hv)
        v = hv / hv.norm()
    return lam


def perturbed_increase(loss_fn, theta, shapes, generator, rho: float = 0.05, draws: int = 10) -> float:
    """Mean of J(theta + delta) - J(theta) over random delta, each block of delta (W1, b1, W2, b2) of norm
    rho times that block's norm (a relative, scale-aware perturbation; zero blocks stay unperturbed)."""
    import torch

    base = float(loss_fn(theta))
    blocks = mlp_unpack(theta, shapes)
    rises = []
    for _ in range(draws):
        parts = []
        for b in blocks:
            u = torch.randn(b.shape, generator=generator, dtype=theta.dtype, device=theta.device)
            parts.append((rho * b.norm() * u / u.norm()).flatten())
        rises.append(float(loss_fn(theta + torch.cat(parts))) - base)
    return sum(rises) / draws
