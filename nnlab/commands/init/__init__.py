"""Initialization: activation statistics through a deep, wide network (lecture: 初始化).

The slide's experiment exactly: dims = [width] * (depth + 1), x = randn(batch, width), and for each
layer W = w * randn(n_in, n_out), h = act(h @ W). With no --scale it compares the slide's three scales
(0.05 saturates tanh, 0.01 vanishes, Xavier keeps the spread) on the same input and the same random
weight directions, so only w differs between rows of the figure. With ReLU the default pair is
Xavier (variance halves each layer) against He (variance kept).

Beyond the slides: the backward pass. A fixed random upstream gradient g = dL/dh_L (L = <g, h_L>) is
propagated back, and the std of dL/dh_l per layer shows gradients vanishing or exploding the same way.
"""

from __future__ import annotations

from nnlab.commands.init.config import QUICK, InitConfig, memory_bytes
from nnlab.commands.init.propagate import run
from nnlab.commands.init.results import headline, numbers
from nnlab.core.command import Command, Section

COMMAND = Command(
    name="init",
    help=__doc__,
    config=InitConfig,
    quick=QUICK,
    run=run,
    headline=headline,
    numbers=numbers,
    memory_bytes=memory_bytes,
    plots="nnlab.commands.init.plots",
    section=Section(
        "Initialization", "初始化",
        "For y = Wz with W_ij ~ N(0, w²), Cov[y_i] = n_in w² × Cov[z_i], hence w = 1/√n_in (and w = "
        "1/√(n_in/2) for ReLU).",
        "quoted",
        "考虑 y = Wz，假设 W_{i,j} ~ N(0, w²)，Cov[y_i] = n_in w² × Cov[z_i] ⇒ w = 1/√n_in "
        "· 如果激活函数为ReLU … w = 1/√(n_in/2)",
        formulas=(  # the lecture's own LaTeX
            r"\text{Cov}[y_i] = n_{in} w^2 \times \text{Cov}[z_i] \Rightarrow w = \frac{1}{\sqrt{n_{in}}}",
            r"\text{Cov}[y_i] = \frac{1}{2} n_{in} w^2 \times \text{Cov}[z_i] \Rightarrow w = \frac{1}{\sqrt{\frac{n_{in}}{2}}}",  # noqa: E501 (verbatim)
        ),
    ),
    key_number="*.std_last",
)
