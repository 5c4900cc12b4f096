"""The configuration of `nnlab activations`: its parameters, the --quick values and the memory estimate."""

from __future__ import annotations

from dataclasses import dataclass

from nnlab.core.command import INTERPRETER_BYTES
from nnlab.core.config import ExperimentConfig, check_list, param
from nnlab.nn import activations

DEFAULT_SET = ["relu", "sigmoid", "tanh", "leaky_relu:0.1", "gelu", "softplus", "cos"]


@dataclass
class ActivationsConfig(ExperimentConfig):
    activation: list[str] = param(
        DEFAULT_SET,
        f"Activations to show (repeatable): {', '.join(activations.NAMES)}; leaky_relu:GAMMA and "
        "softplus:BETA set the parameter (0.1 makes the leaky slope visible).", check=activations.check_spec)
    z_max: float = param(6.0, "The figures span z in [-z_max, z_max].", low=0.0, low_open=True, high=1e3)
    points: int = param(1201, "Grid points of the figures.", low=11, high=1_000_000)
    threshold: float = param(1e-2, "A region saturates where |sigma'(z)| < threshold.", low=0.0, low_open=True,
                             high=1e3)
    input_std: float = param(1.0, "Std of the 'typical' pre-activations z ~ N(0, input_std^2).", low=0.0,
                             low_open=True, high=1e3)
    depth: int = param(20, "Stacked layers L for the product of derivatives.", low=1, high=1000)
    chains: int = param(20000, "Monte-Carlo chains of L independent pre-activations.", low=10, high=10_000_000)
    output_steps: int = param(400, "Output layers: full-batch Adam steps of the small 1-32-32 tanh networks "
                              "trained with softmax, e^x and identity outputs (0: leave that part out).", low=0,
                              high=100_000)
    positive_range: float = param(4.0, "Output layers: the positive target exp(a x) on [-1, 1] spans e^-a .. e^a "
                                  "(a = this; near 0 the target is nearly constant and the output layer matters "
                                  "little).", low=0.0, high=20.0)
    output_seeds: int = param(3, "Output layers: seeds (training points and initial weights) per network: the "
                              "spreads in their claims.", low=1, high=20)

    def validate(self) -> None:
        check_list("activation", self.activation, required=True, same=lambda spec: activations.get(spec).name)


# depth 10, not fewer: tanh's E|prod| = 0.606^L falls below the default threshold 0.01 from L = 10 on
QUICK = {"points": 241, "chains": 2000, "depth": 10}


def memory_bytes(config: ActivationsConfig) -> int:
    """The Monte-Carlo chains (chains x depth float64) dominate: the draw, the derivative's temporaries, their
    log, cumulative sum, quantiles' partition and exp are up to ~6 alive at once (measured: 995 MB above the
    interpreter for 200,000 x 100 chains, 6.2 copies), counted 8; the grids are small; ~300 MiB for the
    interpreter with numpy (and torch, imported with nnlab's kernel: 230 MB measured)."""
    return 8 * (8 * config.chains * config.depth + 8 * config.points) + INTERPRETER_BYTES

