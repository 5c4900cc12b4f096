"""--resume and run directories in use: refused in one line, and two processes never own one run."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import refused


def test_resume_refusals(invoke, tmp_path):
    refused(invoke("train-mnist", "--resume", ""), "give a run directory")
    refused(invoke("train-mnist", "--resume", str(tmp_path)), "not a run directory")
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text("command: train-mnist\n")
    for meta in ("{broken", "[1, 2]"):
        (run / "meta.json").write_text(meta)
        refused(invoke("train-mnist", "--resume", str(run)), "meta.json")
    (run / "meta.json").write_text(json.dumps({"command": "train-mnist", "status": "interrupted"}))
    refused(invoke("train-mnist", "--resume", str(run), "--quick"), "--quick")
    refused(invoke("train-mnist", "--resume", str(run), "--tag", "x"), "--out and --tag do not apply")
    refused(invoke("train-mnist", "--resume", str(run), "--out", str(tmp_path)), "do not apply")


def test_a_run_directory_in_use_is_refused(fake_command, invoke, tmp_path):
    """Two processes never own one run: the second (e.g. a concurrent --resume) is refused, naming the first."""
    result = invoke("fake", "--quick")
    (run,) = result.runs("fake")
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\nfrom pathlib import Path\nfrom nnlab.core.run import _lock\n"
        f"h = _lock(Path({str(run)!r}))\nprint('locked', flush=True)\ntime.sleep(60)\n")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        from nnlab.core.errors import UserError
        from nnlab.core.run import _lock

        with pytest.raises(UserError, match=f"in use by process {holder.pid}"):
            _lock(run)
    finally:
        holder.kill()
        holder.wait()
    _lock(run).close()  # free again once the holder is gone
