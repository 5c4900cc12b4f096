"""Attention: the from-scratch version matches torch, 1/sqrt(m) keeps the softmax soft, and a model learns
what only attention can do (lecture: 注意力机制, 自注意力, 多头自注意力, Transformer Encoder).

\b
    nnlab attention                          retrieve: key-value lookup, attention vs mean pooling, 3 seeds
    nnlab attention --heads 1 --layers 1     the smallest model that still looks values up
    nnlab attention --task vit --epochs 2    a small vision Transformer on MNIST patches
    nnlab attention --norm post              post-norm blocks (LN after each residual sum)

Every run first checks nnlab.nn.attention (numpy) against torch in float64 at --dim/--heads: the slide's
multi-head attention W_o [Attention_1; ...; Attention_h] against torch.nn.MultiheadAttention with the same
weights, self-attention with a causal mask against scaled_dot_product_attention, and the torch port the
models use against both. It then measures the entropy of a_ij = softmax_j(q_i . k_j [/ sqrt(m)]) at
initialization for several m, with and without the 1/sqrt(m).

--task retrieve: sequences of P (key, value) pairs and Q queries (keys); answer each query with its value.
The same Transformer encoder is trained with attention and with attention replaced by mean pooling
(a_ij = 1/T), --seeds times each, on the same sequences; accuracy on held-out sequences, mean and spread.
The attention maps (queries x pairs) show the permutation that matches each query to its pair.
--task vit: 28 x 28 digits as 16 patch tokens of 7 x 7 pixels, a [CLS] token, sinusoidal positions;
validation on held-out training images, test accuracy on the 10,000 test images once.
"""

from __future__ import annotations

from nnlab.commands.attention.config import QUICK, AttentionConfig, memory_bytes
from nnlab.commands.attention.results import headline, numbers
from nnlab.commands.attention.run import prepare, run
from nnlab.core.command import Command, Section

COMMAND = Command(
    name="attention",
    help=__doc__,
    config=AttentionConfig,
    quick=QUICK,
    run=run,
    headline=headline,
    numbers=numbers,
    memory_bytes=memory_bytes,
    plots="nnlab.commands.attention.plots",
    section=Section(
        "Attention", "注意力机制(Attention)",
        "Self-attention weighs the values v_j by a_ij = softmax_j(q_i · k_j / √m); multi-head attention "
        "stacks the heads and multiplies them by W_o.",
        "paraphrased",
        "e_ij = q_i · k_j / √m · a_ij = exp(e_ij) / Σ_j' exp(e_ij') · 多头自注意力机制 · W_o",
        formulas=(  # the lecture's own LaTeX
            r"e_{ij} = \frac{q_i \cdot k_j}{\sqrt{m}} \quad a_{ij} = \frac{\exp(e_{ij})}{\sum_{j'=1}^n \exp(e_{ij'})}",
            r"a_i = \frac{\exp(\text{score}(h, x_i))}{\sum_{i=1}^n \exp(\text{score}(h, x_i))}",
        ),
    ),
    prepare=prepare,
    key_number="retrieval.accuracy",
)
