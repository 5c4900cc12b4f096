"""nnlab.nn.meanfield against closed forms (linear and ReLU layers, Gaussian moments) and Monte Carlo (tanh)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnlab.nn import meanfield


@pytest.mark.parametrize("q", [0.01, 1.0, 7.5])
def test_gaussian_moments_are_exact_for_polynomials_and_relu(q):
    assert meanfield.gaussian_mean(lambda u: u**2, q) == pytest.approx(q, rel=1e-12)
    assert meanfield.gaussian_mean(lambda u: u**4, q) == pytest.approx(3 * q**2, rel=1e-12)
    assert meanfield.gaussian_mean(lambda u: u**3, q) == pytest.approx(0.0, abs=1e-12)
    # ReLU's kink at a node: E[relu(u)^2] = q / 2 and E[relu(u)] = sqrt(q / (2 pi))
    relu = lambda u: np.maximum(u, 0.0)  # noqa: E731
    assert meanfield.gaussian_mean(lambda u: relu(u) ** 2, q) == pytest.approx(q / 2, rel=1e-5)
    assert meanfield.gaussian_mean(relu, q) == pytest.approx(math.sqrt(q / (2 * math.pi)), rel=1e-5)


def test_a_linear_stack_multiplies_the_variance_by_the_gain_squared():
    rows = meanfield.layer_statistics(lambda u: u, 0.9, 5, input_second_moment=2.0)
    for layer, row in enumerate(rows, start=1):
        assert row["pre_var"] == pytest.approx(2.0 * 0.81**layer, rel=1e-12)
        assert row["std"] == pytest.approx(math.sqrt(row["pre_var"]), rel=1e-12)
        assert row["mean"] == pytest.approx(0.0, abs=1e-12)


def test_relu_halves_the_variance_at_xavier_and_keeps_it_at_he():
    xavier = meanfield.layer_statistics(lambda u: np.maximum(u, 0.0), 1.0, 4)
    he = meanfield.layer_statistics(lambda u: np.maximum(u, 0.0), math.sqrt(2.0), 4)
    for a, b in zip(xavier[1:], xavier[:-1], strict=True):
        assert a["pre_var"] / b["pre_var"] == pytest.approx(0.5, rel=1e-4)
    assert he[-1]["pre_var"] == pytest.approx(he[0]["pre_var"], rel=5e-3)
    # the mean of ReLU's output is not 0: its std is sqrt(1 - 1/pi) of its root mean square
    row = xavier[0]
    assert row["std"] / math.sqrt(row["std"] ** 2 + row["mean"] ** 2) == pytest.approx(math.sqrt(1 - 1 / math.pi),
                                                                                          rel=1e-4)


def test_tanh_stack_matches_a_monte_carlo_of_its_recursion():
    rng = np.random.default_rng(0)
    rows = meanfield.layer_statistics(np.tanh, 1.5, 3)
    q = 1.5**2  # x ~ N(0, 1)
    for row in rows:
        u = rng.standard_normal(1_000_000) * math.sqrt(q)
        assert row["pre_var"] == pytest.approx(q, rel=1e-9 if row is rows[0] else 3e-3)
        h = np.tanh(u)
        assert row["std"] == pytest.approx(h.std(), rel=3e-3)
        q = 1.5**2 * float((h**2).mean())


@pytest.mark.parametrize("q", [0.5, 3.0])
def test_share_beyond_is_the_gaussian_tail(q):
    rng = np.random.default_rng(1)
    u = rng.standard_normal(4_000_000) * math.sqrt(q)  # a share's sd: about 2.5e-4
    edge = math.atanh(0.99)
    assert meanfield.share_beyond(q, -edge, edge) == pytest.approx(float((np.abs(u) > edge).mean()), abs=1e-3)
    assert meanfield.share_beyond(q, -1.0, 0.5) == pytest.approx(float(((u < -1.0) | (u > 0.5)).mean()), abs=1e-3)
    assert meanfield.share_beyond(0.0, -1.0, 1.0) == 0.0
