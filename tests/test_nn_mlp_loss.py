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


# ----------------------------------------------------------------------------------------------------
# The batched forms (many runs in one tensor op) against the one-run functions above, float64


def batched_problem(R: int = 3, n: int = 30, n_in: int = 12, hidden: int = 5, classes: int = 4):
    """R parameter rows of a n_in-hidden-classes network; X has two columns that are 0 in every row (cols)."""
    g = torch.Generator().manual_seed(3)
    X = torch.rand(n, n_in, generator=g, dtype=torch.float64)
    X[:, [0, 3]] = 0
    y = torch.randint(0, classes, (n,), generator=g)
    shapes = mlp_loss.mlp_shapes(n_in, hidden, classes=classes)
    thetas = torch.randn(R, sum(math.prod(s) for s in shapes), generator=g, dtype=torch.float64)
    cols = (X != 0).any(0).nonzero().squeeze(1)
    return X, y, shapes, thetas, cols, g


def test_batched_losses_are_the_one_run_loss_row_by_row():
    X, y, shapes, thetas, cols, g = batched_problem()
    one = torch.stack([mlp_loss.mlp_loss(t, shapes, X, y) for t in thetas])
    assert (mlp_loss.mlp_losses(thetas, shapes, X[:, cols], y, cols) - one).abs().max() < 1e-14
    assert (mlp_loss.mlp_losses(thetas, shapes, X, y) - one).abs().max() < 1e-14
    idx = torch.randint(0, len(y), (len(thetas), 7), generator=g)
    one = torch.stack([mlp_loss.mlp_loss(t, shapes, X[i], y[i]) for t, i in zip(thetas, idx, strict=True)])
    assert (mlp_loss.mlp_batch_losses(thetas, shapes, X[:, cols][idx], y[idx], cols) - one).abs().max() < 1e-14


def test_closed_form_backward_is_autograds_gradient():
    X, y, shapes, thetas, cols, g = batched_problem()
    idx = torch.randint(0, len(y), (len(thetas), 7), generator=g)
    for Xs, ys, hidden in ((X[:, cols], y.expand(len(thetas), -1), mlp_loss.hidden_shared),
                           (X[:, cols][idx], y[idx], mlp_loss.hidden_batch)):
        t = thetas.clone().requires_grad_(True)
        J = mlp_loss.cross_entropies(mlp_loss.head(hidden(t, shapes, Xs, cols), t, shapes)[1], ys)
        (expected,) = torch.autograd.grad(J.sum(), t)
        T, Z2 = mlp_loss.head(hidden(thetas, shapes, Xs, cols), thetas, shapes)
        G, dZ1 = mlp_loss.backward(thetas, shapes, Xs, ys, T, Z2, cols)
        assert (G - expected).abs().max() < 1e-14
        W1 = G[:, :math.prod(shapes[0])].reshape(len(thetas), *shapes[0])
        assert (W1[:, [0, 3]] == 0).all()  # the dropped pixels: exactly 0, as with their zero inputs


def test_the_loss_bound_is_an_upper_bound_and_refuses_what_might_overflow():
    X, y, shapes, thetas, cols, _ = batched_problem(R=20)
    thetas = thetas * torch.logspace(-2, 2, 20, dtype=torch.float64)[:, None]
    bound = mlp_loss.bound_loss(thetas, shapes, float(X.abs().sum(1).max()), classes=4)
    assert (mlp_loss.mlp_losses(thetas, shapes, X, y) <= bound).all()
    bad = thetas[:3].clone()
    bad[0, 0], bad[1, -1], bad[2, 0] = float("nan"), float("inf"), 1e35  # W1, b2, a W1 that could overflow
    assert not (mlp_loss.bound_loss(bad, shapes, 12.0, classes=4) < 1e30).any()


def test_batched_power_iteration_and_perturbations_are_the_one_run_ones():
    X, y, shapes, thetas, cols, _ = batched_problem()
    one = [mlp_loss.top_eigenvalue(lambda t: mlp_loss.mlp_loss(t, shapes, X, y), t,
                                   torch.Generator().manual_seed(5), iters=50) for t in thetas]
    V = torch.stack([torch.randn(thetas.shape[1], generator=torch.Generator().manual_seed(5), dtype=torch.float64)
                     for _ in thetas])
    many = mlp_loss.top_eigenvalues(lambda t: mlp_loss.mlp_losses(t, shapes, X[:, cols], y, cols), thetas, V, 50)
    assert max(abs(a - b) for a, b in zip(one, many, strict=True)) < 1e-10
    for t in thetas:
        rise = mlp_loss.perturbed_increase(lambda p: mlp_loss.mlp_loss(p, shapes, X, y), t, shapes,
                                           torch.Generator().manual_seed(6))
        D = mlp_loss.perturbations(t, shapes, torch.Generator().manual_seed(6))
        J = mlp_loss.mlp_losses(torch.cat([t[None], t + D]), shapes, X, y).tolist()
        assert abs(sum(v - J[0] for v in J[1:]) / len(D) - rise) < 1e-14


# ----------------------------------------------------------------------------------------------------
# Lockstep training (nnlab/commands/optimize/mlp_train.py) against one run at a time


def one_run(method, hp, theta0, shapes, X, y, batch_size, steps, rng):
    """The trainer as it was, one run alone with autograd: (theta, losses, diverged_step)."""
    from nnlab.commands.optimize.settings import DIVERGE_FACTOR
    from nnlab.nn import optimizers

    batches = optimizers.epoch_batches(rng, len(y), batch_size) if batch_size else None

    def loss_on(theta, idx):
        return mlp_loss.mlp_loss(theta, shapes, X, y) if idx is None else mlp_loss.mlp_loss(theta, shapes, X[idx],
                                                                                              y[idx])

    def grad_fn(point):
        idx = None if batches is None else torch.as_tensor(next(batches))
        point = point.detach().requires_grad_(True)
        return torch.autograd.grad(loss_on(point, idx), point)[0]

    theta, state, losses = theta0.clone(), {}, [float(loss_on(theta0, None))]
    for k in range(steps):
        theta, state = optimizers.step(method, theta, grad_fn, state, **hp)
        loss = float(loss_on(theta, None))
        if not math.isfinite(loss) or loss > DIVERGE_FACTOR * max(1.0, losses[0]):
            return theta, losses, k + 1
        losses.append(loss)
    return theta, losses, None


def lockstep_problem(n: int = 120, n_in: int = 40):
    g = torch.Generator().manual_seed(7)
    X = torch.rand(n, n_in, generator=g, dtype=torch.float64) * (torch.rand(n, n_in, generator=g) < 0.3)
    X[:, :4] = 0  # never-lit pixels, as MNIST's border
    y = torch.randint(0, 10, (n,), generator=g)
    shapes = mlp_loss.mlp_shapes(n_in, 6)
    theta0 = mlp_loss.mlp_init(shapes, g, torch.float64, "cpu")
    return X, y, shapes, theta0


# gd at lr 1 reaches the edge of stability on this problem after ~200 steps, where round-off grows to 0.08
# between two correct implementations (measured); at 0.3 every method agrees to 1e-14 over 250 steps.
HP = {"gd": {"lr": 0.3}, "sgd": {"lr": 0.3}, "heavy_ball": {"lr": 0.1, "beta": 0.9},
      "nesterov": {"lr": 0.1, "beta": 0.9}, "adagrad": {"lr": 0.1, "eps": 1e-7},
      "rmsprop": {"lr": 3e-3, "beta": 0.9, "eps": 1e-7}, "adam": {"lr": 0.01, "beta1": 0.9, "beta2": 0.999,
                                                                  "eps": 1e-7}}


def test_lockstep_training_is_every_run_alone():
    """Every method (gd on the full batch, the others on batches of 8, sgd / heavy_ball / nesterov through their
    tracked pre-activations across two resyncs), a nesterov on the full batch, and two runs that diverge (lr 1e9),
    one of them not recorded: the same paths, losses and divergence steps as one run at a time, float64 (1e-9)."""
    import numpy as np

    from nnlab.commands.optimize import mlp_train

    X, y, shapes, theta0 = lockstep_problem()
    data = mlp_train.Data(shapes, X, y)
    plan = [(m, hp, None if m == "gd" else 8, 250, True) for m, hp in HP.items()]
    plan += [("nesterov", HP["nesterov"], None, 40, True), ("sgd", {"lr": 1e9}, 8, 30, True),
             ("sgd", {"lr": 1e9}, 8, 30, False), ("sgd", HP["sgd"], 16, 70, False)]
    specs = [mlp_train.Spec(m, hp, np.random.default_rng(i), bs, steps, rec)
             for i, (m, hp, bs, steps, rec) in enumerate(plan)]
    assert sum(mlp_train.tracks(s, data) for s in specs) == 4
    paths = mlp_train.train(specs, theta0, data)
    for i, ((m, hp, bs, steps, rec), p) in enumerate(zip(plan, paths, strict=True)):
        theta, losses, div = one_run(m, hp, theta0, shapes, X, y, bs, steps, np.random.default_rng(i))
        assert p.diverged == div, (i, m)
        assert p.steps_run == len(losses) - 1
        expected = losses if rec else [losses[0], losses[-1]] if div is None else losses[:1]
        assert len(p.losses) == len(expected), (i, m)
        assert max(abs(a - b) / max(1.0, abs(b)) for a, b in zip(p.losses, expected, strict=True)) < 1e-9, (i, m)
        if div is None:
            assert (p.theta - theta).abs().max() < 1e-9, (i, m)
    assert paths[-3].diverged is not None and paths[-3].diverged == paths[-2].diverged


def test_tracked_pre_activations_drift_little_in_float32(monkeypatch):
    """float32, 300 steps of batch 8: losses through the tracked images Z1(x_k) against direct X W1 (tracking
    off). Measured max relative difference 3.6e-6 (the same without the resyncs); allowed 1e-4."""
    import numpy as np

    from nnlab.commands.optimize import mlp_train

    X, y, shapes, theta0 = lockstep_problem()
    X, theta0 = X.float(), theta0.float()
    data = mlp_train.Data(shapes, X, y)

    def losses():
        specs = [mlp_train.Spec(m, HP[m], np.random.default_rng(i), 8, 300) for i, m in enumerate(mlp_train.LINEAR)]
        return [p.losses for p in mlp_train.train(specs, theta0, data)]

    tracked = losses()
    monkeypatch.setattr(mlp_train, "GRAM_MAX", 0)
    direct = losses()
    worst = max(abs(a - b) / b for t, d in zip(tracked, direct, strict=True) for a, b in zip(t, d, strict=True))
    assert worst < 1e-4, worst
