"""The benchmarks still run (their numbers are for README, not for assertions: speed is measured, not tested).

Each runs on the smallest input that still goes through all of its code: train-mnist --quick for the phases
(its rows, evaluation and training loop are there as in a default run), one mnist_speed run for both its report
and its --set.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import HUNG_S

ROOT = Path(__file__).resolve().parent.parent

# benchmarks/phases.py, its command table narrowed to train-mnist --quick (the script times what it is given)
PHASES_QUICK = """
import sys
sys.path.insert(0, "benchmarks")
sys.argv = ["benchmarks/phases.py", "--only", "train-mnist", "--repeats", "1"]
import phases
phases.COMMANDS["train-mnist"] = ["train-mnist", "--quick"]
phases.main()
"""


def bench(*args: str) -> str:
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=HUNG_S)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@pytest.mark.slow
def test_phases_splits_a_command_into_rows_that_add_up():
    out = bench("-c", PHASES_QUICK)
    rows = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert {"imports", "train", "evaluation", "plots", "total"} <= set(rows)
    assert "wall - training loop" in out  # train-mnist's summary gave its training-loop time


@pytest.mark.slow
def test_mnist_speed_quick_reports_a_speed_up_and_passes_recipe_changes_to_our_run(tmp_path):
    """One --quick run: both recipes report, and --set reaches ours (benchmarks/gpu_session.sh tries larger
    batches this way)."""
    speed = tmp_path / "speed.json"
    out = bench("benchmarks/mnist_speed.py", "--quick", "--set", "batch_size=50", "--json", str(speed))
    assert "ours: test accuracy" in out and "baseline:" in out
    (run,) = json.loads(speed.read_text())["ours"]
    assert run["steps"] == 40  # --quick's 2,000 images in batches of 50, not its own 63 batches of 32


def test_the_hostile_pass_holds_on_a_sample_and_counts_what_it_ran(tmp_path):
    """A slice of benchmarks/hostile_pass.py: init's hostile recipes (a FIFO among them) and the API's wrong types."""
    import json

    out = bench("benchmarks/hostile_pass.py", "--only", "recipes,api", "--commands", "init", "--timeout", "20",
                "--json", str(tmp_path / "pass.json"))
    outcomes = json.loads((tmp_path / "pass.json").read_text())
    cases = [case for section in outcomes.values() for case in section]
    assert len(cases) > 50 and out.strip().splitlines()[-1] == f"all: {len(cases)} of {len(cases)} held (100.0%)", out
