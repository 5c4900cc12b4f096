"""The lecture's attention formulas as it writes them, measured in every run (checks: closed forms).

- the projection f = sum_i <h, x_i> x_i and encoder-decoder attention a_i = softmax(score(h, x_i)),
  f = sum_i a_i x_i (注意力机制), against torch;
- the self-attention slide's two lines: sum_j a_ij v_j with a_ij = softmax_j(q_i . k_j / sqrt(m)), and below
  it sum_j <q_i, k_j> v_j, which drops the softmax: beside each other for n = 4 .. 1024 tokens, the second's
  output grows with n and its weights are no convex combination (negative, not summing to 1).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnlab.core.claims import check
from nnlab.core.seeding import stream
from nnlab.nn import attention as att

FORMS_TOL = 1e-12          # float64, ours against torch: summation order only
TOKENS = (4, 16, 64, 256, 1024)
GROWTH_SLOPE = 0.4         # log-log slope of the unnormalised output's size against n: a sum of n random terms
#                            grows like sqrt(n) (slope 0.5); the softmax form's average cannot grow at all


def lecture_forms(m: int, seed: int) -> dict[str, Any]:
    """Projection and encoder-decoder attention against torch (c = m, n = 16), and the two self-attention lines
    at n = TOKENS: mean |output| per token, the weights' smallest entry and row sums, max |v_j|."""
    import torch
    import torch.nn.functional as F

    rng = stream(seed, "lecture-forms")
    X, h = rng.standard_normal((16, m)), rng.standard_normal(m)
    Xt, ht = torch.from_numpy(X), torch.from_numpy(h)
    with torch.no_grad():
        proj_ref = torch.einsum("i,ic->c", Xt @ ht, Xt)  # sum_i <h, x_i> x_i
        f, a = att.encoder_decoder_attention(h, X)
        f_ref = F.scaled_dot_product_attention(ht[None, None], Xt[None], Xt[None], scale=1.0)[0, 0]
        a_ref = torch.softmax(Xt @ ht, 0)
    out: dict[str, Any] = {
        # relative to the largest entry: the projection's entries are sums of n c products, not of order 1
        "projection_max_diff": float(np.abs(att.projection(h, X) - proj_ref.numpy()).max()
                                     / np.abs(proj_ref.numpy()).max()),
        "encoder_decoder_max_diff": float(max(np.abs(f - f_ref.numpy()).max(), np.abs(a - a_ref.numpy()).max())),
        "encoder_decoder_weight_sum": float(a.sum()), "encoder_decoder_min_weight": float(a.min()),
        "tokens": list(TOKENS), "softmax_norm": [], "unnormalised_norm": [], "max_value_norm": [],
        "unnormalised_min_weight": [], "unnormalised_row_sum_error": [], "softmax_row_sum_error": []}
    Wq, Wk, Wv = (att.init_weights(m, m, rng) for _ in range(3))
    for n in TOKENS:
        Xn = rng.standard_normal((n, m))
        soft, weights = att.self_attention(Xn, Wq, Wk, Wv)
        raw = att.unnormalised_attention(Xn, Wq, Wk, Wv)
        scores = (Xn @ Wq.T) @ (Xn @ Wk.T).T  # <q_i, k_j>: the weights of the unnormalised line
        out["softmax_norm"].append(float(np.linalg.norm(soft, axis=-1).mean()))
        out["unnormalised_norm"].append(float(np.linalg.norm(raw, axis=-1).mean()))
        out["max_value_norm"].append(float(np.linalg.norm(Xn @ Wv.T, axis=-1).max()))
        out["unnormalised_min_weight"].append(float(scores.min()))
        out["unnormalised_row_sum_error"].append(float(np.abs(scores.sum(-1) - 1).mean()))
        out["softmax_row_sum_error"].append(float(np.abs(weights.sum(-1) - 1).max()))
    logn = np.log(TOKENS)
    out["unnormalised_slope"] = float(np.polyfit(logn, np.log(out["unnormalised_norm"]), 1)[0])
    out["softmax_slope"] = float(np.polyfit(logn, np.log(out["softmax_norm"]), 1)[0])
    return out


def lecture_form_checks(forms: dict[str, Any]) -> list[dict[str, Any]]:
    worst = max(forms["projection_max_diff"], forms["encoder_decoder_max_diff"],
                abs(forms["encoder_decoder_weight_sum"] - 1))
    inside = all(s <= v * (1 + 1e-12) for s, v in zip(forms["softmax_norm"], forms["max_value_norm"], strict=True))
    grows = forms["unnormalised_slope"] >= GROWTH_SLOPE and min(forms["unnormalised_min_weight"]) < 0 \
        and min(forms["unnormalised_row_sum_error"]) > 0.5
    normalised = max(forms["softmax_row_sum_error"]) < FORMS_TOL and inside
    n = forms["tokens"]
    return [
        check("attention.encoder-decoder-forms",
              "投影 f = Σ⟨h, x_i⟩ x_i and 注意力权重 a_i = exp(score(h, x_i)) / Σ exp(score(h, x_i)) with the dot "
              "score, f = Σ a_i x_i (nnlab.nn.attention, float64) equal torch's einsum (relative to its largest "
              "entry) and scaled_dot_product_attention (scale 1); the a_i sum to 1",
              {"projection": float(f"{forms['projection_max_diff']:.3g}"),
               "encoder_decoder": float(f"{forms['encoder_decoder_max_diff']:.3g}"),
               "weights_sum_minus_1": float(f"{forms['encoder_decoder_weight_sum'] - 1:.3g}")},
              f"all < {FORMS_TOL:g}", worst < FORMS_TOL,
              zh="投影 f = Σ⟨h, x_i⟩ x_i，以及用点积作相关性的注意力权重 "
                 "a_i = exp(score(h, x_i)) / Σ exp(score(h, x_i))、输出 f = Σ a_i x_i（nnlab.nn.attention，float64）"
                 "与 torch 的 einsum（相对其最大元素）和 "
                 "scaled_dot_product_attention（缩放为 1）的结果一致；各 a_i 之和为 1"),
        check("attention.unnormalised-line",
              "The slide's Attention(q, k, v)_i = Σ_j a_ij v_j (softmax weights) against its next line "
              "⟨q_i, k_1⟩ v_1 + ... + ⟨q_i, k_n⟩ v_n taken literally (no softmax): for n = "
              f"{n[0]}..{n[-1]} random tokens, the literal line's output grows with n (log-log slope of its mean "
              "|output_i|), its weights ⟨q_i, k_j⟩ are negative somewhere and do not sum to 1; the softmax form's rows "
              "sum to 1 and each output lies within max_j |v_j| (a convex combination)",
              {"unnormalised_slope": round(forms["unnormalised_slope"], 3),
               "softmax_slope": round(forms["softmax_slope"], 3),
               "unnormalised_norm": {str(k): round(v, 2) for k, v in zip(n, forms["unnormalised_norm"], strict=True)},
               "softmax_norm": {str(k): round(v, 3) for k, v in zip(n, forms["softmax_norm"], strict=True)},
               "unnormalised_min_weight": round(min(forms["unnormalised_min_weight"]), 2)},
              f"literal: slope >= {GROWTH_SLOPE}, a weight < 0, row sums off 1; softmax: rows sum to 1 within "
              f"{FORMS_TOL:g} and |output| <= max |v_j|", grows and normalised,
              zh="幻灯片上的 Attention(q, k, v)_i = Σ_j a_ij v_j（softmax 权重）对照它的下一行 "
                 "⟨q_i, k_1⟩ v_1 + ... + ⟨q_i, k_n⟩ v_n 的字面写法（没有 softmax）：对 n = "
                 f"{n[0]}..{n[-1]} 个随机 token，字面写法的输出随 n 增长（其平均 |output_i| 的双对数斜率），"
                 "其权重 ⟨q_i, k_j⟩ 在某处为负、且和不为 1；softmax 形式的每行之和为 1，每个输出都不超过 "
                 "max_j |v_j|（凸组合）"),
    ]

