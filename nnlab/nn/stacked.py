"""K independent MLPs trained side by side with batched matrix products: one per (method, lambda, seed).

Network k, for inputs X_k of shape (B, d_in):

    h_0 = X_k,  h_l = U_l * sigma(h_{l-1} W_l[k] + b_l[k]),  out = h_{L-1} W_L[k] + b_L[k]

with W_l of shape (K, n_in, n_out) and b_l of shape (K, 1, n_out), so one torch.baddbmm does layer l of
every network. U_l is the slide's dropout mask (rand < p_k) / p_k with network k's keep probability p_k
(p_k = 1: all ones, no dropout); with no hidden layer the mask is applied to the inputs. At evaluation
the masks are left out (identity).

Training is proximal (stochastic) gradient descent on J + lambda R, network by network:

    theta <- theta - eta (grad J + lambda c2 2 theta)        the smooth part (c2: l2 1, elastic beta)
    theta <- S(theta, eta lambda c1)                          soft thresholding (c1: l1 and elastic 1)

so L1 zeros are exact. `l1_step="subgradient"` instead adds lambda c1 sign(theta) to the gradient
(zeros then are not exact). Only the weights W are penalized, never the biases.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nnlab.nn import regularizers


@dataclass
class Member:
    """What network k of the stack is: its penalty (or none), lambda, keep probability and seed index."""

    method: str         # none, l2, l1, elastic, dropout
    lam: float          # 0 for none and dropout
    keep_prob: float    # 1 unless method == dropout
    replicate: int      # which seed (data split, init and minibatch order are shared within a replicate)


class Stack:
    def __init__(self, sizes: Sequence[int], members: Sequence[Member], activation: str, beta: float,
                 l1_step: str, inits: Sequence[Any]):
        """`inits[k]`: a torch.Generator drawing network k's initial weights (same generator state: same init)."""
        import torch

        self.sizes, self.members, self.beta, self.l1_step = list(sizes), list(members), beta, l1_step
        self.act = torch.tanh if activation == "tanh" else torch.relu
        K = len(members)
        self.W, self.b = [], []
        for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
            bound = n_in ** -0.5  # torch.nn.Linear's U(-1/sqrt(n_in), 1/sqrt(n_in)) for weights and biases
            W = torch.stack([(torch.rand(n_in, n_out, generator=g) * 2 - 1) * bound for g in inits])
            b = torch.stack([(torch.rand(1, n_out, generator=g) * 2 - 1) * bound for g in inits])
            self.W.append(W.requires_grad_(True))
            self.b.append(b.requires_grad_(True))
        c2, c1 = [], []
        for m in members:
            s2, s1 = regularizers.split(m.method, beta) if m.method in regularizers.PENALTIES else (0.0, 0.0)
            c2.append(m.lam * s2)
            c1.append(m.lam * s1)
        self.c2 = torch.tensor(c2).view(K, 1, 1)  # lambda times the coefficient of sum theta^2, per network
        self.c1 = torch.tensor(c1).view(K, 1, 1)  # lambda times the coefficient of sum |theta|
        self.keep = torch.tensor([m.keep_prob for m in members]).view(K, 1, 1)
        self.dropout_any = bool((self.keep < 1).any())

    def to(self, device: str) -> Stack:
        with __import__("torch").no_grad():
            self.W = [w.detach().to(device).requires_grad_(True) for w in self.W]
            self.b = [b.detach().to(device).requires_grad_(True) for b in self.b]
        self.c2, self.c1, self.keep = self.c2.to(device), self.c1.to(device), self.keep.to(device)
        return self

    def _drop(self, h, masks_from):
        """Dropout on the networks that use it: masks are drawn only for those (most networks keep p = 1)."""
        if masks_from is None or not self.dropout_any:
            return h
        idx = (self.keep.view(-1) < 1).nonzero().view(-1)
        if len(idx) == h.shape[0]:
            return regularizers.dropout(h, self.keep, masks_from)
        return h.index_copy(0, idx, regularizers.dropout(h[idx], self.keep[idx], masks_from))

    def first(self, X):
        """The first hidden layer sigma(X W_1 + b_1), before its dropout (X itself with no hidden layer).

        X: (K, B, d_in) -> (K, B, n_1). Deterministic, so a Monte Carlo ensemble computes it once.
        """
        import torch

        return X if len(self.W) == 1 else self.act(torch.baddbmm(self.b[0], X, self.W[0]))

    def rest(self, h, masks_from=None):
        """From first(X) to the outputs (K, B, d_out): dropout after every hidden layer when `masks_from`
        (a torch.Generator) is given; the identity in its place otherwise (test time)."""
        import torch

        h = self._drop(h, masks_from)
        for i in range(0 if len(self.W) == 1 else 1, len(self.W)):
            h = torch.baddbmm(self.b[i], h, self.W[i])
            if i < len(self.W) - 1:
                h = self._drop(self.act(h), masks_from)
        return h

    def forward(self, X, masks_from=None):
        return self.rest(self.first(X), masks_from)

    def step(self, loss, lr: float) -> None:
        """One proximal-gradient step on loss (the sum over networks of each one's mean data loss).

        The same arithmetic as reference_step (bit for bit: 2 theta c2 = theta (2 c2) exactly, and
        S(v, t) = v - clamp(v, -t, t) rounds like sign(v) max(|v| - t, 0)), done in place: the gradient
        autograd hands over is overwritten, one scratch tensor per layer is reused, so a step of K MNIST
        networks (K x 55k weights) makes 6 memory passes and no new allocations instead of ~11 and ~9.
        """
        import torch

        for p in (*self.W, *self.b):
            p.grad = None
        loss.backward()
        c2x2, neg_t, t = self._coefficients(lr)
        with torch.no_grad():
            for W, buf in zip(self.W, self._scratch(), strict=True):
                g = W.grad  # (K, n_in, n_out), ours to overwrite: grad is reset to None every step
                if c2x2 is not None:
                    g.add_(torch.mul(W, c2x2, out=buf))  # grad J + lambda c2 2 theta
                if t is not None and self.l1_step == "subgradient":
                    g.add_(torch.sign(W, out=buf).mul_(self.c1))  # + lambda c1 sign(theta)
                W.sub_(g.mul_(lr))
                if t is not None and self.l1_step == "prox":
                    W.sub_(torch.clamp(W, neg_t, t, out=buf))  # S(W, eta lambda c1), exact zeros where |W| <= t
            for b in self.b:
                b.sub_(b.grad.mul_(lr))

    def _coefficients(self, lr: float):
        """(2 c2, -eta c1, eta c1), each (K, 1, 1), None where no network uses that part (skipped); cached per lr."""
        key = (lr, self.c2.device)
        if getattr(self, "_coef_key", None) != key:
            c2x2 = 2 * self.c2 if bool((self.c2 > 0).any()) else None
            t = lr * self.c1 if bool((self.c1 > 0).any()) else None
            self._coef_key, self._coef = key, (c2x2, None if t is None else -t, t)
        return self._coef

    def _scratch(self):
        """One reusable tensor per weight matrix, for the step's temporaries."""
        bufs = getattr(self, "_bufs", None)
        if bufs is None or any(b.shape != W.shape or b.device != W.device for b, W in zip(bufs, self.W, strict=True)):
            import torch

            bufs = self._bufs = [torch.empty_like(W, requires_grad=False) for W in self.W]
        return bufs

    def reference_step(self, loss, lr: float) -> None:
        """step() as the module docstring writes it, out of place (the tests' reference for step)."""
        import torch

        for p in (*self.W, *self.b):
            p.grad = None
        loss.backward()
        smooth, absolute = bool((self.c2 > 0).any()), bool((self.c1 > 0).any())
        with torch.no_grad():
            for W in self.W:
                g = W.grad + self.c2 * regularizers.l2_grad(W) if smooth else W.grad
                if absolute and self.l1_step == "subgradient":
                    g = g + self.c1 * regularizers.l1_grad(W)
                W -= lr * g
                if absolute and self.l1_step == "prox":
                    W.copy_(regularizers.soft_threshold(W, lr * self.c1))
            for b in self.b:
                b -= lr * b.grad

    def weights(self, k: int):
        """Network k's weights as one flat tensor (the penalized parameters)."""
        import torch

        return torch.cat([W[k].detach().reshape(-1) for W in self.W])

    def weight_stats(self, small: float = 1e-3) -> list[dict[str, float]]:
        """Per network: L2 norm sqrt(sum W^2), L1 norm, the fraction |w| < small and the fraction exactly 0."""
        import torch

        with torch.no_grad():
            flat = torch.cat([W.detach().reshape(W.shape[0], -1) for W in self.W], dim=1).double()  # (K, P)
            l2 = flat.square().sum(1).sqrt()
            l1 = flat.abs().sum(1)
            below = (flat.abs() < small).double().mean(1)
            zero = (flat == 0).double().mean(1)
        return [{"w_l2": float(a), "w_l1": float(b), "w_small": float(c), "w_zero": float(d)}
                for a, b, c, d in zip(l2, l1, below, zero, strict=True)]

    def block(self, a: int, b: int) -> Stack:
        """Networks a .. b-1 as a stack of views of these weights (no copy; detached, for evaluation only: the
        views follow this stack's later steps)."""
        sub = Stack.__new__(Stack)
        sub.__dict__.update(self.__dict__)
        sub.members = self.members[a:b]
        sub.W = [W.detach()[a:b] for W in self.W]
        sub.b = [bb.detach()[a:b] for bb in self.b]
        sub.c2, sub.c1, sub.keep = self.c2[a:b], self.c1[a:b], self.keep[a:b]
        sub.dropout_any = bool((sub.keep < 1).any())
        for cache in ("_coef_key", "_coef", "_bufs"):  # the step's caches belong to the full stack
            sub.__dict__.pop(cache, None)
        return sub

    def subset(self, ks: Sequence[int]) -> Stack:
        """Networks `ks` only, as a stack of their own (copies: used after training, for the ensembles)."""
        import torch

        sub = Stack.__new__(Stack)
        sub.__dict__.update(self.__dict__)
        idx = torch.as_tensor(list(ks))
        sub.members = [self.members[k] for k in ks]
        sub.W = [W.detach()[idx] for W in self.W]
        sub.b = [b.detach()[idx] for b in self.b]
        sub.c2, sub.c1, sub.keep = self.c2[idx], self.c1[idx], self.keep[idx]
        sub.dropout_any = bool((sub.keep < 1).any())
        for cache in ("_coef_key", "_coef", "_bufs"):  # the step's caches belong to the full stack
            sub.__dict__.pop(cache, None)
        return sub
