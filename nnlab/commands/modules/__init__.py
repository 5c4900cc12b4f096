"""The modules of modern networks (lecture: 神经网络中的模块): LayerNorm, residual blocks, convolution, U-Net.

One run, one section per module, each measured and drawn:

\b
  layernorm  LN(MM_{aW,ab}(z)) = LN(MM_{W,b}(z)) for a in {0.01, 1, 100} (max difference), what LN is not
             invariant to (W scaled alone, b kept), and LN before against after the activation in a deep
             tanh network: gradient norm per layer at initialization.
  residual   L residual blocks x + h f(x), h = 1/L, converge to the flow of dx/dt = f(x) (reference: RK4
             with many steps): error against L on log-log axes, fitted slope about -1 (Euler's order);
             and the first layer's gradient in a deep plain network against a deep residual one.
  conv       real MNIST digits through hand-made edge filters (horizontal, vertical, Laplacian) and the
             filters of a small CNN trained for seconds; feature maps before and after max and average
             pooling; translation equivariance of convolution and the approximate invariance pooling gives,
             measured on shifted digits.
  unet       a small U-Net (down path, up path, skip connections) trained briefly to denoise digits: PSNR
             before and after on held-out digits, against the same network without skips (over seeds).

\b
    nnlab modules                                the four sections (a few minutes on 2 CPU cores)
    nnlab modules --quick                        all of it in seconds
    nnlab modules --section residual --section layernorm
    nnlab modules --section residual --euler-scheme heun    a two-evaluation block: slope about -2
    nnlab modules --section layernorm --ln-eps 1e-5         torch's eps breaks the invariance at a = 0.01

The numpy LayerNorm, convolution and pooling (nnlab.nn.layers) are golden-tested against torch, values
and gradients; the CNN and the U-Net are torch modules.
"""

from __future__ import annotations

from nnlab.commands.modules.config import QUICK, ModulesConfig, memory_bytes
from nnlab.commands.modules.results import headline, numbers
from nnlab.commands.modules.run import prepare, run
from nnlab.core.command import Command, Section

COMMAND = Command(
    name="modules",
    help=__doc__,
    config=ModulesConfig,
    quick=QUICK,
    run=run,
    headline=headline,
    numbers=numbers,
    memory_bytes=memory_bytes,
    plots="nnlab.commands.modules.plots",
    section=Section(
        "Modules of a network", "神经网络中的模块",
        "Networks are assembled from modules: matrix multiplication MM(z) = Wz + b, residual blocks Res(z) = "
        "z + σ(MM(σ(MM(z)))) with their ODE reading, scale-invariant layer normalization, convolution, "
        "pooling and the U-Net.",
        "paraphrased",
        "矩阵乘法模块 · 残差连接模块 · ODE解释 · 归一化(Layer normalization)层 · 尺度不变性 · 卷积模块 · U-Net",
        formulas=(  # the lecture's own LaTeX
            r"Res(z) = z + \sigma(MM(\sigma(MM(z))))",
            r"LN(MM_{\alpha W, \alpha b}(z)) = LN(MM_{W, b}(z))",
        ),
    ),
    prepare=prepare,
    key_number="unet.skips_gain_db",
)
