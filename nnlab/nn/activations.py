"""The lecture's activation functions and their derivatives, in numpy, with their torch twins.

    relu        sigma(z) = max{0, z}                      sigma'(z) = 1[z > 0]
    sigmoid     sigma(z) = 1 / (1 + e^-z)                 sigma'(z) = sigma(z) (1 - sigma(z))
    tanh        sigma(z) = (e^z - e^-z) / (e^z + e^-z)    sigma'(z) = 1 - tanh(z)^2
    leaky_relu  sigma(z) = max{z, gamma z}, 0 < gamma < 1 sigma'(z) = 1 if z > 0 else gamma
    gelu        sigma(z) = z/2 [1 + erf(z / sqrt 2)]      sigma'(z) = Phi(z) + z phi(z)
    softplus    sigma(z) = log(1 + e^(beta z)) / beta     sigma'(z) = sigmoid(beta z)
    cos         sigma(z) = cos z (Barron's theorem)       sigma'(z) = -sin z

At a kink the derivative takes torch's convention (relu'(0) = 0, leaky_relu'(0) = gamma), so golden
tests compare everywhere. Every form is written to stay finite for any float64 input: sigmoid and
softplus never exponentiate a large positive number, gelu uses erfc so the left tail does not cancel,
and sigmoid' and tanh' are written with e^-|z| so they keep their relative accuracy in both tails
(1 - tanh(z)^2 would be exactly 0 from |z| = 19 on, where sech(z)^2 is still 1e-16).

A parameterised activation is named `leaky_relu:0.1` or `softplus:2` (default gamma 0.01, beta 1).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Array = np.ndarray
_SQRT2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _erfc(x: Array) -> Array:
    """Complementary error function, float64-exact. numpy has none; torch (a dependency) does."""
    import torch

    # ascontiguousarray: torch.from_numpy refuses negative strides (z[::-1]).
    return torch.special.erfc(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64))).numpy()


def sigmoid(z: Array) -> Array:
    # 1/(1+e^-z) for z >= 0 and e^z/(1+e^z) for z < 0: the exponent is never positive.
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_grad(z: Array) -> Array:
    """sigma(z) (1 - sigma(z)) = e^-|z| / (1 + e^-|z|)^2: even in z, and accurate in both tails.

    s (1 - s) would round to exactly 0 for z > 37 (1 - s cancels) while the true value is e^-z.
    """
    e = np.exp(-np.abs(z))
    return e / (1.0 + e) ** 2


def tanh_grad(z: Array) -> Array:
    """1 - tanh(z)^2 = sech(z)^2 = 4 e^-2|z| / (1 + e^-2|z|)^2, without the cancellation in the tails."""
    e = np.exp(-2.0 * np.abs(z))
    return 4.0 * e / (1.0 + e) ** 2


@dataclass(frozen=True)
class Activation:
    """sigma and sigma' in numpy, and sigma for torch tensors (models and autograd references)."""

    name: str
    fn: Callable[[Array], Array]
    grad: Callable[[Array], Array]
    torch_fn: Callable  # torch.Tensor -> torch.Tensor
    # Output interval outside which a unit counts as saturated (|tanh| > 0.99); None: not tanh-like.
    saturation: tuple[float, float] | None = None
    # The function's range when it is bounded (tanh: (-1, 1)), so histograms share one x-axis.
    bounds: tuple[float, float] | None = None

    def __call__(self, z: Array) -> Array:
        return self.fn(z)


def relu() -> Activation:
    import torch

    return Activation("relu", lambda z: np.maximum(z, 0.0), lambda z: (z > 0).astype(np.result_type(z, 1.0)),
                      torch.relu)


def tanh() -> Activation:
    import torch

    return Activation("tanh", np.tanh, tanh_grad, torch.tanh,
                      saturation=(-0.99, 0.99), bounds=(-1.0, 1.0))


def sigmoid_activation() -> Activation:
    import torch

    return Activation("sigmoid", sigmoid, sigmoid_grad, torch.sigmoid, saturation=(0.01, 0.99), bounds=(0.0, 1.0))


def leaky_relu(gamma: float = 0.01) -> Activation:
    if not 0.0 < gamma < 1.0:
        raise ValueError(f"leaky_relu needs 0 < gamma < 1, got {gamma}")
    import torch.nn.functional as F

    return Activation(
        f"leaky_relu:{gamma:g}",
        lambda z: np.where(z > 0, z, gamma * z),
        lambda z: np.where(z > 0, 1.0, gamma),
        lambda t: F.leaky_relu(t, negative_slope=gamma),
    )


def gelu() -> Activation:
    import torch.nn.functional as F

    def fn(z: Array) -> Array:
        return 0.5 * z * _erfc(-z / _SQRT2)  # = z/2 [1 + erf(z/sqrt2)], without cancellation for z << 0

    def grad(z: Array) -> Array:
        # phi(z) underflows to 0 beyond |z| = 39; clipping keeps z * z from overflowing for huge |z|.
        zc = np.clip(z, -40.0, 40.0)
        return 0.5 * _erfc(-z / _SQRT2) + z * _INV_SQRT_2PI * np.exp(-0.5 * zc * zc)

    return Activation("gelu", fn, grad, lambda t: F.gelu(t, approximate="none"))


def softplus(beta: float = 1.0) -> Activation:
    if not 0 < beta < math.inf:
        raise ValueError(f"softplus needs a finite beta > 0, got {beta}")
    import torch

    return Activation(
        f"softplus:{beta:g}",
        lambda z: np.logaddexp(0.0, beta * z) / beta,  # log(1 + e^(beta z)) / beta, overflow-free
        lambda z: sigmoid(beta * z),
        # torch's F.softplus switches to the identity above a threshold; this is the exact formula.
        lambda t: torch.logaddexp(torch.zeros_like(t), beta * t) / beta,
    )


def cos() -> Activation:
    import torch

    return Activation("cos", np.cos, lambda z: -np.sin(z), torch.cos)


_FACTORIES: dict[str, Callable[..., Activation]] = {
    "relu": relu,
    "sigmoid": sigmoid_activation,
    "tanh": tanh,
    "leaky_relu": leaky_relu,
    "gelu": gelu,
    "softplus": softplus,
    "cos": cos,
}
_PARAMETERISED = {"leaky_relu", "softplus"}
NAMES = tuple(_FACTORIES)


def check_spec(spec: str) -> str | None:
    """Why `spec` is not a valid activation name, or None. Usable as a config `check`."""
    name, sep, arg = spec.partition(":")
    if name not in _FACTORIES:
        import difflib

        close = difflib.get_close_matches(name, NAMES, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"unknown activation {spec!r}; choose from {', '.join(NAMES)}{hint}"
    if sep:
        if name not in _PARAMETERISED:
            return f"{name} takes no parameter (got {spec!r})"
        try:
            value = float(arg)
        except ValueError:
            return f"{spec!r}: the parameter after ':' must be a number"
        if name == "leaky_relu" and not 0 < value < 1:
            return f"{spec!r}: leaky_relu needs 0 < gamma < 1"
        if name == "softplus" and not 0 < value < math.inf:
            return f"{spec!r}: softplus needs a finite beta > 0"
    return None


def get(spec: str) -> Activation:
    """The activation named `spec` (`tanh`, `leaky_relu:0.1`, ...)."""
    problem = check_spec(spec)
    if problem:
        raise ValueError(problem)
    name, sep, arg = spec.partition(":")
    return _FACTORIES[name](float(arg)) if sep else _FACTORIES[name]()
