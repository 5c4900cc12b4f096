"""Overfitting and its cures (lecture: 过拟合：正则化, 丢弃法): J + lambda R with L2, L1 and the elastic net
(R = beta sum theta^2 + sum |theta|), and dropout (keep probability p, survivors scaled by 1/p while
training, the identity at test time).

Two settings, each trained for every method and lambda on several seeds (the replicates share nothing
but the settings; within a replicate all methods share data, initial weights and minibatch order):

\b
  regression  15 noisy points of sin(pi x), Legendre features P_1..P_10 into a 64-unit tanh network,
              2000 full-batch steps
  mnist       1,000 real training images, a 64-64 ReLU MLP, 30 epochs of minibatches of 50;
              lambda chosen on a validation split carved from the other training images; the test
              set (all 10,000 images) reported once

Training is (stochastic) proximal gradient descent: the gradient of J and of the squared part of R,
then soft thresholding for the |theta| part, so L1's zeros are exact (`--l1-step subgradient` uses
sign(theta) instead). Biases are not penalized. Each penalty's best lambda is the one with the lowest
mean validation loss. Dropout's ensemble reading is measured: the deterministic network (test time)
against the average of --mc-samples sampled thinned networks.

\b
    nnlab regularize                                  both settings, every method, the default lambda grids
    nnlab regularize --setting mnist --method l1 --method l2 --lam 1e-4 --lam 1e-3 --lam 1e-2
    nnlab regularize --setting regression --keep-prob 0.8 --reg-epochs 5000
    nnlab regularize --recipe recipes/regularize-mnist.yaml

"L_2 正则化 (weight decay)" is checked on the trained L2 network: 20 steps of plain gradient descent with
2 lambda theta in the gradient equal 20 steps that shrink the weights by 1 - 2 eta lambda (to round-off),
while for Adam the two differ (its 1/sqrt(s) rescales the penalty's gradient, not a decoupled decay).

Losses: mean squared error (regression), cross-entropy (mnist); the gap is test loss - train loss
of the data term J alone. An epoch is a pass over the training set (regression: one full-batch step).
"""

from __future__ import annotations

from nnlab.commands.regularize.config import QUICK, RegularizeConfig, memory_bytes
from nnlab.commands.regularize.results import headline, numbers
from nnlab.commands.regularize.run import prepare, run
from nnlab.core.command import Command, Section

COMMAND = Command(
    name="regularize",
    help=__doc__,
    config=RegularizeConfig,
    quick=QUICK,
    run=run,
    headline=headline,
    numbers=numbers,
    memory_bytes=memory_bytes,
    plots="nnlab.commands.regularize.plots",
    section=Section(
        "Regularization", "过拟合：正则化 · 丢弃法(Dropout)",
        "During training, each batch drops the layer's outputs with probability 1 − p and multiplies the "
        "others by 1/p; at test time the layer is left unchanged.",
        "quoted",
        "在训练的时候(每一个批次(batch))，以概率 1 − p 随机删去该层的一些输出，并把其余输出乘以 1/p … 测试时保持不变",
        formulas=(  # the lecture's own LaTeX
            r"J(\theta) = J(\theta) + \lambda R(\theta)",
            r"R(\theta) = \beta \sum \theta_i^2 + \sum |\theta_i|",
        ),
    ),
    prepare=prepare,
    key_number="*.l2.test_error",
)
