"""Handwritten digits: an MLP or a CNN trained on the real MNIST (lecture: 手写数字识别, Dropout).

The whole data set lives on the device as one tensor; each epoch draws a permutation from a seeded
generator and slices batches out of it (no per-sample Python). Inputs are x = (pixel / 255 - 0.1307)
/ 0.3081. The loss is the cross-entropy -log softmax(logits)[y], averaged over the batch.

\b
    nnlab train-mnist                      the default recipe: a small CNN, one epoch, >= 99% test accuracy
    nnlab train-mnist --dropout 0.5        P = 0.5 of the units dropped while training (keep p = 1 - P)
    nnlab train-mnist --model mlp --hidden 512 --hidden 256 --activation tanh --optimizer adam --lr 1e-3

No test-set peeking: the last `--val-samples` (default 5,000) of the 60,000 training images are held out
as a validation split, never trained on. It is evaluated after every epoch and is the only thing a
decision uses (`--target-acc` stops on it). The 10,000 test images are evaluated once, after training,
and that is the accuracy the claims judge.

Learning rate: constant, or `onecycle` (linear warm-up from lr/25 to lr over the first `warmup` of the
steps, then cosine down to lr/1e4), or `cosine` (lr -> 0). Every epoch writes
checkpoints/last.pt and its SHA-256 (checkpoints/last.pt.sha256); `--resume RUN_DIR` verifies both,
loads only tensors and plain values (never code), continues an interrupted run and ends with the same
numbers an uninterrupted one gives on CPU. A NaN or inf loss stops the run as "diverged" at that step.
The CNN runs channels_last; on CUDA, in mixed precision (bf16 where supported, else fp16 with loss scaling).
"""

from __future__ import annotations

from nnlab.commands.train_mnist.checkpoints import check_resume
from nnlab.commands.train_mnist.config import QUICK, RESUME_MAY_CHANGE, TrainMnistConfig, memory_bytes
from nnlab.commands.train_mnist.results import headline, numbers
from nnlab.commands.train_mnist.run import prepare, run
from nnlab.core.command import Command, Resume, Section

COMMAND = Command(
    name="train-mnist",
    help=__doc__,
    config=TrainMnistConfig,
    quick=QUICK,
    run=run,
    headline=headline,
    numbers=numbers,
    memory_bytes=memory_bytes,
    plots="nnlab.commands.train_mnist.plots",
    section=Section(
        "Handwritten digits", "手写数字识别",
        "Networks built from these modules, trained with SGD and dropout, recognise handwritten digits.",
        "paraphrased",
        "卷积模块 · 特征提取 · 手写数字识别",
        formulas=(  # the lecture's own LaTeX
            r"\theta := \theta - \alpha \frac{1}{|B_j|} \sum_{i \in B_j} \nabla_{\theta} J^{(i)}(\theta) \quad j = 1, 2, \dots, k",  # noqa: E501 (verbatim)
        ),
    ),
    prepare=prepare,
    resume=Resume(may_change=RESUME_MAY_CHANGE, check=check_resume),
    key_number="test.acc",
)
