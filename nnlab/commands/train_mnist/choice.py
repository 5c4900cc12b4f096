"""What the lecture predicts for the user's choice of regularizer, measured against the same run without it.

`--dropout P` (P > 0): the lecture teaches dropout under the heading "过拟合：丢弃法(Dropout)" (overfitting:
dropout), as a cure for overfitting. With --against-baseline (the default) the same model is trained once
more with P = 0: the same seed (so the same initial weights: dropout has no parameters), data, batches and
number of epochs. The two are compared on

- the generalisation gap, the thing overfitting is: the accuracy on the training images minus the one on the
  validation split, both measured in eval mode (dropout off) after training, on the same images for both
  models; its uncertainty is the standard error of the paired per-image differences (a loss gap would reward
  a model for being less confident, not for generalising: measured, dropout's model had the better test error
  and the larger cross-entropy gap);
- the test error (nnlab's addition): a cure that narrows the gap by underfitting is no cure.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any

from nnlab.core.claims import claim

if TYPE_CHECKING:
    from nnlab.commands.train_mnist.training import Trainer

GAP_IMAGES = 5000  # training images the gap is measured on (the validation split has 5,000 by default)
Z = 2.0  # a difference counts when it exceeds twice its standard error (about 95% one-sided: 97.7%)


class _Unlogged:
    """The run seen by the baseline's training: progress and stops as usual, nothing in metrics.jsonl (the run's
    curves are the user's model's)."""

    def __init__(self, rec: Any):
        self._rec = rec

    def log(self, record: dict[str, Any]) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._rec, name)


def wanted(config: Any) -> bool:
    """Dropout chosen, the comparison not turned off, and a validation split to measure the gap on."""
    return config.dropout > 0 and config.against_baseline and config.val_samples > 0


def train_baseline(t: Trainer, rec: Any) -> Trainer | None:
    """The user's model without dropout, trained for as many epochs as the user's run trained (None if it
    diverged: no comparison)."""
    from nnlab.commands.train_mnist.training import build_trainer, train_epoch
    from nnlab.core.seeding import seed_everything

    config = dataclasses.replace(t.config, dropout=0.0, stop_at_target=False)
    seed_everything(config.seed)  # the initial weights of the user's model
    base = build_trainer(config, t.device, t.x_train, t.y_train, t.x_val, t.y_val, t.x_test, t.y_test)
    base.label = "baseline (dropout 0): "
    quiet = _Unlogged(rec)
    while base.state["epoch"] < t.state["epoch"]:
        if train_epoch(base, quiet) is None:
            return None
    return base


def per_image_right(t: Trainer, x, y):
    """Whether each image is classified right ((N,) bool numpy), in eval mode (dropout off)."""
    import torch

    t.model.eval()
    right = []
    with torch.inference_mode():
        for i in range(0, len(x), 1000):
            logits = t.model(x[i:i + 1000].contiguous(memory_format=t.memory_format))
            right.append(logits.argmax(1) == y[i:i + 1000])
    t.model.train()
    return torch.cat(right).cpu().numpy()


def compare(user: Trainer, base: Trainer | None) -> dict[str, Any]:
    """The two models' gaps and test errors, with standard errors of their paired differences."""

    if base is None:
        nan = float("nan")
        return {"gap_dropout": nan, "gap_none": nan, "gap_change": nan, "gap_change_se": nan, "test_error_dropout":
                nan, "test_error_none": nan, "test_error_change": nan, "test_error_change_se": nan}
    n = min(len(user.x_train), GAP_IMAGES)
    x_tr, y_tr = user.x_train[:n], user.y_train[:n]
    # (N,) booleans: each image classified right by the user's model (u) and by the baseline (b)
    tr_u, tr_b = (per_image_right(m, x_tr, y_tr) for m in (user, base))
    va_u, va_b = (per_image_right(m, user.x_val, user.y_val) for m in (user, base))
    te_u, te_b = (per_image_right(m, user.x_test, user.y_test) for m in (user, base))
    gap_u, gap_b = tr_u.mean() - va_u.mean(), tr_b.mean() - va_b.mean()  # training minus validation accuracy
    d_val, d_tr = va_u.astype(float) - va_b, tr_u.astype(float) - tr_b  # paired: the same images
    gap_se = math.sqrt(d_val.var(ddof=1) / len(d_val) + d_tr.var(ddof=1) / len(d_tr))
    err_u, err_b = 1 - te_u.mean(), 1 - te_b.mean()
    discordant = int((te_u != te_b).sum())  # McNemar: only images one model gets right and the other wrong count
    err_se = math.sqrt(discordant) / len(te_u)
    return {"gap_dropout": float(gap_u), "gap_none": float(gap_b), "gap_change": float(gap_u - gap_b),
            "gap_change_se": gap_se, "test_error_dropout": float(err_u), "test_error_none": float(err_b),
            "test_error_change": float(err_u - err_b), "test_error_change_se": err_se,
            "images": {"train": int(n), "val": int(len(va_u)), "test": int(len(te_u))}}


def dropout_claims(p_drop: float, c: dict[str, Any]) -> list[dict[str, Any]]:
    """The lecture's cure judged on the gap, nnlab's on the test error (each change with its standard error)."""
    gap = {k: c[k] for k in ("gap_dropout", "gap_none", "gap_change", "gap_change_se")}
    err = {k: c[k] for k in ("test_error_dropout", "test_error_none", "test_error_change", "test_error_change_se")}
    narrows = c["gap_change"] < -Z * c["gap_change_se"]
    costs = c["test_error_change"] > Z * c["test_error_change_se"]
    return [
        claim("train-mnist.dropout-narrows-gap",
              f'Lecture: "过拟合：丢弃法(Dropout)" (overfitting: dropout). Dropping units with P = {p_drop:g} narrows '
              "this model's generalisation gap (training minus validation accuracy, dropout off when measured) against "
              "the same training without dropout",
              gap, f"gap change < -{Z:g} SE", narrows, source="lecture",
              why=f"the gap changed by {c['gap_change']:+.2%} (SE {c['gap_change_se']:.2%}): with dropout "
                  f"{c['gap_dropout']:.2%}, without {c['gap_none']:.2%}; a model that barely overfits has little gap "
                  "to narrow",
              zh=f"讲义：“过拟合：丢弃法(Dropout)”。以 P = {p_drop:g} 丢弃单元，与不用 Dropout 的同样训练相比，"
                 "缩小了这个模型的泛化差距（训练准确率减去验证准确率，测量时关闭 Dropout）",
              why_zh=f"差距变化了 {c['gap_change']:+.2%}（标准误 {c['gap_change_se']:.2%}）：使用 Dropout 时为 "
                     f"{c['gap_dropout']:.2%}，不用时为 {c['gap_none']:.2%}；几乎不过拟合的模型没有多少差距可以缩小",
              tip="train longer on fewer images so that the baseline overfits: --train-samples 2000 --epochs 20"),
        claim("train-mnist.dropout-keeps-test-error",
              f"nnlab's addition: dropout P = {p_drop:g} does not raise the test error against the same training "
              "without dropout (a gap narrowed by underfitting would)",
              err, f"error change <= {Z:g} SE", not costs, source="nnlab",
              why=f"the test error rose from {c['test_error_none']:.2%} to {c['test_error_dropout']:.2%} "
                  f"(SE of the change {c['test_error_change_se']:.2%}): too few epochs for a model that drops "
                  "this many units",
              zh=f"nnlab 的补充：与不用 Dropout 的同样训练相比，P = {p_drop:g} 的 Dropout 不会提高测试错误率"
                 "（靠欠拟合缩小的差距会提高它）",
              why_zh=f"测试错误率从 {c['test_error_none']:.2%} 升到了 {c['test_error_dropout']:.2%}"
                     f"（变化的标准误 {c['test_error_change_se']:.2%}）：对丢弃这么多单元的模型来说，训练轮数太少",
              tip="a smaller --dropout, or more --epochs"),
    ]
