"""nnlab init: the slide's numbers, the variance formula, the backward pass, reproducibility."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import claim_by_id

from nnlab.commands.init.claims import check_claims, variance_growth
from nnlab.commands.init.config import default_scales
from nnlab.commands.init.propagate import propagate
from nnlab.nn import activations


def test_default_scales_follow_the_activation():
    assert default_scales("tanh") == ["0.05", "0.01", "xavier"]
    assert default_scales("relu") == ["xavier", "he"]
    assert default_scales("leaky_relu:0.1") == ["xavier", "he"]


@pytest.mark.parametrize("spec", ["tanh", "relu", "gelu", "softplus:2", "sigmoid"])
def test_backward_statistics_match_a_numpy_chain_rule(spec):
    """propagate() uses torch autograd; recompute dL/dh_l by hand with sigma' from nn.activations (float64)."""
    act = activations.get(spec)
    rng = np.random.default_rng(0)
    B, n, depth, w = 8, 64, 4, 1.3 / 8
    x = rng.standard_normal((B, n))
    G = [rng.standard_normal((n, n)) for _ in range(depth)]
    g = rng.standard_normal((B, n))
    got = propagate(torch.from_numpy(x), [torch.from_numpy(m) for m in G], w, act, torch.from_numpy(g), bins=10)

    hs, pres = [x], []
    for m in G:
        pres.append(hs[-1] @ m * w)
        hs.append(act.fn(pres[-1]))
    grads = [g]
    for m, pre in zip(reversed(G), reversed(pres), strict=True):
        grads.append((grads[-1] * act.grad(pre)) @ m.T * w)  # dL/dh_{l-1} = (dL/dh_l * sigma'(pre_l)) W_l^T
    grads = grads[::-1]
    for layer, row in enumerate(got["layers"], start=1):
        assert row["std"] == pytest.approx(hs[layer].std(), rel=1e-12)
        assert row["pre_std"] == pytest.approx(pres[layer - 1].std(), rel=1e-12)
        assert row["grad_std"] == pytest.approx(grads[layer].std(), rel=1e-10)
        assert sum(got["histogram"]["counts"][layer - 1]) == B * n
    assert got["input_grad_std"] == pytest.approx(grads[0].std(), rel=1e-10)


def test_slide_reference_values(invoke):
    """LECTURE-MAP.md's numbers for dims = [4096] * 7, batch 16 (they vary about 1% with the seed)."""
    result = invoke("init", "--seed", "1")
    assert result.exit_code == 0, result.stderr
    layers = result.summary("init")["layers"]
    assert layers["0.01"][0]["pre_std"] == pytest.approx(0.64, rel=0.03)
    assert layers["0.05"][0]["pre_std"] == pytest.approx(3.2, rel=0.03)
    assert layers["xavier"][0]["pre_std"] == pytest.approx(1.0, rel=0.03)
    assert layers["0.01"][-1]["std"] == pytest.approx(0.046, rel=0.05)
    assert layers["0.05"][-1]["std"] == pytest.approx(0.85, rel=0.03)
    assert layers["xavier"][-1]["std"] == pytest.approx(0.29, rel=0.05)
    assert layers["0.05"][-1]["saturated"] == pytest.approx(1 / 3, abs=0.04)  # "a third of units"
    claims = result.summary("init")["claims"]
    assert len(claims) == 6 and all(c["holds"] for c in claims), claims


def test_single_scale_run_has_one_layer_list(invoke):
    result = invoke("init", "--scale", "0.05")
    assert result.exit_code == 0, result.stderr
    summary = result.summary("init")
    assert isinstance(summary["layers"], list) and len(summary["layers"]) == 6
    row = summary["layers"][0]
    assert set(row) >= {"layer", "mean", "std", "pre_std", "predicted_pre_std", "saturated"}
    assert row["predicted_pre_std"] == pytest.approx(3.2, rel=0.02)
    assert "saturated" in result.output  # the printed table
    from nnlab.commands.init.results import numbers

    assert numbers(summary) == {"0.05.pre_std_first": summary["layers"][0]["pre_std"],
                                "0.05.std_first": summary["layers"][0]["std"],
                                "0.05.std_last": summary["layers"][-1]["std"],
                                "0.05.saturated_last": summary["layers"][-1]["saturated"],
                                "0.05.grad_std_input": summary["input_grad_std"]["0.05"]}


def test_relu_he_keeps_variance_and_xavier_halves_it(invoke):
    result = invoke("init", "--activation", "relu", "--width", "1024")
    assert result.exit_code == 0, result.stderr
    summary = result.summary("init")
    assert variance_growth(summary["layers"]["he"]) == pytest.approx(1.0, abs=0.1)
    assert variance_growth(summary["layers"]["xavier"]) == pytest.approx(0.5, abs=0.05)
    held = {c["id"] for c in summary["claims"] if c["holds"]}
    assert held >= {"init.he-keeps-variance", "init.xavier-halves-relu"}


def test_claims_can_fail():
    """A run whose numbers contradict the lecture is reported as such, not hidden."""
    flat = [{"layer": i, "std": 0.5, "pre_std": 1.0, "predicted_pre_std": 2.0, "saturated": 0.0} for i in (1, 2)]
    claims = check_claims({"0.01": flat, "0.05": flat}, "tanh", {"0.01": 0.64, "0.05": 3.2})
    assert claims and not any(c["holds"] for c in claims)


# For each claim id, a setting of the user's that makes it fail (issue: every verdict can be flipped).
FLIPS = [
    ("init.variance-formula.0.05", ["--scale", "0.05", "--width", "4", "--batch-size", "2"]),  # 4 units: no law
    ("init.regime.0.05", ["--scale", "0.05", "--depth", "2"]),     # 2 layers show no trend: undecided
    ("init.regime.xavier", ["--scale", "xavier", "--width", "2"]),  # 2 units: saturates by chance, not as Xavier
    ("init.he-keeps-variance", ["--activation", "relu", "--scale", "he", "--depth", "1"]),
    ("init.xavier-halves-relu", ["--activation", "relu", "--scale", "xavier", "--depth", "1"]),
]


@pytest.mark.parametrize(("claim_id", "args"), FLIPS, ids=[f[0] for f in FLIPS])
def test_every_claim_can_flip(invoke, claim_id, args):
    result = invoke("init", "--quick", *args)
    assert result.exit_code == 0, result.stderr
    claim = claim_by_id(result.summary("init"), claim_id)
    assert claim["holds"] is False, claim


def test_every_claim_id_has_a_flip(invoke, tmp_path):
    ids = set()
    for i, args in enumerate((["--quick"], ["--quick", "--activation", "relu"])):
        ids |= {c["id"] for c in invoke("init", *args, out=tmp_path / str(i)).summary("init")["claims"]}
    # Per-scale ids (init.regime.<scale>) share one mechanism per family: a flip of one scale flips the family.
    def family(claim_id: str) -> str:
        return claim_id if claim_id.count(".") == 1 else ".".join(claim_id.split(".")[:2])

    assert {family(i) for i in ids} <= {family(f[0]) for f in FLIPS}


def test_regimes_follow_the_gain_and_never_disappear():
    from nnlab.commands.init.claims import predicted_regime

    assert [predicted_regime(g) for g in (0.64, 0.85, 1.0, 1.13, 2.19, 2.2, 3.2)] == [
        "vanishes", "vanishes", "keeps its spread", "keeps its spread", "keeps its spread", "saturates",
        "saturates"]
