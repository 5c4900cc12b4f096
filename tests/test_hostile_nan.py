"""No NaN is reported as a completed result: a non-finite number makes the run `diverged`, and the JSON strict."""

from __future__ import annotations

import json


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
