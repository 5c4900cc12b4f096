"""The benchmarks still run (their numbers are for README, not for assertions: speed is measured, not tested)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def bench(*args: str) -> str:
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@pytest.mark.slow
def test_phases_splits_a_command_into_rows_that_add_up():
    out = bench("benchmarks/phases.py", "--only", "train-mnist", "--repeats", "1")
    rows = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert {"imports", "train", "evaluation", "plots", "total"} <= set(rows)
    assert "wall - training loop" in out  # train-mnist's summary gave its training-loop time


@pytest.mark.slow
def test_mnist_speed_quick_reports_a_speed_up():
    out = bench("benchmarks/mnist_speed.py", "--quick")
    assert "ours: test accuracy" in out and "baseline:" in out


@pytest.mark.slow
def test_mnist_speed_passes_recipe_changes_to_our_run(tmp_path):
    """--set reaches our recipe (benchmarks/gpu_session.sh tries larger batches this way)."""
    import json

    bench("benchmarks/mnist_speed.py", "--quick", "--skip-baseline", "--set", "batch_size=50", "--json",
          str(tmp_path / "speed.json"))
    (run,) = json.loads((tmp_path / "speed.json").read_text())["ours"]
    assert run["steps"] == 40  # --quick's 2,000 images in batches of 50, not its own 63 batches of 32
