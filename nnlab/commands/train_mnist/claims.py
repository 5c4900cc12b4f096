"""The claims of `nnlab train-mnist`: verdicts on the run's one test accuracy."""

from __future__ import annotations

from typing import Any

from nnlab.commands.train_mnist.config import MNIST_TRAIN
from nnlab.core.claims import claim

# What the field expects of each model on the real test set after a normal training run.
EXPECTED_ACC = {"cnn": 0.99, "mlp": 0.98}
RECOGNISES_ACC = 0.9  # nnlab's reading of the lecture's "recognition": 9 digits in 10 right (chance: 1 in 10)


def accuracy_claims(model: str, test_acc: float, n_test: int, n_train: int) -> list[dict[str, Any]]:
    """The run's verdicts on its one test accuracy: the lecture's (a network recognises handwritten digits) and
    nnlab's expectation for a normally trained model of this kind."""
    on = f"on {n_test:,} test images" + ("" if n_test == 10_000 else " (a subset of the 10,000: a smoke verdict)")
    trained = f"trained on {n_train:,} images" + ("" if n_train >= MNIST_TRAIN - 10_000 else " (a subset)")
    on_zh = f"在 {n_test:,} 张测试图像上" + ("" if n_test == 10_000 else
                                          "（10,000 张中的一个子集：只作冒烟检验的结论）")
    trained_zh = f"在 {n_train:,} 张图像上训练" + ("" if n_train >= MNIST_TRAIN - 10_000 else "（一个子集）")
    name, expected = model.upper(), EXPECTED_ACC[model]
    claims = [
        claim("train-mnist.recognises-digits",
              f'Lecture slide "卷积模块 ... 手写数字识别" (the convolution module: handwritten digit recognition): '
              f"this {name}, {trained}, recognises handwritten digits {on}; the {RECOGNISES_ACC:.0%} bar is "
              "nnlab's reading of 'recognises' (chance: 10%)",
              round(test_acc, 4), f">= {RECOGNISES_ACC}", test_acc >= RECOGNISES_ACC, source="lecture",
              zh=f'讲义幻灯片“卷积模块 ... 手写数字识别”：这个{trained_zh}的 {name} {on_zh}能识别手写数字；'
                 f"{RECOGNISES_ACC:.0%} 的门槛是 nnlab 对“识别”的解读（随机猜测：10%）"),
        claim("train-mnist.accuracy",
              f"nnlab's expectation (not the lecture's): a normally trained small {name}, {trained}, reaches "
              f"{expected:.0%} test accuracy {on}",
              round(test_acc, 4), f">= {expected}", test_acc >= expected, source="nnlab",
              zh=f"nnlab 的预期（并非讲义的说法）：一个{trained_zh}、正常训练的小型 {name}，{on_zh}的测试准确率"
                 f"达到 {expected:.0%}"),
    ]
    # The 99% / 98% expectation is about a normal training run on the full data judged on the full test set;
    # on a subset (--quick: 2,000 images for seconds) it is not an expectation anyone holds, so it is not
    # judged there. The lecture's claim above is judged on every run.
    full = n_test == 10_000 and n_train >= MNIST_TRAIN - 10_000
    return claims if full else claims[:1]
