"""What a finished `nnlab train-mnist` run shows (headline) and the numbers the tools read (numbers), from its
summary alone."""

from __future__ import annotations

from typing import Any

# numbers()' name -> the summary key it reads
NUMBERS = {"test.acc": "test/acc", "test.loss": "test/loss", "val.acc": "val/acc", "val.loss": "val/loss",
           "train.acc": "train/acc", "train.loss": "train/loss", "test.errors": "errors", "epochs": "epochs",
           "steps": "steps", "train_time_s": "train_time_s", "time_to_target_s": "time_to_target_s",
           "load_time_s": "load_time_s", "params": "params", "dropout": "dropout"}


def headline(summary: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    columns = ["model", "dropout", "epochs", "val acc", "test acc", "test loss", "train s", "time to target s",
               "params"]
    rows = [[summary["model"], summary["dropout"], summary["epochs"], summary["val/acc"], summary["test/acc"],
             summary["test/loss"], summary["train_time_s"], summary["time_to_target_s"], summary["params"]]]
    return columns, rows


def numbers(summary: dict[str, Any]) -> dict[str, float | None]:
    """Stable names -> values: the one test accuracy and loss, the last epoch's validation and training accuracy
    and loss, the test errors, epochs and steps trained, training seconds (and to reach --target-acc on the
    validation split), data loading seconds, trainable parameters, the dropout probability P. None: not
    measured (no validation split, target not reached, ...)."""
    out: dict[str, float | None] = {}
    for name, key in NUMBERS.items():
        value = summary.get(key)
        out[name] = None if value is None else float(value)
    return out
