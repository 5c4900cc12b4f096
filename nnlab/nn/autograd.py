"""A small reverse-mode automatic differentiation engine, written from scratch on numpy arrays.

Every operation makes a new `Tensor` that remembers its parents and a `_backward` closure written
right beside the forward computation: given the adjoint out.grad = dL/d out, it adds dL/d parent =
out.grad * d out / d parent (the chain rule) into each parent's `.grad`. `Tensor.backward()` visits
the graph in reverse topological order, so a node's adjoint is complete before it is passed on.

    x = Tensor(1.0, requires_grad=True); y = Tensor(2.0, requires_grad=True); z = Tensor(4.0, requires_grad=True)
    u = x ** 2; v = u + y; w = z * v; r = w ** 2      # r = 144
    r.backward()                                      # x.grad, y.grad, z.grad = 192, 96, 72; u.grad = 96

Operations: + - * / ** (constant or tensor exponent), unary minus, exp, log, the lecture's activations
(relu, sigmoid, tanh, leaky_relu, gelu, softplus), 2-D matmul, sum / mean, log_softmax and the
cross-entropy; broadcasting, with gradients summed back to each operand's shape ("un-broadcasting").

Conventions follow torch's, so golden tests compare to 1e-12 everywhere: at a kink the subgradient
is relu'(0) = 0 and leaky_relu'(0) = gamma; d(a ** p)/da = 0 when p == 0 (also at a = 0); d(a ** b)/db
= 0 where a == 0 and b >= 0; tanh' = 1 - y^2 and sigmoid' = y (1 - y) from the output y.

Memory: the graph keeps every intermediate node's value alive until it is dropped (as micrograd does;
torch keeps only what its backward formulas need). `retained_bytes(root)` counts it.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator

import numpy as np

from nnlab.nn.activations import sigmoid as _sigmoid

_GRAD_ENABLED = True
_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_erfc_scalar = np.frompyfunc(math.erfc, 1, 1)


def _erfc(x: np.ndarray) -> np.ndarray:
    return np.asarray(_erfc_scalar(x), dtype=np.float64)


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Operations inside build no graph: plain evaluation of f, nothing kept for a backward pass."""
    global _GRAD_ENABLED
    before, _GRAD_ENABLED = _GRAD_ENABLED, False
    try:
        yield
    finally:
        _GRAD_ENABLED = before


def _unbroadcast(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum g over the axes numpy broadcast to reach g.shape from `shape` (the adjoint of broadcasting)."""
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for axis, n in enumerate(shape):
        if n == 1 and g.shape[axis] != 1:
            g = g.sum(axis=axis, keepdims=True)
    return g


def _accumulate(t: Tensor, g: np.ndarray) -> None:
    """t.grad += g, summed back to t's shape. Never in place: an adjoint array may be shared."""
    if not t.requires_grad:
        return
    g = np.asarray(g)
    if g.shape != t.data.shape:
        g = _unbroadcast(g, t.data.shape)
    t.grad = g if t.grad is None else t.grad + g


def as_tensor(value: Tensor | float | np.ndarray) -> Tensor:
    return value if isinstance(value, Tensor) else Tensor(value)


class Tensor:
    """A value (numpy array, 0-d for a scalar), its adjoint `.grad` and how it was made."""

    __slots__ = ("data", "grad", "requires_grad", "op", "name", "parents", "_backward")
    __array_priority__ = 100  # `2.0 * t` and `np.float64(2) * t` call our reflected operators

    def __init__(self, data, requires_grad: bool = False, name: str | None = None):
        data = np.asarray(data)
        self.data = data if np.issubdtype(data.dtype, np.floating) else data.astype(np.float64)
        self.grad: np.ndarray | None = None
        self.requires_grad = requires_grad
        self.op = ""  # "" for a leaf (a variable, a parameter, a constant)
        self.name = name
        self.parents: tuple[Tensor, ...] = ()
        self._backward: Callable[[], None] | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    def item(self) -> float:
        return float(self.data)

    def __repr__(self) -> str:
        label = f" {self.name}" if self.name else ""
        return f"Tensor{label}({self.data!r}, op={self.op!r}, grad={self.grad!r})"

    # -- building the graph -----------------------------------------------------------------------------
    @staticmethod
    def _node(data: np.ndarray, parents: tuple[Tensor, ...], op: str) -> Tensor:
        """The output of an operation: it joins the graph when grad is on and a parent needs a gradient."""
        out = Tensor(data)
        out.op = op
        if _GRAD_ENABLED and any(p.requires_grad for p in parents):
            out.requires_grad = True
            out.parents = parents
        return out

    def _with(self, backward: Callable[[], None]) -> Tensor:
        if self.requires_grad:
            self._backward = backward
        return self

    # -- arithmetic -------------------------------------------------------------------------------------
    def __add__(self, other) -> Tensor:
        other = as_tensor(other)
        out = Tensor._node(self.data + other.data, (self, other), "+")

        def backward() -> None:  # d(a + b)/da = d(a + b)/db = 1
            _accumulate(self, out.grad)
            _accumulate(other, out.grad)

        return out._with(backward)

    def __radd__(self, other) -> Tensor:
        return as_tensor(other) + self

    def __sub__(self, other) -> Tensor:
        other = as_tensor(other)
        out = Tensor._node(self.data - other.data, (self, other), "-")

        def backward() -> None:
            _accumulate(self, out.grad)
            _accumulate(other, -out.grad)

        return out._with(backward)

    def __rsub__(self, other) -> Tensor:
        return as_tensor(other) - self

    def __neg__(self) -> Tensor:
        out = Tensor._node(-self.data, (self,), "neg")
        return out._with(lambda: _accumulate(self, -out.grad))

    def __mul__(self, other) -> Tensor:
        other = as_tensor(other)
        out = Tensor._node(self.data * other.data, (self, other), "*")

        def backward() -> None:  # d(ab)/da = b, d(ab)/db = a
            _accumulate(self, out.grad * other.data)
            _accumulate(other, out.grad * self.data)

        return out._with(backward)

    def __rmul__(self, other) -> Tensor:
        return as_tensor(other) * self

    def __truediv__(self, other) -> Tensor:
        other = as_tensor(other)
        out = Tensor._node(self.data / other.data, (self, other), "/")

        def backward() -> None:  # d(a/b)/da = 1/b, d(a/b)/db = -(a/b)/b (torch's form)
            _accumulate(self, out.grad / other.data)
            if other.requires_grad:
                _accumulate(other, -out.grad * (self.data / other.data) / other.data)

        return out._with(backward)

    def __rtruediv__(self, other) -> Tensor:
        return as_tensor(other) / self

    def __pow__(self, other) -> Tensor:
        if isinstance(other, (int, float)) and not isinstance(other, bool):
            return self._pow_constant(float(other))
        other = as_tensor(other)
        a, b = self.data, other.data
        out = Tensor._node(a**b, (self, other), "**")

        def backward() -> None:
            with np.errstate(all="ignore"):  # np.where evaluates both branches
                if self.requires_grad:  # d(a^b)/da = b a^(b-1), and 0 where b == 0
                    _accumulate(self, out.grad * np.where(b == 0, 0.0, b * a ** (b - 1)))
                if other.requires_grad:  # d(a^b)/db = a^b log a, and 0 where a == 0 and b >= 0
                    _accumulate(other, out.grad * np.where((a == 0) & (b >= 0), 0.0, out.data * np.log(a)))

        return out._with(backward)

    def _pow_constant(self, p: float) -> Tensor:
        out = Tensor._node(self.data**p, (self,), f"**{p:g}")

        def backward() -> None:  # d(a^p)/da = p a^(p-1); p = 0 gives 0 even at a = 0
            if p == 0:
                _accumulate(self, np.zeros_like(out.grad))
            else:
                _accumulate(self, out.grad * (p * self.data ** (p - 1)))

        return out._with(backward)

    def __rpow__(self, other) -> Tensor:
        return as_tensor(other) ** self

    def __matmul__(self, other) -> Tensor:
        other = as_tensor(other)
        if self.data.ndim != 2 or other.data.ndim != 2:
            raise ValueError(f"matmul takes 2-D operands, got shapes {self.shape} and {other.shape}")
        out = Tensor._node(self.data @ other.data, (self, other), "@")

        def backward() -> None:  # (B, n) @ (n, m): dA = G B^T, dB = A^T G
            if self.requires_grad:
                _accumulate(self, out.grad @ other.data.T)
            if other.requires_grad:
                _accumulate(other, self.data.T @ out.grad)

        return out._with(backward)

    # -- elementwise functions ------------------------------------------------------------------------------
    def exp(self) -> Tensor:
        out = Tensor._node(np.exp(self.data), (self,), "exp")
        return out._with(lambda: _accumulate(self, out.grad * out.data))

    def log(self) -> Tensor:
        out = Tensor._node(np.log(self.data), (self,), "log")
        return out._with(lambda: _accumulate(self, out.grad / self.data))

    def relu(self) -> Tensor:
        out = Tensor._node(np.maximum(self.data, 0.0), (self,), "relu")
        return out._with(lambda: _accumulate(self, out.grad * (out.data > 0)))  # relu'(0) = 0

    def leaky_relu(self, gamma: float = 0.01) -> Tensor:
        a = self.data
        out = Tensor._node(np.where(a > 0, a, gamma * a), (self,), f"leaky_relu:{gamma:g}")
        return out._with(lambda: _accumulate(self, np.where(self.data > 0, out.grad, gamma * out.grad)))

    def sigmoid(self) -> Tensor:
        out = Tensor._node(_sigmoid(self.data), (self,), "sigmoid")
        return out._with(lambda: _accumulate(self, out.grad * out.data * (1.0 - out.data)))

    def tanh(self) -> Tensor:
        out = Tensor._node(np.tanh(self.data), (self,), "tanh")
        return out._with(lambda: _accumulate(self, out.grad * (1.0 - out.data * out.data)))

    def gelu(self) -> Tensor:
        """z Phi(z) with the exact normal cdf Phi (torch's approximate='none'), written with erfc."""
        cdf = 0.5 * _erfc(-self.data * _INV_SQRT2)
        out = Tensor._node(self.data * cdf, (self,), "gelu")

        def backward() -> None:  # Phi(z) + z phi(z)
            z = self.data
            pdf = _INV_SQRT_2PI * np.exp(-0.5 * z * z)
            _accumulate(self, out.grad * (0.5 * _erfc(-z * _INV_SQRT2) + z * pdf))

        return out._with(backward)

    def softplus(self, beta: float = 1.0) -> Tensor:
        """log(1 + e^(beta z)) / beta, exactly (torch's F.softplus switches to z above a threshold)."""
        out = Tensor._node(np.logaddexp(0.0, beta * self.data) / beta, (self,), f"softplus:{beta:g}")
        return out._with(lambda: _accumulate(self, out.grad * _sigmoid(beta * self.data)))

    # -- reductions and the classifier's loss ---------------------------------------------------------------
    def sum(self, axis: int | None = None, keepdims: bool = False) -> Tensor:
        out = Tensor._node(self.data.sum(axis=axis, keepdims=keepdims), (self,), "sum")

        def backward() -> None:
            g = out.grad if keepdims or axis is None else np.expand_dims(out.grad, axis)
            _accumulate(self, np.broadcast_to(g, self.data.shape))

        return out._with(backward)

    def mean(self, axis: int | None = None, keepdims: bool = False) -> Tensor:
        count = self.data.size if axis is None else self.data.shape[axis]
        return self.sum(axis=axis, keepdims=keepdims) * (1.0 / count)

    def log_softmax(self, axis: int = -1) -> Tensor:
        shifted = self.data - self.data.max(axis=axis, keepdims=True)  # no overflow in exp
        out = Tensor._node(shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True)), (self,), "log_softmax")

        def backward() -> None:  # g - softmax * sum(g): the Jacobian of log_softmax applied to g
            _accumulate(self, out.grad - np.exp(out.data) * out.grad.sum(axis=axis, keepdims=True))

        return out._with(backward)

    def nll(self, labels: np.ndarray) -> Tensor:
        """-mean_i self[i, labels[i]]: the loss of log-probabilities (B, C) against integer labels (B,)."""
        rows = np.arange(self.data.shape[0])
        out = Tensor._node(np.asarray(-self.data[rows, labels].mean()), (self,), "nll")

        def backward() -> None:
            g = np.zeros_like(self.data)
            g[rows, labels] = -out.grad / len(rows)
            _accumulate(self, g)

        return out._with(backward)

    # -- the backward pass ----------------------------------------------------------------------------------
    def backward(self, grad: np.ndarray | float | None = None) -> None:
        """Adjoints of every node in the graph under self (dL/d node in node.grad), seeded with `grad`.

        Leaves accumulate (call again after setting .grad = None to start over); each node's _backward
        runs once, after every node that uses it has added its share: O(nodes + work of the forward).
        """
        self.grad = np.ones_like(self.data) if grad is None else np.broadcast_to(np.asarray(grad, float), self.shape)
        for node in reversed(topological_order(self)):
            if node._backward is not None and node.grad is not None:
                node._backward()


def topological_order(root: Tensor) -> list[Tensor]:
    """Every node of the graph under root, each after all its parents (iterative: deep graphs are fine)."""
    order: list[Tensor] = []
    seen: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        stack.extend((p, False) for p in node.parents if id(p) not in seen)
    return order


def retained_bytes(root: Tensor) -> int:
    """Bytes the graph under root keeps alive for its backward pass: every intermediate node's value.

    Leaves (inputs, parameters, constants) exist with or without a backward pass and are not counted.
    """
    seen: dict[int, int] = {}
    for node in topological_order(root):
        if node.parents:
            seen[id(node.data)] = node.data.nbytes
    return sum(seen.values())


def cross_entropy(logits: Tensor, labels: np.ndarray) -> Tensor:
    """Mean over the batch of -log softmax(logits)[label]: logits (B, C), integer labels (B,)."""
    return logits.log_softmax(axis=-1).nll(labels)


def local_derivatives(node: Tensor) -> dict[int, float]:
    """d node / d parent for each parent of a scalar node (by id), found by running its _backward with
    adjoint 1 on zeroed parents; the parents' adjoints are restored afterwards. For drawing the graph."""
    if node._backward is None:
        return {}
    parents = list({id(p): p for p in node.parents}.values())
    saved = [(p.grad, p.requires_grad) for p in parents]
    own = node.grad
    try:
        for p in parents:
            p.grad, p.requires_grad = None, True
        node.grad = np.ones_like(node.data)
        with np.errstate(all="ignore"):
            node._backward()
        return {id(p): float(p.grad) if p.grad is not None else 0.0 for p in parents}
    finally:
        node.grad = own
        for p, (g, rg) in zip(parents, saved, strict=True):
            p.grad, p.requires_grad = g, rg
