"""What a finished `nnlab train-mnist` run shows (headline) and the numbers the tools read (numbers), from its
summary alone."""

from __future__ import annotations

from typing import Any

from nnlab.core.i18n import tr

# numbers()' name -> the summary key it reads
NUMBERS = {"test.acc": "test/acc", "test.loss": "test/loss", "val.acc": "val/acc", "val.loss": "val/loss",
           "train.acc": "train/acc", "train.loss": "train/loss", "test.errors": "errors", "epochs": "epochs",
           "steps": "steps", "train_time_s": "train_time_s", "time_to_target_s": "time_to_target_s",
           "load_time_s": "load_time_s", "params": "params", "dropout": "dropout"}


def headline(summary: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    columns = [tr("model", "模型"), tr("dropout", "Dropout"), tr("epochs", "轮数"), tr("val acc", "验证准确率"),
               tr("test acc", "测试准确率"), tr("test loss", "测试损失"), tr("train s", "训练秒数"),
               tr("time to target s", "达到目标秒数"), tr("params", "参数量")]
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
