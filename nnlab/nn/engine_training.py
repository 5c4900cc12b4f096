"""Train one MLP twice, with our engine and with torch, from the same weights on the same minibatches.

Plain SGD, theta <- theta - lr * grad, on the cross-entropy, in float64: the two runs do the same
arithmetic up to rounding, so their loss curves agree to ~1e-12 for the first steps (rounding
differences grow only slowly along training).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from nnlab.nn import autograd
from nnlab.nn.backprop_cost import EngineBackend, Weights, forward


def _engine_step(params: list[tuple[autograd.Tensor, autograd.Tensor]], x: np.ndarray, y: np.ndarray,
                 act: str, lr: float) -> float:
    for W, b in params:
        W.grad = b.grad = None
    loss = forward(EngineBackend(), params, autograd.Tensor(x), y, act)
    loss.backward()
    for W, b in params:
        W.data = W.data - lr * W.grad  # a new array: the arrays given by the caller stay untouched
        b.data = b.data - lr * b.grad
    return loss.item()


def accuracy_engine(params, x: np.ndarray, y: np.ndarray, act: str) -> float:
    with autograd.no_grad():
        h = autograd.Tensor(x)
        for W, b in params[:-1]:
            h = getattr(h @ W + b, act)()
        W, b = params[-1]
        logits = (h @ W + b).data
    return float((logits.argmax(axis=1) == y).mean())


def train_both(weights: Weights, x: np.ndarray, y: np.ndarray, batches: list[np.ndarray], act: str, lr: float,
               x_test: np.ndarray, y_test: np.ndarray, on_step: Callable[[int, float, float], None] | None = None,
               ) -> dict[str, Any]:
    """SGD over `batches` (index arrays into x, y) with each library; per-step losses and test accuracy."""
    import torch

    from nnlab.nn.backprop_cost import TorchBackend

    engine_params = [(autograd.Tensor(W, requires_grad=True), autograd.Tensor(b, requires_grad=True))
                     for W, b in weights]
    torch_params = [(torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True)) for W, b in weights]
    tb = TorchBackend()
    losses_e, losses_t = [], []
    for step, idx in enumerate(batches):
        xb, yb = x[idx], y[idx]
        le = _engine_step(engine_params, xb, yb, act, lr)
        for W, b in torch_params:
            W.grad = b.grad = None
        lt_tensor = forward(tb, torch_params, torch.from_numpy(xb), torch.from_numpy(yb), act)
        lt_tensor.backward()
        with torch.no_grad():
            for W, b in torch_params:
                W -= lr * W.grad
                b -= lr * b.grad
        lt = lt_tensor.item()
        losses_e.append(le)
        losses_t.append(lt)
        if on_step:
            on_step(step, le, lt)
    with torch.no_grad():
        h = torch.from_numpy(x_test)
        for W, b in torch_params[:-1]:
            h = getattr(h @ W + b, act)()
        W, b = torch_params[-1]
        acc_t = float(((h @ W + b).argmax(dim=1).numpy() == y_test).mean())
    return {"loss_engine": losses_e, "loss_torch": losses_t,
            "test_accuracy_engine": accuracy_engine(engine_params, x_test, y_test, act),
            "test_accuracy_torch": acc_t}


def train_engine(weights: Weights, x: np.ndarray, y: np.ndarray, batches: list[np.ndarray], act: str, lr: float,
                 x_test: np.ndarray, y_test: np.ndarray) -> dict[str, Any]:
    """The engine's half of train_both alone (for further seeds, where torch's curve is not compared)."""
    params = [(autograd.Tensor(W, requires_grad=True), autograd.Tensor(b, requires_grad=True)) for W, b in weights]
    losses = [_engine_step(params, x[idx], y[idx], act, lr) for idx in batches]
    return {"loss_engine": losses, "test_accuracy_engine": accuracy_engine(params, x_test, y_test, act)}
