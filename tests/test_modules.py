"""nnlab modules: a quick run of every section, each claim's flipping setting, bad input, the image shift."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import refused

from nnlab.commands.modules.conv import shift
from nnlab.commands.modules.results import numbers as numbers_of
from nnlab.core.claims import by_id

CLAIMS = {"modules.layernorm-invariant", "modules.layernorm-w-alone-breaks", "modules.prenorm-even-gradients",
          "modules.euler-order-1", "modules.residual-gradient", "modules.conv-equivariant", "modules.pool-invariance",
          "modules.unet-denoises", "modules.unet-skips-help"}


def run(invoke, *args: str) -> dict:
    result = invoke("modules", "--quick", *args)
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
    assert set(held) >= CLAIMS | {"modules.layernorm-row-shift"}
    assert all(held.values()), [c for c in summary["claims"] if not c["holds"]]
    assert summary["layernorm"]["max_invariance_diff"] < 1e-13  # float rounding level
    assert summary["residual"]["slope"] == pytest.approx(-1.0, abs=0.1)
    plots = {p.name for p in (result.runs("modules")[0] / "plots").glob("*.png")}
    assert plots == {"layernorm.png", "residual_euler.png", "conv_filters.png", "conv_pooling.png",
                     "unet_denoising.png"}


def test_section_subset_runs_only_those(invoke):
    summary = run(invoke, "--section", "residual", "--section", "layernorm")
    assert summary["sections"] == ["layernorm", "residual"]
    assert "conv" not in summary and "unet" not in summary
    numbers = numbers_of(summary)  # named by what they measure, only for the sections that ran
    assert set(numbers) == {"layernorm.invariance_error", "layernorm.w_alone_error", "layernorm.gradient_spread_pre",
                            "layernorm.gradient_spread_post", "layernorm.gradient_spread_none", "residual.euler_slope",
                            "residual.fit_r2", "residual.first_grad_plain", "residual.first_grad_residual"}
    assert numbers["layernorm.invariance_error"] == summary["layernorm"]["max_invariance_diff"]
    assert numbers["residual.euler_slope"] == summary["residual"]["slope"]
    assert {c["id"] for c in summary["claims"]} == {
        "modules.layernorm-invariant", "modules.layernorm-w-alone-breaks", "modules.prenorm-even-gradients",
        "modules.euler-order-1", "modules.residual-gradient"}


@pytest.mark.parametrize("args, flipped", [
    (["--section", "layernorm", "--ln-eps", "1e-5"], "modules.layernorm-invariant"),  # eps breaks it at a = 0.01
    (["--section", "layernorm", "--ln-bias-std", "0"], "modules.layernorm-w-alone-breaks"),  # b = 0: aW is all
    (["--section", "layernorm", "--ln-weight-std", "0.01"], "modules.prenorm-even-gradients"),  # tanh stays linear
    (["--section", "residual", "--euler-scheme", "heun"], "modules.euler-order-1"),  # second order: slope -2
    (["--section", "residual", "--deep-blocks", "1"], "modules.residual-gradient"),  # too shallow to vanish
])
def test_each_claim_has_a_setting_that_flips_it(invoke, tmp_path, args, flipped):
    def held(*argv: str, out: str) -> dict[str, bool]:
        result = invoke("modules", "--quick", *argv, out=tmp_path / out)
        assert result.exit_code == 0, result.stderr
        return verdicts(result.summary("modules"))

    assert held(*args[:2], out="base")[flipped]
    assert not held(*args, out="flipped")[flipped]


def test_heun_blocks_are_second_order(invoke):
    summary = run(invoke, "--section", "residual", "--euler-scheme", "heun")
    assert summary["residual"]["slope"] == pytest.approx(-2.0, abs=0.15)


@pytest.mark.slow
def test_conv_and_pool_claims_flip(invoke, tmp_path):
    def conv(*args: str, out: str) -> dict[str, bool]:
        result = invoke("modules", "--quick", "--section", "conv", *args, out=tmp_path / out)
        assert result.exit_code == 0, result.stderr
        return verdicts(result.summary("modules"))

    base = conv(out="a")
    assert base["modules.conv-equivariant"] and base["modules.pool-invariance"]
    assert not conv("--conv-stride", "2", out="b")["modules.conv-equivariant"]  # a 1-px shift is half an output px
    assert conv("--conv-stride", "2", "--conv-shift", "2", out="c")["modules.conv-equivariant"]
    assert not conv("--pool-size", "1", out="d")["modules.pool-invariance"]  # no pooling: ratio exactly 1


@pytest.mark.slow
def test_untrained_unet_does_not_denoise(invoke):
    summary = run(invoke, "--section", "unet", "--unet-steps", "0")
    assert not verdicts(summary)["modules.unet-denoises"]


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
])
def test_bad_input_is_one_line_exit_2_no_run(invoke, args, key):
    result = invoke("modules", *args)
    refused(result, key)
    assert result.runs("modules") == []


def test_shift_moves_down_and_right_with_zeros():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    y = shift(x, 1)
    assert y[0, 0, 1, 1] == x[0, 0, 0, 0] and y[0, 0, 0].sum() == 0 and y[0, 0, :, 0].sum() == 0
