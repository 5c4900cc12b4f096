"""nnlab/nn/mlp_loss.py: the flat-parameter MLP of `nnlab optimize --problem mlp` against torch's own network,
and its Hessian-vector products and power iteration against the full Hessian, all in float64."""

from __future__ import annotations

import math

import torch

from nnlab.nn import mlp_loss


def tiny_problem():
    """A 5-3-4 tanh network on 20 random points: small enough for the full Hessian."""
    g = torch.Generator().manual_seed(0)
    X = torch.randn(20, 5, generator=g, dtype=torch.float64)
    y = torch.randint(0, 4, (20,), generator=g)
    shapes = mlp_loss.mlp_shapes(5, 3, classes=4)
    theta = mlp_loss.mlp_init(shapes, g, torch.float64, "cpu") + 0.1 * torch.randn(
        sum(math.prod(s) for s in shapes), generator=g, dtype=torch.float64)
    return X, y, shapes, theta


def test_mlp_loss_is_torchs_network():
    X, y, shapes, theta = tiny_problem()
    W1, b1, W2, b2 = mlp_loss.mlp_unpack(theta, shapes)
    net = torch.nn.Sequential(torch.nn.Linear(5, 3), torch.nn.Tanh(), torch.nn.Linear(3, 4)).double()
    with torch.no_grad():
        net[0].weight.copy_(W1.T), net[0].bias.copy_(b1), net[2].weight.copy_(W2.T), net[2].bias.copy_(b2)
    with torch.no_grad():
        expected = torch.nn.functional.cross_entropy(net(X), y)
    assert abs(float(mlp_loss.mlp_loss(theta, shapes, X, y)) - float(expected)) < 1e-14


def test_hvp_and_power_iteration_against_the_full_hessian():
    X, y, shapes, theta = tiny_problem()

    def loss(t):
        return mlp_loss.mlp_loss(t, shapes, X, y)

    H = torch.autograd.functional.hessian(loss, theta)  # (P, P)
    v = torch.randn(theta.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    assert (mlp_loss.hvp(loss, theta, v) - H @ v).abs().max() < 1e-12
    eig = torch.linalg.eigvalsh(H)
    top = float(eig[eig.abs().argmax()])
    lam = mlp_loss.top_eigenvalue(loss, theta, torch.Generator().manual_seed(2), iters=300)
    assert abs(lam - top) < 1e-6 * abs(top)
