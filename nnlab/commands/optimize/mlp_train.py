"""Training for the `mlp` problem of `nnlab optimize`, many runs in lockstep: every run (a method, or a minibatch
order) keeps its own parameters, optimizer state and minibatch stream, exactly as if it ran alone, but the runs'
tensor work is done together, one step at a time: the full training loss J(theta_k) of every run in one product
(mlp_loss.hidden_shared), the minibatch gradients of every run with one batch size in one bmm, with closed-form
backprop (mlp_loss.backward), and each rule of nnlab/nn/optimizers.py on its own row.

The full training loss is most of a step (n = 2048 images against B = 32). Three things make it cheaper:
- stacked, it costs about half a run what it costs alone (measured, one thread, H = 32);
- the pixels that are 0 in every training image (144 of 784) are dropped: their products are exactly 0;
- for the rules whose update is linear in (x_k, x_{k-1}, grad) (sgd, heavy_ball, nesterov), the pre-activations
  Z1(theta) = X W1 + b1, linear in theta, follow the rule too: Z1(x_{k+1}) = rule(Z1(x_k), Z1(grad), ...), and a
  minibatch gradient's image is Z1(g) = X X_B^T dZ1_B + 1 1^T dZ1_B = K[:, B] dZ1_B with K = X X^T + 1 (n, n),
  computed once: n B H multiply-adds a step instead of n k H. Float rounding accumulates along the recursion, so
  the images are recomputed directly every RESYNC steps (the drift is checked in tests).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnlab.commands.optimize.settings import DIVERGE_FACTOR
from nnlab.nn import mlp_loss, optimizers

LOSS_FLOATS = 2 ** 20      # floats of the (R, n, H) hidden activations one batched full pass holds (4 MiB)
BATCH_FLOATS = 2 ** 21     # floats of the (R, B, k) gathered minibatches one batched pass holds (8 MiB)
GRAM_MAX = 4096            # the largest training set whose K (n, n) is kept (64 MiB in float32)
LINEAR = ("sgd", "heavy_ball", "nesterov")  # stochastic rules linear in (x_k, x_{k-1}, grad), see above
RESYNC = 100               # steps between direct recomputations of the tracked images Z1(x_k)


@dataclass
class Data:
    """The training set (X (n, n_in) in [0, 1], y (n,)) as the batched losses take it: Xk = X[:, cols], the
    columns (pixels) that are nonzero in some image; cols None when every column is."""

    shapes: list[tuple[int, ...]]
    X: Any
    y: Any
    Xk: Any = field(init=False)
    cols: Any = field(init=False)
    x_l1: float = field(init=False)   # max_i ||X_i||_1, for mlp_loss.bound_loss
    _K: Any = field(init=False, default=None)

    def __post_init__(self) -> None:
        used = (self.X != 0).any(0)
        self.cols = None if bool(used.all()) else used.nonzero().squeeze(1)
        self.Xk = self.X if self.cols is None else self.X[:, self.cols].contiguous()
        self.x_l1 = float(self.X.abs().sum(1).max())

    @property
    def K(self):
        """X X^T + 1 (n, n): Z1's image of the minibatch gradients (module docstring)."""
        if self._K is None:
            self._K = self.Xk @ self.Xk.T + 1
        return self._K

    def _chunks(self, rows: int, idx) -> list[slice]:
        """Rows per batched pass, so that its activations (full set) or gathered minibatches stay small."""
        per_run = len(self.y) * self.shapes[0][1] if idx is None else idx.shape[1] * self.Xk.shape[1]
        size = max(1, (LOSS_FLOATS if idx is None else BATCH_FLOATS) // per_run)
        return [slice(i, i + size) for i in range(0, rows, size)]

    def hidden(self, thetas):
        """Z1 (R, n, H) of every row on the whole training set."""
        import torch

        return torch.cat([mlp_loss.hidden_shared(thetas[s], self.shapes, self.Xk, self.cols)
                          for s in self._chunks(len(thetas), None)])

    def losses(self, thetas, idx=None):
        """(R,): J(theta_r) on the whole training set (idx None), or on run r's minibatch idx[r] (idx (R, B));
        autograd-friendly (the power iteration differentiates it twice)."""
        import torch

        out = []
        for s in self._chunks(len(thetas), idx):
            if idx is None:
                out.append(mlp_loss.mlp_losses(thetas[s], self.shapes, self.Xk, self.y, self.cols))
            else:
                out.append(mlp_loss.mlp_batch_losses(thetas[s], self.shapes, self.Xk[idx[s]], self.y[idx[s]],
                                                     self.cols))
        return torch.cat(out)

    def grads(self, points, idx=None):
        """(J (R,), its gradient (R, P)) at the rows of points, by autograd: on the whole set, or on idx's
        minibatches."""
        import torch

        P = points.detach().requires_grad_(True)
        J = self.losses(P, idx)
        (G,) = torch.autograd.grad(J.sum(), P)  # the runs are independent: row r is grad J_r(theta_r)
        return J.detach(), G

    def full_pass(self, thetas, Z1=None, grad_rows: list[int] = ()) -> tuple[list[float], dict[int, Any]]:
        """J on the whole set of every row (from the pre-activations Z1 when given), and the closed-form
        gradients of the rows grad_rows (indices into thetas)."""
        import torch

        J: list[float] = []
        G: dict[int, Any] = {}
        for s in self._chunks(len(thetas), None):
            th = thetas[s]
            T, Z2 = mlp_loss.head(self.hidden(th) if Z1 is None else Z1[s], th, self.shapes)
            J += mlp_loss.cross_entropies(Z2, self.y.expand(len(th), len(self.y))).tolist()
            rows = [r - s.start for r in grad_rows if s.start <= r < s.start + len(th)]
            if rows:
                sel = torch.as_tensor(rows)
                g, _ = mlp_loss.backward(th[sel], self.shapes, self.Xk, self.y.expand(len(rows), len(self.y)),
                                         T[sel], Z2[sel], self.cols)
                G |= {r + s.start: g[i] for i, r in enumerate(rows)}
        return J, G

    def batch_grads(self, points, idx):
        """The closed-form gradient (R, P) of every row on its minibatch idx[r] (idx (R, B)), and dJ/dZ1 (R, B, H)."""
        import torch

        out = []
        for s in self._chunks(len(points), idx):
            Xb, yb = self.Xk[idx[s]], self.y[idx[s]]
            T, Z2 = mlp_loss.head(mlp_loss.hidden_batch(points[s], self.shapes, Xb, self.cols), points[s], self.shapes)
            out.append(mlp_loss.backward(points[s], self.shapes, Xb, yb, T, Z2, self.cols))
        return torch.cat([g for g, _ in out]), torch.cat([d for _, d in out])


@dataclass
class Spec:
    """One run: `steps` updates of `method` with hyperparameters hp; minibatches of batch_size drawn from rng
    (None: the full batch, GD). record: keep J(theta_k) at every k; else only J(theta_0) and the last, and a
    step's loss is computed only when mlp_loss.bound_loss cannot rule out that it diverged."""

    method: str
    hp: dict[str, float]
    rng: np.random.Generator | None
    batch_size: int | None
    steps: int
    record: bool = True


@dataclass
class Trajectory:
    theta: Any                 # the last parameters: theta_steps, or the first diverged one
    losses: list[float]        # J(theta_0), ..., J(theta_last finite) (recorded runs), else J(theta_0) and,
                               # unless it diverged, J(theta_steps)
    diverged: int | None       # the step whose loss was not finite or beyond DIVERGE_FACTOR x max(1, J_0)
    steps_run: int             # steps taken before it ended or diverged


def tracks(s: Spec, data: Data) -> bool:
    """Does run s follow its pre-activations Z1(x_k) by the rule (cheaper than X W1 when B < k)?"""
    return (s.record and s.method in LINEAR and s.batch_size is not None and len(data.y) <= GRAM_MAX
            and s.batch_size < data.Xk.shape[1])


@dataclass
class _Runs:
    """The lockstep state: theta_k, rule state and minibatch stream of every run; for the tracked runs the
    images Z1(theta_k) (n, H) and Z1 of their rule state."""

    specs: list[Spec]
    x: list[Any]
    states: list[dict[str, Any]]
    batches: list[Any]
    z: dict[int, Any]
    zstates: dict[int, dict[str, Any]]


def train(specs: list[Spec], theta0, data: Data, track: Callable[[Iterable[int]], Iterable[int]] = iter
          ) -> list[Trajectory]:
    """Every spec from theta0, in lockstep; track wraps the step loop (a progress bar)."""
    import torch

    R = len(specs)
    with torch.no_grad():
        z0 = data.hidden(theta0[None])[0]                                   # Z1(theta_0) (n, H)
        l0 = data.full_pass(theta0[None], z0[None])[0][0]
    tracked = [r for r in range(R) if tracks(specs[r], data)]
    runs = _Runs(specs, [theta0] * R, [{} for _ in specs],  # rules return new tensors, never mutate
                 [optimizers.epoch_batches(s.rng, len(data.y), s.batch_size) if s.batch_size else None
                  for s in specs], {r: z0 for r in tracked}, {r: {} for r in tracked})
    limit = DIVERGE_FACTOR * max(1.0, l0)
    losses: list[list[float]] = [[l0] for _ in specs]
    diverged: list[int | None] = [None] * R
    steps_run = [0] * R
    alive = set(range(R))
    for k in track(range(max(s.steps for s in specs) + 1)):
        live = [r for r in range(R) if r in alive]
        if not live:
            break
        if k and k % RESYNC == 0:
            _resync(runs, data, [r for r in live if r in runs.z])
        known, grads = _losses_at(k, live, runs, data, limit)
        for r in live:
            loss = known.get(r)
            if loss is not None and (not math.isfinite(loss) or loss > limit):
                diverged[r] = k
                alive.discard(r)
                continue
            if loss is not None and (specs[r].record or k == specs[r].steps):
                losses[r].append(loss)
            steps_run[r] = k
            if k == specs[r].steps:
                alive.discard(r)
        go = [r for r in live if r in alive]
        if go:
            images = _gradients(go, runs, data, grads)
            for r in go:
                s = specs[r]
                runs.x[r], runs.states[r] = optimizers.RULES[s.method](runs.x[r], grads[r], runs.states[r], **s.hp)
                if r in runs.z:
                    runs.z[r], runs.zstates[r] = optimizers.RULES[s.method](runs.z[r], images[r], runs.zstates[r],
                                                                            **s.hp)
    return [Trajectory(runs.x[r].detach(), losses[r], diverged[r], steps_run[r]) for r in range(R)]


def _resync(runs: _Runs, data: Data, rows: list[int]) -> None:
    """Recompute the tracked images directly: Z1 of x_k and of every theta-shaped tensor of the rule state."""
    import torch

    with torch.no_grad():
        for r in rows:
            runs.z[r] = data.hidden(runs.x[r][None])[0]
            runs.zstates[r] = {key: data.hidden(v[None])[0] if torch.is_tensor(v) and v.shape == runs.x[r].shape
                               else v for key, v in runs.states[r].items()}


def _shares_loss(s: Spec, k: int) -> bool:
    """A full-batch run whose gradient is taken at x_k itself gets it from the pass that gives J(theta_k)."""
    return s.batch_size is None and s.method != "nesterov" and k < s.steps


def _losses_at(k: int, live: list[int], runs: _Runs, data: Data, limit: float
               ) -> tuple[dict[int, float], dict[int, Any]]:
    """J(theta_k) of the live runs that need it (k >= 1), and the full-batch gradients that came with some."""
    import torch

    specs, x = runs.specs, runs.x
    full = [r for r in live if _shares_loss(specs[r], k)]
    rest = [r for r in live if r not in full] if k else []
    need = [r for r in rest if specs[r].record or k == specs[r].steps]
    maybe = [r for r in rest if r not in need]
    with torch.no_grad():
        if maybe:  # not recorded: computed only where the bound does not prove the run is still finite and small
            bound = mlp_loss.bound_loss(torch.stack([x[r] for r in maybe]), data.shapes, data.x_l1).tolist()
            need += [r for r, b in zip(maybe, bound, strict=True) if not b <= limit / 2]
        known: dict[int, float] = {}
        grads: dict[int, Any] = {}
        direct = full + [r for r in need if r not in runs.z]
        if direct:  # one stacked pass: J for all of them, closed-form gradients for the full-batch runs
            J, G = data.full_pass(torch.stack([x[r] for r in direct]), grad_rows=list(range(len(full))))
            known |= dict(zip(direct, J, strict=True))
            grads |= {full[i]: g for i, g in G.items()}
        images = [r for r in need if r in runs.z]
        if images:
            J, _ = data.full_pass(torch.stack([x[r] for r in images]), torch.stack([runs.z[r] for r in images]))
            known |= dict(zip(images, J, strict=True))
    return (known if k else {}), grads


def _gradients(go: list[int], runs: _Runs, data: Data, grads: dict[int, Any]) -> dict[int, Any]:
    """Fill `grads` with the gradient each run's rule asks for (at y_k for Nesterov), the runs of one batch size
    together (their epochs are in step, so their minibatches have one size); returns the tracked runs' images
    Z1(grad) (n, H)."""
    import torch

    specs = runs.specs
    todo = [r for r in go if r not in grads]
    points = {r: optimizers.gradient_point(specs[r].method, runs.x[r], runs.states[r], **specs[r].hp) for r in todo}
    images: dict[int, Any] = {}
    for bs in sorted({specs[r].batch_size or 0 for r in todo}):
        rs = [r for r in todo if (specs[r].batch_size or 0) == bs]
        P = torch.stack([points[r] for r in rs])
        if bs == 0:  # full batch at a point other than x_k (Nesterov)
            _, G = data.full_pass(P, grad_rows=list(range(len(rs))))
            grads |= {rs[i]: g for i, g in G.items()}
            continue
        idx = torch.as_tensor(np.stack([next(runs.batches[r]) for r in rs]), device=data.y.device)   # (G, B)
        G, dZ1 = data.batch_grads(P, idx)
        grads |= dict(zip(rs, G, strict=True))
        sel = [i for i, r in enumerate(rs) if r in runs.z]
        if sel:  # K[:, B] dZ1_B of each tracked run: (n, B) @ (B, H)
            t = torch.as_tensor(sel)
            Z = torch.bmm(data.K[idx[t]].transpose(1, 2), dZ1[t])
            images |= {rs[i]: Z[j] for j, i in enumerate(sel)}
    return images
