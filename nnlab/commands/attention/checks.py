"""The side measurements of `nnlab attention`: ours against torch, and the softmax entropy at initialization."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nnlab.core.seeding import stream
from nnlab.nn import attention as att


def against_torch(m: int, heads: int, n: int, seed: int) -> dict[str, float]:
    """Max |ours - torch| in float64 for random inputs and weights at width m and `heads` heads, n tokens.

    mha: nnlab.nn.attention.multi_head_attention vs torch.nn.MultiheadAttention (same weights and biases,
    a key-padding mask on the second sequence); sdpa: causal self_attention vs scaled_dot_product_attention;
    port: nnlab.nn.transformer.SelfAttention (what the models run) vs the numpy version.
    """
    import torch
    import torch.nn.functional as F
    from torch import nn

    from nnlab.nn.transformer import SelfAttention

    rng = stream(seed, "matches-torch")
    x = rng.standard_normal((2, n, m))
    Wq, Wk, Wv, Wo = (rng.standard_normal((m, m)) / math.sqrt(m) for _ in range(4))
    biases = tuple(0.1 * rng.standard_normal(m) for _ in range(4))
    lengths = [n, max(1, n // 2)]
    keep = att.padding_mask(lengths, n)  # (2, 1, 1, n), True = a real token

    def t(a):
        return torch.from_numpy(np.ascontiguousarray(a))

    mha = nn.MultiheadAttention(m, heads, batch_first=True).double().eval()
    with torch.no_grad():
        mha.in_proj_weight.copy_(t(np.concatenate([Wq, Wk, Wv])))
        mha.in_proj_bias.copy_(t(np.concatenate(biases[:3])))
        mha.out_proj.weight.copy_(t(Wo))
        mha.out_proj.bias.copy_(t(biases[3]))
        ref, ref_a = mha(t(x), t(x), t(x), key_padding_mask=~t(keep[:, 0, 0]), need_weights=True,
                         average_attn_weights=False)
        ours, a = att.multi_head_attention(x, x, Wq, Wk, Wv, Wo, heads, biases=biases, mask=keep)
        d_mha = max(np.abs(ours - ref.numpy()).max(), np.abs(a - ref_a.numpy()).max())

        single, _ = att.self_attention(x, Wq, Wk, Wv, causal=True)
        q, k, v = (t(x @ W.T) for W in (Wq, Wk, Wv))
        d_sdpa = np.abs(single - F.scaled_dot_product_attention(q, k, v, is_causal=True).numpy()).max()

        port = SelfAttention(m, heads).double().load_from(mha)
        y, _ = port(t(x))
        plain, _ = att.multi_head_attention(x, x, Wq, Wk, Wv, Wo, heads, biases=biases)
        d_port = np.abs(y.numpy() - plain).max()
    return {"mha": float(d_mha), "sdpa": float(d_sdpa), "port": float(d_port)}


def lecture_forms(m: int, seed: int) -> dict[str, Any]:
    """The lecture's attention lines measured beside each other (nnlab.commands.attention.forms)."""
    from nnlab.commands.attention.forms import lecture_forms as measure

    return measure(m, seed)


def entropy_table(dims: list[int], n: int, c: int, seed: int) -> list[dict[str, Any]]:
    """Per m (ascending): mean entropy of the softmax weights at initialization, with and without 1/sqrt(m)."""
    rows = []
    for m in sorted(dims):
        samples = max(1, min(8, 2**22 // (m * max(n, c))))  # fewer draws at large m: the mean is already steady
        # the same draws of X, W^q, W^k (the same stream) with and without the 1/sqrt(m)
        rows.append({"m": m, **{name: att.entropy_at_init(m, n, c, stream(seed, "entropy", m), scaled=scaled,
                                                          samples=samples)
                                for name, scaled in (("scaled", True), ("unscaled", False))}})
    return rows
