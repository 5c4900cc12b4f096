"""A Transformer encoder in torch, built on our own port of multi-head attention (lecture: Transformer Encoder).

Why our own port and not torch.nn.MultiheadAttention: the experiments draw every head's weights a_ij on
every evaluation, and swap attention for mean pooling in the same block. `SelfAttention` below is the
numpy formulas of nnlab.nn.attention line for line (one packed W^q, W^k, W^v projection in
nn.MultiheadAttention's layout, e_ij = q_i . k_j / sqrt(m/h), softmax, concatenation, W_o), so its
weights copy to and from nn.MultiheadAttention unchanged, and tests/test_nn_attention.py checks it
against nn.MultiheadAttention and the whole block against nn.TransformerEncoderLayer in float64.
nn.MultiheadAttention could return per-head weights too (need_weights, average_attn_weights=False),
but only through its slow path, and it has no place for the mean-pooling control.

Shapes: x (B, T, m), B sequences of T tokens of width m; weights (B, h, T, T).

Encoder block (MLP: m -> 4m -> m with GELU), `norm` selects where LayerNorm goes:
    pre-norm:   x = x + Mix(LN(x));   x = x + MLP(LN(x))      (a final LN after the last block)
    post-norm:  x = LN(x + Mix(x));   x = LN(x + MLP(x))      (the original Transformer's)
Mix is SelfAttention, or MeanPool: the same block with a_ij = 1/T (attention replaced by mean pooling).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nnlab.nn.attention import check_heads


class SelfAttention(nn.Module):
    """Multi-head self-attention: W_o [softmax(Q_i K_i^T / sqrt(m/h)) V_i]_i, with the weights returned."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        problem = check_heads(dim, heads)
        if problem:
            raise ValueError(problem)
        self.heads = heads
        self.in_proj = nn.Linear(dim, 3 * dim)  # rows: W^q, W^k, W^v (nn.MultiheadAttention's in_proj_weight)
        self.out_proj = nn.Linear(dim, dim)     # W_o
        # nn.MultiheadAttention's initialization: Xavier-uniform packed projection, zero biases
        nn.init.xavier_uniform_(self.in_proj.weight)
        nn.init.zeros_(self.in_proj.bias)
        nn.init.zeros_(self.out_proj.bias)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        B, T, m = x.shape
        h = self.heads
        q, k, v = self.in_proj(x).view(B, T, 3, h, m // h).permute(2, 0, 3, 1, 4)  # each (B, h, T, m/h)
        e = q @ k.transpose(-1, -2) / math.sqrt(m // h)  # (B, h, T, T)
        if mask is not None:  # True = may attend (as in scaled_dot_product_attention)
            e = e.masked_fill(~mask, float("-inf"))
        a = e.softmax(-1)  # torch's softmax subtracts the row max: stable
        y = (a @ v).transpose(1, 2).reshape(B, T, m)  # concatenate the heads: (B, T, m)
        return self.out_proj(y), a

    def load_from(self, mha: nn.MultiheadAttention) -> SelfAttention:
        """Copy an nn.MultiheadAttention's weights (same dim, heads, bias=True, batch_first any)."""
        with torch.no_grad():
            self.in_proj.weight.copy_(mha.in_proj_weight)
            self.in_proj.bias.copy_(mha.in_proj_bias)
            self.out_proj.weight.copy_(mha.out_proj.weight)
            self.out_proj.bias.copy_(mha.out_proj.bias)
        return self


class MeanPool(nn.Module):
    """The control: attention with uniform weights a_ij = 1/T, y_i = W_o mean_j (W^v x_j) for every i."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.value = nn.Linear(dim, dim)
        self.out_proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        B, T, _ = x.shape
        y = self.out_proj(self.value(x).mean(1, keepdim=True)).expand_as(x)  # the same for every token
        a = torch.full((B, self.heads, T, T), 1.0 / T, device=x.device, dtype=x.dtype)
        return y, a


class EncoderBlock(nn.Module):
    def __init__(self, dim: int, heads: int, norm: str = "pre", mixer: str = "attention"):
        super().__init__()
        if norm not in ("pre", "post"):
            raise ValueError(f"norm must be 'pre' or 'post', got {norm!r}")
        self.norm = norm
        self.mix = SelfAttention(dim, heads) if mixer == "attention" else MeanPool(dim, heads)
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.linear1, self.linear2 = nn.Linear(dim, 4 * dim), nn.Linear(4 * dim, dim)

    def mlp(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear2(F.gelu(self.linear1(x)))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        if self.norm == "pre":
            y, a = self.mix(self.norm1(x), mask)
            x = x + y
            return x + self.mlp(self.norm2(x)), a
        y, a = self.mix(x, mask)
        x = self.norm1(x + y)
        return self.norm2(x + self.mlp(x)), a

    def load_from(self, layer: nn.TransformerEncoderLayer) -> EncoderBlock:
        """Copy an nn.TransformerEncoderLayer's weights (d_model = dim, dim_feedforward = 4 dim, gelu)."""
        self.mix.load_from(layer.self_attn)
        with torch.no_grad():
            for ours, theirs in ((self.norm1, layer.norm1), (self.norm2, layer.norm2),
                                 (self.linear1, layer.linear1), (self.linear2, layer.linear2)):
                ours.weight.copy_(theirs.weight)
                ours.bias.copy_(theirs.bias)
        return self


class Encoder(nn.Module):
    """`layers` encoder blocks; returns the output (B, T, m) and each block's weights [(B, h, T, T)]."""

    def __init__(self, dim: int, heads: int, layers: int, norm: str = "pre", mixer: str = "attention"):
        super().__init__()
        self.blocks = nn.ModuleList(EncoderBlock(dim, heads, norm, mixer) for _ in range(layers))
        self.final_norm = nn.LayerNorm(dim) if norm == "pre" else nn.Identity()

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, list[torch.Tensor]]:
        weights = []
        for block in self.blocks:
            x, a = block(x, mask)
            weights.append(a)
        return self.final_norm(x), weights


def sinusoidal_encoding(n: int, dim: int) -> np.ndarray:
    """The Transformer's positional encoding (n, dim): PE[p, 2i] = sin(p / 10000^(2i/dim)), PE[p, 2i+1] = cos(...)."""
    pos = np.arange(n)[:, None]
    freq = 10000.0 ** (-np.arange(0, dim, 2) / dim)  # (ceil(dim/2),)
    pe = np.zeros((n, dim))
    pe[:, 0::2] = np.sin(pos * freq)
    pe[:, 1::2] = np.cos(pos * freq[: dim // 2])
    return pe


# ----------------------------------------------------------------------------------------------------
# The two models of `nnlab attention`


class RetrievalNet(nn.Module):
    """Key-value lookup: tokens are P pairs (key, value) and Q queries (a key); predict each query's value.

    pair token = E_key[k] + E_value[v] + t_pair;  query token = E_key[q] + t_query  (no positions: the
    pairs are a set). Logits over the values are read at the query tokens: (B, Q, n_values).
    """

    def __init__(self, n_keys: int, n_values: int, dim: int, heads: int, layers: int, norm: str, mixer: str):
        super().__init__()
        self.key, self.value = nn.Embedding(n_keys, dim), nn.Embedding(n_values, dim)
        self.kind = nn.Embedding(2, dim)  # 0: pair, 1: query
        self.encoder = Encoder(dim, heads, layers, norm, mixer)
        self.head = nn.Linear(dim, n_values)

    def forward(self, keys: torch.Tensor, values: torch.Tensor, queries: torch.Tensor):
        pairs = self.key(keys) + self.value(values) + self.kind.weight[0]  # (B, P, m)
        asks = self.key(queries) + self.kind.weight[1]                       # (B, Q, m)
        y, weights = self.encoder(torch.cat([pairs, asks], 1))
        return self.head(y[:, keys.shape[1]:]), weights


class VisionTransformer(nn.Module):
    """A small ViT: 28 x 28 digits cut into (28/p)^2 patches of p x p pixels, each a token (linear embedding),
    a learned [CLS] token first, fixed sinusoidal positions added, the encoder, and 10 logits read at [CLS]."""

    def __init__(self, patch: int, dim: int, heads: int, layers: int, norm: str, classes: int = 10):
        super().__init__()
        self.patch = patch
        n = (28 // patch) ** 2
        self.embed = nn.Linear(patch * patch, dim)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.register_buffer("pos", torch.from_numpy(sinusoidal_encoding(n + 1, dim)).float(), persistent=False)
        self.encoder = Encoder(dim, heads, layers, norm)
        self.head = nn.Linear(dim, classes)

    def patches(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 28, 28) -> (B, n, p*p), patches in row-major order."""
        B, p = x.shape[0], self.patch
        g = 28 // p
        return x.reshape(B, g, p, g, p).permute(0, 1, 3, 2, 4).reshape(B, g * g, p * p)

    def forward(self, x: torch.Tensor):
        tokens = self.embed(self.patches(x))  # (B, n, m)
        tokens = torch.cat([self.cls.expand(len(x), -1, -1), tokens], 1) + self.pos.to(tokens.dtype)
        y, weights = self.encoder(tokens)
        return self.head(y[:, 0]), weights
