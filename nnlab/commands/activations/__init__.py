"""Activation functions and their derivatives: the slide's figures, saturation and vanishing products.

Every lecture activation (relu, sigmoid, tanh, leaky_relu, gelu, softplus, and cos from Barron's theorem)
and its derivative on a grid, with the saturating regions marked where |sigma'(z)| < --threshold.
Per activation: the fraction of a N(0, input_std^2) input that falls in a saturating region, and sigma'(0).
The vanishing-gradient picture: back-propagation through L stacked layers multiplies L derivatives,
prod_l sigma'(z_l); with z_l ~ N(0, input_std^2) independent ("typical inputs"), E|prod| = (E|sigma'(z)|)^L
(computed by quadrature) and the median of |prod| over Monte-Carlo chains show how fast it shrinks.

The output layers (在最后一层 f_L，激活函数的选择由函数最终输出的约束条件所决定): one small 1-32-32 tanh network
per seed trained with each of the lecture's three: softmax on a 3-class task, e^x on a positive target
exp(a x) (a = --positive-range), identity on sin(pi x), with e^x against identity on the two scalar targets
(--output-steps Adam steps, --output-seeds seeds; --output-steps 0 leaves this part out).
"""

from __future__ import annotations

from nnlab.commands.activations.config import QUICK, ActivationsConfig, memory_bytes
from nnlab.commands.activations.measure import run
from nnlab.commands.activations.results import headline, numbers
from nnlab.core.command import Command, Section

COMMAND = Command(
    name="activations",
    help=__doc__,
    config=ActivationsConfig,
    quick=QUICK,
    run=run,
    headline=headline,
    numbers=numbers,
    memory_bytes=memory_bytes,
    plots="nnlab.commands.activations.plots",
    section=Section(
        "Activation functions", "激活函数",
        "Each layer applies a nonlinear activation elementwise (ReLU, Sigmoid, Tanh, Leaky ReLU, GELU, "
        "SoftPlus); saturating activations have vanishing derivatives.",
        "paraphrased",
        "对每个元素作用的(非线性)激活函数 … 饱和(saturating) · 导数消失",
        formulas=(  # the lecture's own LaTeX
            r"\text{Sigmoid: } \sigma(z) = \frac{1}{1+e^{-z}}",
            r"\text{Tanh: } \sigma(z) = \frac{e^z - e^{-z}}{e^z + e^{-z}}",
            r"h^{(L)}(x) = e^x",
        ),
    ),
    key_number="sigmoid.per_layer_factor",
)
