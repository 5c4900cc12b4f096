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

import math
import statistics
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nnlab.core.claims import check, claim
from nnlab.core.config import ExperimentConfig, check_list, param

if TYPE_CHECKING:
    from nnlab.core.run import Run

PATCHES = (2, 4, 7, 14)  # patch sizes that tile 28 x 28
CHECK_TOL = 1e-10        # float64: ours and torch's differ by summation order only
BEATS_ACC = 0.9          # the attention model "reaches high accuracy"
BEATS_MARGIN = 0.3       # ... and beats mean pooling by at least this much (accuracy)
VIT_ACC = 0.9            # "learns": test accuracy of a small ViT (chance is 0.1)


@dataclass
class AttentionConfig(ExperimentConfig):
    task: str = param("retrieve", "retrieve (key-value lookup, attention vs mean pooling) or vit (MNIST patches).",
                      choices=["retrieve", "vit"])
    heads: int = param(4, "Attention heads h; each gets dim / h units (dim must be divisible by heads).",
                       low=1, high=64)
    dim: int = param(64, "Model width m (token embedding size).", low=1, high=1024)
    layers: int = param(2, "Transformer encoder blocks.", low=1, high=24)
    norm: str = param("pre", "LayerNorm placement: pre (x + Mix(LN(x))) or post (LN(x + Mix(x))).",
                      choices=["pre", "post"])
    steps: int = param(150, "retrieve: training steps per model (fresh sequences every step).", low=1,
                       high=1_000_000)
    epochs: int = param(1, "vit: passes over the training images.", low=1, high=100)
    lr: float = param(3e-3, "Peak learning rate of AdamW (5% linear warm-up, then cosine to 0).", low=0.0,
                      low_open=True, high=1.0)
    batch_size: int = param(64, "Sequences (retrieve) or images (vit) per step.", low=1, high=4096)
    seeds: int = param(3, "retrieve: models trained per mixer (attention, mean pooling), for mean and spread.",
                       low=1, high=20)
    pairs: int = param(8, "retrieve: (key, value) pairs per sequence.", low=1, high=256)
    queries: int = param(8, "retrieve: queries per sequence (distinct keys among the pairs').", low=1, high=256)
    n_keys: int = param(16, "retrieve: size of the key vocabulary (keys in a sequence are distinct).", low=1,
                        high=10_000)
    n_values: int = param(16, "retrieve: size of the value vocabulary.", low=2, high=10_000)
    eval_sequences: int = param(1000, "retrieve: held-out sequences the accuracy is measured on.", low=1,
                                high=100_000)
    patch: int = param(7, "vit: patch size p (28 x 28 digits give (28/p)^2 tokens); one of 2, 4, 7, 14.", low=2,
                       high=14,
                       check=lambda p: None if p in PATCHES else "must be one of 2, 4, 7, 14 (it must tile 28)")
    val_samples: int = param(5000, "vit: training images held out for validation (the last N).", low=1,
                             high=30000)
    train_samples: int = param(0, "vit: train on the first N training images (0: all but the validation ones).",
                               low=0, high=59999)
    test_samples: int = param(0, "vit: score the first N test images (0: all 10000).", low=0, high=10000)
    data_dir: str | None = param(None, "Folder with the four MNIST .gz files (null: $NNLAB_DATA_DIR, else the "
                                 "copy shipped with nnlab).")
    entropy_dims: list[int] = param([4, 16, 64, 256, 1024], "Widths m at which the softmax entropy at "
                                    "initialization is measured (repeatable).", low=1, high=16384)
    entropy_tokens: int = param(32, "Tokens n for the entropy measurement (uniform weights: log n).", low=2,
                                high=4096)
    examples: int = param(3, "Examples whose attention maps are drawn.", low=1, high=16)
    log_every: int = param(25, "Log the curves every N steps.", low=1, high=1_000_000)
    threads: int = param(1, "CPU threads for torch (0: every core this process may use). 1 by default: these "
                         "models' matrices are too small to gain from a second thread, and on a busy machine "
                         "waiting threads make every step several times slower.", low=0, high=1024)

    def validate(self) -> None:
        from nnlab.core.errors import UserError
        from nnlab.nn.attention import check_heads

        problem = check_heads(self.dim, self.heads)
        if problem:
            raise UserError(f"--dim {self.dim} / --heads {self.heads}: {problem}")
        check_list("entropy_dims", self.entropy_dims, required=True)
        if self.pairs > self.n_keys:
            raise UserError(f"pairs: {self.pairs} distinct keys need n_keys >= {self.pairs}, got {self.n_keys}")
        if self.queries > self.pairs:
            raise UserError(f"queries: at most one per pair ({self.pairs}), got {self.queries}")
        if self.train_samples + self.val_samples > 60000:
            raise UserError(f"train_samples + val_samples: {self.train_samples} + {self.val_samples} > 60000 images")
        tokens = (28 // self.patch) ** 2 + 1 if self.task == "vit" else self.pairs + self.queries
        # every block keeps its weights (B, h, T, T) and the 4m-wide MLP activations for the backward pass
        nbytes = 4 * self.layers * self.batch_size * tokens * (self.heads * tokens + 12 * self.dim)
        if nbytes > 8 * 2**30:
            raise UserError(f"batch_size/dim/layers: one step would hold about {nbytes / 2**30:.0f} GiB of "
                            "activations; keep it under 8 GiB")
        if max(self.entropy_dims) * self.entropy_tokens * 8 > 2**30:
            raise UserError("entropy_dims x entropy_tokens: the query matrix would exceed 1 GiB")


def memory_bytes(config: AttentionConfig) -> int:
    """MNIST as float32 for vit (60,000 x 784, a few copies), one step's activations (as validate bounds them),
    the entropy table's query matrix, and the interpreter with torch and numpy."""
    tokens = (28 // config.patch) ** 2 + 1 if config.task == "vit" else config.pairs + config.queries
    step = 4 * config.layers * config.batch_size * tokens * (config.heads * tokens + 12 * config.dim)
    data = 3 * 60_000 * 784 * 4 if config.task == "vit" else 0
    entropy = max(config.entropy_dims) * config.entropy_tokens * 8 * 3
    return 2 * step + data + entropy + 300 * 2**20


# Seconds: one short model per mixer (60 steps: attention has just learned the lookup), one map, a 1000-image
# ViT epoch for --task vit, two entropy widths.
QUICK = {"steps": 60, "seeds": 1, "eval_sequences": 200, "log_every": 20, "examples": 1, "train_samples": 1000,
         "val_samples": 500, "test_samples": 1000, "entropy_dims": [4, 256]}


def prepare(config: AttentionConfig) -> None:
    if config.task == "vit":
        from nnlab.core.mnist import prepare_mnist

        prepare_mnist(config.data_dir)  # check the data before a run directory exists


# ----------------------------------------------------------------------------------------------------
# The run


def run(config: AttentionConfig, rec: Run) -> dict[str, Any]:
    from nnlab.core.device import torch_threads

    with torch_threads(config.threads):
        return _run(config, rec)


def _run(config: AttentionConfig, rec: Run) -> dict[str, Any]:
    from nnlab.core.seeding import seed_everything
    from nnlab.experiments.attention import checks

    seed_everything(config.seed)
    tokens = (28 // config.patch) ** 2 + 1 if config.task == "vit" else config.pairs + config.queries
    diffs = checks.against_torch(config.dim, config.heads, min(tokens, 64), config.seed)
    entropy = checks.entropy_table(config.entropy_dims, config.entropy_tokens, config.dim, config.seed)
    summary: dict[str, Any] = {"task": config.task, "dim": config.dim, "heads": config.heads,
                               "layers": config.layers, "norm": config.norm, "matches_torch": diffs,
                               "entropy": entropy, "entropy_tokens": config.entropy_tokens}
    records = [
        check("attention.matches-torch",
              f"nnlab.nn.attention (numpy, float64) equals torch given the same weights at m = {config.dim}, "
              f"h = {config.heads}: multi-head attention vs nn.MultiheadAttention, causal self-attention vs "
              "scaled_dot_product_attention, and the torch port the models use (max |difference|)",
              {k: float(f"{v:.3g}") for k, v in diffs.items()}, f"all < {CHECK_TOL:g}",
              max(diffs.values()) < CHECK_TOL),
        scaling_claim(entropy, config.entropy_tokens),
    ]
    if config.task == "retrieve":
        summary |= run_retrieve(config, rec)
        records.append(beats_claim(summary["results"], config))
    else:
        from nnlab.experiments.attention import vit

        result = vit.train(config, rec)
        summary |= {"vit": result}
        records.append(claim("attention.vit-learns",
            f"A small vision Transformer ({config.layers} blocks, m = {config.dim}, h = {config.heads}, "
            f"{config.patch} x {config.patch} patches) learns MNIST: accuracy on the {result['test_samples']} "
            f"test images, scored once after {result['epochs']} epoch(s)",
            round(result["test/acc"], 4), f">= {VIT_ACC} (chance 0.1)", result["test/acc"] >= VIT_ACC,
            source="nnlab"))
        if result["diverged_at"] is not None:
            summary["status"] = "diverged"
    summary["claims"] = records
    return summary


def run_retrieve(config: AttentionConfig, rec: Run) -> dict[str, Any]:
    from nnlab.experiments.attention import retrieve

    results: dict[str, list[dict[str, Any]]] = {"attention": [], "mean": []}
    maps, guess = None, None
    for index in range(config.seeds):
        for mixer in results:
            r = retrieve.train(config, mixer, index, rec)
            if mixer == "attention" and index == 0:  # the maps of the first attention model
                maps = retrieve.attention_maps(r["model"], r["evalset"], config.examples)
                guess = retrieve.guess_present_value(r["evalset"])
            results[mixer].append({k: v for k, v in r.items() if k not in ("model", "evalset")})
    out: dict[str, Any] = {"results": results, "maps": maps, "guess_present_value_acc": guess,
                           "pairs": config.pairs, "queries": config.queries}
    if any(r["diverged_at"] is not None for rs in results.values() for r in rs):
        out["status"] = "diverged"
    return out


def spread(values: list[float]) -> dict[str, float]:
    """Mean, standard deviation (n - 1; 0 for one value), min and max (NaN for a diverged run propagates)."""
    import numpy as np

    a = np.asarray(values, dtype=float)
    return {"mean": float(a.mean()), "std": float(a.std(ddof=1)) if len(a) > 1 else 0.0,
            "min": float(a.min()), "max": float(a.max())}


# ----------------------------------------------------------------------------------------------------
# Claims


def scaling_claim(entropy: list[dict[str, float]], n: int) -> dict[str, Any]:
    """1/sqrt(m) keeps the entropy put as m grows; without it the largest m's softmax is far sharper."""
    scaled = [row["scaled"] for row in entropy]
    last = entropy[-1]
    steady = max(scaled) - min(scaled) < 0.1 * math.log(n)
    sharp = last["unscaled"] < 0.5 * last["scaled"]
    return claim("attention.scaling-keeps-softmax-soft",
        f"e_ij = q_i . k_j / sqrt(m) keeps a_ij soft at initialization: mean entropy of a_ij (nats, n = {n} "
        f"tokens, uniform = {math.log(n):.3f}) with the 1/sqrt(m) stays put as m grows; without it the "
        "softmax turns nearly one-hot",
        {str(row["m"]): {"scaled": round(row["scaled"], 3), "unscaled": round(row["unscaled"], 3)}
         for row in entropy},
        f"scaled varies < {0.1 * math.log(n):.3f} over m; unscaled < half of scaled at m = {last['m']}",
        steady and sharp, source="nnlab")


def beats_claim(results: dict[str, list[dict[str, Any]]], config: AttentionConfig) -> dict[str, Any]:
    att = spread([r["eval/acc"] for r in results["attention"]])
    mean = spread([r["eval/acc"] for r in results["mean"]])
    ok = att["mean"] >= BEATS_ACC and att["mean"] - mean["mean"] >= BEATS_MARGIN  # NaN (diverged) fails
    return claim("attention.beats-mean-pooling",
        f"Key-value lookup ({config.pairs} pairs, {config.queries} queries) needs attention: the encoder "
        f"reaches high held-out accuracy; the same model with attention replaced by mean pooling does not "
        f"({config.seeds} seeds each, {config.steps} steps)",
        {"attention": {k: round(v, 4) for k, v in att.items()},
         "mean_pooling": {k: round(v, 4) for k, v in mean.items()}},
        f"attention mean >= {BEATS_ACC} and at least {BEATS_MARGIN} above mean pooling's", ok, source="nnlab")


def headline(summary: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    if summary["task"] == "vit":
        v = summary["vit"]
        return (["model", "test acc", "val acc", "epochs", "train s", "params"],
                [[f"ViT {summary['layers']}x{summary['dim']}/{summary['heads']}h", v["test/acc"], v["val/acc"],
                  v["epochs"], v["train_s"], v["params"]]])
    columns = ["mixer", "acc mean", "acc std", "acc min", "acc max", "train s (each)"]
    rows = []
    for mixer, rs in summary["results"].items():
        s = spread([r["eval/acc"] for r in rs])
        rows.append([mixer, s["mean"], s["std"], s["min"], s["max"], statistics.fmean(r["train_s"] for r in rs)])
    return columns, rows
