"""The lecture's sections in the lecture's order, and what each one says, for `nnlab lecture` and its report.

Each section is one experiment command. `says` is one sentence in English; `how` tells whether it is
"quoted" (then `zh` holds the lecture's own words, verbatim, and `says` translates them) or
"paraphrased" (then `zh` holds the lecture's keywords it summarises). Sections whose command is not
registered are simply absent from a run; registered commands missing here still run, after these.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Section:
    command: str
    title: str  # English heading
    title_zh: str  # the lecture's heading
    says: str  # one sentence: what the lecture says here
    how: str  # "quoted" or "paraphrased"
    zh: str  # the lecture's words (verbatim when quoted)
    captions: dict[str, str] = field(default_factory=dict)  # figure file name -> caption


SECTIONS: tuple[Section, ...] = (
    Section(
        "activations", "Activation functions", "激活函数",
        "Each layer applies a nonlinear activation elementwise (ReLU, Sigmoid, Tanh, Leaky ReLU, GELU, SoftPlus); "
        "saturating activations have vanishing derivatives.",
        "paraphrased", "对每个元素作用的(非线性)激活函数 … 饱和(saturating) · 导数消失",
        {"functions.png": "Each activation σ(z); shaded: its saturating regions",
         "derivatives.png": "Their derivatives σ'(z); shaded: where |σ'| is small",
         "vanishing_gradient.png": "The product of derivatives through stacked layers shrinks"},
    ),
    Section(
        "approx", "Universal approximation", "万能逼近定理",
        "There is a two-layer network F(x) of width D whose squared L2(p) error against f is at most C_f²/D.",
        "quoted", "存在宽度为 D 的两层神经网络 F(x)，作为函数 f 的近似满足 ‖F(x) − f(x)‖²_{L2(p)} ≤ C_f²/D",
        {"error_vs_width.png": "Relative squared L2 error against the width D (log-log; Barron's rate is slope -1)",
         "sup_vs_width.png": "Sup error against the width D",
         "width_needed.png": "Width needed for a target error as the dimension d grows (the curse of dimensionality)",
         "fits_1d.png": "The fitted functions in one dimension"},
    ),
    Section(
        "modules", "Modules of a network", "神经网络中的模块",
        "Networks are assembled from modules: matrix multiplication MM(z) = Wz + b, residual blocks "
        "Res(z) = z + σ(MM(σ(MM(z)))) with their ODE reading, scale-invariant layer normalization, "
        "convolution, pooling and the U-Net.",
        "paraphrased",
        "矩阵乘法模块 · 残差连接模块 · ODE解释 · 归一化(Layer normalization)层 · 尺度不变性 · 卷积模块 · U-Net",
    ),
    Section(
        "init", "Initialization", "初始化",
        "For y = Wz with W_ij ~ N(0, w²), Cov[y_i] = n_in w² × Cov[z_i], hence w = 1/√n_in "
        "(and w = 1/√(n_in/2) for ReLU).",
        "quoted", "考虑 y = Wz，假设 W_{i,j} ~ N(0, w²)，Cov[y_i] = n_in w² × Cov[z_i] ⇒ w = 1/√n_in "
        "· 如果激活函数为ReLU … w = 1/√(n_in/2)",
        {"histograms.png": "Activations per layer for each weight scale (the slides' histograms)",
         "statistics.png": "Mean and standard deviation of the activations, layer by layer",
         "gradients.png": "Standard deviation of the back-propagated gradient, layer by layer"},
    ),
    Section(
        "backprop", "Back-propagation", "反向传播",
        "If computing f(x; θ) costs O(N), computing ∇_θ f(x; θ) also costs O(N), "
        "but the intermediate variables must be stored.",
        "quoted", "如果 f(x; θ) 的复杂度为 O(N), 那么计算 ∇_θ f(x; θ) 的复杂度也为 O(N), 但是需要额外存储中间变量。",
    ),
    Section(
        "optimize", "Optimization", "非凸优化",
        "Gradient descent oscillates on ill-conditioned losses and slows at saddle points; momentum "
        "(heavy ball, Nesterov) and adaptive step sizes (AdaGrad, RMSProp, Adam) help, and SGD's noise keeps it "
        "out of sharp minima.",
        "paraphrased", "损失函数具有高条件数 … 会出现震荡 · 鞍点和局部极小点 · 动量更新 · 步长选取 · Adam",
        {"loss.png": "Loss against step for each optimizer",
         "paths.png": "Optimizer paths on the loss landscape",
         "lr_sweep.png": "Final loss against the learning rate α",
         "sharpness.png": "Sharpness of the minima reached with small and large batches"},
    ),
    Section(
        "regularize", "Regularization", "过拟合：正则化 · 丢弃法(Dropout)",
        "During training, each batch drops the layer's outputs with probability 1 − p and multiplies the others "
        "by 1/p; at test time the layer is left unchanged.",
        "quoted",
        "在训练的时候(每一个批次(batch))，以概率 1 − p 随机删去该层的一些输出，并把其余输出乘以 1/p … 测试时保持不变",
    ),
    Section(
        "attention", "Attention", "注意力机制(Attention)",
        "Self-attention weighs the values v_j by a_ij = softmax_j(q_i · k_j / √m); multi-head attention "
        "stacks the heads and multiplies them by W_o.",
        "paraphrased", "e_ij = q_i · k_j / √m · a_ij = exp(e_ij) / Σ_j' exp(e_ij') · 多头自注意力机制 · W_o",
    ),
    Section(
        "train-mnist", "Handwritten digits", "手写数字识别",
        "Networks built from these modules, trained with SGD and dropout, recognise handwritten digits.",
        "paraphrased", "卷积模块 · 特征提取 · 手写数字识别",
        {"learning_curves.png": "Training loss and test accuracy against epoch",
         "confusion_matrix.png": "Confusion matrix on the test set",
         "misclassified.png": "Misclassified test digits, most confident first"},
    ),
)

BY_COMMAND: dict[str, Section] = {s.command: s for s in SECTIONS}
ORDER: tuple[str, ...] = tuple(s.command for s in SECTIONS)


def section(command: str) -> Section:
    """The section of `command`; a plain one for a command the lecture map does not know yet."""
    return BY_COMMAND.get(command) or Section(command, command, "", "(not mapped to a lecture section yet)",
                                              "paraphrased", "")


def lecture_order(commands: Iterable[str]) -> list[str]:
    """`commands` in the lecture's order; any the lecture map does not know come last, as given."""
    commands = list(dict.fromkeys(commands))
    return [c for c in ORDER if c in commands] + [c for c in commands if c not in BY_COMMAND]


def caption(command: str, filename: str) -> str:
    known = section(command).captions.get(filename)
    return known or filename.rsplit(".", 1)[0].replace("_", " ").replace("-", " ").capitalize()
