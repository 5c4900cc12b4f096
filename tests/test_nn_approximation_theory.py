"""Golden tests: nnlab.nn.approximation_theory against closed forms (Gaussian transforms, exact decay laws)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnlab.nn import approximation as ap
from nnlab.nn import approximation_theory as at


def test_fourier_l1_of_a_gaussian_is_its_peak():
    """g(t) = exp(-t^2 / (2 s^2)) has g^(w) = s / sqrt(2 pi) exp(-s^2 w^2 / 2) > 0, so int |g^| = g(0) = 1."""
    for s in (0.05, 0.2, 1.0):
        assert at.fourier_l1_1d(lambda t, s=s: np.exp(-t**2 / (2 * s**2)), 0.0, s) == pytest.approx(1.0, abs=1e-10)
    # a shifted and scaled Gaussian: |g^| ignores the shift, scales with the amplitude
    assert at.fourier_l1_1d(lambda t: 3 * np.exp(-(t - 0.7) ** 2 / 0.08), 0.7, 0.2) == pytest.approx(3.0, rel=1e-10)


def test_bump_constants():
    for d in (1, 3, 8):
        assert at.bump_constant_cos(d) == pytest.approx(1.0, abs=1e-9)
    # sigmoid form at d = 1: ||w|| = |w|, w ~ N(0, 1 / s^2), E|w| = sqrt(2 / pi) / s
    c, se = at.bump_constant_sigmoid(1, np.random.default_rng(0), samples=400_000)
    exact = 1 + math.sqrt(2 / math.pi) / ap.BUMP_WIDTH
    assert abs(c - exact) < 4 * se and se < 0.01
    cos = at.barron_constant("cosines", 2)
    assert cos["cos"] == 1.0 and cos["sigmoid"] > 1.0
    assert at.barron_constant("sawtooth", 2) is None


def test_decay_law_tells_an_exponential_from_a_power():
    D = np.arange(1, 21)
    exp = at.decay_law(D, 0.5 * np.exp(-0.7 * D), floor=0.0)
    assert exp["rate"] == pytest.approx(-0.7) and exp["rate_se"] < 1e-10
    assert exp["evidence"] > at.EVIDENCE_20_TO_1 and exp["points"] == 20
    power = at.decay_law(D, 2.0 * D**-1.5, floor=0.0)
    assert power["power"] == pytest.approx(-1.5) and power["evidence"] < -at.EVIDENCE_20_TO_1
    # the first point at the floor ends the decay; fewer than 3 points: None
    assert at.decay_law(D, np.where(D < 8, np.exp(-D), 1e-20), floor=1e-12)["points"] == 7
    assert at.decay_law([1, 2, 3], [1.0, 1e-20, 1e-20], floor=1e-12) is None


def test_chebyshev_nodes_and_growth():
    nodes = at.chebyshev_nodes(8)[:, 0]
    assert nodes.shape == (8,) and np.all((nodes > 0) & (nodes < 1))
    np.testing.assert_allclose(np.cos(8 * np.arccos(2 * nodes - 1)), 0.0, atol=1e-12)  # roots of T_8
    g = at.growth_per_dimension([1, 2, 4], [10.0, 40.0, 640.0], 1024)
    assert g["factor"] == pytest.approx(4.0) and not g["lower_bound"]
    g = at.growth_per_dimension([1, 3], [16.0, None], 1024)
    assert g["factor"] == pytest.approx(8.0) and g["lower_bound"]
    assert at.growth_per_dimension([1, 2], [None, 5.0], 1024) is None
