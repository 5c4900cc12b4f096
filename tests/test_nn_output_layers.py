"""Golden tests: the lecture's output layers (nnlab.nn.output_layers) against torch, in float64."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nnlab.nn import output_layers

X = np.array([[1000.0, 0.0, -3.0], [0.5, 0.5, 0.5], [-800.0, -801.0, -799.0], [1e-8, 0.0, -1e-8]])


def test_softmax_matches_torch_on_numpy_and_torch_inputs():
    # torch.softmax subtracts the row maximum too: both sides are the same few roundings (rtol 1e-15)
    ref = torch.softmax(torch.tensor(X), -1)
    np.testing.assert_allclose(output_layers.softmax(X), ref.numpy(), rtol=1e-15, atol=1e-300)
    torch.testing.assert_close(output_layers.softmax(torch.tensor(X)), ref, rtol=1e-15, atol=1e-300)
    p = output_layers.softmax(X)
    assert np.all(np.isfinite(p)) and np.all(p >= 0)  # no overflow at 1000, no 0/0 at -800
    np.testing.assert_allclose(p.sum(-1), 1.0, rtol=0, atol=1e-15)


def test_exp_and_identity():
    z = np.array([-700.0, -1.0, 0.0, 2.0])
    np.testing.assert_array_equal(output_layers.exp(z), np.exp(z))
    assert np.all(output_layers.exp(z) > 0)  # positive outputs, down to e^-700 ~ 1e-304
    t = torch.tensor(z)
    torch.testing.assert_close(output_layers.exp(t), torch.exp(t), rtol=0, atol=0)
    assert output_layers.identity(z) is z


def test_names_and_bad_names():
    assert set(output_layers.NAMES) == {"softmax", "exp", "identity"}
    assert output_layers.get("exp") is output_layers.exp
    with pytest.raises(ValueError, match="unknown output layer"):
        output_layers.get("tanh")
