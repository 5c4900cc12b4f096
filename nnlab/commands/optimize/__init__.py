"""Optimization: GD, SGD, heavy ball, Nesterov, AdaGrad, RMSProp and Adam on landscapes you can watch
(lecture: 非凸优化).

Problems: `quadratic` (x^2 + kappa y^2) / 2, ill-conditioned (kappa = 50): GD zig-zags across the valley;
`rosenbrock`, a curved valley; `saddle`, a saddle at the origin with minima at (0, +-1); `nonconvex`,
a bowl of ripples with several local minima; `mlp`, a small network on a subset of real MNIST.

Every method uses the update rule exactly as the slides write it (nnlab/nn/optimizers.py), with 1e-7
inside the square roots. On the 2-D problems only `sgd` is stochastic: the landscape is the mean of 64
examples J^(i)(p) = f(p) + <c_i, p> (centred c_i of size --noise), and each epoch partitions them into
minibatches drawn without replacement. On `mlp`, every method but `gd` uses minibatches.

Defaults are per problem: learning rates (theory's best ones on the quadratic), beta, steps, start.
A method whose loss turns NaN/inf, or grows beyond 1e8 times its start, is recorded as diverged at that
step.

The claims judge the run you asked for, with your learning rates, start, steps, noise and batch: GD oscillates
across the ill-conditioned valley; your lr against 2 / L (predicted to diverge or not, and what happened);
heavy ball and Nesterov end lower than GD; SGD's noise (20 noise draws: fraction, mean and spread) and momentum
leave the saddle sooner than GD; GD settles in a local minimum; (mlp) at equal examples seen, the small batch
ends flatter, and the flatter point generalizes better (the lecture's hypothesis). Closed forms reproduced at
fixed settings (GD's best rate, the sqrt(kappa) speedup, GD at 0.98 and 1.02 x 2 / L, the saddle's stable
line, SGD's gradient-noise formula) are sanity checks.

\b
    nnlab optimize                                  every method on the quadratic, with a learning-rate sweep
    nnlab optimize --method gd --lr 0.05            above 2 / L = 0.04: diverges, and the claims say so
    nnlab optimize --problem saddle --quick         SGD over 20 noise draws against GD at the saddle
    nnlab optimize --problem nonconvex --start 0.5,0.5 --lr 0.01    GD reaches the global minimum: a claim fails
    nnlab optimize --problem mlp --quick            small vs large batch at equal examples seen
"""

from __future__ import annotations

from nnlab.commands.optimize.config import QUICK, OptimizeConfig, memory_bytes
from nnlab.commands.optimize.results import headline, numbers
from nnlab.commands.optimize.run import prepare, run
from nnlab.core.command import Command, Section

COMMAND = Command(
    name="optimize",
    help=__doc__,
    config=OptimizeConfig,
    quick=QUICK,
    run=run,
    headline=headline,
    numbers=numbers,
    memory_bytes=memory_bytes,
    plots="nnlab.commands.optimize.plots",
    section=Section(
        "Optimization", "非凸优化",
        "Gradient descent oscillates on ill-conditioned losses and slows at saddle points; momentum (heavy "
        "ball, Nesterov) and adaptive step sizes (AdaGrad, RMSProp, Adam) help, and SGD's noise keeps it out "
        "of sharp minima.",
        "paraphrased",
        "损失函数具有高条件数 … 会出现震荡 · 鞍点和局部极小点 · 动量更新 · 步长选取 · Adam",
        formulas=(  # the lecture's own LaTeX
            r"x_{k+1} = x_k - \frac{\alpha}{\sqrt{s_{k+1}^2 + 10^{-7}}} \odot dx_k",
            r"\hat{v}_{k+1} = \frac{v_{k+1}}{1 - \beta_1^{k+1}} \quad \hat{s}_{k+1} = \frac{s_{k+1}}{1 - \beta_2^{k+1}}",  # noqa: E501 (verbatim)
        ),
    ),
    prepare=prepare,
    key_number="*.final_loss",
)
