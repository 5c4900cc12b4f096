"""Universal approximation: two-layer networks F(x) = W2 sigma(W1 x + b1) + b2 of width D on [0, 1]^d.

For every target, dimension d, width D and seed: the squared L2 error on held-out uniform samples and
the sup error on a dense grid (d = 1, 2) or a large sample (d >= 3). Then the lecture's claims:
Barron (1993): a target with finite C_f has squared L2 error <= C_f^2 / D whatever d, with C_f computed
for the target (cos and sigmoid forms), and log MSE against log D falls with slope -1 or steeper in every
d; Cybenko: the sup error at d = 1 gets within --epsilon of the range; Weierstrass: polynomials of degree
1..--max-degree (Chebyshev nodes) bring the sup error toward 0; the curse of dimensionality: a Lipschitz
target's curves flatten and the width it needs, D ~ (L/eps)^d, grows by at least 2x per dimension; kernel
ridge on D = 1..64 decays exponentially (told from a power law by the fit); learned features (Adam on
every layer, --learn-steps) beat fixed random ones at width --learn-width. Baselines at a comparable budget:
linear regression, Chebyshev polynomials (Weierstrass), kernel ridge regression with D Gaussian kernels.

--fit features draws the hidden layer at random (|w| about --feature-scale times 1/2..4, kinks inside the
cube; cos: random phases) and solves the outer layer by ridge least squares, every width and repeat from
one Cholesky factorisation (convex, exact up to the tiny ridge); --fit train trains every layer with Adam
from that same start (slower: minutes for the default sweep).
Targets: bump (smooth, C_f = 1 in every d), cosines (smooth), sawtooth and distance (Lipschitz),
linear, or a formula in x such as "sin(2*pi*x1) * x2" or "norm(x - 0.5)".
"""

from __future__ import annotations

from nnlab.commands.approx.config import QUICK, ApproxConfig, memory_bytes
from nnlab.commands.approx.results import headline, numbers
from nnlab.commands.approx.run import run
from nnlab.core.command import Command, Section

COMMAND = Command(
    name="approx",
    help=__doc__,
    config=ApproxConfig,
    quick=QUICK,
    run=run,
    headline=headline,
    numbers=numbers,
    memory_bytes=memory_bytes,
    plots="nnlab.commands.approx.plots",
    section=Section(
        "Universal approximation", "万能逼近定理",
        "There is a two-layer network F(x) of width D whose squared L2(p) error against f is at most C_f²/D.",
        "quoted",
        "存在宽度为 D 的两层神经网络 F(x)，作为函数 f 的近似满足 ‖F(x) − f(x)‖²_{L2(p)} ≤ C_f²/D",
        formulas=(  # the lecture's own LaTeX
            r"\forall x \in I_d, |F(x) - f(x)| < \epsilon",
            r"D \sim \left(\frac{L}{\epsilon}\right)^d",
            r"\|F(x) - f(x)\|_{L_2(p)}^2 \leq \frac{C_f^2}{D}",
        ),
    ),
    key_number="*.sigmoid.slope",
)
