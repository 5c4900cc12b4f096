"""The retrieve task: look values up by their keys, a job for content-based attention.

A sequence holds P pairs (k_j, v_j), keys distinct and drawn from n_keys, values drawn from n_values,
followed by Q queries: distinct keys among the P present ones, in random order. The answer to query i
is the value paired with its key. Attention can match q_i against the keys (e_ij large where
key_j = q_i) and copy v_j; the map over (queries x pairs) is then a permutation matrix. With
attention replaced by mean pooling, a query sees only the mean of the pair tokens, in which a key's
embedding is no longer bound to its value, so it can at best guess one of the values present.

Fresh sequences every step (no data set to overfit); accuracy on a fixed held-out set of sequences.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np


def make_batch(n: int, pairs: int, queries: int, n_keys: int, n_values: int, rng: np.random.Generator):
    """keys (n, P) distinct per row, values (n, P), queries (n, Q) distinct present keys, answers (n, Q), and
    where (n, Q): the pair index each query must find."""
    keys = np.argsort(rng.random((n, n_keys)), axis=1)[:, :pairs]   # P distinct keys per row
    values = rng.integers(0, n_values, size=(n, pairs))
    where = np.argsort(rng.random((n, pairs)), axis=1)[:, :queries]  # which pairs are asked, in random order
    rows = np.arange(n)[:, None]
    return keys, values, keys[rows, where], values[rows, where], where


def lr_at(step: int, total: int, peak: float, warmup: float = 0.05) -> float:
    """Linear warm-up over the first `warmup` of the steps, then cosine to 0."""
    w = max(1, int(warmup * total))
    if step < w:
        return peak * (step + 1) / w
    return peak * 0.5 * (1 + math.cos(math.pi * (step - w) / max(1, total - w)))


def train(config: Any, mixer: str, index: int, rec: Any) -> dict[str, Any]:
    """Train one model (mixer "attention" or "mean") from seed index `index`; log its curve; return the result.

    Both mixers of one index see the same training sequences (stream "retrieve-data", index) and are judged
    on the same held-out set, so only the mixer differs.
    """
    import torch
    import torch.nn.functional as F

    from nnlab.core.seeding import stream, stream_seed
    from nnlab.nn.param_rules import lecture_adam
    from nnlab.nn.transformer import RetrievalNet

    device = rec.device
    torch.manual_seed(stream_seed(config.seed, "retrieve-init", mixer, index))
    model = RetrievalNet(config.n_keys, config.n_values, config.dim, config.heads, config.layers, config.norm,
                         mixer).to(device)
    opt = lecture_adam(model.parameters(), lr=config.lr, weight_decay=0.01, decoupled=True)  # AdamW
    data = stream(config.seed, "retrieve-data", index)
    evalset = [torch.from_numpy(a).to(device) for a in make_batch(
        config.eval_sequences, config.pairs, config.queries, config.n_keys, config.n_values,
        stream(config.seed, "retrieve-eval"))]

    def evaluate() -> tuple[float, float]:
        model.eval()
        with torch.no_grad():
            keys, values, queries, answers, _ = evalset
            logits, _ = model(keys, values, queries)
            loss = F.cross_entropy(logits.flatten(0, 1), answers.flatten())
            acc = (logits.argmax(-1) == answers).double().mean()
        model.train()
        return float(loss), float(acc)

    curve, t0, diverged = [], time.perf_counter(), None
    for step in rec.track(range(config.steps), f"{mixer} seed {index}"):
        for g in opt.param_groups:
            g["lr"] = lr_at(step, config.steps, config.lr)
        keys, values, queries, answers, _ = (torch.from_numpy(a).to(device) for a in make_batch(
            config.batch_size, config.pairs, config.queries, config.n_keys, config.n_values, data))
        logits, _ = model(keys, values, queries)
        loss = F.cross_entropy(logits.flatten(0, 1), answers.flatten())
        if not math.isfinite(float(loss.detach())):
            diverged = step + 1
            rec.log({"step": step + 1, "task": "retrieve", "mixer": mixer, "seed_index": index,
                     "train/loss": float(loss)})
            break
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if (step + 1) % config.log_every == 0 or step + 1 == config.steps:
            val_loss, val_acc = evaluate()
            record = {"step": step + 1, "task": "retrieve", "mixer": mixer, "seed_index": index,
                      "train/loss": float(loss.detach()), "eval/loss": val_loss, "eval/acc": val_acc}
            rec.log(record)
            curve.append(record)
    loss, acc = evaluate() if diverged is None else (float("nan"), float("nan"))
    return {"mixer": mixer, "seed_index": index, "eval/acc": acc, "eval/loss": loss, "diverged_at": diverged,
            "train_s": time.perf_counter() - t0, "model": model, "evalset": evalset,
            "curve": [[r["step"], r["eval/acc"]] for r in curve]}  # (step, held-out accuracy) every log_every


def attention_maps(model, evalset, examples: int) -> dict[str, Any]:
    """Weights of every layer and head for the first `examples` held-out sequences, and how often the lookup
    hits: per layer and head, the fraction of queries whose largest weight over the pairs is their own pair."""
    import torch

    keys, values, queries, answers, where = evalset
    model.eval()
    with torch.no_grad():
        _, weights = model(keys, values, queries)
    P = keys.shape[1]
    hits = []
    for a in weights:  # (B, h, T, T)
        pick = a[:, :, P:, :P].argmax(-1)  # (B, h, Q): the pair each query attends to most
        hits.append((pick == where[:, None, :]).double().mean((0, 2)).tolist())  # per head
    return {
        "weights": [[a[b].tolist() for a in weights] for b in range(examples)],  # [example][layer][head][i][j]
        "keys": keys[:examples].tolist(), "values": values[:examples].tolist(),
        "queries": queries[:examples].tolist(), "answers": answers[:examples].tolist(),
        "hits": hits,  # [layer][head]
    }


def guess_present_value(evalset) -> float:
    """Accuracy of the best blind guess: for every query, the value that occurs most often among the pairs
    (ties to the smallest). A mean-pooling model that knows which values are present but not which key holds
    which can do about this well."""
    import torch

    _, values, _, answers, _ = evalset
    counts = torch.nn.functional.one_hot(values).sum(1)  # (B, n_values seen)
    guess = counts.argmax(1, keepdim=True)              # (B, 1)
    return float((answers == guess).double().mean())
