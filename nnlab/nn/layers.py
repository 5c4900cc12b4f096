"""LayerNorm, 2-D convolution, max and average pooling in numpy: forward and backward passes (lecture: 模块).

Each backward pass takes dL/dy and returns dL/d(every input), written out by hand and golden-tested
against torch autograd in float64 (tests/test_nn_layers.py). Pure functions, no state.

LayerNorm over the last axis (the lecture's LN-S, then gamma and beta):

    mu = mean(z),  sigma = sqrt(mean((z - mu)^2) + eps),  LN(z) = beta + gamma * (z - mu) / sigma

The lecture writes eps = 0; torch's nn.LayerNorm adds eps = 1e-5 inside the square root.

Convolution (torch's F.conv2d, i.e. cross-correlation), x (N, C, H, W), w (O, C, kh, kw), b (O,):

    y[n, o, i, j] = b[o] + sum_{c, p, q} w[o, c, p, q] * xpad[n, c, s i + p, s j + q]

with zero padding `padding` on every side and stride s; output size floor((H + 2 pad - kh) / s) + 1.
Pooling takes the max or the mean over k x k windows (stride defaults to k); max pooling pads with -inf,
average pooling pads with zeros and divides by k^2 (torch's count_include_pad=True).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

# ----------------------------------------------------------------------------------------------------
# LayerNorm


def layer_norm(z: np.ndarray, gamma: np.ndarray | None = None, beta: np.ndarray | None = None,
               eps: float = 0.0) -> np.ndarray:
    """LN(z) = beta + gamma * (z - mu) / sigma over the last axis; z (..., m), gamma and beta (m,)."""
    return layer_norm_forward(z, gamma, beta, eps)[0]


def layer_norm_forward(z, gamma=None, beta=None, eps: float = 0.0):
    """(y, cache) for layer_norm_backward."""
    mu = z.mean(axis=-1, keepdims=True)
    sigma = np.sqrt(((z - mu) ** 2).mean(axis=-1, keepdims=True) + eps)  # (..., 1)
    zhat = (z - mu) / sigma
    y = zhat
    if gamma is not None:
        y = y * gamma
    if beta is not None:
        y = y + beta
    return y, (zhat, sigma, gamma)


def layer_norm_backward(dy: np.ndarray, cache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dL/dz, dL/dgamma, dL/dbeta) from dL/dy.

    With g = dy * gamma: dz = (g - mean(g) - zhat * mean(g * zhat)) / sigma (means over the last axis).
    """
    zhat, sigma, gamma = cache
    g = dy * gamma if gamma is not None else dy
    dz = (g - g.mean(axis=-1, keepdims=True) - zhat * (g * zhat).mean(axis=-1, keepdims=True)) / sigma
    lead = tuple(range(dy.ndim - 1))
    return dz, (dy * zhat).sum(axis=lead), dy.sum(axis=lead)


# ----------------------------------------------------------------------------------------------------
# Shapes


def out_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """floor((size + 2 padding - kernel) / stride) + 1; raises ValueError when the kernel does not fit."""
    if kernel < 1 or stride < 1 or padding < 0:
        raise ValueError(f"kernel {kernel} and stride {stride} must be >= 1, padding {padding} >= 0")
    if kernel > size + 2 * padding:
        raise ValueError(f"kernel {kernel} is larger than the padded input ({size} + 2 * {padding})")
    return (size + 2 * padding - kernel) // stride + 1


def _pad(x: np.ndarray, padding: int, value: float = 0.0) -> np.ndarray:
    if padding == 0:
        return x
    return np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)), constant_values=value)


def _windows(xp: np.ndarray, kh: int, kw: int, stride: int, ho: int, wo: int) -> np.ndarray:
    """(N, C, Ho, Wo, kh, kw) view of the k x k windows of the padded input, one per output pixel."""
    v = sliding_window_view(xp, (kh, kw), axis=(2, 3))  # (N, C, Hp - kh + 1, Wp - kw + 1, kh, kw)
    return v[:, :, : stride * (ho - 1) + 1 : stride, : stride * (wo - 1) + 1 : stride]


def _scatter(dwin: np.ndarray, shape: tuple[int, ...], stride: int, padding: int) -> np.ndarray:
    """Adjoint of _windows: add each window's gradient (N, C, Ho, Wo, kh, kw) back onto the input (N, C, H, W)."""
    n, c, ho, wo, kh, kw = dwin.shape
    h, w = shape[2] + 2 * padding, shape[3] + 2 * padding
    dxp = np.zeros((n, c, h, w), dtype=dwin.dtype)
    for p in range(kh):  # kh * kw strided adds, each over every window at once
        for q in range(kw):
            dxp[:, :, p : p + stride * (ho - 1) + 1 : stride, q : q + stride * (wo - 1) + 1 : stride] += dwin[..., p, q]
    return dxp[:, :, padding : h - padding, padding : w - padding]


# ----------------------------------------------------------------------------------------------------
# Convolution


def conv2d(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, stride: int = 1, padding: int = 0) -> np.ndarray:
    """F.conv2d(x, w, b, stride, padding): x (N, C, H, W), w (O, C, kh, kw) -> (N, O, Ho, Wo)."""
    return conv2d_forward(x, w, b, stride, padding)[0]


def conv2d_forward(x, w, b=None, stride: int = 1, padding: int = 0):
    if x.ndim != 4 or w.ndim != 4 or x.shape[1] != w.shape[1]:
        raise ValueError(f"conv2d: x (N, C, H, W) and w (O, C, kh, kw) must agree on C, got {x.shape}, {w.shape}")
    kh, kw = w.shape[2:]
    ho, wo = out_size(x.shape[2], kh, stride, padding), out_size(x.shape[3], kw, stride, padding)
    win = _windows(_pad(x, padding), kh, kw, stride, ho, wo)  # (N, C, Ho, Wo, kh, kw)
    y = np.einsum("nchwpq,ocpq->nohw", win, w, optimize=True)
    if b is not None:
        y = y + b[None, :, None, None]
    return y, (x.shape, win, w, stride, padding)


def conv2d_backward(dy: np.ndarray, cache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dL/dx, dL/dw, dL/db) from dL/dy (N, O, Ho, Wo)."""
    shape, win, w, stride, padding = cache
    dw = np.einsum("nchwpq,nohw->ocpq", win, dy, optimize=True)
    dwin = np.einsum("nohw,ocpq->nchwpq", dy, w, optimize=True)
    return _scatter(dwin, shape, stride, padding), dw, dy.sum(axis=(0, 2, 3))


# ----------------------------------------------------------------------------------------------------
# Pooling


def _pool_setup(x: np.ndarray, kernel: int, stride: int | None, padding: int, fill: float):
    if x.ndim != 4:
        raise ValueError(f"pooling expects x of shape (N, C, H, W), got {x.shape}")
    stride = kernel if stride is None else stride
    if 2 * padding > kernel:
        raise ValueError(f"padding {padding} must be at most half the kernel {kernel} (as torch requires)")
    ho, wo = out_size(x.shape[2], kernel, stride, padding), out_size(x.shape[3], kernel, stride, padding)
    return _windows(_pad(x, padding, fill), kernel, kernel, stride, ho, wo), stride


def max_pool2d(x: np.ndarray, kernel: int, stride: int | None = None, padding: int = 0) -> np.ndarray:
    """F.max_pool2d(x, kernel, stride, padding): the max of each k x k window."""
    return max_pool2d_forward(x, kernel, stride, padding)[0]


def max_pool2d_forward(x, kernel: int, stride: int | None = None, padding: int = 0):
    win, stride = _pool_setup(x, kernel, stride, padding, -np.inf)
    flat = win.reshape(*win.shape[:4], -1)  # (N, C, Ho, Wo, k*k)
    arg = flat.argmax(axis=-1)  # the first maximum, as torch's CPU kernel keeps
    y = np.take_along_axis(flat, arg[..., None], axis=-1)[..., 0]
    return y, (x.shape, arg, kernel, stride, padding)


def max_pool2d_backward(dy: np.ndarray, cache) -> np.ndarray:
    """dL/dx: each window's gradient goes to the input pixel that was its maximum."""
    shape, arg, k, stride, padding = cache
    dwin = (np.arange(k * k) == arg[..., None]) * dy[..., None]  # (N, C, Ho, Wo, k*k)
    return _scatter(dwin.reshape(*dy.shape, k, k), shape, stride, padding)


def avg_pool2d(x: np.ndarray, kernel: int, stride: int | None = None, padding: int = 0) -> np.ndarray:
    """F.avg_pool2d(x, kernel, stride, padding): the mean of each k x k window (padding counts as zeros)."""
    return avg_pool2d_forward(x, kernel, stride, padding)[0]


def avg_pool2d_forward(x, kernel: int, stride: int | None = None, padding: int = 0):
    win, stride = _pool_setup(x, kernel, stride, padding, 0.0)
    return win.mean(axis=(-2, -1)), (x.shape, kernel, stride, padding)


def avg_pool2d_backward(dy: np.ndarray, cache) -> np.ndarray:
    """dL/dx: each window's gradient spread evenly, 1/k^2 to each of its pixels."""
    shape, k, stride, padding = cache
    dwin = np.broadcast_to((dy / (k * k))[..., None, None], (*dy.shape, k, k))
    return _scatter(np.ascontiguousarray(dwin), (dy.shape[0], dy.shape[1], *shape[2:]), stride, padding)
