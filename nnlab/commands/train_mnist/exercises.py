"""Exercises of `nnlab train-mnist` (read by nnlab.exercise.catalog; the schema is nnlab/exercise/model.py).

The parameter counts are closed forms the run counts from its model; the accuracy is a short training on the
bundled MNIST, whose tolerance tests/test_exercise_spread.py (slow) checks against its spread over seeds 0-4.
"""

from __future__ import annotations

EXERCISES = [
    dict(
        id="train-mnist.cnn-params",
        question="The default CNN: three blocks of 3 x 3 convolution (16, 32, 64 channels, no bias) with batch norm "
                 "and 2 x 2 pooling (28 -> 14 -> 7 -> 3), then one linear layer to 10 classes. How many trainable "
                 "parameters?",
        question_zh="默认的 CNN：三个块，每块 3 × 3 卷积（16、32、64 通道，无偏置）加批归一化和 2 × 2 池化"
                    "（28 → 14 → 7 → 3），最后一个线性层输出 10 类。可训练参数有多少个？",
        kind="number", unit="parameters", unit_zh="参数个数", low=0, high=1e9,
        settings=[], flip=["channels=[8, 16, 32]"],
        answer=lambda run: run.numbers["params"],
        tolerance={"abs": 0.5},
        tolerance_note="a count: exact",
        hint="A conv layer has c_in * c_out * k * k weights, batch norm 2 per channel (gamma, beta); the linear "
             "layer 64 * 3 * 3 * 10 + 10.",
        hint_zh="卷积层有 c_in·c_out·k·k 个权重，批归一化每通道 2 个（γ、β）；线性层 64·3·3·10 + 10。",
        explanation="144 + 32 + 4608 + 64 + 18432 + 128 + 5770 = 29,178: most of them in the last convolution, "
                    "not in the classifier.",
        explanation_zh="144 + 32 + 4608 + 64 + 18432 + 128 + 5770 = 29,178：大部分在最后一个卷积层，而不在分类器。",
    ),
    dict(
        id="train-mnist.mlp-params",
        question="The MLP 784 -> 256 -> 128 -> 10 (with biases): how many trainable parameters?",
        question_zh="MLP 784 → 256 → 128 → 10（含偏置）：可训练参数有多少个？",
        kind="number", unit="parameters", unit_zh="参数个数", low=0, high=1e9,
        settings=["model=mlp"], flip=["hidden=[100]"],
        answer=lambda run: run.numbers["params"],
        tolerance={"abs": 0.5},
        tolerance_note="a count: exact",
        hint="A linear layer n_in -> n_out has n_in * n_out weights and n_out biases.",
        hint_zh="线性层 n_in → n_out 有 n_in·n_out 个权重和 n_out 个偏置。",
        explanation="200,960 + 32,896 + 1,290 = 235,146: eight times the CNN's, for a lower accuracy.",
        explanation_zh="200,960 + 32,896 + 1,290 = 235,146：是 CNN 的八倍，准确率却更低。",
    ),
    dict(
        id="train-mnist.quick-test-acc",
        question="The CNN trained on only 2,000 images for one epoch (63 steps): what test accuracy does it reach?",
        question_zh="CNN 只用 2,000 张图片训练一个 epoch（63 步）：测试准确率能达到多少？",
        kind="number", unit="accuracy", unit_zh="准确率", low=0.0, high=1.0,
        settings=["train_samples=2000", "epochs=1", "batch_size=32"], flip=["train_samples=200"],
        answer=lambda run: run.numbers["test.acc"],
        tolerance={"abs": 0.04},
        tolerance_note="seeds 0-4: 0.93 to 0.95, a std of 0.008; 0.04 is five of those",
        hint="Convolutions share weights across positions: few images suffice to learn strokes.",
        hint_zh="卷积在各位置共享权重：很少的图片就足以学到笔画。",
        explanation="About 94%, from 2,000 images in a second or so: the lecture's 90% bar is passed; the full run "
                    "reaches 99%. With 200 images it stays far lower.",
        explanation_zh="约 94%，只用 2,000 张图、一秒左右：超过讲义的 90%；完整训练可达 99%。只用 200 张时低得多。",
    ),
]
