"""`nnlab activations` end to end: its numbers against closed forms, and its bad input."""

from __future__ import annotations

import math

import pytest
from conftest import claim_by_id, refused


@pytest.mark.draws
def test_activations_quick_and_its_numbers(invoke):
    result = invoke("activations", "--quick")
    assert result.exit_code == 0, result.stderr
    (run,) = result.runs("activations")
    assert {p.name for p in (run / "plots").glob("*.png")} == {
        "functions.png", "derivatives.png", "vanishing_gradient.png", "output_layers.png"}
    acts = result.summary("activations")["activations"]
    # tanh'(z) < 0.01 <=> |z| > arccosh(10): P(|Z| > 2.993) for Z ~ N(0, 1).
    # Quadrature of an indicator with step h = 1e-4: error <= h * 2 edges * phi(2.99) ~ 1e-6.
    assert acts["tanh"]["saturated_fraction"] == pytest.approx(math.erfc(math.acosh(10) / math.sqrt(2)), abs=1e-6)
    assert acts["relu"]["saturated_fraction"] == pytest.approx(0.5, abs=1e-4)  # relu' = 0 for z <= 0
    assert acts["leaky_relu:0.1"]["saturated_fraction"] == 0.0
    assert acts["sigmoid"]["grad_at_0"] == 0.25 and acts["gelu"]["grad_at_0"] == 0.5
    # E|sigmoid'(Z)| to the L: the per-layer factor and the Monte-Carlo mean agree (rel. std ~1e-2 at L = 10).
    p = acts["sigmoid"]["products"]
    assert p["monte_carlo_mean"][-1] == pytest.approx(p["expected"][-1], rel=0.1)
    assert p["expected"][-1] == pytest.approx(p["per_layer_factor"] ** 10, rel=1e-12)
    assert all(c["holds"] for c in result.summary("activations")["claims"])
    from nnlab.commands.activations.results import numbers

    named = numbers(result.summary("activations"))
    assert named["sigmoid.grad_at_0"] == 0.25 and named["leaky_relu:0.1.saturated_fraction"] == 0.0
    assert named["sigmoid.per_layer_factor"] == p["per_layer_factor"] and len(named) == 7 * 5 + 5
    assert named["outputs.positive.exp.small_target_relative_error"] > 0
    assert named["outputs.softmax.test_accuracy"] > 0.9


def test_activations_bad_input(invoke):
    for args, message in [(["--activation", "relu6"], "unknown activation"), (["--threshold", "0"], "must be > 0"),
                          (["--depth", "0"], "must be >= 1")]:
        result = invoke("activations", *args)
        refused(result, message)


def test_true_closed_forms_pass_whatever_the_grid(invoke, tmp_path):
    """Input std 2 (quadrature tolerance from the grid) and 240 points (a grid that misses 0) once failed."""
    for i, args in enumerate((["--input-std", "2"], ["--points", "240"])):
        result = invoke("activations", "--quick", *args, out=tmp_path / str(i))
        assert result.exit_code == 0, result.stderr
        checks = result.summary("activations")["checks"]
        assert checks and all(c["holds"] for c in checks), [c for c in checks if not c["holds"]]


FLIPS = [
    # cos at a tiny input std: E|cos'| = E|sin z| ~ 0.008, below sigmoid's 1/4, so sigmoid is not the fastest
    ("activations.vanishing-product", ["--activation", "sigmoid", "--activation", "cos", "--input-std", "0.01"]),
    # two layers: tanh's E|prod| = 0.606^2 = 0.37, nowhere near a saturated derivative
    ("activations.saturating-derivatives-vanish", ["--depth", "2"]),
    # a target from e^-0.5 to e^0.5 has no small values for the identity output to miss
    ("activations.output-positive", ["--positive-range", "0.5"]),
    # one Adam step: the identity network has not fit sin(pi x) yet
    ("activations.output-regression", ["--output-steps", "1"]),
]


@pytest.mark.parametrize(("claim_id", "args"), FLIPS, ids=[f[0] for f in FLIPS])
def test_every_claim_flips(invoke, claim_id, args):
    result = invoke("activations", "--quick", *args)
    assert result.exit_code == 0, result.stderr
    claim = claim_by_id(result.summary("activations"), claim_id)
    assert claim["holds"] is False, claim
    assert claim["reason"] and "NaN" not in claim["reason"] and claim["tip"], claim


def test_every_claim_has_a_flip(invoke, tmp_path):
    ids = set()
    for i, args in enumerate((["--quick"], [])):  # the defaults (1201 points, depth 20) judge the same ids
        result = invoke("activations", *args, out=tmp_path / str(i))
        assert result.exit_code == 0, result.stderr
        summary = result.summary("activations")
        assert all(c["holds"] for c in summary["claims"] + summary["checks"]), summary["claims"]
        ids |= {c["id"] for c in summary["claims"]}
    assert ids == {f[0] for f in FLIPS}
