"""nnlab modules: a quick run of every section, each claim's flipping setting, the identities as checks (and
that they catch a broken LayerNorm), bad input, the image shift."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import refused

from nnlab.commands.modules.conv import shift
from nnlab.commands.modules.results import numbers as numbers_of
from nnlab.core.claims import by_id

CLAIMS = {"modules.prenorm-even-gradients", "modules.euler-order-1", "modules.residual-gradient",
          "modules.pool-invariance", "modules.unet-denoises", "modules.unet-skips-help"}
CHECKS = {"modules.layernorm-invariant", "modules.layernorm-w-alone-breaks", "modules.layernorm-row-shift",
          "modules.conv-equivariant"}


def run(invoke, *args: str, out=None) -> dict:
    result = invoke("modules", "--quick", *args, out=out)
    assert result.exit_code == 0, f"{result.stderr}\n{result.exception!r}"
    return result.summary("modules")


def verdicts(summary: dict) -> dict[str, bool]:
    return {cid: c["holds"] for cid, c in by_id(summary["claims"] + summary["checks"]).items()}


@pytest.mark.draws
@pytest.mark.slow
def test_quick_run_every_section_holds_every_claim_and_draws_each(invoke):
    result = invoke("modules", "--quick")
    assert result.exit_code == 0, result.stderr
    summary = result.summary("modules")
    held = verdicts(summary)
    assert {c["id"] for c in summary["claims"]} == CLAIMS and {c["id"] for c in summary["checks"]} == CHECKS
    assert all(held.values()), [c for c in summary["claims"] + summary["checks"] if not c["holds"]]
    assert summary["layernorm"]["max_invariance_diff"] < 1e-13  # float rounding level
    assert summary["residual"]["slope_seeds"]["mean"] == pytest.approx(-1.0, abs=0.1)
    assert summary["unet"]["seeds"] == 3 and len(summary["unet"]["gap_per_seed_db"]) == 3  # a spread, even quick
    plots = {p.name for p in (result.runs("modules")[0] / "plots").glob("*.png")}
    assert plots == {"layernorm.png", "residual_euler.png", "conv_filters.png", "conv_pooling.png",
                     "unet_denoising.png"}


def test_section_subset_runs_only_those(invoke):
    summary = run(invoke, "--section", "residual", "--section", "layernorm")
    assert summary["sections"] == ["layernorm", "residual"]
    assert "conv" not in summary and "unet" not in summary
    numbers = numbers_of(summary)  # named by what they measure, only for the sections that ran
    assert set(numbers) == {"layernorm.invariance_error", "layernorm.invariance_error_exact", "layernorm.w_alone_error",
                            "layernorm.gradient_spread_pre", "layernorm.gradient_spread_post",
                            "layernorm.gradient_spread_none", "residual.euler_slope", "residual.euler_slope_std_err",
                            "residual.fit_r2", "residual.first_grad_plain", "residual.first_grad_residual",
                            "residual.first_grad_ratio"}
    assert numbers["layernorm.invariance_error"] == summary["layernorm"]["max_invariance_diff"]
    assert numbers["residual.euler_slope"] == summary["residual"]["slope_seeds"]["mean"]
    assert {c["id"] for c in summary["claims"]} == {"modules.prenorm-even-gradients", "modules.euler-order-1",
                                                    "modules.residual-gradient"}
    assert {c["id"] for c in summary["checks"]} == {"modules.layernorm-invariant", "modules.layernorm-w-alone-breaks",
                                                    "modules.layernorm-row-shift"}


# For each claim id, a setting of the user's that makes it fail, and why it should.
FLIPS = [
    # tanh stays linear at w = 0.01: LN after it keeps the gradients even (max/min about 1.1 at 12 layers), LN
    # before it keeps its own fixed profile (about 2.3), so post / pre falls to about 0.5, below 1
    ("modules.prenorm-even-gradients", ["--section", "layernorm", "--ln-weight-std", "0.01"]),
    ("modules.euler-order-1", ["--section", "residual", "--euler-scheme", "heun"]),  # second order: slope about -2
    # one block is too shallow for the plain net to fall behind: residual / plain about 1.7, not 10
    ("modules.residual-gradient", ["--section", "residual", "--deep-blocks", "1"]),
    ("modules.pool-invariance", ["--section", "conv", "--pool-size", "1", "--cnn-steps", "5"]),  # no pooling: 1
    ("modules.unet-denoises", ["--section", "unet", "--unet-steps", "0"]),  # an untrained network does not denoise
    # noise std 5 (ten times the default) leaves the skips mostly noise to carry, and four channels little room
    # to use them: the paired gap was -0.24 ± 0.33 dB, not above 0 (six U-Nets trained: slow)
    pytest.param("modules.unet-skips-help", ["--section", "unet", "--unet-noise", "5", "--unet-channels", "4"],
                 marks=pytest.mark.slow),
]


def _flip_id(flip) -> str:
    return (flip.values if hasattr(flip, "values") else flip)[0]


@pytest.mark.parametrize(("claim_id", "args"), FLIPS, ids=[_flip_id(f) for f in FLIPS])
def test_every_claim_flips(invoke, claim_id, args):
    claim = by_id(run(invoke, *args)["claims"])[claim_id]
    assert claim["holds"] is False, claim
    assert claim["reason"] and claim["tip"]  # a sentence from the numbers, and a setting to try


def test_every_claim_has_a_flip(invoke):
    # The ids do not depend on training, so untrained networks give them in a second.
    summary = run(invoke, "--cnn-steps", "0", "--unet-steps", "0")
    assert {c["id"] for c in summary["claims"]} == {_flip_id(f) for f in FLIPS} == CLAIMS


def test_one_seed_leaves_the_random_claims_undecided(invoke):
    summary = run(invoke, "--section", "residual", "--seeds", "1")
    for cid in ("modules.euler-order-1", "modules.residual-gradient"):
        claim = by_id(summary["claims"])[cid]
        assert claim["holds"] is False and "one seed gives no spread" in claim["reason"]


def test_heun_blocks_are_second_order(invoke):
    summary = run(invoke, "--section", "residual", "--euler-scheme", "heun")
    assert summary["residual"]["slope_seeds"]["mean"] == pytest.approx(-2.0, abs=0.15)


def test_lecture_initialization_is_the_default_and_torch_init_is_a_setting(invoke, tmp_path):
    lecture = run(invoke, "--section", "residual", out=tmp_path / "a")["residual"]
    torch_init = run(invoke, "--section", "residual", "--deep-init", "torch", out=tmp_path / "b")["residual"]
    assert lecture["deep_init"] == "xavier" and torch_init["deep_init"] == "torch"
    # torch's smaller gain makes the plain net's gradient vanish through its layers; the lecture's does not
    assert torch_init["plain_first_over_last"] < 1e-6 < 0.5 < lecture["plain_first_over_last"]
    assert 10 < lecture["first_grad_ratio"] < 1000 < torch_init["first_grad_ratio"]


def test_identities_are_checks_that_the_old_flipping_settings_do_not_flip(invoke):
    # torch's eps and b = 0 used to flip the LayerNorm "claims": the identities hold regardless (the eps run's
    # difference is shown beside them), and so does the stride-1 shift identity with a stride that does not divide
    # the shift (measured, not judged).
    summary = run(invoke, "--section", "layernorm", "--section", "conv", "--ln-eps", "1e-5", "--ln-bias-std", "0",
                  "--conv-stride", "2", "--cnn-steps", "0")
    held = verdicts(summary)
    assert all(held[cid] for cid in CHECKS), summary["checks"]
    assert summary["layernorm"]["max_invariance_diff"] > 1e-6  # eps = 1e-5 breaks it at a = 0.01 ...
    assert summary["layernorm"]["max_invariance_diff_exact"] < 1e-13  # ... the lecture's LN-S does not
    assert summary["layernorm"]["max_w_alone_diff"] < 1e-13  # b = 0: scaling W alone is scaling both
    assert summary["conv"]["equivariance_error"] > 0.1 and summary["conv"]["equivariance_error_stride_1"] == 0.0


class _Rec:
    device = "cpu"

    def log(self, row):
        pass

    def track(self, items, what):
        return items


def _section_verdicts(module, config) -> dict[str, bool]:
    return verdicts({"claims": module.run_section(config, _Rec())["claims"], "checks": []})


def test_layernorm_checks_catch_a_broken_layer_norm(monkeypatch):
    from nnlab.commands.modules import layernorm
    from nnlab.commands.modules.config import ModulesConfig
    from nnlab.nn.layers import layer_norm

    config = ModulesConfig(section=["layernorm"], ln_depth=3, seeds=2)
    held = _section_verdicts(layernorm, config)
    assert held["modules.layernorm-invariant"] and held["modules.layernorm-w-alone-breaks"]
    # One with a built-in eps of 1e-3 is not scale invariant at a = 0.01 ...
    monkeypatch.setattr(layernorm, "layer_norm", lambda z, eps=0.0: layer_norm(z, eps=max(eps, 1e-3)))
    assert not _section_verdicts(layernorm, config)["modules.layernorm-invariant"]
    # ... and one that forgets to subtract the mean (an RMS norm) is scale invariant but not shift invariant.
    monkeypatch.setattr(layernorm, "layer_norm", lambda z, eps=0.0: z / np.sqrt((z * z).mean(-1, keepdims=True)))
    rms = _section_verdicts(layernorm, config)
    assert rms["modules.layernorm-invariant"] and not rms["modules.layernorm-row-shift"]


def test_the_spread_rule_needs_the_mean_clear_of_the_bar_by_two_standard_errors():
    from nnlab.commands.modules import spread

    s = spread.summarize([1.0, 2.0, 3.0])
    assert s["mean"] == 2.0 and s["std"] == 1.0 and s["std_err"] == pytest.approx(1 / np.sqrt(3), abs=1e-4)
    assert spread.above(s, 0.8) and not spread.above(s, 0.9)  # 2 - 2 x 0.577 = 0.845
    assert spread.below(s, 3.2) and not spread.below(s, 3.1)
    assert spread.within(s, 2.0, 1.16) and not spread.within(s, 2.0, 1.1)
    one = spread.summarize([5.0])
    assert not spread.above(one, 0.0) and spread.one_seed_why(one, "--seeds")
    assert not spread.above(spread.summarize([1.0, float("nan")]), 0.0)


@pytest.mark.parametrize("args, key", [
    (["--section", "nope"], "section"),
    (["--unet-steps", "-1"], "unet-steps"),
    (["--cnn-steps", "-5"], "cnn-steps"),
    (["--euler-blocks", "0"], "euler-blocks"),
    (["--euler-blocks", "8"], "euler_blocks"),  # one block count: no slope to fit
    (["--kernel-size", "29"], "kernel_size"),  # larger than the 28 x 28 digit
    (["--pool-size", "30"], "pool_size"),
    (["--ln-scales", "-1"], "ln-scales"),
    (["--section", "conv", "--section", "conv"], "section"),
    (["--seeds", "0"], "seeds"),
    (["--deep-init", "kaiming"], "deep-init"),
])
def test_bad_input_is_one_line_exit_2_no_run(invoke, args, key):
    result = invoke("modules", *args)
    refused(result, key)
    assert result.runs("modules") == []


def test_shift_moves_down_and_right_with_zeros():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    y = shift(x, 1)
    assert y[0, 0, 1, 1] == x[0, 0, 0, 0] and y[0, 0, 0].sum() == 0 and y[0, 0, :, 0].sum() == 0


@pytest.mark.parametrize("skips", [True, False])
def test_the_unet_in_channels_last_computes_what_it_computes_in_nchw(skips):
    """unet.py trains in channels_last (faster convolutions): the same outputs and weight gradients as the
    default layout, to float32 rounding (rtol 1e-4, atol 1e-5: another summation order, nothing else)."""
    import copy

    import torch

    from nnlab.commands.modules.unet import build

    torch.manual_seed(0)
    net = build(4, skips)
    fast = copy.deepcopy(net).to(memory_format=torch.channels_last)
    x, y = torch.randn(5, 1, 28, 28), torch.rand(5, 1, 28, 28)
    for model, inputs in ((net, x), (fast, x.contiguous(memory_format=torch.channels_last))):
        (model(inputs) - y).square().mean().backward()
    torch.testing.assert_close(fast(x.contiguous(memory_format=torch.channels_last)), net(x), rtol=1e-4, atol=1e-5)
    for (name, a), b in zip(net.named_parameters(), fast.parameters(), strict=True):
        torch.testing.assert_close(b.grad, a.grad, rtol=1e-4, atol=1e-5, msg=name)
