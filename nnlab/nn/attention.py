"""Attention written out in numpy, in the lecture's steps (lecture: 注意力机制, 自注意力, 多头自注意力).

Tokens are rows: X has shape (n, c), one encoder state x_i in R^c per row (the slides write columns).
Weights keep the slides' shapes and torch.nn.Linear's layout alike: W^q, W^k, W^v in R^{m x c}, so
q_i = W^q x_i is the row Q = X W^q^T, and torch weights copy across unchanged.

1. Projection of a decoder state h onto the encoder states:   f = sum_i <h, x_i> x_i
2. Encoder-decoder attention:  score(h, x_i) = <h, x_i>,  a_i = exp(score_i) / sum_i' exp(score_i'),
                               f = sum_i a_i x_i
3. Self-attention:  q_i = W^q x_i, k_i = W^k x_i, v_i = W^v x_i,  e_ij = q_i . k_j / sqrt(m),
                    a_ij = softmax_j(e_ij),  Attention(q, k, v)_i = sum_j a_ij v_j
4. Multi-head:      h heads with W_i^q, W_i^k, W_i^v in R^{(m/h) x c} (rows i m/h .. (i+1) m/h - 1 of
                    W^q, W^k, W^v), each scaled by sqrt(m/h), its own head size; the heads' outputs are
                    concatenated and multiplied by W_o in R^{m x m}.

Masks follow torch.nn.functional.scaled_dot_product_attention: a boolean `mask` is True where a query
MAY attend to a key. `causal=True` lets query i see keys j <= i (aligned at the end when n_q != n_k is
not supported: queries and keys must then be equally many). A query row with no allowed key gets
weights 0 (and output 0) instead of NaN.

All functions are pure and broadcast over leading batch dimensions.
"""

from __future__ import annotations

import math

import numpy as np


def softmax(scores: np.ndarray, axis: int = -1, mask: np.ndarray | None = None) -> np.ndarray:
    """a = exp(s - max s) / sum exp(s - max s) along `axis`: the max shift keeps exp() <= 1, so no overflow.

    `mask` (broadcastable, True = allowed) sets excluded entries' weight to exactly 0; a row with no allowed
    entry is all zeros.
    """
    s = np.asarray(scores, dtype=float)
    if mask is not None:
        s = np.where(mask, s, -np.inf)
    top = np.max(s, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)  # a fully masked row: avoid inf - inf
    e = np.exp(s - top)
    total = np.sum(e, axis=axis, keepdims=True)
    return np.divide(e, total, out=np.zeros_like(e), where=total > 0)


def entropy(weights: np.ndarray, axis: int = -1) -> np.ndarray:
    """H(a) = -sum a log a in nats (0 log 0 = 0): log n for uniform weights, 0 for a one-hot row."""
    a = np.asarray(weights, dtype=float)
    logs = np.log(np.where(a > 0, a, 1.0))
    return -np.sum(a * logs, axis=axis)


# ----------------------------------------------------------------------------------------------------
# The slides, step by step


def projection(h: np.ndarray, X: np.ndarray) -> np.ndarray:
    """f = sum_i <h, x_i> x_i = X^T (X h); h (c,), X (n, c) -> (c,). The unnormalized first step."""
    return X.T @ (X @ h)


def encoder_decoder_attention(h: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The slide's attention for one decoder state h (c,) over encoder states X (n, c).

    score(h, x_i) = <h, x_i> (dot score), a = softmax(score), f = sum_i a_i x_i. Returns (f (c,), a (n,)).
    """
    a = softmax(X @ h)
    return a @ X, a


def unnormalised_attention(X: np.ndarray, Wq: np.ndarray, Wk: np.ndarray, Wv: np.ndarray) -> np.ndarray:
    """The slide's second line taken literally: Attention_i = sum_j <q_i, k_j> v_j = (Q K^T) V, no softmax and no
    1/sqrt(m). X (..., n, c), W (m, c) -> (..., n, m). Its weights <q_i, k_j> are neither positive nor summing
    to 1, so the output is no convex combination of the v_j and its size grows with n (a sum of n terms)."""
    Q, K, V = X @ Wq.T, X @ Wk.T, X @ Wv.T
    return (Q @ np.swapaxes(K, -1, -2)) @ V


def causal_mask(n: int) -> np.ndarray:
    """(n, n) boolean, True where j <= i: query i may see keys up to itself."""
    return np.tril(np.ones((n, n), dtype=bool))


def padding_mask(lengths: np.ndarray | list[int], n: int) -> np.ndarray:
    """(B, 1, 1, n) boolean, True for the first lengths[b] keys of sequence b (broadcasts over heads, queries)."""
    keep = np.arange(n)[None, :] < np.asarray(lengths)[:, None]  # (B, n)
    return keep[:, None, None, :]


def scaled_dot_product_attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: np.ndarray | None = None,
                                 causal: bool = False, scale: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """softmax(q k^T * scale) v, scale = 1 / sqrt(d) by default (d = q's last dimension).

    q (..., n_q, d), k (..., n_k, d), v (..., n_k, d_v) -> output (..., n_q, d_v), weights (..., n_q, n_k).
    """
    d = q.shape[-1]
    scale = 1.0 / math.sqrt(d) if scale is None else scale
    e = (q @ np.swapaxes(k, -1, -2)) * scale  # (..., n_q, n_k): e_ij = q_i . k_j / sqrt(d)
    if causal:
        if q.shape[-2] != k.shape[-2]:
            raise ValueError(f"causal attention needs as many queries as keys, got {q.shape[-2]} and {k.shape[-2]}")
        c = causal_mask(q.shape[-2])
        mask = c if mask is None else (mask & c)
    a = softmax(e, mask=mask)
    return a @ v, a


def self_attention(X: np.ndarray, Wq: np.ndarray, Wk: np.ndarray, Wv: np.ndarray, mask: np.ndarray | None = None,
                   causal: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """One head: q_i = W^q x_i (W^q in R^{m x c}), e_ij = q_i . k_j / sqrt(m), out_i = sum_j a_ij v_j.

    X (..., n, c) -> output (..., n, m_v), weights (..., n, n).
    """
    Q, K, V = X @ Wq.T, X @ Wk.T, X @ Wv.T  # (..., n, m)
    return scaled_dot_product_attention(Q, K, V, mask=mask, causal=causal)


def split_heads(Y: np.ndarray, heads: int) -> np.ndarray:
    """(..., n, m) -> (..., heads, n, m / heads): head i holds columns i m/h .. (i+1) m/h - 1."""
    *lead, n, m = Y.shape
    return np.swapaxes(Y.reshape(*lead, n, heads, m // heads), -2, -3)


def merge_heads(Y: np.ndarray) -> np.ndarray:
    """(..., heads, n, m / heads) -> (..., n, m): the slide's concatenation [Attention_1; ...; Attention_h]."""
    *lead, h, n, d = Y.shape
    return np.swapaxes(Y, -2, -3).reshape(*lead, n, h * d)


def check_heads(m: int, heads: int) -> str | None:
    """Why `heads` heads cannot split width m (None: they can)."""
    if heads < 1:
        return f"heads must be >= 1, got {heads}"
    if m % heads:
        return f"{m} is not divisible by {heads} heads (each head gets m / h units)"
    return None


def multi_head_attention(x_q: np.ndarray, x_kv: np.ndarray, Wq: np.ndarray, Wk: np.ndarray, Wv: np.ndarray,
                         Wo: np.ndarray, heads: int, biases: tuple[np.ndarray, ...] | None = None,
                         mask: np.ndarray | None = None, causal: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """MultiheadAttention(x) = W_o [Attention_1(x); ...; Attention_h(x)] (+ b_o), in row form.

    x_q (..., n_q, c) are the queries' states, x_kv (..., n_k, c) the keys' and values' (the same array for
    self-attention). Wq, Wk, Wv (m, c); Wo (m, m); biases = (b_q, b_k, b_v, b_o), each (m,), or None.
    `mask` broadcasts to (..., heads, n_q, n_k), True = allowed. Returns the output (..., n_q, m) and the
    per-head weights (..., heads, n_q, n_k).
    """
    m = Wq.shape[0]
    problem = check_heads(m, heads)
    if problem:
        raise ValueError(problem)
    bq, bk, bv, bo = biases if biases is not None else (0.0, 0.0, 0.0, 0.0)
    Q = split_heads(x_q @ Wq.T + bq, heads)   # (..., h, n_q, m/h)
    K = split_heads(x_kv @ Wk.T + bk, heads)  # (..., h, n_k, m/h)
    V = split_heads(x_kv @ Wv.T + bv, heads)  # (..., h, n_k, m/h)
    out, a = scaled_dot_product_attention(Q, K, V, mask=mask, causal=causal)  # scale 1 / sqrt(m/h)
    return merge_heads(out) @ Wo.T + bo, a


# ----------------------------------------------------------------------------------------------------
# Why 1 / sqrt(m)


def init_weights(m: int, c: int, rng: np.random.Generator) -> np.ndarray:
    """A projection at initialization: entries N(0, 1/c) (LeCun), so W x has unit-variance entries for x ~ N(0, I)."""
    return rng.standard_normal((m, c)) / math.sqrt(c)


def entropy_at_init(m: int, n: int, c: int, rng: np.random.Generator, scaled: bool, samples: int = 8) -> float:
    """Mean entropy (nats) of a_ij = softmax_j(q_i . k_j [/ sqrt(m)]) at initialization.

    x_i ~ N(0, I_c), W^q, W^k from init_weights: q_i . k_j is a sum of m unit-variance products, variance m.
    Unscaled, the scores spread like sqrt(m) and the softmax turns one-hot (entropy -> 0); scaled, they
    keep unit variance and the entropy stays put whatever m is. Averaged over `samples` draws of X and W.
    """
    values = []
    for _ in range(samples):
        X = rng.standard_normal((n, c))
        Wq, Wk = init_weights(m, c, rng), init_weights(m, c, rng)
        e = (X @ Wq.T) @ (X @ Wk.T).T  # (n, n)
        if scaled:
            e = e / math.sqrt(m)
        values.append(float(np.mean(entropy(softmax(e)))))
    return float(np.mean(values))
