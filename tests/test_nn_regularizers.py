"""The lecture's penalties, their (sub)gradients, soft thresholding, dropout, and the stacked trainer."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nnlab.nn import regularizers as R
from nnlab.nn.stacked import Member, Stack


def away_from_zero(rng, shape, margin=1e-2):
    """Random weights with |theta| >= margin, so a finite difference of |.| never straddles 0."""
    x = rng.standard_normal(shape)
    return np.sign(x) * (np.abs(x) + margin)


def test_closed_forms():
    theta = np.array([3.0, -4.0])
    assert R.l2(theta) == 25 and R.l1(theta) == 7
    assert R.elastic(theta, 2.0) == 2 * 25 + 7
    assert R.penalty("elastic", theta, 0.5) == pytest.approx(0.5 * 25 + 7, abs=0)
    np.testing.assert_array_equal(R.penalty_grad("l1", theta), [1, -1])
    assert R.split("elastic", 3.0) == (3.0, 1.0) and R.split("l2") == (1.0, 0.0) and R.split("l1") == (0.0, 1.0)
    with pytest.raises(ValueError):
        R.penalty("l3", theta)


@pytest.mark.parametrize("name", ["l2", "l1", "elastic"])
def test_gradients_match_central_finite_differences(name):
    rng = np.random.default_rng(0)
    theta = away_from_zero(rng, (5, 4))
    beta, h = 0.7, 1e-6
    grad = R.penalty_grad(name, theta, beta)
    fd = np.zeros_like(theta)
    for i in np.ndindex(theta.shape):
        e = np.zeros_like(theta)
        e[i] = h
        fd[i] = (R.penalty(name, theta + e, beta) - R.penalty(name, theta - e, beta)) / (2 * h)
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-7)  # float64 central differences: ~1e-9 error


def test_l1_subgradient_is_zero_at_zero_and_lies_in_the_subdifferential():
    theta = np.array([0.0, 0.0, 1.5])
    np.testing.assert_array_equal(R.l1_grad(theta), [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(R.elastic_grad(theta, 2.0), [0.0, 0.0, 2 * 2 * 1.5 + 1])
    # One-sided difference quotients of |x| at 0 are +1 (right) and -1 (left): 0 lies between them.
    h = 1e-8
    right, left = (abs(h) - 0) / h, (0 - abs(-h)) / h
    assert left <= R.l1_grad(np.array(0.0)) <= right
    assert float(R.l1_grad(torch.tensor(0.0))) == 0.0


@pytest.mark.parametrize("name", ["l2", "l1", "elastic"])
def test_torch_versions_match_numpy_and_autograd(name):
    rng = np.random.default_rng(1)
    theta = away_from_zero(rng, (3, 6))
    t = torch.tensor(theta, requires_grad=True)
    value = R.penalty(name, t, 1.3)
    value.backward()
    assert float(value.detach()) == pytest.approx(R.penalty(name, theta, 1.3), rel=1e-14)
    np.testing.assert_allclose(t.grad.numpy(), R.penalty_grad(name, theta, 1.3), rtol=1e-14)
    np.testing.assert_allclose(R.penalty_grad(name, t.detach(), 1.3).numpy(), R.penalty_grad(name, theta, 1.3))


def test_soft_threshold_is_the_proximal_step_of_l1():
    """S(v, t) = argmin_x (x - v)^2 / 2 + t |x|: compare with a brute-force minimum on a fine grid."""
    grid = np.linspace(-3, 3, 600001)  # spacing 1e-5
    for v, t in [(1.2, 0.5), (-2.0, 0.3), (0.2, 0.5), (-0.4, 0.4), (0.0, 0.1), (2.5, 0.0)]:
        brute = grid[np.argmin((grid - v) ** 2 / 2 + t * np.abs(grid))]
        assert R.soft_threshold(np.array(v), t) == pytest.approx(brute, abs=2e-5)
    v = np.array([-1.0, -0.3, 0.0, 0.29, 0.31, 2.0])
    out = R.soft_threshold(v, 0.3)
    np.testing.assert_allclose(out, [-0.7, 0, 0, 0, 0.01, 1.7], atol=1e-15)
    assert (out[1:4] == 0).all()  # exact zeros, not small numbers
    np.testing.assert_allclose(R.soft_threshold(torch.tensor(v), 0.3).numpy(), out, atol=1e-15)


def test_dropout_mask_is_the_slides():
    """U = (rand < p) / p: values 0 or 1/p, kept with probability p (binomial tolerance, 5 sigma)."""
    rng = np.random.default_rng(2)
    p, n = 0.3, 200_000
    u = R.dropout_mask((n,), p, rng)
    assert set(np.unique(u)) == {0.0, 1 / p}
    kept = (u > 0).mean()
    assert abs(kept - p) < 5 * math.sqrt(p * (1 - p) / n)
    gen = torch.Generator().manual_seed(0)
    ut = R.dropout_mask((n,), p, gen)
    values = torch.unique(ut).tolist()
    assert len(values) == 2 and values[0] == 0.0 and values[1] == pytest.approx(1 / p, rel=1e-7)
    assert R.dropout_mask((1000,), 1.0, rng).min() == 1.0  # p = 1 keeps everything: no dropout


def mean_dropout_z(h: np.ndarray, p: float, samples: int, scale: bool, rng) -> float:
    """z of sum(mean over samples of dropout(h) - h): its standard error is sqrt(sum h^2 (1 - p) / (p S))."""
    total = np.zeros_like(h)
    for _ in range(samples):
        u = R.dropout_mask(h.shape, p, rng) if scale else (rng.random(h.shape) < p)
        total += h * u
    se = math.sqrt((h**2).sum() * (1 - p) / (p * samples))
    return float((total / samples - h).sum() / se)


@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_dropout_keeps_the_expectation(p):
    """E[dropout(h)] = h: statistical; the tolerance (5 standard errors) comes from the sample size.

    Only chance flips it (probability about 6e-7 per draw); the seed is fixed so the test is repeatable.
    Without the 1/p scaling, E = p h, and the same statistic is far beyond the tolerance.
    """
    rng = np.random.default_rng(3)
    h = np.abs(rng.standard_normal((64, 32)))  # like activations after ReLU
    assert abs(mean_dropout_z(h, p, 400, True, rng)) < 5
    assert abs(mean_dropout_z(h, p, 400, False, rng)) > 50


def test_stack_matches_a_plain_mlp_and_torch_weight_decay():
    """Network k of a Stack is the MLP of its weights; an l2 step is torch.optim.SGD with weight_decay 2 lambda."""
    torch.manual_seed(0)
    members = [Member("l2", 0.05, 1.0, 0), Member("none", 0.0, 1.0, 1)]
    gens = [torch.Generator().manual_seed(i) for i in range(2)]
    stack = Stack([5, 7, 3], members, "tanh", 1.0, "prox", gens)
    X = torch.randn(2, 4, 5)
    out = stack.forward(X)
    for k in range(2):
        ref = torch.tanh(X[k] @ stack.W[0][k] + stack.b[0][k]) @ stack.W[1][k] + stack.b[1][k]
        torch.testing.assert_close(out[k], ref, rtol=1e-6, atol=1e-6)
    # The same step through torch.optim for network 0 (lambda 0.05 -> weight_decay 0.1 on the weights only).
    params = [stack.W[0][0].detach().clone().requires_grad_(True), stack.b[0][0].detach().clone().requires_grad_(True),
              stack.W[1][0].detach().clone().requires_grad_(True), stack.b[1][0].detach().clone().requires_grad_(True)]
    opt = torch.optim.SGD([{"params": [params[0], params[2]], "weight_decay": 0.1},
                           {"params": [params[1], params[3]], "weight_decay": 0.0}], lr=0.3)
    y = torch.randn(2, 4, 3)
    ref_loss = ((torch.tanh(X[0] @ params[0] + params[1]) @ params[2] + params[3] - y[0]) ** 2).mean()
    ref_loss.backward()
    opt.step()
    stack.step(((stack.forward(X) - y) ** 2).mean((1, 2)).sum(), lr=0.3)
    for mine, ref in zip([stack.W[0][0], stack.b[0][0], stack.W[1][0], stack.b[1][0]], params, strict=True):
        torch.testing.assert_close(mine.detach(), ref.detach(), rtol=1e-5, atol=1e-6)


def test_stack_l1_prox_step_gives_exact_zeros_and_subgradient_does_not():
    members = [Member("l1", 1.0, 1.0, 0)]
    X, y = torch.randn(1, 8, 4), torch.randn(1, 8, 1)
    for step, expect_zeros in (("prox", True), ("subgradient", False)):
        stack = Stack([4, 6, 1], members, "relu", 1.0, step, [torch.Generator().manual_seed(0)])
        before = [W.detach().clone() for W in stack.W]
        loss = ((stack.forward(X) - y) ** 2).mean((1, 2)).sum()
        grads = torch.autograd.grad(loss, stack.W, retain_graph=True)
        stack.step(loss, lr=0.05)
        for W, W0, g in zip(stack.W, before, grads, strict=True):
            if step == "prox":  # theta <- S(theta - eta grad J, eta lambda)
                torch.testing.assert_close(W.detach(), R.soft_threshold(W0 - 0.05 * g, 0.05), rtol=0, atol=1e-7)
        zeros = sum(int((W == 0).sum()) for W in stack.W)
        assert (zeros > 0) == expect_zeros, (step, zeros)


@pytest.mark.parametrize("l1_step", ["prox", "subgradient"])
def test_in_place_step_is_the_reference_step_bit_for_bit(l1_step):
    """Stack.step (in place, reused scratch) against reference_step (the formulas out of place): equal exactly,
    over many steps of every method at once, dropout included (the same masks from equally seeded generators)."""
    members = [Member("none", 0.0, 1.0, r) for r in range(2)] + [Member("dropout", 0.0, 0.5, 1)]
    members += [Member(m, lam, 1.0, r) for m in ("l2", "l1", "elastic") for lam in (1e-3, 1e-1) for r in range(2)]

    def make():
        return Stack([6, 8, 5, 3], members, "relu", 10.0, l1_step,
                     [torch.Generator().manual_seed(k) for k in range(len(members))])

    fast, ref = make(), make()
    X, y = torch.randn(len(members), 12, 6), torch.randn(len(members), 12, 3)
    g_fast, g_ref = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    for _ in range(50):
        fast.step(((fast.forward(X, g_fast) - y) ** 2).mean((1, 2)).sum(), lr=0.2)
        ref.reference_step(((ref.forward(X, g_ref) - y) ** 2).mean((1, 2)).sum(), lr=0.2)
    for a, b in zip(fast.W + fast.b, ref.W + ref.b, strict=True):
        assert torch.equal(a, b)
    zeros = sum(int((W == 0).sum()) for W in fast.W)
    assert (zeros > 0) == (l1_step == "prox")


def test_block_is_a_view_of_the_stack_networks():
    members = [Member("l2", 0.01, 1.0, r) for r in range(4)]
    stack = Stack([5, 7, 3], members, "tanh", 1.0, "prox", [torch.Generator().manual_seed(k) for k in range(4)])
    X = torch.randn(4, 6, 5)
    sub = stack.block(1, 3)
    assert sub.W[0].data_ptr() == stack.W[0][1].data_ptr()  # a view, not a copy
    assert torch.equal(sub.forward(X[1:3]), stack.forward(X)[1:3].detach())


def test_in_place_dropout_mask_is_the_formula():
    """The tensor-p fast path (u <- (u < p) * (1/p) in place) draws and scales exactly like (rand < p) / p."""
    p = torch.tensor([0.5, 0.3, 0.9]).view(3, 1, 1)
    fast = R.dropout_mask((3, 40, 7), p, torch.Generator().manual_seed(4))
    u = torch.rand((3, 40, 7), generator=torch.Generator().manual_seed(4))
    assert torch.equal(fast, (u < p) / p)
    double = R.dropout_mask((3, 4, 7), p.double(), torch.Generator().manual_seed(4))  # other dtypes: the formula
    assert double.dtype == torch.float64
