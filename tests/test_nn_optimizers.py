"""Golden tests: the lecture's update rules against torch.optim (float64), and the landscapes' derivatives
against torch autograd.

What was measured (CPU, float64, the 5-D quadratic below, 150 steps):
- gd, heavy_ball (through b_k = -(x_k - x_{k-1}) / alpha), nesterov (torch's parameter is the lecture's
  y_k), and adagrad / rmsprop / adam with eps = 0 on both sides agree with torch.optim to round-off
  (max |difference| 3e-16 .. 1.3e-15; the tests allow 1e-12).
- With the lecture's 1e-7 inside the square root against torch's own defaults outside it (Adagrad
  1e-10, RMSprop 1e-8, Adam 1e-8), the trajectories differ by at most 1.7e-8 (AdaGrad, lr 0.3),
  4.5e-8 (RMSProp, lr 1e-3), 4.1e-8 (Adam, lr 0.05): a different algorithm, but barely.
- RMSProp at a constant lr of 0.01 ends in a bounded, sign-like bounce around the minimum (from about
  step 80 here) where even round-off grows to 1e-3 between two implementations of the same rule; the
  comparison uses lr 1e-3, which stays in the approach phase for 150 steps (differences 6e-17).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nnlab.nn import landscapes, optimizers

STEPS = 150
TOL = 1e-12  # round-off only: the same algorithm in a different order of operations


def problem(seed: int = 0):
    """f(x) = 1/2 x^T A x - b^T x with A symmetric positive definite, eigenvalues 0.5 .. 10 (5-D)."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    A = q @ np.diag(np.linspace(0.5, 10, 5)) @ q.T
    b = rng.standard_normal(5)
    x0 = rng.standard_normal(5) * 2
    return A, b, x0


def lecture_path(name: str, hyper: dict, seed: int = 0, steps: int = STEPS):
    """Points x_0..x_steps and the gradient points (y_k for Nesterov) under the lecture's rule, in numpy."""
    A, b, x0 = problem(seed)
    x, state, xs, probes = x0.copy(), {}, [x0.copy()], []
    for _ in range(steps):
        p = optimizers.gradient_point(name, x, state, **hyper)
        probes.append(p)
        x, state = optimizers.RULES[name](x, A @ p - b, state, **hyper)
        xs.append(x)
    return np.array(xs), np.array(probes)


def torch_path(make_opt, seed: int = 0, steps: int = STEPS):
    """Parameters p_0..p_steps under a torch optimizer, and its state after each step."""
    A, b, x0 = (torch.from_numpy(a) for a in problem(seed))
    p = x0.clone().requires_grad_(True)
    opt = make_opt([p])
    ps, states = [p.detach().clone()], []
    for _ in range(steps):
        opt.zero_grad()
        loss = 0.5 * p @ A @ p - b @ p
        loss.backward()
        opt.step()
        ps.append(p.detach().clone())
        states.append({k: v.clone() if torch.is_tensor(v) else v for k, v in opt.state[p].items()})
    return torch.stack(ps).numpy(), states


def test_gd_is_torch_sgd():
    ours, _ = lecture_path("gd", {"lr": 0.15})
    theirs, _ = torch_path(lambda ps: torch.optim.SGD(ps, lr=0.15))
    assert np.abs(ours - theirs).max() < TOL


def test_heavy_ball_is_torch_momentum_after_change_of_variables():
    """torch: b_{k+1} = beta b_k + g_k, x_{k+1} = x_k - alpha b_{k+1}.  With b_k = -(x_k - x_{k-1}) / alpha
    this is x_{k+1} = x_k + beta (x_k - x_{k-1}) - alpha g_k, the lecture's y_k - alpha grad f(x_k)."""
    lr, beta = 0.05, 0.9
    ours, _ = lecture_path("heavy_ball", {"lr": lr, "beta": beta})
    theirs, states = torch_path(lambda ps: torch.optim.SGD(ps, lr=lr, momentum=beta, dampening=0))
    assert np.abs(ours - theirs).max() < TOL
    buffers = np.array([s["momentum_buffer"].numpy() for s in states])  # b_1 .. b_steps
    assert np.abs(buffers - -(ours[1:] - ours[:-1]) / lr).max() < 1e-9  # /alpha magnifies round-off 20x


def test_nesterov_torch_parameter_is_lectures_y():
    """torch nesterov=True: b_{k+1} = beta b_k + g(p_k), p_{k+1} = p_k - alpha (g(p_k) + beta b_{k+1}).
    With p_k = y_k = x_k + beta (x_k - x_{k-1}) and b_k = -(x_k - x_{k-1}) / alpha this is the lecture's
    x_{k+1} = y_k - alpha grad f(y_k) written for y: torch iterates the look-ahead points."""
    lr, beta = 0.05, 0.9
    xs, ys = lecture_path("nesterov", {"lr": lr, "beta": beta})
    theirs, states = torch_path(lambda ps: torch.optim.SGD(ps, lr=lr, momentum=beta, nesterov=True))
    assert np.abs(ys - theirs[:-1]).max() < TOL  # y_k = p_k for k = 0..steps-1
    y_last = xs[-1] + beta * (xs[-1] - xs[-2])
    assert np.abs(y_last - theirs[-1]).max() < TOL
    buffers = np.array([s["momentum_buffer"].numpy() for s in states])
    assert np.abs(buffers - -(xs[1:] - xs[:-1]) / lr).max() < 1e-9
    # ... and the two sequences really differ (x_k is not p_k), so the test above says something.
    assert np.abs(xs[1:] - theirs[1:]).max() > 1e-3


@pytest.mark.parametrize("name, hyper, make", [
    ("adagrad", {"lr": 0.3}, lambda ps: torch.optim.Adagrad(ps, lr=0.3, eps=0.0)),
    ("rmsprop", {"lr": 1e-3, "beta": 0.9}, lambda ps: torch.optim.RMSprop(ps, lr=1e-3, alpha=0.9, eps=0.0)),
    ("adam", {"lr": 0.05, "beta1": 0.9, "beta2": 0.999},
     lambda ps: torch.optim.Adam(ps, lr=0.05, betas=(0.9, 0.999), eps=0.0)),
])
def test_adaptive_rules_are_torch_with_eps_zero(name, hyper, make):
    """sqrt(s + eps) (lecture) and sqrt(s) + eps (torch) coincide at eps = 0; every gradient here is nonzero."""
    ours, _ = lecture_path(name, {**hyper, "eps": 0.0})
    theirs, _ = torch_path(make)
    assert np.abs(ours - theirs).max() < TOL


# Measured max |x_lecture - x_torch| over 150 steps, lecture's eps = 1e-7 inside the root vs torch's default
# eps outside it, with about a 3x margin. The gap is eps / (2 s) relative per step, largest when s is small.
EPS_GAP_BOUND = {"adagrad": 5e-8, "rmsprop": 1.5e-7, "adam": 1.5e-7}  # measured 1.7e-8, 4.5e-8, 4.1e-8


@pytest.mark.parametrize("name, hyper, make", [
    ("adagrad", {"lr": 0.3}, lambda ps: torch.optim.Adagrad(ps, lr=0.3)),
    ("rmsprop", {"lr": 1e-3, "beta": 0.9}, lambda ps: torch.optim.RMSprop(ps, lr=1e-3, alpha=0.9)),
    ("adam", {"lr": 0.05}, lambda ps: torch.optim.Adam(ps, lr=0.05)),
])
def test_epsilon_placement_difference_is_small_and_measured(name, hyper, make):
    ours, _ = lecture_path(name, hyper)  # eps = 1e-7 inside the square root, as on the slides
    theirs, _ = torch_path(make)
    gap = np.abs(ours - theirs).max()
    assert 1e-13 < gap < EPS_GAP_BOUND[name], gap  # different (not round-off), but small


def test_rules_run_on_torch_tensors_and_numpy_alike():
    A, b, x0 = problem(1)
    At, bt = torch.from_numpy(A), torch.from_numpy(b)
    for name in optimizers.NAMES:
        hyper = {"lr": 0.02, **{"beta": 0.8, "beta1": 0.9, "beta2": 0.999, "eps": 1e-7}}
        hyper = {k: v for k, v in hyper.items() if k == "lr" or k in optimizers.HYPER[name]}
        xn, sn = x0.copy(), {}
        xt, st = torch.from_numpy(x0.copy()), {}
        for _ in range(50):
            xn, sn = optimizers.step(name, xn, lambda p: A @ p - b, sn, **hyper)
            xt, st = optimizers.step(name, xt, lambda p: At @ p - bt, st, **hyper)
        assert isinstance(xt, torch.Tensor)
        assert np.abs(xn - xt.numpy()).max() < 1e-13, name


def test_adam_first_step_is_sign_like_and_state_is_not_mutated():
    """Bias correction: v^_1 = dx_0, s^_1 = dx_0^2, so x_1 = x_0 - alpha dx_0 / sqrt(dx_0^2 + 1e-7)."""
    x, g = np.array([1.0, -2.0]), np.array([3.0, -1e-4])
    state: dict = {}
    x1, new = optimizers.adam(x, g, state, lr=0.1)
    assert state == {}
    np.testing.assert_allclose(x1, x - 0.1 * g / np.sqrt(g * g + 1e-7), rtol=0, atol=1e-15)
    assert new["k"] == 1


def test_heavy_ball_written_out_by_hand():
    """Two steps of y_k = x_k + beta (x_k - x_{k-1}), x_{k+1} = y_k - alpha grad f(x_k) on f = x^2 / 2."""
    x0, lr, beta = np.array([1.0]), 0.1, 0.5
    x1, s = optimizers.heavy_ball(x0, x0, {}, lr=lr, beta=beta)     # x_{-1} = x_0: x_1 = 0.9
    x2, _ = optimizers.heavy_ball(x1, x1, s, lr=lr, beta=beta)      # y_1 = 0.9 - 0.05 = 0.85; x_2 = 0.85 - 0.09
    np.testing.assert_allclose([x1[0], x2[0]], [0.9, 0.76], rtol=0, atol=1e-15)


def test_epoch_batches_partition_each_epoch():
    rng = np.random.default_rng(0)
    gen = optimizers.epoch_batches(rng, 10, 4)
    for _ in range(3):  # epochs
        batches = [next(gen) for _ in range(3)]
        assert [len(b) for b in batches] == [4, 4, 2]
        assert sorted(np.concatenate(batches).tolist()) == list(range(10))


@pytest.mark.parametrize("name", landscapes.PROBLEMS_2D)
def test_landscape_gradient_and_hessian_match_autograd(name):
    land = landscapes.get(name, kappa=7.0)
    rng = np.random.default_rng(0)
    for x, y in rng.uniform(-2, 2, size=(5, 2)):
        p = torch.tensor([x, y], dtype=torch.float64, requires_grad=True)
        (g,) = torch.autograd.grad(land.value(p[0], p[1]), p)
        H = torch.autograd.functional.hessian(lambda q: land.value(q[0], q[1]), p.detach())
        np.testing.assert_allclose(land.gradient(np.array([x, y])), g.numpy(), rtol=1e-12, atol=1e-10)
        np.testing.assert_allclose(land.hessian(x, y), H.numpy(), rtol=1e-12, atol=1e-10)


def test_landscape_minima_are_where_the_docstring_says():
    for name, point in [("quadratic", (0, 0)), ("rosenbrock", (1, 1)), ("saddle", (0, 1)), ("nonconvex", (0, 0))]:
        land = landscapes.get(name)
        assert abs(land.f(np.array(point, float)) - land.minimum) < 1e-15
        assert np.abs(land.gradient(np.array(point, float))).max() < 1e-15
        assert np.linalg.eigvalsh(land.hessian(*map(float, point))).min() > 0
    saddle = landscapes.get("saddle")
    eig = np.linalg.eigvalsh(saddle.hessian(0.0, 0.0))
    assert eig.min() < 0 < eig.max()  # the origin is a saddle


def test_offsets_are_centred():
    c = landscapes.offsets(np.random.default_rng(0), 64, 2.0)
    assert c.shape == (64, 2)
    assert np.abs(c.mean(axis=0)).max() < 1e-15
    assert 1.5 < c.std() < 2.5
