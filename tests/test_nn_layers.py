"""Golden tests: nnlab.nn.layers (LayerNorm, conv2d, max/avg pooling) against torch in float64, values and gradients.

Each test draws inputs, a random upstream gradient dL/dy, runs numpy forward/backward and torch autograd on the
same numbers, and compares. Tolerances: rtol 1e-10 / atol 1e-12 (both sides sum the same float64 products in a
different order; a few hundred terms of size ~1 differ by ~1e-14).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from nnlab.nn import layers

RTOL, ATOL = 1e-10, 1e-12


def t(a: np.ndarray) -> torch.Tensor:
    return torch.tensor(a, dtype=torch.float64, requires_grad=True)


def close(a, b) -> None:
    np.testing.assert_allclose(a, b.detach().numpy() if isinstance(b, torch.Tensor) else b, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("shape", [(5, 7), (3, 4, 16), (2, 3, 2, 9), (1, 2)])
@pytest.mark.parametrize("eps", [0.0, 1e-5])
def test_layer_norm_matches_torch(shape, eps):
    rng = np.random.default_rng(len(shape) + shape[-1])
    z = rng.standard_normal(shape) * 3 + 1.5
    gamma, beta, dy = rng.standard_normal(shape[-1]), rng.standard_normal(shape[-1]), rng.standard_normal(shape)
    y, cache = layers.layer_norm_forward(z, gamma, beta, eps)
    dz, dgamma, dbeta = layers.layer_norm_backward(dy, cache)

    ln = torch.nn.LayerNorm(shape[-1], eps=eps, dtype=torch.float64)
    with torch.no_grad():
        ln.weight.copy_(torch.from_numpy(gamma))
        ln.bias.copy_(torch.from_numpy(beta))
    zt = t(z)
    yt = ln(zt)
    yt.backward(torch.from_numpy(dy))
    close(y, yt)
    close(dz, zt.grad)
    close(dgamma, ln.weight.grad)
    close(dbeta, ln.bias.grad)


def test_layer_norm_without_affine_is_the_lectures_ln_s():
    z = np.array([[1.0, 2.0, 3.0, 6.0]])
    mu, sigma = 3.0, np.sqrt((4 + 1 + 0 + 9) / 4)  # the lecture's sigma: divide by m, no eps
    np.testing.assert_allclose(layers.layer_norm(z), (z - mu) / sigma, rtol=1e-15)


CONV_CASES = [  # (N, C, H, W), (O, kh, kw), stride, padding
    ((2, 1, 8, 8), (3, 3, 3), 1, 0),
    ((2, 3, 9, 7), (4, 3, 2), 1, 1),
    ((1, 2, 11, 10), (2, 5, 5), 2, 2),
    ((3, 2, 6, 6), (5, 1, 1), 3, 0),
    ((1, 1, 5, 5), (1, 5, 5), 1, 0),  # the kernel covers the whole image
]


@pytest.mark.parametrize("xshape, wshape, stride, padding", CONV_CASES)
def test_conv2d_matches_torch(xshape, wshape, stride, padding):
    rng = np.random.default_rng(sum(xshape) + stride)
    o, kh, kw = wshape
    x, w, b = rng.standard_normal(xshape), rng.standard_normal((o, xshape[1], kh, kw)), rng.standard_normal(o)
    y, cache = layers.conv2d_forward(x, w, b, stride, padding)
    xt, wt, bt = t(x), t(w), t(b)
    yt = F.conv2d(xt, wt, bt, stride=stride, padding=padding)
    assert y.shape == tuple(yt.shape)
    dy = rng.standard_normal(y.shape)
    yt.backward(torch.from_numpy(dy))
    dx, dw, db = layers.conv2d_backward(dy, cache)
    close(y, yt)
    close(dx, xt.grad)
    close(dw, wt.grad)
    close(db, bt.grad)


POOL_CASES = [  # (N, C, H, W), kernel, stride, padding
    ((2, 3, 8, 8), 2, None, 0),
    ((1, 2, 9, 7), 3, 2, 1),
    ((2, 1, 10, 10), 3, 1, 0),
    ((1, 4, 7, 7), 2, 2, 1),
    ((1, 1, 6, 6), 4, 3, 2),
]


@pytest.mark.parametrize("xshape, kernel, stride, padding", POOL_CASES)
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pooling_matches_torch(xshape, kernel, stride, padding, kind):
    rng = np.random.default_rng(sum(xshape) + kernel)
    x = rng.standard_normal(xshape)  # continuous values: no ties, so the argmax is unambiguous
    forward = getattr(layers, f"{kind}_pool2d_forward")
    backward = getattr(layers, f"{kind}_pool2d_backward")
    y, cache = forward(x, kernel, stride, padding)
    xt = t(x)
    yt = getattr(F, f"{kind}_pool2d")(xt, kernel, stride=stride, padding=padding)
    assert y.shape == tuple(yt.shape)
    dy = rng.standard_normal(y.shape)
    yt.backward(torch.from_numpy(dy))
    close(y, yt)
    close(backward(dy, cache), xt.grad)


def test_conv2d_gradient_matches_central_differences():
    """An independent check of the hand-written backward: (L(x + h e) - L(x - h e)) / 2h, L = <dy, conv(x)>."""
    rng = np.random.default_rng(7)
    x, w = rng.standard_normal((1, 2, 6, 6)), rng.standard_normal((3, 2, 3, 3))
    y, cache = layers.conv2d_forward(x, w, None, 2, 1)
    dy = rng.standard_normal(y.shape)
    dx, dw, _ = layers.conv2d_backward(dy, cache)
    h = 1e-6

    def loss(xx, ww):
        return np.sum(dy * layers.conv2d(xx, ww, None, 2, 1))

    for idx in [(0, 0, 0, 0), (0, 1, 3, 2), (0, 1, 5, 5)]:
        e = np.zeros_like(x)
        e[idx] = h
        num = (loss(x + e, w) - loss(x - e, w)) / (2 * h)
        assert dx[idx] == pytest.approx(num, rel=1e-7, abs=1e-8)
    e = np.zeros_like(w)
    e[1, 0, 2, 1] = h
    num = (loss(x, w + e) - loss(x, w - e)) / (2 * h)
    assert dw[1, 0, 2, 1] == pytest.approx(num, rel=1e-7, abs=1e-8)


def test_max_pool_ties_go_to_the_first_maximum_like_torch():
    x = np.ones((1, 1, 2, 2))
    y, cache = layers.max_pool2d_forward(x, 2)
    xt = t(x)
    F.max_pool2d(xt, 2).backward(torch.ones(1, 1, 1, 1, dtype=torch.float64))
    close(layers.max_pool2d_backward(np.ones_like(y), cache), xt.grad)


@pytest.mark.parametrize("call", [
    lambda: layers.conv2d(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 5, 5))),
    lambda: layers.conv2d(np.zeros((1, 2, 4, 4)), np.zeros((1, 1, 3, 3))),
    lambda: layers.max_pool2d(np.zeros((1, 1, 4, 4)), 5),
    lambda: layers.avg_pool2d(np.zeros((1, 1, 4, 4)), 2, padding=2),
    lambda: layers.out_size(4, 3, 0, 0),
])
def test_bad_shapes_raise_value_error(call):
    with pytest.raises(ValueError):
        call()
