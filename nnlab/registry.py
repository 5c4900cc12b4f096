"""The subcommands, by name, without importing them: `nnlab --help` must stay instant."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Experiment:
    name: str
    module: str      # defines the Config dataclass, QUICK, run(config, run), headline(summary)
    config: str      # the Config class's name in `module`
    plots: str       # defines draw(summary, metrics, plots_dir)
    short_help: str  # shown by `nnlab --help`


EXPERIMENTS: dict[str, Experiment] = {
    e.name: e
    for e in [
        Experiment("activations", "nnlab.experiments.activations", "ActivationsConfig", "nnlab.plots.activations",
                   "Activation functions, their derivatives, saturation and the vanishing product of derivatives."),
        Experiment("approx", "nnlab.experiments.approx", "ApproxConfig", "nnlab.plots.approx",
                   "Universal approximation: error of width-D two-layer networks vs D and d, with baselines."),
        Experiment("modules", "nnlab.experiments.modules", "ModulesConfig", "nnlab.plots.modules",
                   "Modules: LayerNorm invariance, residual = Euler, convolution and pooling, a U-Net denoiser."),
        Experiment("init", "nnlab.experiments.init", "InitConfig", "nnlab.plots.init",
                   "Initialization: activation statistics through six 4096-wide layers (0.05, 0.01, Xavier, He)."),
        Experiment("backprop", "nnlab.experiments.backprop", "BackpropConfig", "nnlab.plots.backprop",
                   "Back-propagation: the chain rule node by node vs torch, and the O(N) cost of a gradient."),
        Experiment("optimize", "nnlab.experiments.optimize", "OptimizeConfig", "nnlab.plots.optimize",
                   "Optimization: GD, SGD, momentum, AdaGrad, RMSProp, Adam paths on landscapes and MNIST."),
        Experiment("regularize", "nnlab.experiments.regularize", "RegularizeConfig", "nnlab.plots.regularize",
                   "Overfitting and its cures: L2, L1, elastic net, dropout; gaps, lambda U, sparsity, ensembles."),
        Experiment("attention", "nnlab.experiments.attention", "AttentionConfig", "nnlab.plots.attention",
                   "Attention: numpy vs torch, 1/sqrt(m) and the softmax, key-value lookup vs mean pooling, a ViT."),
        Experiment("train-mnist", "nnlab.experiments.train_mnist", "TrainMnistConfig", "nnlab.plots.train_mnist",
                   "Handwritten digits: MLP or CNN on the real MNIST, dropout, optimizers, time to target."),
        # New commands: one Experiment(...) entry each, in the lecture's order (`nnlab --help` lists them so).
    ]
}
