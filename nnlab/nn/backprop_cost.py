"""What a gradient costs: an MLP's forward pass against forward + backward, in our engine and in torch.

The network: x (B, width) -> `depth` layers h = act(h @ W + b) of width x width -> logits = h @ W + b
(width x classes) -> cross-entropy. N, the parameter count, grows with the depth at a fixed width, so
the forward work (B N multiply-adds), the parameters and the intermediates all grow in proportion.

Two ways to get the gradient:
- "reverse": back-propagation, one forward pass that keeps its intermediates, one backward pass:
  O(N) time and O(N) memory (the lecture's claim, and its price).
- "recompute": keep nothing; for each layer l, from the last to the first, recompute h_{l-1} from x
  (l - 1 layers of forward work), then back-propagate through layer l alone. O(1) layers of memory but
  O(depth^2) time: the deliberate counter-example that must fail the cost claims.

The same code runs on our engine's Tensors and on torch tensors: both have `@`, `+` and the
activation methods; a backend supplies leaves, the loss, no-grad, backward and the memory count.
"""

from __future__ import annotations

import contextlib
import math
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from nnlab.nn import autograd

Weights = list[tuple[np.ndarray, np.ndarray]]  # [(W (n_in, n_out), b (n_out,))], float64
MODES = ("reverse", "recompute")


def init_weights(rng: np.random.Generator, sizes: list[int]) -> Weights:
    """W ~ N(0, 1/n_in) (Xavier's scale, so tanh neither saturates nor vanishes), b = 0."""
    return [(rng.standard_normal((n_in, n_out)) / math.sqrt(n_in), np.zeros(n_out))
            for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True)]


def parameter_count(width: int, depth: int, classes: int) -> int:
    return depth * (width * width + width) + width * classes + classes


def layer(h: Any, W: Any, b: Any, act: str | None) -> Any:
    z = h @ W + b  # (B, n_out)
    return getattr(z, act)() if act else z


class EngineBackend:
    name = "engine"

    def leaf(self, a: np.ndarray, grad: bool) -> autograd.Tensor:
        return autograd.Tensor(a, requires_grad=grad)

    def loss(self, logits: autograd.Tensor, y: np.ndarray) -> autograd.Tensor:
        return autograd.cross_entropy(logits, y)

    def labels(self, y: np.ndarray) -> np.ndarray:
        return y

    def no_grad(self) -> contextlib.AbstractContextManager:
        return autograd.no_grad()

    def backward(self, out: autograd.Tensor, grad: Any = None) -> None:
        out.backward(grad)

    @contextlib.contextmanager
    def counting(self, box: list[int], leaves: list[Any]):
        """Nothing to hook: the graph itself is walked afterwards (`kept`)."""
        yield

    def kept(self, out: autograd.Tensor, box: list[int]) -> int:
        return autograd.retained_bytes(out)

    def value(self, t: Any) -> np.ndarray:
        return t.data

    def grad(self, t: Any) -> np.ndarray:
        return t.grad


class TorchBackend:
    """torch on the CPU in float64. Memory: torch.autograd.graph.saved_tensors_hooks sees every tensor
    an operation saves for its backward; each storage is counted once, leaves (x, parameters) not at all."""

    name = "torch"

    def __init__(self) -> None:
        import torch

        self.torch = torch

    def leaf(self, a: np.ndarray, grad: bool):
        return self.torch.from_numpy(a).requires_grad_(grad)

    def labels(self, y: np.ndarray):
        return self.torch.from_numpy(y)

    def loss(self, logits, y):
        return self.torch.nn.functional.cross_entropy(logits, y)

    def no_grad(self):
        return self.torch.no_grad()

    def backward(self, out, grad: Any = None) -> None:
        out.backward(grad)

    @contextlib.contextmanager
    def counting(self, box: list[int], leaves: list[Any]):
        """box[0] <- bytes of the storages saved for backward by the operations run inside, leaves excluded."""
        excluded = {t.untyped_storage().data_ptr() for t in leaves}
        saved: dict[int, int] = {}

        def pack(t):
            storage = t.untyped_storage()
            if storage.data_ptr() not in excluded:
                saved[storage.data_ptr()] = storage.nbytes()
            return t

        with self.torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            yield
        box[0] = sum(saved.values())

    def kept(self, out, box: list[int]) -> int:
        return box[0]

    def value(self, t):
        return t.detach().numpy()

    def grad(self, t):
        return t.grad


def backends(names: list[str] | tuple[str, ...] = ("engine", "torch")) -> list[Any]:
    return [EngineBackend() if n == "engine" else TorchBackend() for n in names]


def forward(be: Any, params: list, x: Any, y: Any, act: str) -> Any:
    """The loss of the MLP (the last layer has no activation)."""
    h = x
    for W, b in params[:-1]:
        h = layer(h, W, b, act)
    W, b = params[-1]
    return be.loss(layer(h, W, b, None), y)


def gradients(be: Any, params: list, x: Any, y: Any, act: str, mode: str, count: bool = False) -> tuple[float, int]:
    """One gradient of the loss into the parameters' .grad; returns (loss, bytes kept for backward).

    reverse: forward keeping the graph, then backward. recompute: see the module docstring; the bytes
    are the most any one layer's graph kept. With count=False (timing) the bytes are not counted: 0.
    """
    for W, b in params:
        W.grad = b.grad = None
    leaves = [x, *(t for pair in params for t in pair)]

    def graph(build: Callable[[], Any], extra: list[Any]) -> tuple[Any, int]:
        if not count:
            return build(), 0
        box = [0]
        with be.counting(box, leaves + extra):
            out = build()
        return out, be.kept(out, box)

    if mode == "reverse":
        loss, kept = graph(lambda: forward(be, params, x, y, act), [])
        be.backward(loss)
        return float(be.value(loss)), kept
    if mode != "recompute":
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    upstream, kept, loss_value = None, 0, math.nan
    for l in reversed(range(len(params))):
        with be.no_grad():  # h_{l-1} from scratch: l layers of forward work, nothing kept
            h = x
            for W, b in params[:l]:
                h = layer(h, W, b, act)
        h_in = be.leaf(be.value(h), grad=l > 0)
        W, b = params[l]
        last = l == len(params) - 1
        out, layer_kept = graph(lambda h_in=h_in, W=W, b=b, last=last: be.loss(layer(h_in, W, b, None), y) if last
                                else layer(h_in, W, b, act), [h_in])
        kept = max(kept, layer_kept)
        if last:
            loss_value = float(be.value(out))
            be.backward(out)
        else:
            be.backward(out, upstream)
        upstream = be.grad(h_in) if l > 0 else None
    return loss_value, kept


# ----------------------------------------------------------------------------------------------------
# Timing


CLOCKS: dict[str, Callable[[], float]] = {
    # CPU seconds of this process: the work done, nearly blind to other processes sharing the cores.
    "cpu": time.process_time,
    # Wall-clock seconds: what a user waits, but on a loaded machine it also counts the others' turns.
    "wall": time.perf_counter,
}


def median_time(fn: Callable[[], Any], repeats: int, warmup: int, min_sample: float, clock: str = "cpu") -> float:
    """Median over `repeats` samples of fn's time in seconds. Each sample calls fn enough times to last
    `min_sample` seconds (calibrated on the warm-up), so small sizes are not lost in timer resolution."""
    now = CLOCKS[clock]
    t0 = now()
    fn()
    once = max(now() - t0, 1e-6)
    for _ in range(warmup):
        fn()
    calls = max(1, math.ceil(min_sample / once))
    samples = []
    for _ in range(repeats):
        t0 = now()
        for _ in range(calls):
            fn()
        samples.append((now() - t0) / calls)
    return statistics.median(samples)


def loglog_slope(xs: list[float], ys: list[float]) -> float | None:
    """Least-squares slope of log y against log x (1: proportional, 0: constant, 2: quadratic); None when a
    value has no logarithm (a zero or negative time: timing noise at a tiny size, e.g. on a busy machine)."""
    x, y = np.asarray(xs, float), np.asarray(ys, float)
    if len(x) < 2 or not (np.all(x > 0) and np.all(y > 0) and np.all(np.isfinite(y))) or np.ptp(x) == 0:
        return None
    lx, ly = np.log(x), np.log(y)
    return float(np.polyfit(lx, ly, 1)[0])


def measure_size(be: Any, weights: Weights, x: np.ndarray, y: np.ndarray, act: str, mode: str,
                 repeats: int, warmup: int, min_sample: float, clock: str = "cpu") -> dict[str, float]:
    """Times (s) of the forward pass alone and of forward + backward; bytes kept for the backward pass."""
    params = [(be.leaf(W, True), be.leaf(b, True)) for W, b in weights]
    xs, ys = be.leaf(x, False), be.labels(y)

    def plain() -> None:
        with be.no_grad():
            forward(be, params, xs, ys, act)

    loss, kept = gradients(be, params, xs, ys, act, mode, count=True)
    t_f = median_time(plain, repeats, warmup, min_sample, clock)
    t_fb = median_time(lambda: gradients(be, params, xs, ys, act, mode), repeats, warmup, min_sample, clock)
    return {"loss": loss, "forward_s": t_f, "forward_backward_s": t_fb, "backward_s": t_fb - t_f,
            "ratio": t_fb / t_f, "kept_bytes": kept}
