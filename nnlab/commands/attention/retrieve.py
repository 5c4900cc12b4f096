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

# Held-out sequences per evaluation pass (of every seed): a few MB of activations stay in cache; one pass over
# all 1000 at once (tens of MB) measured ~30% slower per sequence.
EVAL_CHUNK = 250


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


def train(config: Any, mixer: str, rec: Any) -> tuple[list[dict[str, Any]], Any, list[Any]]:
    """Train the --seeds models of one mixer ("attention" or "mean") as one StackedRetrievalNet; log their curves.

    Model i starts from its own seed (stream "retrieve-init", mixer, i) and sees its own sequences (stream
    "retrieve-data", i): the same as when trained alone, and both mixers of one index see the same ones, so
    only the mixer differs. Every model is judged on one held-out set. Returns (one result per seed, the
    stacked model, the held-out set); a model whose loss turns non-finite stops being logged and scored (its
    NaNs stay in its own slice of every tensor), the others train on.
    """
    import torch
    import torch.nn.functional as F

    from nnlab.commands.attention.stacked import StackedRetrievalNet
    from nnlab.core.seeding import stream, stream_seed
    from nnlab.nn.param_rules import lecture_adam
    from nnlab.nn.transformer import RetrievalNet

    device, S = rec.device, config.seeds
    models = []
    for index in range(S):
        torch.manual_seed(stream_seed(config.seed, "retrieve-init", mixer, index))
        models.append(RetrievalNet(config.n_keys, config.n_values, config.dim, config.heads, config.layers,
                                   config.norm, mixer))
    model = StackedRetrievalNet(models).to(device)
    opt = lecture_adam(model.parameters(), lr=config.lr, weight_decay=0.01, decoupled=True)  # AdamW, elementwise
    streams = [stream(config.seed, "retrieve-data", index) for index in range(S)]
    evalset = [torch.from_numpy(a).to(device) for a in make_batch(
        config.eval_sequences, config.pairs, config.queries, config.n_keys, config.n_values,
        stream(config.seed, "retrieve-eval"))]
    stacked_eval = [a.expand(S, *a.shape) for a in evalset[:4]]  # (S, B, ...): one set for every seed

    def losses(logits, answers):  # logits (S, B, Q, V), answers (S, B, Q) -> each seed's mean cross-entropy (S,)
        return F.cross_entropy(logits.flatten(0, 2), answers.flatten(), reduction="none").view(S, -1).mean(1)

    def evaluate() -> tuple[list[float], list[float]]:
        """Each seed's held-out (loss, accuracy): every seed at once, EVAL_CHUNK sequences at a time."""
        total, correct = torch.zeros(S, dtype=torch.float64), torch.zeros(S, dtype=torch.float64)
        with torch.no_grad():
            for i in range(0, config.eval_sequences, EVAL_CHUNK):
                keys, values, queries, answers = (a[:, i:i + EVAL_CHUNK] for a in stacked_eval)
                logits = model(keys, values, queries)  # (S, b, Q, V)
                ce = F.cross_entropy(logits.flatten(0, 2), answers.flatten(), reduction="none")
                total += ce.view(S, -1).double().sum(1)
                correct += (logits.argmax(-1) == answers).flatten(1).double().sum(1)
        n = config.eval_sequences * config.queries
        return (total / n).tolist(), (correct / n).tolist()

    def base(index: int, step: int) -> dict[str, Any]:
        return {"step": step, "task": "retrieve", "mixer": mixer, "seed_index": index}

    curves: list[list[dict[str, Any]]] = [[] for _ in range(S)]
    diverged: list[int | None] = [None] * S
    last: tuple[list[float], list[float]] | None = None  # the latest evaluation: the last step's once it ran
    t0 = time.perf_counter()
    for step in rec.track(range(config.steps), f"{mixer} x {S} seeds"):
        opt.param_groups[0]["lr"] = lr_at(step, config.steps, config.lr)
        batches = [make_batch(config.batch_size, config.pairs, config.queries, config.n_keys, config.n_values, r)
                   for r in streams]
        keys, values, queries, answers = (torch.from_numpy(np.stack([b[i] for b in batches])).to(device)
                                          for i in range(4))  # each (S, B, P or Q)
        loss = losses(model(keys, values, queries), answers)  # (S,)
        train_loss = loss.detach().tolist()
        for index, value in enumerate(train_loss):
            if diverged[index] is None and not math.isfinite(value):
                diverged[index] = step + 1
                rec.log(base(index, step + 1) | {"train/loss": value})
        alive = [index for index in range(S) if diverged[index] is None]
        if not alive:
            break
        opt.zero_grad(set_to_none=True)
        (loss.sum() if len(alive) == S else loss[alive].sum()).backward()
        opt.step()
        if (step + 1) % config.log_every == 0 or step + 1 == config.steps:
            last = evaluate()
            for index in alive:
                record = base(index, step + 1) | {"train/loss": train_loss[index], "eval/loss": last[0][index],
                                                   "eval/acc": last[1][index]}
                rec.log(record)
                curves[index].append(record)
    train_s = (time.perf_counter() - t0) / S  # each model's share of the stacked training
    final = last if last is not None else evaluate()  # scored once after the last step (NaN where diverged)
    nan = float("nan")
    results = [{"mixer": mixer, "seed_index": index, "eval/acc": nan if diverged[index] else final[1][index],
                "eval/loss": nan if diverged[index] else final[0][index], "diverged_at": diverged[index],
                "train_s": train_s, "curve": [[r["step"], r["eval/acc"]] for r in curves[index]]}
               for index in range(S)]  # curve: (step, held-out accuracy) every log_every
    return results, model, evalset


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
