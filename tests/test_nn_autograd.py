"""Golden tests of the from-scratch engine (nnlab.nn.autograd): against torch autograd in float64
(rtol 1e-12: both sides evaluate the same formulas up to a few roundings) and against central finite
differences (rtol 1e-6), including the kinks, where the engine takes torch's subgradient."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from nnlab.nn import autograd
from nnlab.nn.autograd import Tensor

RTOL = 1e-12


def grads_both(fn_engine, fn_torch, *arrays):
    """Value and gradients of sum(fn(*arrays) * upstream) in the engine and in torch."""
    upstream = None
    ts = [Tensor(a, requires_grad=True) for a in arrays]
    out = fn_engine(*ts)
    upstream = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(upstream)
    tt = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    ref = fn_torch(*tt)
    ref.backward(torch.from_numpy(upstream))
    return out.data, [t.grad for t in ts], ref.detach().numpy(), [t.grad.numpy() for t in tt]


def assert_same(fn_engine, fn_torch, *arrays, rtol=RTOL):
    v, g, rv, rg = grads_both(fn_engine, fn_torch, *arrays)
    np.testing.assert_allclose(v, rv, rtol=rtol, atol=1e-300)
    for a, b in zip(g, rg, strict=True):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-15)


def test_the_slide_example_adjoint_by_adjoint():
    x, y, z = (Tensor(v, requires_grad=True) for v in (1.0, 2.0, 4.0))
    u = x**2
    v = u + y
    w = z * v
    r = w**2
    r.backward()
    assert (u.item(), v.item(), w.item(), r.item()) == (1.0, 3.0, 12.0, 144.0)
    assert (r.grad, w.grad, v.grad, u.grad) == (1.0, 24.0, 96.0, 96.0)  # dr/dw = 2w, dr/dv = z dr/dw, ...
    assert (x.grad, y.grad, z.grad) == (192.0, 96.0, 72.0)


RNG = np.random.default_rng(0)
A, B = RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4))
POS = RNG.uniform(0.2, 3.0, (3, 4))

BINARY = {  # name: (engine, torch, operands) with broadcasting: (3, 4) against (4,), (3, 1) and a scalar
    "add": (lambda a, b: a + b, lambda a, b: a + b, (A, B[0])),
    "sub": (lambda a, b: a - b, lambda a, b: a - b, (A, B[:, :1])),
    "mul": (lambda a, b: a * b, lambda a, b: a * b, (A, B)),
    "div": (lambda a, b: a / b, lambda a, b: a / b, (A, POS[0])),
    "rdiv-const": (lambda a: 2.0 / a, lambda a: 2.0 / a, (POS,)),
    "pow-const": (lambda a: a**3, lambda a: a**3.0, (A,)),
    "pow-frac": (lambda a: a**0.5, lambda a: a**0.5, (POS,)),
    "pow-tensor": (lambda a, b: a**b, lambda a, b: a**b, (POS, B)),
    "rpow": (lambda a: 2.0**a, lambda a: 2.0**a, (A,)),
    "neg": (lambda a: -a, lambda a: -a, (A,)),
    "rsub": (lambda a: 1.0 - a, lambda a: 1.0 - a, (A,)),
    "scalar-broadcast": (lambda a, s: a * s + s, lambda a, s: a * s + s, (A, np.array(1.5))),
    "matmul": (lambda a, b: a @ b, lambda a, b: a @ b, (A, B.T)),
    "sum-axis0": (lambda a: a.sum(axis=0), lambda a: a.sum(dim=0), (A,)),
    "sum-keep": (lambda a: a.sum(axis=1, keepdims=True), lambda a: a.sum(dim=1, keepdim=True), (A,)),
    "mean": (lambda a: a.mean(), lambda a: a.mean(), (A,)),
    "mean-axis": (lambda a: a.mean(axis=1), lambda a: a.mean(dim=1), (A,)),
    "log_softmax": (lambda a: a.log_softmax(-1), lambda a: a.log_softmax(-1), (A * 30,)),
    "exp": (lambda a: a.exp(), torch.exp, (A,)),
    "log": (lambda a: a.log(), torch.log, (POS,)),
    "relu": (lambda a: a.relu(), torch.relu, (A,)),
    "sigmoid": (lambda a: a.sigmoid(), torch.sigmoid, (A * 10,)),
    "tanh": (lambda a: a.tanh(), torch.tanh, (A * 3,)),
    "leaky_relu": (lambda a: a.leaky_relu(0.1), lambda a: F.leaky_relu(a, 0.1), (A,)),
    "gelu": (lambda a: a.gelu(), lambda a: F.gelu(a, approximate="none"), (A * 2,)),
    "softplus": (lambda a: a.softplus(), lambda a: torch.logaddexp(torch.zeros_like(a), a), (A * 5,)),
    "softplus-beta": (lambda a: a.softplus(2.0), lambda a: torch.logaddexp(torch.zeros_like(a), 2 * a) / 2, (A,)),
}


@pytest.mark.parametrize("name", list(BINARY))
def test_every_operation_matches_torch(name):
    fe, ft, arrays = BINARY[name]
    assert_same(fe, ft, *arrays)


def test_cross_entropy_matches_torch():
    logits = RNG.standard_normal((6, 5)) * 4
    labels = np.array([0, 4, 2, 2, 1, 3])
    t = Tensor(logits, requires_grad=True)
    loss = autograd.cross_entropy(t, labels)
    loss.backward()
    tt = torch.tensor(logits, requires_grad=True)
    ref = F.cross_entropy(tt, torch.from_numpy(labels))
    ref.backward()
    assert loss.item() == pytest.approx(ref.item(), rel=RTOL)
    np.testing.assert_allclose(t.grad, tt.grad.numpy(), rtol=RTOL, atol=1e-16)


def test_a_small_mlp_matches_torch_and_finite_differences():
    rng = np.random.default_rng(3)
    x, W1, b1, W2 = rng.standard_normal((5, 4)), rng.standard_normal((4, 6)), rng.standard_normal(6), \
        rng.standard_normal((6, 3))
    labels = np.array([0, 2, 1, 1, 0])

    def f_engine(W1, b1, W2):
        return autograd.cross_entropy((Tensor(x) @ W1 + b1).tanh() @ W2, labels)

    def f_torch(W1, b1, W2):
        return F.cross_entropy((torch.from_numpy(x) @ W1 + b1).tanh() @ W2, torch.from_numpy(labels))

    assert_same(f_engine, f_torch, W1, b1, W2)
    params = [Tensor(a, requires_grad=True) for a in (W1, b1, W2)]
    f_engine(*params).backward()
    for i, p in enumerate(params):  # central differences on every entry, h = 1e-6
        fd = np.zeros_like(p.data)
        for idx in np.ndindex(p.data.shape):
            vals = []
            for sign in (1, -1):
                arrays = [q.data.copy() for q in params]
                arrays[i][idx] += sign * 1e-6
                with autograd.no_grad():
                    vals.append(f_engine(*(Tensor(a) for a in arrays)).item())
            fd[idx] = (vals[0] - vals[1]) / 2e-6
        np.testing.assert_allclose(p.grad, fd, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize(("op", "torch_op", "expected"), [
    (lambda t: t.relu(), torch.relu, 0.0),                                    # relu'(0) = 0
    (lambda t: t.leaky_relu(0.1), lambda t: F.leaky_relu(t, 0.1), 0.1),      # leaky_relu'(0) = gamma
    (lambda t: t**0, lambda t: t**0.0, 0.0),                                 # d(a^0)/da = 0 even at 0
    (lambda t: t**2, lambda t: t**2.0, 0.0),
])
def test_kinks_take_torchs_subgradient(op, torch_op, expected):
    t = Tensor(0.0, requires_grad=True)
    op(t).backward()
    tt = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
    torch_op(tt).backward()
    assert t.grad == tt.grad.item() == expected


def test_finite_differences_disagree_at_a_kink_and_agree_beside_it():
    """relu at 0: the subgradient 0 against the central difference 0.5 (the average slope)."""
    def central(x, h=1e-6):
        with autograd.no_grad():
            return (Tensor(x + h).relu().item() - Tensor(x - h).relu().item()) / (2 * h)

    for x, grad in ((0.0, 0.0), (0.3, 1.0), (-0.3, 0.0)):
        t = Tensor(x, requires_grad=True)
        t.relu().backward()
        assert t.grad == grad
    assert central(0.0) == pytest.approx(0.5, rel=1e-12)
    assert central(0.3) == pytest.approx(1.0, rel=1e-9)


def test_zero_base_exponent_gradient_follows_torch():
    """d(a^b)/db = a^b log a is 0 where a == 0 and b >= 0 (torch masks the 0 * -inf)."""
    a, b = Tensor(0.0, requires_grad=True), Tensor(2.0, requires_grad=True)
    (a**b).backward()
    ta = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    (ta**tb).backward()
    assert (a.grad, b.grad) == (ta.grad.item(), tb.grad.item()) == (0.0, 0.0)


def test_a_node_used_twice_accumulates_its_adjoint():
    x = Tensor(3.0, requires_grad=True)
    u = x * x          # du/dx = 2x, through both parents being x
    r = u * u + u      # dr/du = 2u + 1
    r.backward()
    assert u.grad == 2 * 9 + 1
    assert x.grad == (2 * 9 + 1) * 6


def test_no_grad_builds_no_graph_and_retained_bytes_count_intermediates():
    x = Tensor(np.ones((4, 8)), requires_grad=True)
    with autograd.no_grad():
        y = (x * 2).tanh()
    assert not y.requires_grad and y.parents == ()
    y = (x * 2).tanh().sum()                 # intermediates: x*2 (4x8), tanh (4x8), the sum (scalar)
    assert autograd.retained_bytes(y) == 8 * (32 + 32 + 1)
    const = Tensor(np.ones(3)) * 2
    assert not const.requires_grad           # no operand needs a gradient: no graph either


def test_a_deep_graph_needs_no_recursion():
    x = Tensor(1.0, requires_grad=True)
    h = x
    for _ in range(3000):  # recursion would fail past ~1000
        h = h * 1.0 + 0.0
    h.backward()
    assert x.grad == 1.0
    assert len(autograd.topological_order(h)) == 1 + 2 * 3000 + 2 * 3000  # x, 2 ops and 2 constants each


def test_local_derivatives_restore_the_adjoints():
    x, y = Tensor(2.0, requires_grad=True), Tensor(5.0, requires_grad=True)
    w = x * y
    r = w**2
    r.backward()
    before = (x.grad, y.grad, w.grad)
    assert autograd.local_derivatives(w) == {id(x): 5.0, id(y): 2.0}
    assert autograd.local_derivatives(r) == {id(w): 20.0}
    assert (x.grad, y.grad, w.grad) == before
