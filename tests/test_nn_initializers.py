"""nnlab.nn.initializers against closed forms: each weight scale's std, the predicted pre-activation std, the
check of a user's scale."""

from __future__ import annotations

import math

import pytest

from nnlab.nn.initializers import check_scale, predicted_pre_std, weight_std


def test_weight_scales_closed_forms():
    assert weight_std("xavier", 4096) == pytest.approx(1 / 64, rel=1e-15)
    assert weight_std("he", 4096) == pytest.approx(math.sqrt(2) / 64, rel=1e-15)
    assert weight_std("0.05", 4096) == 0.05
    assert predicted_pre_std(0.01, 4096, 1.0) == pytest.approx(0.64, rel=1e-15)
    assert check_scale("banana") and check_scale("-1") and check_scale("inf") and check_scale("0")
    assert check_scale("1e-3") is None and check_scale("he") is None
