"""The lecture's output layers h^(L) (在最后一层 f_L，激活函数的选择由函数最终输出的约束条件所决定):

    softmax   h(x)_j = e^(x_j) / sum_k e^(x_k)    multi-class classification (多类分类问题): class probabilities
    exp       h(x) = e^x                           positive outputs (正输出问题): every value > 0
    identity  h(x) = x                             regression (回归问题：没有激活函数): any real value

Each takes a numpy array or a torch tensor of shape (..., n) (softmax over the last axis; the others
elementwise). softmax subtracts the row's maximum first (the same value, no overflow for large x); exp
overflows to inf beyond x = 709 in float64, as e^x does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

NAMES = ("softmax", "exp", "identity")


def _is_torch(x: Any) -> bool:
    return type(x).__module__.startswith("torch")


def softmax(x: Any) -> Any:
    """e^(x_j) / sum_k e^(x_k) over the last axis, computed as e^(x_j - max x) / sum_k e^(x_k - max x)."""
    if _is_torch(x):
        e = (x - x.amax(-1, keepdim=True)).exp()
        return e / e.sum(-1, keepdim=True)
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def exp(x: Any) -> Any:
    """e^x: a positive output whatever x is."""
    return x.exp() if _is_torch(x) else np.exp(x)


def identity(x: Any) -> Any:
    """x itself: regression has no output activation."""
    return x


HEADS: dict[str, Callable[[Any], Any]] = {"softmax": softmax, "exp": exp, "identity": identity}


def get(name: str) -> Callable[[Any], Any]:
    if name not in HEADS:
        raise ValueError(f"unknown output layer {name!r}; choose from {', '.join(NAMES)}")
    return HEADS[name]
