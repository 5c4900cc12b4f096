"""The two classifiers of `nnlab train-mnist`, built from the lecture's modules (torch.nn).

MLP (fully connected), for x of shape (B, 1, 28, 28) flattened to (B, 784):

    h_0 = x,  h_l = dropout(sigma(W_l h_{l-1} + b_l)),  logits = W_L h_{L-1} + b_L

CNN (convolution module + pooling, the slide's handwritten-digit figure): blocks of

    conv k x k (padding k // 2, size kept) -> [batch norm] -> sigma -> max-pool 2 x 2 (size halved)

then flatten, optional fully connected hidden layers (with dropout), and a linear layer to 10 logits.
Shapes for channels [c1, c2]: (B,1,28,28) -> (B,c1,14,14) -> (B,c2,7,7) -> (B, 49 c2) -> (B, 10).

Dropout follows torch's convention: P is the probability of DROPPING a unit, survivors are scaled by
1 / (1 - P); the lecture's keep probability is p = 1 - P. Identity at evaluation time.

Initialization (the init experiment's scales): every weight W ~ N(0, w^2) with w a number, 'xavier'
(1/sqrt(fan_in)) or 'he' (sqrt(2/fan_in)), fan_in = in_features or in_channels * k * k; biases zero.
'default' keeps torch's own (Kaiming-uniform with a = sqrt(5)).
"""

from __future__ import annotations

from collections.abc import Sequence

from nnlab.nn import activations
from nnlab.nn.initializers import check_scale, weight_std

INITS = ("default", "xavier", "he")


def check_init(spec: str) -> str | None:
    """Why `spec` is not an initializer: 'default', 'xavier', 'he' or a positive number."""
    return None if spec == "default" else check_scale(spec)


def _torch():
    import torch
    from torch import nn

    return torch, nn


def activation_module(spec: str):
    """sigma as an nn.Module; relu uses torch's in-place kernel, every other lecture activation its torch_fn."""
    _, nn = _torch()
    if spec == "relu":
        return nn.ReLU(inplace=True)
    act = activations.get(spec)

    class Activation(nn.Module):
        def forward(self, x):
            return act.torch_fn(x)

        def extra_repr(self) -> str:
            return act.name

    return Activation()


def mlp(hidden: Sequence[int], activation: str = "relu", dropout: float = 0.0, in_features: int = 784,
        classes: int = 10):
    """Flatten -> [Linear -> sigma -> Dropout(P)] per hidden size -> Linear to `classes` logits."""
    _, nn = _torch()
    layers: list = [nn.Flatten()]
    width = in_features
    for h in hidden:
        layers += [nn.Linear(width, h), activation_module(activation)]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = h
    layers.append(nn.Linear(width, classes))
    return nn.Sequential(*layers)


BLOCKS = ("conv-bn-act-pool", "conv-pool-bn-act")


def cnn(channels: Sequence[int], hidden: Sequence[int] = (), activation: str = "relu", dropout: float = 0.0,
        kernel_size: int = 3, batch_norm: bool = True, size: int = 28, classes: int = 10,
        block: str = "conv-bn-act-pool"):
    """[Conv k x k -> BN -> sigma -> MaxPool 2] per channel count -> Flatten -> head (dropout before each Linear).

    block="conv-pool-bn-act" pools right after the convolution, so batch norm and the activation see a quarter
    of the values (about 1.7x faster steps for the default CNN on CPU). For a monotone increasing sigma and no
    BN the two orders compute the same function (max commutes with it); with BN they differ in its statistics.
    """
    if block not in BLOCKS:
        raise ValueError(f"block: {block!r} is not one of {BLOCKS}")
    _, nn = _torch()
    layers: list = []
    c_in = 1
    for c in channels:
        conv = nn.Conv2d(c_in, c, kernel_size, padding=kernel_size // 2, bias=not batch_norm)
        norm = [nn.BatchNorm2d(c)] if batch_norm else []
        if block == "conv-pool-bn-act":
            layers += [conv, nn.MaxPool2d(2), *norm, activation_module(activation)]
        else:
            layers += [conv, *norm, activation_module(activation), nn.MaxPool2d(2)]
        c_in, size = c, size // 2
    layers.append(nn.Flatten())
    width = c_in * size * size
    for h in hidden:
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers += [nn.Linear(width, h), activation_module(activation)]
        width = h
    if dropout > 0:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(width, classes))
    return nn.Sequential(*layers)


def initialize(model, spec: str, generator=None) -> None:
    """W ~ N(0, w^2) with w = weight_std(spec, fan_in) for every Linear and Conv2d; biases zero."""
    torch, nn = _torch()
    if spec == "default":
        return
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                fan_in = m.weight[0].numel()  # in_features, or in_channels * k * k
                m.weight.normal_(0.0, weight_std(spec, fan_in), generator=generator)
                if m.bias is not None:
                    m.bias.zero_()


def count_params(model) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
