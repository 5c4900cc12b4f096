"""nnlab/nn/models.py: the MLP and CNN of `nnlab train-mnist`, their parameter counts in closed form, the
init experiment's scales, and dropout's convention."""

from __future__ import annotations

import math

import torch

from nnlab.nn import models


def test_models_have_the_closed_form_parameter_counts_and_shapes():
    net = models.mlp([256, 128], "tanh", dropout=0.5)
    assert models.count_params(net) == (784 * 256 + 256) + (256 * 128 + 128) + (128 * 10 + 10)
    conv = models.cnn([8, 16], hidden=[32], kernel_size=3, batch_norm=True)
    # conv 3x3 without bias (BN follows) + BN (gamma, beta), twice; then 16*7*7 -> 32 -> 10
    expected = (1 * 8 * 9 + 2 * 8) + (8 * 16 * 9 + 2 * 16) + (16 * 49 * 32 + 32) + (32 * 10 + 10)
    assert models.count_params(conv) == expected
    x = torch.zeros(5, 1, 28, 28)
    assert net(x).shape == (5, 10) and conv(x).shape == (5, 10)


def test_pool_first_blocks_compute_the_textbook_function_without_batch_norm():
    """max(relu(z)) = relu(max(z)) for any z (relu is monotone), so without BN the two block orders are one
    function: same weights, same outputs to float64 rounding. With BN they differ: its statistics are taken
    over the pooled values, a different set."""
    torch.manual_seed(0)
    x = torch.randn(6, 1, 28, 28, dtype=torch.float64)
    for batch_norm, same in ((False, True), (True, False)):
        textbook = models.cnn([4, 8], hidden=[5], batch_norm=batch_norm).double()
        pooled = models.cnn([4, 8], hidden=[5], batch_norm=batch_norm, block="conv-pool-bn-act").double()
        with torch.no_grad():  # the same parameters (listed in the same order): only the layer order differs
            for mine, theirs in zip(pooled.state_dict().values(), textbook.state_dict().values(), strict=True):
                mine.copy_(theirs)
        with torch.no_grad():
            gap = float((textbook(x) - pooled(x)).abs().max())
        assert (gap < 1e-12) == same, (batch_norm, gap)
    assert [type(m).__name__ for m in pooled[:4]] == ["Conv2d", "MaxPool2d", "BatchNorm2d", "ReLU"]


def test_initializers_draw_the_init_experiments_scales():
    torch.manual_seed(0)
    net = models.mlp([400], "relu")
    models.initialize(net, "he")
    w = net[1].weight.detach()  # (400, 784): fan_in 784
    assert abs(float(w.std()) - math.sqrt(2 / 784)) / math.sqrt(2 / 784) < 0.01  # 313,600 draws: ~0.1% noise
    assert float(net[1].bias.detach().abs().max()) == 0.0
    conv = models.cnn([16], batch_norm=False)
    models.initialize(conv, "0.05")
    assert abs(float(conv[0].weight.detach().std()) - 0.05) < 0.05 * 0.4  # 144 draws: std error ~6%
    assert models.check_init("nonsense") and models.check_init("default") is None


def test_dropout_is_torch_convention_drop_probability():
    """P = 0.3 drops 30% of units and scales survivors by 1/(1 - P) = 1/p, the lecture's keep probability p."""
    torch.manual_seed(0)
    net = models.mlp([4000], "relu", dropout=0.3)
    drop = net[3]
    x = torch.ones(50, 4000, dtype=torch.float64)
    y = drop(x)
    assert abs(float((y == 0).double().mean()) - 0.3) < 0.005  # 200,000 Bernoulli draws: sd 0.001
    assert torch.allclose(y[y != 0], torch.full_like(y[y != 0], 1 / 0.7), rtol=0, atol=1e-12)
    drop.eval()
    assert torch.equal(drop(x), x)
