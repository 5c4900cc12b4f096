"""The cost module: both ways of getting an MLP's gradient agree with torch; the bytes kept follow
from the shapes; slopes and timing helpers."""

from __future__ import annotations

import numpy as np
import pytest

from nnlab.nn import backprop_cost as bc


def _gradients(be, weights, x, y, mode):
    params = [(be.leaf(W, True), be.leaf(b, True)) for W, b in weights]
    loss, kept = bc.gradients(be, params, be.leaf(x, False), be.labels(y), "tanh", mode, count=True)
    return loss, kept, [np.asarray(be.grad(t)) for pair in params for t in pair]


@pytest.mark.parametrize("depth", [1, 3])
def test_engine_and_torch_reverse_and_recompute_give_one_gradient(depth):
    rng = np.random.default_rng(0)
    weights = bc.init_weights(rng, [16] * (depth + 1) + [10])
    x, y = rng.standard_normal((8, 16)), rng.integers(0, 10, 8)
    ref_loss, _, ref = _gradients(bc.TorchBackend(), weights, x, y, "reverse")
    for be in bc.backends():
        for mode in bc.MODES:
            loss, _, grads = _gradients(be, weights, x, y, mode)
            assert loss == pytest.approx(ref_loss, rel=1e-13)
            for g, r in zip(grads, ref, strict=True):
                np.testing.assert_allclose(g, r, rtol=1e-11, atol=1e-14)


def test_kept_bytes_grow_by_one_layers_intermediates_per_layer():
    """Per hidden layer of a (B, w) batch, float64: the engine keeps h @ W, + b and tanh (3 B w 8 bytes),
    torch keeps only the tanh output (its next matmul saves the same storage). recompute keeps one layer."""
    rng = np.random.default_rng(1)
    B, w = 4, 8
    x, y = rng.standard_normal((B, w)), rng.integers(0, 10, B)
    kept = {}
    for be in bc.backends():
        for mode in bc.MODES:
            for depth in (2, 5):
                weights = bc.init_weights(rng, [w] * (depth + 1) + [10])
                kept[be.name, mode, depth] = _gradients(be, weights, x, y, mode)[1]
    assert kept["engine", "reverse", 5] - kept["engine", "reverse", 2] == 3 * 3 * B * w * 8
    assert kept["torch", "reverse", 5] - kept["torch", "reverse", 2] == 3 * B * w * 8
    assert kept["engine", "recompute", 5] == kept["engine", "recompute", 2]
    assert kept["torch", "recompute", 5] == kept["torch", "recompute", 2]


def test_loglog_slope():
    n = [1e3, 1e4, 1e5]
    assert bc.loglog_slope(n, [2 * v for v in n]) == pytest.approx(1.0)
    assert bc.loglog_slope(n, [v * v for v in n]) == pytest.approx(2.0)
    assert bc.loglog_slope(n, [3.0, 3.0, 3.0]) == pytest.approx(0.0, abs=1e-12)
    assert bc.loglog_slope(n, [1.0, 0.0, 1.0]) is None  # a time lost in noise has no logarithm


def test_median_time_repeats_short_calls_until_a_sample_is_long_enough():
    calls = []
    t = bc.median_time(lambda: calls.append(1), repeats=3, warmup=2, min_sample=0.001, clock="wall")
    assert 0 < t < 0.001 and len(calls) > 3 + 2 + 1  # each sample made many calls


def test_parameter_count():
    weights = bc.init_weights(np.random.default_rng(0), [7, 7, 7, 3])
    assert sum(a.size for pair in weights for a in pair) == bc.parameter_count(7, 2, 3)
