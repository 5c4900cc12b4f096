"""The configuration of `nnlab init`: its parameters, the default scales, the --quick values and the memory
estimate."""

from __future__ import annotations

from dataclasses import dataclass

from nnlab.core.command import INTERPRETER_BYTES
from nnlab.core.config import ExperimentConfig, check_list, param
from nnlab.nn import activations
from nnlab.nn.initializers import check_scale

SLIDE_SCALES = ["0.05", "0.01", "xavier"]
RELU_SCALES = ["xavier", "he"]
MAX_WEIGHT_BYTES = 8 * 2**30  # resident weights: twice the slide's experiment in float64 is a quarter of this


@dataclass
class InitConfig(ExperimentConfig):
    scale: list[str] = param(
        [],
        "Weight scale w in W = w * randn(n_in, n_out): a number, 'xavier' (1/sqrt(n_in)) or 'he' "
        "(sqrt(2/n_in)). Repeat to compare. Empty: 0.05, 0.01, xavier (the slides); xavier, he for relu.",
        check=check_scale,
    )
    activation: str = param(
        "tanh",
        f"Activation after each layer: {', '.join(activations.NAMES)} "
        "(leaky_relu:GAMMA, softplus:BETA set the parameter).",
        check=activations.check_spec,
    )
    width: int = param(4096, "Units in every layer (n_in = n_out = width).", low=1, high=65536)
    depth: int = param(6, "Weight layers: dims = [width] * (depth + 1).", low=1, high=1000)
    batch_size: int = param(16, "Rows of the input x = randn(batch_size, width).", low=1, high=65536)
    dtype: str = param("float32", "Floating point type; float32 draws the weights 8x faster on CPU.",
                       choices=["float32", "float64"])
    bins: int = param(50, "Histogram bins per layer.", low=2, high=1000)

    def validate(self) -> None:
        from nnlab.core.errors import UserError

        check_list("scale", self.scale)
        # The weights are depth matrices of width^2 numbers, resident at once: refuse what cannot fit.
        nbytes = self.depth * self.width**2 * (4 if self.dtype == "float32" else 8)
        if nbytes >= MAX_WEIGHT_BYTES:
            raise UserError(f"width/depth: {self.depth} layers of {self.width}^2 weights need "
                            f"{nbytes / 2**30:.0f} GiB; keep it under {MAX_WEIGHT_BYTES / 2**30:.0f} GiB")


def memory_bytes(config: InitConfig) -> int:
    """The depth weight matrices (resident at once; counted 1.5 times: drawing them leaves freed pages the
    allocator keeps, measured 1.35 times at width 1024, depth 48), and per layer the tensors one scale's pass
    keeps or makes (batch x width each: input, pre-activation, output and their gradients, the histogram's
    float64 copy; counted 8, measured ~6), plus ~300 MiB for the interpreter with torch and numpy (measured:
    230 MB)."""
    item = 4 if config.dtype == "float32" else 8
    weights = config.depth * config.width**2
    per_layer = 8 * (config.depth + 1) * config.batch_size * config.width
    return item * (weights + weights // 2 + per_layer) + INTERPRETER_BYTES


# A seconds-long smoke version: everything but the width.
QUICK = {"width": 512}


def default_scales(activation: str) -> list[str]:
    name = activation.partition(":")[0]
    return RELU_SCALES if name in ("relu", "leaky_relu") else SLIDE_SCALES

