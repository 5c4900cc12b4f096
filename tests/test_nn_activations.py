"""Golden tests: every activation and derivative in nnlab.nn.activations against torch autograd in float64.

Points: a dense grid, the kinks (0, and +-0 for relu / leaky_relu), and the tails (|z| up to 1e300).
Tolerances: rtol 1e-12 (both sides compute the same float64 formula up to a few roundings) plus atol
1e-15 where torch's formula cancels; in the tails the reference is a closed form (python's math, or the
asymptotic series), since torch's exact gelu and its sigmoid / tanh backward round to 0 there.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nnlab.nn import activations

SPECS = ["relu", "sigmoid", "tanh", "leaky_relu", "leaky_relu:0.2", "gelu", "softplus", "softplus:2", "cos"]
GRID = np.concatenate([np.linspace(-12.0, 12.0, 2401), [0.0, -0.0, 1e-300, -1e-300, 1e-8, -1e-8]])
RTOL, ATOL = 1e-12, 1e-300


def torch_reference(act: activations.Activation, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    y = act.torch_fn(t)
    (g,) = torch.autograd.grad(y.sum(), t)
    return y.detach().numpy(), g.numpy()


@pytest.mark.parametrize("spec", SPECS)
def test_function_and_derivative_match_torch_autograd(spec):
    act = activations.get(spec)
    y_ref, g_ref = torch_reference(act, GRID)
    # Where torch's own formula cancels (gelu's 1 + erf in the left tail; sigmoid' and tanh' as 1 - s),
    # it is exact only to ~1e-16 absolute: hence atol 1e-15. The tails have their own closed-form test.
    np.testing.assert_allclose(act.fn(GRID), y_ref, rtol=RTOL, atol=1e-15)
    np.testing.assert_allclose(act.grad(GRID), g_ref, rtol=RTOL, atol=1e-15)


@pytest.mark.parametrize("spec", SPECS)
def test_derivative_matches_central_differences(spec):
    # Away from the kink at 0: (f(z+h) - f(z-h)) / 2h has error ~ h^2 f''' / 6 + eps / h, below 1e-7 here.
    act = activations.get(spec)
    z = np.linspace(-6.0, 6.0, 241)
    z = z[np.abs(z) > 1e-3]
    h = 1e-5
    np.testing.assert_allclose(act.grad(z), (act.fn(z + h) - act.fn(z - h)) / (2 * h), rtol=1e-6, atol=1e-8)


def test_kinks_follow_torch_convention():
    z = np.array([0.0, -0.0])
    assert np.all(activations.get("relu").grad(z) == 0.0)
    assert np.all(activations.get("leaky_relu:0.2").grad(z) == 0.2)
    _, g = torch_reference(activations.get("leaky_relu:0.2"), z)
    np.testing.assert_array_equal(g, [0.2, 0.2])


TAILS = np.array([-1e300, -1e10, -800.0, -100.0, -40.0, 40.0, 100.0, 800.0, 1e10, 1e300])


@pytest.mark.parametrize("spec", SPECS)
def test_tails_are_finite_without_overflow(spec):
    act = activations.get(spec)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y, g = act.fn(TAILS), act.grad(TAILS)
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(g))


def test_tail_values_closed_forms():
    # sigmoid'(z) = e^-|z| / (1 + e^-|z|)^2 ~ e^-|z| and tanh'(z) = sech^2 z ~ 4 e^-2|z|: relative accuracy kept.
    for z in (40.0, -40.0, 300.0, -300.0):
        assert activations.get("sigmoid").grad(np.array(z)) == pytest.approx(math.exp(-abs(z)), rel=1e-12)
        assert activations.get("tanh").grad(np.array(z)) == pytest.approx(4 * math.exp(-2 * abs(z)), rel=1e-12)
    # Values saturate exactly where the function is bounded, grow linearly where it is not.
    assert activations.get("sigmoid").fn(np.array([-1e300, 1e300])).tolist() == [0.0, 1.0]
    assert activations.get("tanh").fn(np.array([-1e300, 1e300])).tolist() == [-1.0, 1.0]
    np.testing.assert_allclose(activations.get("softplus:2").fn(np.array([1e10, 800.0])), [1e10, 800.0], rtol=1e-15)
    np.testing.assert_allclose(activations.get("gelu").fn(np.array([1e10, -1e10])), [1e10, 0.0], rtol=1e-15)
    # gelu's left tail z Phi(z) ~ -phi(z) (1 - 1/z^2): erfc keeps it, 1 + erf(z/sqrt2) would give 0.
    z = -30.0
    phi = math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    assert activations.get("gelu").fn(np.array(z)) == pytest.approx(0.5 * z * math.erfc(-z / math.sqrt(2)), rel=1e-12)
    assert activations.get("gelu").fn(np.array(z)) == pytest.approx(-phi * (1 - 1 / z**2 + 3 / z**4), rel=1e-5)


def test_softplus_tails_match_torch():
    for spec in ("softplus", "softplus:2"):
        act = activations.get(spec)
        z = np.array([-700.0, -50.0, 50.0, 700.0])
        y_ref, g_ref = torch_reference(act, z)
        np.testing.assert_allclose(act.fn(z), y_ref, rtol=1e-14, atol=ATOL)
        np.testing.assert_allclose(act.grad(z), g_ref, rtol=1e-14, atol=ATOL)


def test_erfc_accepts_strided_views():
    z = np.linspace(-3, 3, 7)[::-1]
    np.testing.assert_allclose(activations.get("gelu").fn(z), activations.get("gelu").fn(z.copy()), rtol=0)


@pytest.mark.parametrize("spec,problem", [
    ("swish", "unknown activation"), ("tanhh", "did you mean 'tanh'"), ("relu:2", "takes no parameter"),
    ("leaky_relu:1.5", "0 < gamma < 1"), ("leaky_relu:x", "must be a number"), ("softplus:0", "beta > 0"),
    ("softplus:inf", "finite"), ("leaky_relu:nan", "0 < gamma < 1"),
])
def test_bad_specs_are_explained(spec, problem):
    assert problem in activations.check_spec(spec)
    with pytest.raises(ValueError):
        activations.get(spec)


def test_names_and_parameters():
    assert set(activations.NAMES) == {"relu", "sigmoid", "tanh", "leaky_relu", "gelu", "softplus", "cos"}
    assert activations.get("leaky_relu:0.1").name == "leaky_relu:0.1"
    assert activations.get("leaky_relu").fn(np.array(-1.0)) == pytest.approx(-0.01)
    assert activations.get("softplus:2").fn(np.array(0.0)) == pytest.approx(math.log(2) / 2, rel=1e-15)
