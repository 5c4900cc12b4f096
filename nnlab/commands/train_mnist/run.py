"""The run of `nnlab train-mnist`: the data on the device, the epochs (training.py), a checkpoint after each,
the one evaluation on the test set, and the summary with its claims."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from nnlab.commands.train_mnist import choice
from nnlab.commands.train_mnist.checkpoints import CHECKPOINT
from nnlab.commands.train_mnist.claims import accuracy_claims
from nnlab.commands.train_mnist.config import MNIST_TRAIN, TrainMnistConfig, split_sizes
from nnlab.commands.train_mnist.training import (
    Trainer,
    build_trainer,
    final_evaluation,
    restore,
    save,
    to_device,
    train_epoch,
)

if TYPE_CHECKING:
    from nnlab.core.run import Run


def prepare(config: TrainMnistConfig) -> None:
    """Check (or download) and decode MNIST before a run directory exists, so bad data writes no run."""
    from nnlab.data.mnist import prepare_mnist

    prepare_mnist(config.data_dir)  # kept: run() takes the same arrays (core.mnist.run_mnist)


def run(config: TrainMnistConfig, rec: Run) -> dict[str, Any]:
    """Load the data onto the device, train epoch by epoch (from the checkpoint on a resume), saving after each,
    then look at the test set once. At config.threads CPU threads, set (and restored afterwards) by the runner."""
    from nnlab.core.console import note
    from nnlab.core.seeding import seed_everything
    from nnlab.data.mnist import run_mnist

    seed_everything(config.seed)
    t0 = time.perf_counter()
    data = run_mnist(config.data_dir)
    n_train, n_val, n_test = split_sizes(config)
    train = to_device(data.train_images[:n_train], data.train_labels[:n_train], rec.device)
    val = to_device(data.train_images[MNIST_TRAIN - n_val:], data.train_labels[MNIST_TRAIN - n_val:], rec.device)
    test = to_device(data.test_images[:n_test], data.test_labels[:n_test], rec.device)
    load_s = time.perf_counter() - t0

    t = build_trainer(config, rec.device, *train, *val, *test)
    ckpt_path = rec.path / CHECKPOINT
    if rec.resumed:
        restore(t, ckpt_path)
    while not t.finished():
        if train_epoch(t, rec) is None:
            break
        save(t, ckpt_path)
    if stopped_early(t):
        note(f"stopped after epoch {t.state['epoch']} of {config.epochs}: the validation accuracy reached "
                  f"--target-acc {config.target_acc} (--no-stop-at-target trains every epoch)")
    if t.state["diverged"] is not None:
        d = t.state["diverged"]
        note(f"diverged: loss {d['loss']} at step {d['step']} (epoch {d['epoch']}); try a smaller --lr")
    summary = summarize(t, final_evaluation(t, data.test_images), load_s)
    if choice.wanted(config) and t.state["diverged"] is None:
        measured = choice.compare(t, choice.train_baseline(t, rec))
        summary["against_baseline"] = measured
        summary["claims"] += choice.dropout_claims(config.dropout, measured)
    return summary


def stopped_early(t: Trainer) -> bool:
    """Whether --stop-at-target ended training before --epochs."""
    return t.state["diverged"] is None and t.state["epoch"] < t.config.epochs


def summarize(t: Trainer, final: dict[str, Any], load_s: float) -> dict[str, Any]:
    from nnlab.nn.models import count_params

    config, state, history = t.config, t.state, t.history
    last = history[-1] if history else {}
    summary: dict[str, Any] = {
        "test/acc": final["test/acc"],
        "test/loss": final["test/loss"],
        "val/acc": last.get("val/acc"),
        "val/loss": last.get("val/loss"),
        "train/acc": last.get("train/acc"),
        "train/loss": last.get("train/loss"),
        "epochs": state["epoch"],
        "steps": state["step"],
        "steps_per_epoch": t.steps_per_epoch,
        "time_to_target_s": state["time_to_target_s"],
        "target_acc": config.target_acc,
        "stopped_at_target": stopped_early(t),  # True: fewer than --epochs ran, by --stop-at-target
        "train_time_s": state["train_s"],
        "load_time_s": load_s,
        "params": count_params(t.model),
        "device": t.device,
        "model": config.model,
        "dropout": config.dropout,
        "keep_probability": 1 - config.dropout,
        "optimizer": config.optimizer,
        "train_samples": len(t.x_train),
        "val_samples": len(t.x_val),
        "test_samples": final["test_samples"],
        "history": history,
        "confusion": final["confusion"],
        "misclassified": final["misclassified"],
        "errors": final["errors"],
        "claims": accuracy_claims(config.model, final["test/acc"], final["test_samples"], len(t.x_train)),
    }
    if state["diverged"] is not None:
        summary["status"] = "diverged"
        summary["diverged_at_step"] = state["diverged"]["step"]
    return summary
