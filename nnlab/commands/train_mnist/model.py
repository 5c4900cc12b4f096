"""What one `nnlab train-mnist` run trains with: the model, its update rule, the learning-rate schedule and the
mixed-precision dtype, each a function of the config."""

from __future__ import annotations

import math

from nnlab.commands.train_mnist.config import TrainMnistConfig, hidden_sizes


def lr_at(config: TrainMnistConfig, step: int, total: int) -> float:
    """The learning rate of step `step` (0-based) out of `total`: a pure function, so a resume needs no state."""
    peak = config.lr
    t = step / max(total - 1, 1)
    if config.schedule == "constant":
        return peak
    if config.schedule == "cosine":
        return peak * 0.5 * (1 + math.cos(math.pi * t))
    # onecycle: lr/25 -> lr linearly over the warm-up, then cosine down to lr/1e4
    start, end, w = peak / 25, peak / 1e4, config.warmup
    if t < w:
        return start + (peak - start) * t / w
    u = (t - w) / (1 - w)
    return end + (peak - end) * 0.5 * (1 + math.cos(math.pi * u))


def make_optimizer(config: TrainMnistConfig, params):
    """The lecture's update rules (nnlab.nn.optimizers) on the model's parameters, through nnlab.nn.param_rules.

    L2 weight decay is added to the gradient, as torch.optim's weight_decay. eps: torch.optim's defaults, moved
    inside the square root (param_rules.TORCH_DEFAULT_EPS_INSIDE_ROOT). momentum is heavy ball; nesterov keeps
    y_k in the parameters.
    """
    from nnlab.nn.param_rules import TORCH_DEFAULT_EPS_INSIDE_ROOT, FlatRule, lecture_adam

    lr, wd, m = config.lr, config.weight_decay, config.momentum
    if config.optimizer == "sgd":
        return FlatRule(params, "sgd", lr=lr, weight_decay=wd)
    if config.optimizer in ("momentum", "nesterov"):
        return FlatRule(params, "heavy_ball" if config.optimizer == "momentum" else "nesterov", lr=lr, beta=m,
                        weight_decay=wd)
    if config.optimizer == "adagrad":
        return FlatRule(params, "adagrad", lr=lr, weight_decay=wd, eps=TORCH_DEFAULT_EPS_INSIDE_ROOT["adagrad"])
    if config.optimizer == "rmsprop":
        return FlatRule(params, "rmsprop", lr=lr, beta=m if m > 0 else 0.99, weight_decay=wd,
                        eps=TORCH_DEFAULT_EPS_INSIDE_ROOT["rmsprop"])
    return lecture_adam(params, lr=lr, weight_decay=wd, beta1=m if m > 0 else 0.9, beta2=0.999)


def build_model(config: TrainMnistConfig):
    from nnlab.nn import models

    if config.model == "mlp":
        model = models.mlp(hidden_sizes(config), config.activation, config.dropout)
    else:
        model = models.cnn(config.channels, hidden_sizes(config), config.activation, config.dropout,
                           config.kernel_size, config.batch_norm, block=config.block)
    models.initialize(model, config.init)
    return model


def amp_dtype(config: TrainMnistConfig, device: str):
    """The autocast dtype, or None for float32 (always on CPU: bf16 autocast is slower there)."""
    import torch

    if device != "cuda" or config.amp == "off":
        return None
    if config.amp == "bf16" or (config.amp == "auto" and torch.cuda.is_bf16_supported()):
        return torch.bfloat16
    return torch.float16
