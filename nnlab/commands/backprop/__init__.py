"""Back-propagation: the chain rule node by node, checked against torch, and what a gradient costs.

\b
    nnlab backprop                                 the slide: r = [z (x^2 + y)]^2 at (1, 2, 4): r = 144,
                                                   gradient (192, 96, 72), the adjoints of u, v, w, r
    nnlab backprop --point x=2,y=1,z=3             the slide's r elsewhere (225; 360, 90, 150)
    nnlab backprop --expr "relu(a - b)**2 / (1 + exp(-a*b))" --point a=1.5,b=-2 --no-cost --no-train
    nnlab backprop --expr "u = x*y; r = log(u) - u**-1" --point 2,3
    nnlab backprop --cost-backward recompute       keep no intermediates: the cost claims must fail

Part 1, the chain rule. The formula (statements `name = expression` separated by ';', or one expression;
+ - * / **, unary minus, exp, log, relu, sigmoid, tanh, leaky_relu, gelu, softplus) is evaluated by a
reverse-mode engine written from scratch (nnlab/nn/autograd.py); the table lists every node with its
forward value and its adjoint d(output)/d(node), and the gradient is compared with torch autograd and
with central finite differences. plots/graph.png draws the graph with values, adjoints and the local
derivatives on the edges. At a kink the engine uses torch's subgradient (relu'(0) = 0), where finite
differences give the average slope (0.5): the finite-difference claim then fails, as it should.

Part 2, the lecture's cost claim: for MLPs whose parameter count N grows with the depth (fixed width,
so the forward work, the parameters and the intermediates all grow in proportion), time(forward +
backward) / time(forward) stays bounded, the backward time grows like N and the bytes kept for the
backward pass grow like N, for the engine and for torch (bytes seen by saved_tensors_hooks). Times are
medians of repeated samples of CPU time (--clock cpu) with one thread, which a busy shared machine
disturbs much less than wall time; the default width 256 makes the matrix work dominate the Python
overhead of each operation (at width 32 torch's fixed per-call cost flattens the small sizes).

Part 3: an MLP trained on real MNIST with the engine and with torch from the same weights on the same
minibatches: the loss curves agree to float64 rounding. --no-cost / --no-train skip parts 2 and 3.
"""

from __future__ import annotations

from nnlab.commands.backprop.config import QUICK, BackpropConfig, memory_bytes
from nnlab.commands.backprop.results import headline, numbers
from nnlab.commands.backprop.run import run
from nnlab.commands.backprop.train import prepare
from nnlab.core.command import Command, Section

COMMAND = Command(
    name="backprop",
    help=__doc__,
    config=BackpropConfig,
    quick=QUICK,
    run=run,
    headline=headline,
    numbers=numbers,
    memory_bytes=memory_bytes,
    plots="nnlab.commands.backprop.plots",
    section=Section(
        "Back-propagation", "反向传播",
        "If computing f(x; θ) costs O(N), computing ∇_θ f(x; θ) also costs O(N), but the intermediate "
        "variables must be stored.",
        "quoted",
        "如果 f(x; θ) 的复杂度为 O(N), 那么计算 ∇_θ f(x; θ) 的复杂度也为 O(N), 但是需要额外存储中间变量。",
        formulas=(  # the lecture's own LaTeX
            r"r(x, y, z) = [z(x^2 + y)]^2",
            r"r = w^2 \quad \frac{\partial r}{\partial w} = 2w",
        ),
    ),
    prepare=prepare,
    key_number="cost.engine.backward_slope",
)
