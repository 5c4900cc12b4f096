"""Golden tests: nnlab.nn.approximation against direct solutions (lstsq, numpy's Chebyshev, the definitions)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from numpy.polynomial import chebyshev

from nnlab.nn import activations
from nnlab.nn import approximation as ap
from nnlab.nn import approximation_theory as at
from nnlab.nn.approximation_train import train_width


def ridge_solution(phi: np.ndarray, y: np.ndarray, lam: float) -> np.ndarray:
    """argmin |phi w - y|^2 + lam |w[1:]|^2 by lstsq on the augmented matrix (the reference)."""
    k = phi.shape[1]
    reg = math.sqrt(lam) * np.eye(k)[1:]
    return np.linalg.lstsq(np.vstack([phi, reg]), np.concatenate([y, np.zeros((k - 1, y.shape[1]))]), rcond=None)[0]


def test_nested_lstsq_solves_every_width_like_separate_ridge_problems():
    rng = np.random.default_rng(0)
    S, n, P, T = 2, 200, 41, 3
    phi = np.concatenate([np.ones((S, n, 1)), rng.standard_normal((S, n, P - 1))], axis=2)
    y = rng.standard_normal((S, n, T))
    sizes, ridge = [1, 2, 5, 17, 41], 1e-3
    coefs = ap.nested_lstsq(torch.from_numpy(phi), torch.from_numpy(y), sizes, ridge).numpy()
    for s in range(S):
        lam = ridge * np.mean(np.sum(phi[s, :, 1:] ** 2, axis=0))
        for j, k in enumerate(sizes):
            # Well-conditioned Gaussian features: the two factorisations agree to ~1e-13; 1e-10 leaves room.
            np.testing.assert_allclose(coefs[s, :k, j], ridge_solution(phi[s, :, :k], y[s], lam), rtol=1e-10,
                                       atol=1e-12)
            assert np.all(coefs[s, k:, j] == 0)


def test_features_fit_of_a_linear_target_is_exact_to_rounding():
    # relu units whose kinks lie outside the cube are affine on it, so d of them and the bias span every
    # linear target: least squares must then reproduce it up to rounding (and the tiny ridge).
    rng = np.random.default_rng(1)
    d, n = 3, 400
    x = rng.random((1, n, d))
    w = rng.standard_normal((1, d, 16))
    b = np.maximum(-w, 0).sum(axis=1) + 0.01  # w.x + b >= 0.01 on [0, 1]^d
    target = ap.get_target("linear", d)
    y = target.fn(x)[..., None]
    t = torch.from_numpy
    phi = ap.hidden(activations.get("relu"), t(x), t(w), t(b))
    coefs = ap.nested_lstsq(phi, t(y), [9, 17], ridge=1e-14)  # 8 and 16 units, the first 3 would do
    x_test = rng.random((1, 1000, d))
    pred = ap.predict(ap.hidden(activations.get("relu"), t(x_test), t(w), t(b)), coefs).numpy()[0, :, :, 0]
    truth = target.fn(x_test[0])
    err = np.max(np.abs(pred - truth[:, None]))
    assert err < 1e-12, err  # |f| is about 1; measured ~5e-14 (normal equations, redundant features)


def test_chebyshev_basis_matches_numpy_and_is_nested():
    rng = np.random.default_rng(2)
    x = rng.random((30, 2))
    idx = ap.chebyshev_indices(2, 5)
    assert len(idx) == ap.n_terms(2, 5) == 21
    assert np.array_equal(idx[: ap.n_terms(2, 3)], ap.chebyshev_indices(2, 3))  # lower degrees are a prefix
    basis = ap.chebyshev_basis(x, idx)
    for col, (a, b) in enumerate(idx):
        ref = chebyshev.chebval(2 * x[:, 0] - 1, np.eye(6)[a]) * chebyshev.chebval(2 * x[:, 1] - 1, np.eye(6)[b])
        np.testing.assert_allclose(basis[:, col], ref, rtol=1e-12, atol=1e-12)


def test_gaussian_kernel_matches_the_definition():
    rng = np.random.default_rng(3)
    x, c = rng.random((2, 7, 3)), rng.random((2, 5, 3))
    k = ap.gaussian_kernel(torch.from_numpy(x), torch.from_numpy(c), 0.3).numpy()
    ref = np.exp(-np.sum((x[:, :, None] - c[:, None]) ** 2, -1) / (2 * 0.3**2))
    np.testing.assert_allclose(k[..., 1:], ref, rtol=1e-13)
    assert np.all(k[..., 0] == 1)


def test_bump_is_the_average_of_its_cosine_features():
    # f(x) = E cos(w.(x - c)), w ~ N(0, I / (s^2 d)): the spectrum is a probability density, so C_f = f(c) = 1.
    d, s = 4, ap.BUMP_WIDTH
    rng = np.random.default_rng(4)
    x = rng.random((5, d))
    w = rng.standard_normal((400_000, d)) / (s * math.sqrt(d))
    mc = np.cos((x - 0.5) @ w.T).mean(axis=1)
    np.testing.assert_allclose(ap.get_target("bump", d).fn(x), mc, atol=5e-3)  # MC std ~ 1/sqrt(4e5) = 1.6e-3
    assert ap.get_target("bump", d).fn(np.full((1, d), 0.5))[0] == 1.0


def test_batched_training_equals_training_one_network():
    rng = np.random.default_rng(5)
    xn = rng.random((2, 64, 2))
    x = torch.from_numpy(xn)
    y = torch.from_numpy(np.stack([t.fn(xn) for t in (ap.get_target(n, 2) for n in ("bump", "linear", "cosines"))], -1))
    w, b = ap.draw_features(rng, "tanh", 2, 8, 5.0, 2)
    act = activations.get("tanh")
    together = train_width(act, x, y, torch.from_numpy(w), torch.from_numpy(b), 100, 0.02)(x)
    alone = train_width(act, x[1:], y[1:, :, 2:], torch.from_numpy(w[1:]), torch.from_numpy(b[1:]), 100, 0.02)(x[1:])
    # Adam is elementwise and the loss a sum of per-network losses: batching changes only summation order
    # (training runs in float32: 100 steps of rounding differences stay below 1e-4).
    np.testing.assert_allclose(together[1:, :, :, 2:].numpy(), alone.numpy(), rtol=1e-4, atol=1e-5)
    before = (y - y.mean(dim=1, keepdim=True)).square().mean()
    assert float((together[:, :, 0] - y).square().mean()) < 0.5 * float(before)


def test_rates_helpers():
    widths = [4, 8, 16, 32, 64]
    assert at.loglog_slope(widths, [3.0 * w**-1.5 for w in widths]) == pytest.approx(-1.5, abs=1e-12)
    assert at.loglog_slope(widths, [1e-20] * 5, floor=1e-12) is None
    assert at.width_needed(widths, [1 / w for w in widths], 1 / 20) == pytest.approx(20, rel=1e-12)
    assert at.width_needed(widths, [1.0] * 5, 0.5) is None
    assert ap.polynomial_degree(ap.network_parameters(4, 1), 1, 1000) == 12  # 13 parameters: degree 12


def test_exponential_fit_tells_exponential_from_power_decay():
    d = [2, 4, 8, 16, 32, 64]
    exponential = at.exponential_fit(d, [math.exp(-0.5 * w) for w in d])
    power = at.exponential_fit(d, [w**-3.0 for w in d])
    assert exponential["rate"] == pytest.approx(-0.5) and exponential["r2_exponential"] == pytest.approx(1.0)
    assert power["r2_power"] == pytest.approx(1.0) and power["r2_exponential"] < power["r2_power"]
    # The ridge floor ends the fit: a plateau at 1e-12 is not counted as decay.
    floored = at.exponential_fit(d, [max(math.exp(-2 * w), 1e-12) for w in d], floor=1e-11)
    assert floored["points"] == 3 and floored["rate"] == pytest.approx(-2)


def test_training_asks_whether_to_stop_before_every_step():
    class Stop(Exception):
        pass

    calls = []

    def check_stop():
        calls.append(1)
        if len(calls) == 7:
            raise Stop

    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.random((1, 16, 1)))
    y = torch.from_numpy(rng.random((1, 16, 1)))
    w, b = ap.draw_features(rng, "tanh", 1, 4, 5.0, 1)
    act = activations.get("tanh")
    with pytest.raises(Stop):
        train_width(act, x, y, torch.from_numpy(w), torch.from_numpy(b), 1000, 0.02, check_stop)
    assert len(calls) == 7


def test_normal_equations_without_the_ones_column_match_the_full_products():
    # [1, h]^T [1, h] and [1, h]^T y from h alone (numpy's syrk, column sums) against torch's plain products.
    rng = np.random.default_rng(6)
    h, y = torch.from_numpy(rng.random((2, 50, 7))), torch.from_numpy(rng.standard_normal((2, 50, 3)))
    phi = ap.with_ones(h)
    g, r = ap.normal_equations(h, y)
    np.testing.assert_allclose(g.numpy(), (phi.mT @ phi).numpy(), rtol=1e-13)  # summation order only
    np.testing.assert_allclose(r.numpy(), (phi.mT @ y).numpy(), rtol=1e-12, atol=1e-13)
    g0, r0 = ap.normal_equations(phi, y, ones=False)
    np.testing.assert_allclose(g0.numpy(), g.numpy(), rtol=1e-13)
    np.testing.assert_allclose(r0.numpy(), r.numpy(), rtol=1e-12, atol=1e-13)
    sizes = [1, 3, 8]
    np.testing.assert_allclose(ap.nested_solve(g, r, sizes, 1e-6).numpy(),
                               ap.nested_lstsq(phi, y, sizes, 1e-6).numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("ones", [True, False])
def test_nested_prediction_skips_only_zeros(ones):
    # predict_nested adds each block of columns to the widths that use it; the dense product reads the zeros.
    rng = np.random.default_rng(7)
    S, m, P, T = 3, 40, 12, 2
    sizes = [5, 1 + ones, 12, 5, 9]  # unsorted and repeated: the gathered (non-suffix) path
    coefs = torch.from_numpy(rng.standard_normal((S, P, len(sizes), T)))
    for j, k in enumerate(sizes):
        coefs[:, k:, j] = 0
    for batch in (S, 1):  # features per seed, or shared points broadcast over the seeds
        h = torch.from_numpy(rng.standard_normal((batch, m, P - ones)))
        phi = ap.with_ones(h) if ones else h
        dense = ap.predict(phi, coefs).numpy()
        np.testing.assert_allclose(ap.predict_nested(h, coefs, sizes, ones).numpy(), dense, rtol=1e-12, atol=1e-13)
    sorted_sizes = sorted(set(sizes))  # the suffix (in place) path
    c = coefs[:, :, : len(sorted_sizes)].clone()
    for j, k in enumerate(sorted_sizes):
        c[:, :, j] = 0
        c[:, :k, j] = torch.from_numpy(rng.standard_normal((S, k, T)))
    np.testing.assert_allclose(ap.predict_nested(h, c, sorted_sizes, ones).numpy(),
                               ap.predict(ap.with_ones(h) if ones else h, c).numpy(), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("name", ["sigmoid", "cos", "gelu"])
def test_features_in_place_equal_the_activation_of_the_affine_map(name):
    rng = np.random.default_rng(8)
    x = torch.from_numpy(rng.random((2, 30, 3)))
    w, b = (torch.from_numpy(a) for a in ap.draw_features(rng, name, 3, 6, 5.0, 2))
    act = activations.get(name)
    ref = act.torch_fn(torch.baddbmm(b[:, None, :], x, w))
    buffer = torch.empty(2 * 30 * 6, dtype=torch.float64)
    out = ap.features(act, x, w, b, buffer.view(2, 30, 6))
    assert out.data_ptr() == buffer.data_ptr()  # written where asked
    assert torch.equal(out, ref) and torch.equal(ap.features(act, x, w, b), ref)
    assert torch.equal(ap.hidden(act, x, w, b)[..., 1:], ref)


def test_chebyshev_basis_equals_the_plain_product_in_every_d():
    # The level-by-level construction multiplies the same factors in the same order: bit for bit equal.
    rng = np.random.default_rng(9)
    for d, degree in ((1, 9), (3, 6), (8, 3)):
        x, idx = rng.random((2, 25, d)), ap.chebyshev_indices(d, degree)
        t = 2 * x - 1
        table = np.stack([np.ones_like(t), t] + [np.zeros_like(t)] * (degree - 1), -1)[..., : degree + 1]
        for k in range(2, degree + 1):
            table[..., k] = 2 * t * table[..., k - 1] - table[..., k - 2]
        ref = np.ones((2, 25, len(idx)))
        for i in range(d):
            ref *= table[..., i, :][..., idx[:, i]]
        assert np.array_equal(ap.chebyshev_basis(x, idx), ref)


def test_gaussian_features_into_a_buffer():
    rng = np.random.default_rng(10)
    x, c = torch.from_numpy(rng.random((2, 9, 2))), torch.from_numpy(rng.random((2, 4, 2)))
    buffer = torch.full((2, 9, 4), math.nan, dtype=torch.float64)
    out = ap.gaussian_features(x, c, 0.4, buffer)
    assert out.data_ptr() == buffer.data_ptr()
    assert torch.equal(out, ap.gaussian_kernel(x, c, 0.4)[..., 1:])
