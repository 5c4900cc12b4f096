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
        Experiment("init", "nnlab.experiments.init", "InitConfig", "nnlab.plots.init",
                   "Initialization: activation statistics through a 7-layer, 4096-wide network."),
        Experiment("optimize", "nnlab.experiments.optimize", "OptimizeConfig", "nnlab.plots.optimize",
                   "Optimization: GD, SGD, momentum, AdaGrad, RMSProp, Adam paths on landscapes and MNIST."),
        # New commands: one Experiment(...) entry each, inserted above this line.
    ]
}
