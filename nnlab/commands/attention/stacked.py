"""S RetrievalNets of one mixer trained as one: every weight stacked along a leading seed axis.

Why: the retrieve task trains --seeds models per mixer that differ only in their initialization and data;
one at a time, each step is ~100 small torch ops whose fixed cost is a good part of the step. Stacked, one
op serves every seed (baddbmm over the seed axis instead of S addmm). Seed s's numbers are its own
RetrievalNet's up to summation order: nothing mixes seeds (batched matmuls, per-row LayerNorm, per-seed
embedding tables and losses), and the optimizer (nnlab.nn.param_rules) is elementwise, so the summed loss
gives each seed exactly the gradient of its own mean loss. tests/test_attention.py checks logits, gradients
and a few AdamW steps against the separate models.

Also computed only once or where needed (the same maths as RetrievalNet, which the maps still run on):
- in the last block only the query tokens are carried on (keys and values still come from every token):
  the logits are read there, and nothing after the last block looks at a pair token;
- attention itself is torch's scaled_dot_product_attention (the weights are not returned here);
- mean pooling averages before its linear maps: W_o (W^v mean_j x_j + b) = mean_j (W_o (W^v x_j + b)).

Shapes: S seeds, B sequences, P pairs, Q queries, T = P + Q tokens, m width, h heads, d = m / h.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from nnlab.nn.transformer import RetrievalNet


def linear(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """x (S, ..., i), w (S, o, i), b (S, o) -> (S, ..., o): each seed's own nn.Linear."""
    shape = x.shape
    y = torch.baddbmm(b.unsqueeze(1), x.reshape(shape[0], -1, shape[-1]), w.transpose(1, 2))  # (S, N, o)
    return y.view(*shape[:-1], w.shape[1])


def layer_norm(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, eps: float) -> torch.Tensor:
    """x (S, B, T, m), w and b (S, m): each seed's own nn.LayerNorm (normalize, then its gain and bias)."""
    shape = (x.shape[0],) + (1,) * (x.dim() - 2) + (x.shape[-1],)  # (S, 1, 1, m)
    return torch.addcmul(b.view(shape), F.layer_norm(x, x.shape[-1:], eps=eps), w.view(shape))


class StackedRetrievalNet(nn.Module):
    """RetrievalNets models[0..S-1] (one mixer, one norm) as one module; forward takes (S, B, ...) token ids."""

    def __init__(self, models: list[RetrievalNet]):
        super().__init__()
        first = models[0]
        blocks = first.encoder.blocks
        self.seeds, self.heads = len(models), blocks[0].mix.heads
        self.mixer = "attention" if hasattr(blocks[0].mix, "in_proj") else "mean"
        self.norm = blocks[0].norm
        self.eps = blocks[0].norm1.eps
        self.n_keys, self.n_values = first.key.num_embeddings, first.value.num_embeddings
        # each parameter of RetrievalNet under its own name with '.' -> '__', stacked: (S, *shape)
        self.names = [name for name, _ in first.named_parameters()]
        params = [dict(m.named_parameters()) for m in models]
        for name in self.names:
            self.register_parameter(name.replace(".", "__"),
                                    nn.Parameter(torch.stack([p[name].detach() for p in params]).contiguous()))

    def p(self, name: str) -> torch.Tensor:
        return getattr(self, name.replace(".", "__"))

    def unstack(self, s: int, model: RetrievalNet) -> RetrievalNet:
        """Copy seed s's weights into `model` (a RetrievalNet of the same shape) and return it."""
        with torch.no_grad():
            for name, q in model.named_parameters():
                q.copy_(self.p(name)[s])
        return model

    def embed(self, keys: torch.Tensor, values: torch.Tensor, queries: torch.Tensor) -> torch.Tensor:
        """The tokens (S, B, T, m): pairs E_key[k] + E_value[v] + t_pair, then queries E_key[q] + t_query.

        Seed s's table is rows s n .. (s + 1) n - 1 of the flattened (S n, m) one: one embedding op for all."""
        S = self.seeds
        off = torch.arange(S, device=keys.device).view(S, 1, 1)
        key_table = self.p("key.weight").flatten(0, 1)      # (S n_keys, m)
        value_table = self.p("value.weight").flatten(0, 1)  # (S n_values, m)
        kind = self.p("kind.weight")                         # (S, 2, m)
        pairs = F.embedding(keys + off * self.n_keys, key_table) + F.embedding(values + off * self.n_values,
                                                                               value_table)
        pairs = pairs + kind[:, None, 0:1]                                      # (S, B, P, m)
        asks = F.embedding(queries + off * self.n_keys, key_table) + kind[:, None, 1:2]  # (S, B, Q, m)
        return torch.cat([pairs, asks], 2)

    def mix(self, i: int, x: torch.Tensor, last: int | None) -> torch.Tensor:
        """Block i's attention (or mean pooling) of x (S, B, T, m); with `last` = Q, only the last Q tokens'
        outputs (S, B, Q, m), their queries still over every token's keys and values."""
        pre = f"encoder.blocks.{i}.mix."
        S, B, T, m = x.shape
        if self.mixer == "mean":
            # W_o (W^v mean_j x_j + b^v) + b^o: the same for every token, (S, B, 1, m)
            y = linear(linear(x.mean(2, keepdim=True), self.p(pre + "value.weight"), self.p(pre + "value.bias")),
                       self.p(pre + "out_proj.weight"), self.p(pre + "out_proj.bias"))
            return y.expand(S, B, T if last is None else last, m)
        h = self.heads
        w, b = self.p(pre + "in_proj.weight"), self.p(pre + "in_proj.bias")  # (S, 3m, m), (S, 3m)
        if last is None:
            q, k, v = linear(x, w, b).view(S * B, T, 3, h, m // h).permute(2, 0, 3, 1, 4)  # each (SB, h, T, d)
            n = T
        else:  # W^q on the last tokens only, W^k and W^v on all (rows m.. of the packed projection)
            q = linear(x[:, :, T - last:], w[:, :m], b[:, :m]).view(S * B, last, h, m // h).transpose(1, 2)
            k, v = linear(x, w[:, m:], b[:, m:]).view(S * B, T, 2, h, m // h).permute(2, 0, 3, 1, 4)
            n = last
        y = F.scaled_dot_product_attention(q, k, v)  # softmax(q k^T / sqrt(d)) v: (SB, h, n, d)
        y = y.transpose(1, 2).reshape(S, B, n, m)   # concatenate the heads
        return linear(y, self.p(pre + "out_proj.weight"), self.p(pre + "out_proj.bias"))

    def block(self, i: int, x: torch.Tensor, last: int | None) -> torch.Tensor:
        """EncoderBlock i on x (S, B, T, m); with `last` = Q returns only the last Q tokens (S, B, Q, m)."""
        pre = f"encoder.blocks.{i}."

        def norm(j: int, z: torch.Tensor) -> torch.Tensor:
            return layer_norm(z, self.p(f"{pre}norm{j}.weight"), self.p(f"{pre}norm{j}.bias"), self.eps)

        def mlp(z: torch.Tensor) -> torch.Tensor:
            hidden = F.gelu(linear(z, self.p(pre + "linear1.weight"), self.p(pre + "linear1.bias")))
            return linear(hidden, self.p(pre + "linear2.weight"), self.p(pre + "linear2.bias"))

        keep = x if last is None else x[:, :, x.shape[2] - last:]  # the tokens carried on: the residual stream
        if self.norm == "pre":
            keep = keep + self.mix(i, norm(1, x), last)
            return keep + mlp(norm(2, keep))
        keep = norm(1, keep + self.mix(i, x, last))
        return norm(2, keep + mlp(keep))

    def forward(self, keys: torch.Tensor, values: torch.Tensor, queries: torch.Tensor) -> torch.Tensor:
        """keys, values (S, B, P), queries (S, B, Q) -> logits (S, B, Q, n_values) (RetrievalNet's, per seed)."""
        x = self.embed(keys, values, queries)
        layers = len({n.split(".")[2] for n in self.names if n.startswith("encoder.blocks.")})
        for i in range(layers):
            x = self.block(i, x, queries.shape[2] if i == layers - 1 else None)
        if self.norm == "pre":
            x = layer_norm(x, self.p("encoder.final_norm.weight"), self.p("encoder.final_norm.bias"), self.eps)
        return linear(x, self.p("head.weight"), self.p("head.bias"))
