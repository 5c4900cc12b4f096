"""No NaN is reported as a completed result: a non-finite number makes the run `diverged`, and the JSON strict."""

from __future__ import annotations

import json

import pytest


def test_a_non_finite_number_makes_the_run_diverged_and_json_stays_strict(fake_command, invoke, patch_command):
    real_run = fake_command.COMMAND.run

    def run_with_nan(config, rec):
        summary = real_run(config, rec)
        summary["per_step"] = {f"step{i}": float("nan") for i in range(config.steps)}
        return summary

    patch_command("fake", run=run_with_nan)
    result = invoke("fake", "--quick")
    assert result.exit_code == 0, result.stderr
    (run,) = result.runs("fake")

    def refuse(constant):
        raise ValueError(f"bare {constant} in JSON")

    summary = json.loads((run / "summary.json").read_text(), parse_constant=refuse)
    assert summary["status"] == "diverged" and summary["nonfinite"][0].startswith("per_step.")
    assert json.loads((run / "meta.json").read_text())["status"] == "diverged"


# ----------------------------------------------------------------------------------------------------
# A legal setting that overflows ends the run `diverged`, not failed (issue 29)


def diverged_summary(result, command: str) -> dict:
    """The one run's summary, asserting it ended as README says a diverged run ends (exit 0, `diverged`)."""
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.stderr and "Warning" not in result.stderr, result.stderr
    (run,) = result.runs(command)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "diverged" and summary["nonfinite"], summary.get("status")
    assert json.loads((run / "meta.json").read_text())["status"] == "diverged"
    return summary


@pytest.mark.filterwarnings("error")  # no stray warning: the overflow is reported once, as diverged
def test_init_whose_activations_overflow_ends_diverged_with_its_claims_false(invoke):
    result = invoke("init", "--quick", "--width", "64", "--depth", "3", "--scale", "1e30", "--activation", "relu")
    summary = diverged_summary(result, "init")
    verdicts = summary["claims"] + summary["checks"]  # relu at a scale that is neither Xavier nor He: checks only
    assert verdicts and not any(c["holds"] for c in verdicts)  # an inf variance holds nothing


@pytest.mark.draws
def test_init_whose_activations_overflow_still_draws(invoke):
    result = invoke("init", "--quick", "--width", "64", "--depth", "3", "--scale", "1e30", "--activation", "relu")
    diverged_summary(result, "init")


APPROX_OVERFLOW = ("approx", "--quick", "--target", "exp(700*x1)", "--dims", "1", "--widths", "2", "--widths", "8",
                   "--seeds", "1", "--samples", "64", "--test-samples", "64", "--activation", "cos",
                   "--slope-from", "2")


@pytest.mark.filterwarnings("error")  # no stray warning: the overflow is reported once, as diverged
def test_approx_of_a_target_that_overflows_ends_diverged_and_says_why(invoke):
    summary = diverged_summary(invoke(*APPROX_OVERFLOW), "approx")
    assert "targets.exp(700*x1).variance.1" in summary["nonfinite"]  # diverged for the right reason: Var f = inf
    assert all(r["rel_mse"] is None for r in summary["results"])
    # an expression target has no lecture claim of its own; none of the run's may hold on an infinite variance
    assert not any(c["holds"] for c in [*summary.get("claims", []), *summary.get("checks", [])])


@pytest.mark.draws
def test_approx_of_a_target_that_overflows_still_draws(invoke):
    diverged_summary(invoke(*APPROX_OVERFLOW), "approx")
