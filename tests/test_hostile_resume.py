"""--resume and run directories in use: refused in one line, and two processes never own one run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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


# -- the resumable fake: its "checkpoint" is ckpt.txt, the last step it saved -----------------------------------

def resumable_fake(fake_command, patch_command, check=None):
    """`nnlab fake` made resumable (steps may change): it logs one line a step and saves its step to ckpt.txt
    after each, continuing after the saved step when resumed."""
    from nnlab.core.command import Resume

    def run(config, rec):
        ckpt = rec.path / "ckpt.txt"
        start = int(ckpt.read_text()) + 1 if rec.resumed else 0
        for step in range(start, config.steps):
            rec.check_stop()
            rec.log({"step": step, "value": float(step)})
            ckpt.write_text(str(step))
        from nnlab.core.claims import claim

        return {"value": float(config.steps), "steps": config.steps, "activation": config.activation,
                "claims": [claim("fake.value-positive", "Positive", 1.0, "> 0", True, zh="为正")]}

    return patch_command("fake", run=run, resume=Resume(may_change=("steps",), check=check))


def test_a_config_edited_between_the_stop_and_the_resume_is_refused(fake_command, invoke, patch_command):
    resumable_fake(fake_command, patch_command)
    (run,) = invoke("fake", "--quick").runs("fake")
    meta = json.loads((run / "meta.json").read_text())
    assert len(meta["config_sha256"]) == 64  # the config it started with, fixed
    text = (run / "config.yaml").read_text()
    (run / "config.yaml").write_text(text.replace("scale: 1.0", "scale: 5.0"))
    refused(invoke("fake", "--resume", str(run), "--steps", "4"), "config.yaml")
    assert json.loads((run / "meta.json").read_text()) == meta  # refused before the run was touched
    (run / "config.yaml").write_text(text + "# a note: not a change of the config\n")
    assert invoke("fake", "--resume", str(run), "--steps", "4").exit_code == 0
    # a change that may be made (steps) is the new config: fixed again, so the next resume is accepted
    assert invoke("fake", "--resume", str(run), "--steps", "6").exit_code == 0
    assert json.loads((run / "meta.json").read_text())["status"] == "completed"


def test_a_run_without_a_config_hash_still_resumes(fake_command, invoke, patch_command):
    resumable_fake(fake_command, patch_command)
    (run,) = invoke("fake", "--quick").runs("fake")
    meta = json.loads((run / "meta.json").read_text())
    del meta["config_sha256"]  # a run of an nnlab before the hash
    (run / "meta.json").write_text(json.dumps(meta))
    result = invoke("fake", "--resume", str(run), "--steps", "4")
    assert result.exit_code == 0, result.stderr
    assert len(json.loads((run / "meta.json").read_text())["config_sha256"]) == 64


def test_metrics_past_the_checkpoint_are_dropped_on_resume(fake_command, invoke, patch_command):
    """A kill after logging steps 3 and 4 but before saving their checkpoint (step 2): the resume logs 3 and 4
    again, and metrics.jsonl holds each step once. A torn last line is dropped too, not glued to the next."""
    resumable_fake(fake_command, patch_command, check=lambda run_dir, config: int((run_dir / "ckpt.txt").read_text()))
    (run,) = invoke("fake", "--steps", "5").runs("fake")
    (run / "ckpt.txt").write_text("2")
    with open(run / "metrics.jsonl", "a") as f:
        f.write('{"step": 5, "va')  # the kill came mid-line
    meta = json.loads((run / "meta.json").read_text())
    (run / "meta.json").write_text(json.dumps({**meta, "status": "interrupted"}))
    result = invoke("fake", "--resume", str(run))
    assert result.exit_code == 0, result.stderr
    lines = (run / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [0, 1, 2, 3, 4]


def test_a_run_whose_holder_was_killed_resumes_and_takes_the_lock_over(fake_command, invoke, patch_command, tmp_path):
    """SIGKILL leaves meta.json saying `running` and frees the flock: --resume continues it; a live holder is
    refused."""
    import signal

    resumable_fake(fake_command, patch_command)
    out = tmp_path / "outputs"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\nsys.path.insert(0, sys.argv[1])\nfrom conftest import FakeConfig\n"
        "from nnlab.core.run import Run\n"
        "r = Run.create(sys.argv[2], 'fake', FakeConfig(steps=3), 'cpu', None, argv=['nnlab', 'fake'])\n"
        "r.log({'step': 0, 'value': 0.0})\n(r.path / 'ckpt.txt').write_text('0')\n"
        "print(r.path, flush=True)\ntime.sleep(60)\n"), str(Path(__file__).parent), str(out)],
        stdout=subprocess.PIPE, text=True)
    try:
        run = Path(holder.stdout.readline().strip())
        refused(invoke("fake", "--resume", str(run)), f"in use by process {holder.pid}")
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert json.loads((run / "meta.json").read_text())["status"] == "running"  # what SIGKILL leaves
    result = invoke("fake", "--resume", str(run))
    assert result.exit_code == 0, result.stderr
    meta = json.loads((run / "meta.json").read_text())
    assert meta["status"] == "completed" and meta["resumed"][-1]["was"] == "running"
    assert [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()] == [0, 1, 2]
