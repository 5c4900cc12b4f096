"""Every extension point of nnlab, by name, without importing any: `nnlab --help` must stay instant.

COMMANDS are the experiment commands, in the lecture's order (`nnlab --help`, `nnlab lecture` and its
report follow it); each names the package whose COMMAND is its spec (nnlab.core.command). TOOLS are the
commands that work over runs. It imports nothing of nnlab: it sits at the bottom of the import graph, so
the kernel (core.command.load) may read it without an arrow running back up.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    """A registered experiment command, by name, without importing it."""

    name: str
    module: str  # the package whose COMMAND is the spec (nnlab.core.command.Command)
    short_help: str  # shown by `nnlab --help`


@dataclass(frozen=True)
class Tool:
    """A command that works over runs (lecture, report, sweep, ...): a click command, imported when used."""

    name: str
    module: str
    attr: str  # the click command in `module`
    short_help: str


COMMANDS: dict[str, Entry] = {
    e.name: e
    for e in [
        Entry("activations", "nnlab.commands.activations",
              "Activation functions, their derivatives, saturation and the vanishing product of derivatives."),
        Entry("approx", "nnlab.commands.approx",
              "Universal approximation: error of width-D two-layer networks vs D and d, with baselines."),
        Entry("modules", "nnlab.commands.modules",
              "Modules: LayerNorm invariance, residual = Euler, convolution and pooling, a U-Net denoiser."),
        Entry("init", "nnlab.commands.init",
              "Initialization: activation statistics through six 4096-wide layers (0.05, 0.01, Xavier, He)."),
        Entry("backprop", "nnlab.commands.backprop",
              "Back-propagation: the chain rule node by node vs torch, and the O(N) cost of a gradient."),
        Entry("optimize", "nnlab.commands.optimize",
              "Optimization: GD, SGD, momentum, AdaGrad, RMSProp, Adam paths on landscapes and MNIST."),
        Entry("regularize", "nnlab.commands.regularize",
              "Overfitting and its cures: L2, L1, elastic net, dropout; gaps, lambda U, sparsity, ensembles."),
        Entry("attention", "nnlab.commands.attention",
              "Attention: numpy vs torch, 1/sqrt(m) and the softmax, key-value lookup vs mean pooling, a ViT."),
        Entry("train-mnist", "nnlab.commands.train_mnist",
              "Handwritten digits: MLP or CNN on the real MNIST, dropout, optimizers, time to target."),
        # A new command: one Entry(...) here, in the lecture's order, and its folder nnlab/commands/<name>/.
    ]
}

TOOLS: dict[str, Tool] = {
    t.name: t
    for t in [
        Tool("redraw", "nnlab.tools.redraw", "redraw", "Redraw the plots of a finished run from its files."),
        Tool("lecture", "nnlab.tools.lecture", "lecture",
             "The whole lecture: every experiment in the lecture's order, one HTML/Markdown report."),
        Tool("report", "nnlab.tools.report", "report",
             "Build the lecture's report (HTML, Markdown) from existing runs."),
        Tool("doctor", "nnlab.doctor.cli", "doctor",
             "Check this machine: versions, devices, data, disk, and a smoke training."),
        Tool("sweep", "nnlab.sweep.cli", "sweep",
             "A command over a grid of settings x seeds: mean, spread, claims held."),
        Tool("compare", "nnlab.tools.compare", "compare",
             "Put runs side by side: differing config, headline numbers, curves."),
        Tool("runs", "nnlab.tools.runs", "runs", "List runs, newest first: status, time, tag, headline number."),
        Tool("export", "nnlab.tools.export", "export",
             "Export a run's metrics and figures to TensorBoard event files."),
        Tool("recipes", "nnlab.tools.recipes", "recipes", "List the recipes shipped with nnlab (--recipe NAME)."),
        Tool("serve", "nnlab.serve.cli", "serve",
             "The lab in the browser: a form per command, live runs, figures, claims, runs side by side."),
        Tool("exercise", "nnlab.exercise.cli", "exercise",
             "Predict, then measure: the lecture's exercises, graded against your own runs."),
    ]
}
