"""nnlab.nn.attention (numpy) and nnlab.nn.transformer (torch) against torch, in float64, and closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from nnlab.nn import attention as att
from nnlab.nn.transformer import EncoderBlock, MeanPool, SelfAttention, sinusoidal_encoding

TOL = 1e-12  # float64 throughout: the two sides differ only by summation order


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a))


def test_softmax_is_stable_and_shift_invariant():
    s = np.array([[1000.0, 1001.0, 999.0], [-1e4, 0.0, 1e4]])
    a = att.softmax(s)
    assert np.all(np.isfinite(a)) and np.allclose(a.sum(-1), 1.0, atol=1e-15)
    np.testing.assert_allclose(a[0], att.softmax(s[0] - 1000.0), rtol=0, atol=1e-15)
    np.testing.assert_allclose(a[1], [0.0, 0.0, 1.0], atol=1e-15)
    # a fully masked row gives zeros, not NaN; masked entries get exactly 0
    m = att.softmax(np.zeros((2, 3)), mask=np.array([[True, False, True], [False, False, False]]))
    np.testing.assert_array_equal(m, [[0.5, 0.0, 0.5], [0.0, 0.0, 0.0]])


def test_entropy_closed_forms():
    assert att.entropy(np.full(8, 1 / 8)) == pytest.approx(math.log(8), rel=1e-15)
    assert att.entropy(np.eye(4)[1]) == 0.0
    assert att.entropy(np.array([0.5, 0.5, 0.0])) == pytest.approx(math.log(2), rel=1e-15)


def test_projection_and_encoder_decoder_attention():
    rng = np.random.default_rng(0)
    X, h = rng.standard_normal((5, 3)), rng.standard_normal(3)
    expected = sum(np.dot(h, x) * x for x in X)  # the slide's f = sum_i <h, x_i> x_i, term by term
    np.testing.assert_allclose(att.projection(h, X), expected, rtol=1e-13)
    f, a = att.encoder_decoder_attention(h, X)
    scores = np.array([np.dot(h, x) for x in X])
    a_ref = np.exp(scores) / np.exp(scores).sum()
    np.testing.assert_allclose(a, a_ref, rtol=1e-13)
    np.testing.assert_allclose(f, sum(ai * x for ai, x in zip(a_ref, X, strict=True)), rtol=1e-13)
    # the same thing as torch's SDPA with one query and scale 1
    out = F.scaled_dot_product_attention(_t(h[None]), _t(X), _t(X), scale=1.0)
    np.testing.assert_allclose(f, out[0].numpy(), rtol=0, atol=TOL)


@pytest.mark.parametrize(("shape", "mask_kind"), [
    ((1, 4, 4, 8), None), ((2, 3, 5, 7, 4), None), ((2, 2, 6, 6, 16), "causal"),
    ((3, 1, 4, 9, 8), "bool"), ((2, 4, 10, 10, 2), "padding"),
])
def test_sdpa_matches_torch(shape, mask_kind):
    *lead, n_q, n_k, d = shape
    rng = np.random.default_rng(sum(shape))
    q = rng.standard_normal((*lead, n_q, d)) * 2
    k = rng.standard_normal((*lead, n_k, d)) * 2
    v = rng.standard_normal((*lead, n_k, d + 1))
    mask, causal = None, mask_kind == "causal"
    if mask_kind == "bool":
        mask = rng.random((*lead, n_q, n_k)) < 0.6
        mask[..., 0] = True  # every query sees at least one key (torch gives NaN rows otherwise)
    if mask_kind == "padding":
        lengths = rng.integers(1, n_k + 1, size=lead[0])
        mask = att.padding_mask(lengths, n_k)  # (B, 1, 1, n_k) broadcasts over (B, h, n_q, n_k)
    out, a = att.scaled_dot_product_attention(q, k, v, mask=mask, causal=causal)
    ref = F.scaled_dot_product_attention(_t(q), _t(k), _t(v), attn_mask=None if mask is None else _t(mask),
                                         is_causal=causal)
    assert np.max(np.abs(out - ref.numpy())) < TOL
    np.testing.assert_allclose(a.sum(-1), 1.0, atol=1e-14)
    if mask is not None:
        assert np.all(a[~np.broadcast_to(mask, a.shape)] == 0)


def _torch_mha(Wq, Wk, Wv, Wo, heads, biases):
    m, c = Wq.shape
    mha = nn.MultiheadAttention(m, heads, bias=True, batch_first=True, kdim=c, vdim=c).double() if c != m else \
        nn.MultiheadAttention(m, heads, bias=True, batch_first=True).double()
    with torch.no_grad():
        if c != m:
            mha.q_proj_weight.copy_(_t(Wq))
            mha.k_proj_weight.copy_(_t(Wk))
            mha.v_proj_weight.copy_(_t(Wv))
        else:
            mha.in_proj_weight.copy_(_t(np.concatenate([Wq, Wk, Wv])))
        mha.in_proj_bias.copy_(_t(np.concatenate(biases[:3])))
        mha.out_proj.weight.copy_(_t(Wo))
        mha.out_proj.bias.copy_(_t(biases[3]))
    return mha.eval()


@pytest.mark.parametrize(("B", "n", "m", "heads", "masked"), [
    (1, 5, 8, 1, None), (3, 7, 12, 3, None), (2, 6, 16, 4, "causal"), (2, 9, 64, 8, "padding"), (4, 3, 6, 6, None),
])
def test_multi_head_attention_matches_torch(B, n, m, heads, masked):
    """Ours with weights copied into torch.nn.MultiheadAttention: outputs and per-head weights agree."""
    rng = np.random.default_rng(m * heads + n)
    x = rng.standard_normal((B, n, m))
    Wq, Wk, Wv, Wo = (rng.standard_normal((m, m)) / math.sqrt(m) for _ in range(4))
    biases = tuple(rng.standard_normal(m) * 0.1 for _ in range(4))
    mha = _torch_mha(Wq, Wk, Wv, Wo, heads, biases)
    kwargs, mask, causal = {}, None, masked == "causal"
    if causal:
        kwargs["attn_mask"] = ~_t(att.causal_mask(n))  # torch's MHA: True = NOT allowed
    if masked == "padding":
        lengths = rng.integers(1, n + 1, size=B)
        mask = att.padding_mask(lengths, n)
        kwargs["key_padding_mask"] = ~_t(mask[:, 0, 0])  # True = padding, ignored
    ref, ref_a = mha(_t(x), _t(x), _t(x), need_weights=True, average_attn_weights=False, **kwargs)
    out, a = att.multi_head_attention(x, x, Wq, Wk, Wv, Wo, heads, biases=biases, mask=mask, causal=causal)
    assert out.shape == (B, n, m) and a.shape == (B, heads, n, n)
    assert np.max(np.abs(out - ref.detach().numpy())) < TOL
    assert np.max(np.abs(a - ref_a.detach().numpy())) < TOL


def test_cross_attention_with_other_input_width_matches_torch():
    """Queries from one sequence, keys and values from another of width c != m (kdim, vdim)."""
    rng = np.random.default_rng(1)
    m, c, heads = 8, 5, 2
    xq, xkv = rng.standard_normal((2, 4, m)), rng.standard_normal((2, 7, c))
    Wq, Wk, Wv = rng.standard_normal((m, m)), rng.standard_normal((m, c)), rng.standard_normal((m, c))
    Wo = rng.standard_normal((m, m))
    biases = tuple(rng.standard_normal(m) for _ in range(4))
    mha = nn.MultiheadAttention(m, heads, batch_first=True, kdim=c, vdim=c).double().eval()
    with torch.no_grad():
        mha.q_proj_weight.copy_(_t(Wq))
        mha.k_proj_weight.copy_(_t(Wk))
        mha.v_proj_weight.copy_(_t(Wv))
        mha.in_proj_bias.copy_(_t(np.concatenate(biases[:3])))
        mha.out_proj.weight.copy_(_t(Wo))
        mha.out_proj.bias.copy_(_t(biases[3]))
    ref, _ = mha(_t(xq), _t(xkv), _t(xkv))
    out, _ = att.multi_head_attention(xq, xkv, Wq, Wk, Wv, Wo, heads, biases=biases)
    assert np.max(np.abs(out - ref.detach().numpy())) < 1e-11


def test_one_head_with_identity_output_is_the_slides_self_attention():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((6, 4))
    Wq, Wk, Wv = (rng.standard_normal((3, 4)) for _ in range(3))
    out, a = att.self_attention(X, Wq, Wk, Wv)
    # the slide entry by entry: e_ij = q_i . k_j / sqrt(m), a_ij = exp(e_ij) / sum_j' exp(e_ij')
    q, k, v = X @ Wq.T, X @ Wk.T, X @ Wv.T
    e = np.array([[q[i] @ k[j] / math.sqrt(3) for j in range(6)] for i in range(6)])
    a_ref = np.exp(e) / np.exp(e).sum(1, keepdims=True)
    np.testing.assert_allclose(a, a_ref, rtol=1e-13)
    np.testing.assert_allclose(out, a_ref @ v, rtol=1e-12)
    Wq3 = np.concatenate([Wq, Wq]), np.concatenate([Wk, Wk]), np.concatenate([Wv, Wv])
    two, _ = att.multi_head_attention(X, X, *Wq3, np.eye(6), heads=2)  # two identical heads, concatenated
    np.testing.assert_allclose(two, np.concatenate([out, out], 1), rtol=1e-12)


def test_heads_must_divide_the_width():
    assert att.check_heads(64, 3) and att.check_heads(64, 0) and att.check_heads(64, 4) is None
    with pytest.raises(ValueError, match="not divisible"):
        att.multi_head_attention(np.zeros((2, 64)), np.zeros((2, 64)), *(np.zeros((64, 64)),) * 4, heads=3)


def test_scaling_keeps_entropy_and_unscaled_collapses():
    rng = np.random.default_rng(0)
    n = 32
    scaled = [att.entropy_at_init(m, n, 64, rng, scaled=True) for m in (16, 256)]
    unscaled = [att.entropy_at_init(m, n, 64, rng, scaled=False) for m in (16, 256)]
    assert abs(scaled[1] - scaled[0]) < 0.15 * math.log(n)
    assert unscaled[1] < 0.3 * scaled[1] and unscaled[1] < unscaled[0]


# ----------------------------------------------------------------------------------------------------
# The torch port


@pytest.mark.parametrize(("m", "heads"), [(8, 2), (12, 3), (32, 8)])
def test_torch_port_matches_multihead_attention(m, heads):
    torch.manual_seed(m)
    mha = nn.MultiheadAttention(m, heads, batch_first=True).double().eval()
    with torch.no_grad():
        mha.in_proj_bias.normal_()
        mha.out_proj.bias.normal_()
    ours = SelfAttention(m, heads).double().load_from(mha)
    x = torch.randn(3, 7, m, dtype=torch.float64)
    ref, ref_a = mha(x, x, x, need_weights=True, average_attn_weights=False)
    out, a = ours(x)
    assert (out - ref).abs().max().item() < TOL and (a - ref_a).abs().max().item() < TOL
    causal = torch.ones(7, 7, dtype=torch.bool).tril()
    ref, _ = mha(x, x, x, attn_mask=~causal)
    out, _ = ours(x, causal)
    assert (out - ref).abs().max().item() < TOL


@pytest.mark.parametrize("norm", ["pre", "post"])
def test_encoder_block_matches_transformer_encoder_layer(norm):
    m, heads = 16, 4
    torch.manual_seed(3)
    layer = nn.TransformerEncoderLayer(m, heads, dim_feedforward=4 * m, dropout=0.0, activation="gelu",
                                       batch_first=True, norm_first=norm == "pre").double().eval()
    with torch.no_grad():
        for p in layer.parameters():
            p.add_(0.1 * torch.randn_like(p))  # move LayerNorm and biases off their 1 / 0 start
    ours = EncoderBlock(m, heads, norm).double().load_from(layer)
    x = torch.randn(2, 5, m, dtype=torch.float64)
    out, _ = ours(x)
    assert (out - layer(x)).abs().max().item() < TOL


def test_mean_pool_is_uniform_attention():
    torch.manual_seed(0)
    pool = MeanPool(8, 2).double()
    x = torch.randn(2, 5, 8, dtype=torch.float64)
    y, a = pool(x)
    expected = pool.out_proj(pool.value(x).mean(1))  # (B, m)
    assert torch.allclose(y, expected[:, None].expand_as(y), atol=1e-14, rtol=0)
    assert torch.all(a == 1 / 5)


def test_sinusoidal_encoding_closed_form():
    pe = sinusoidal_encoding(10, 6)
    assert pe[0].tolist() == [0, 1, 0, 1, 0, 1]
    assert pe[3, 2] == pytest.approx(math.sin(3 / 10000 ** (2 / 6)), rel=1e-15)
    assert pe[3, 5] == pytest.approx(math.cos(3 / 10000 ** (4 / 6)), rel=1e-15)
    assert sinusoidal_encoding(4, 5).shape == (4, 5)  # odd width
