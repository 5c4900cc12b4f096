"""nnlab.nn.residual against closed forms: RK4 and Euler's residual blocks on dx/dt = -x, the log-log fit."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnlab.nn.residual import loglog_slope, residual_net, rk4


def test_rk4_and_euler_on_dx_dt_equals_minus_x():
    """x(1) = x0 e^-1; Euler's L blocks give x0 (1 - 1/L)^L exactly."""
    f = lambda x: -x  # noqa: E731
    x0 = np.array([[2.0, -1.0]])
    np.testing.assert_allclose(rk4(f, x0, 200), x0 * math.exp(-1), rtol=1e-11)
    for L in (1, 3, 10):
        np.testing.assert_allclose(residual_net(f, x0, L), x0 * (1 - 1 / L) ** L, rtol=1e-14)
    errors = [abs(residual_net(f, x0, L)[0, 0] - 2 * math.exp(-1)) for L in (16, 32, 64, 128)]
    assert loglog_slope([16, 32, 64, 128], errors)[0] == pytest.approx(-1.0, abs=0.03)


def test_loglog_slope_recovers_a_power_law():
    xs = np.array([1.0, 2.0, 4.0, 8.0])
    slope, intercept, r2 = loglog_slope(xs, 3.0 * xs**-1.5)
    assert slope == pytest.approx(-1.5, abs=1e-12) and math.exp(intercept) == pytest.approx(3.0) and r2 > 0.999999
