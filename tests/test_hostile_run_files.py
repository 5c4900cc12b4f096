"""A run directory is data anyone may have edited: no tool reads a file outside it, or a special file in it.

Each case once embedded /etc/passwd in a report (a plots/*.png link), or hung `nnlab runs` on an endless
summary.json. A small fake run is enough: the readers never look at which command wrote it.
"""

from __future__ import annotations

import base64
import json
import os
import threading
from pathlib import Path

import pytest

import nnlab
from nnlab.core import run_files
from nnlab.core.record import RunRecord

SECRET = b"root:x:0:0:this must never reach a report\n"
PNG = base64.b64decode(  # a valid 1x1 PNG
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg==")


def fake_run(root: Path) -> Path:
    run = root / "outputs" / "init" / "20260101-000000"
    (run / "plots").mkdir(parents=True)
    (run / "meta.json").write_text(json.dumps({"command": "init", "status": "failed", "started": "2026-01-01"}))
    (run / "summary.json").write_text(json.dumps({"status": "failed", "error": "fake", "claims": [], "checks": []}))
    (run / "config.yaml").write_text("seed: 0\n")
    (run / "plots" / "own.png").write_bytes(PNG)
    return run


@pytest.fixture
def secret(tmp_path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_bytes(SECRET)
    return path


@pytest.mark.parametrize("special", ["link", "fifo"])
def test_a_run_with_a_linked_or_special_figure_is_left_out_of_the_report_unread(invoke, tmp_path, secret, special):
    """The entry is never opened (a FIFO would block, a link would read the secret); the run is damaged, so the
    report leaves it out and names it, and shows the good run beside it."""
    run = fake_run(tmp_path)
    good = run.parent / "20260101-000001"
    good.mkdir()
    for name in ("meta.json", "summary.json", "config.yaml"):
        (good / name).write_bytes((run / name).read_bytes())
    (good / "plots").mkdir()
    (good / "plots" / "own.png").write_bytes(PNG)
    entry = run / "plots" / "leak.png"
    entry.symlink_to(secret) if special == "link" else os.mkfifo(entry)
    result = invoke("report", str(tmp_path / "outputs"), "--out", str(tmp_path / "report"))
    assert result.exit_code == 0, result.stderr
    assert "leak.png: not a regular file of the run" in result.stderr
    html = (tmp_path / "report" / "report.html").read_text()
    assert base64.b64encode(SECRET).decode() not in html and SECRET.decode() not in html
    assert base64.b64encode(PNG).decode() in html  # the good run's figure
    alone = invoke("report", str(run), "--out", str(tmp_path / "alone"))
    assert alone.exit_code == 2 and "leak.png: not a regular file of the run" in alone.stderr


def test_a_linked_plots_folder_is_refused_whole(invoke, tmp_path, secret):
    run = fake_run(tmp_path)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "x.png").symlink_to(secret)
    (outside / "y.png").write_bytes(SECRET)
    for p in (run / "plots").iterdir():
        p.unlink()
    (run / "plots").rmdir()
    (run / "plots").symlink_to(outside)
    assert RunRecord(run).figures == []  # nothing read through the link
    with pytest.raises(nnlab.UserError, match="plots: not a regular file of the run"):
        nnlab.load(run)
    result = invoke("report", str(run), "--out", str(tmp_path / "report"))
    assert result.exit_code == 2 and "plots: not a regular file of the run" in result.stderr
    written = [p.read_bytes() for p in tmp_path.joinpath("report").rglob("*") if p.is_file()]
    assert not any(SECRET in data for data in written)


def test_the_api_refuses_a_linked_figure_or_summary(tmp_path, secret):
    run = fake_run(tmp_path)
    (run / "plots" / "leak.png").symlink_to(secret)
    assert [p.name for p in RunRecord(run).figures] == ["own.png"]  # the reader lists the run's own files only
    with pytest.raises(nnlab.UserError, match="leak.png: not a regular file of the run"):
        nnlab.load(run)
    (run / "plots" / "leak.png").unlink()
    (run / "summary.json").unlink()
    (run / "summary.json").symlink_to(secret)
    with pytest.raises(nnlab.UserError, match="symbolic link"):
        nnlab.load(run)


def test_an_endless_or_blocking_summary_does_not_hang_runs(invoke, tmp_path):
    run = fake_run(tmp_path)
    (run / "summary.json").unlink()
    (run / "summary.json").symlink_to("/dev/zero")
    done: list = []
    worker = threading.Thread(target=lambda: done.append(invoke("runs", "--out", str(tmp_path / "outputs"))))
    worker.start()
    worker.join(timeout=60)  # a hang would read /dev/zero for ever; a second is plenty
    assert done and done[0].exit_code == 0, done and done[0].stderr
    (run / "summary.json").unlink()
    os.mkfifo(run / "summary.json")  # opening a FIFO for reading blocks until a writer comes: O_NONBLOCK
    with pytest.raises(nnlab.UserError, match="not a regular file"):
        nnlab.load(run)


def test_read_bytes_caps_the_size_and_stays_inside(tmp_path, secret):
    run = fake_run(tmp_path)
    big = run / "plots" / "big.png"
    big.write_bytes(b"x" * 101)
    with pytest.raises(run_files.Refused, match="more than the 100"):
        run_files.read_bytes(run, big, cap=100)
    assert run_files.read_bytes(run, big, cap=101) == b"x" * 101
    with pytest.raises(run_files.Refused, match="not inside"):
        run_files.read_bytes(run, secret, cap=10**6)
    with pytest.raises(run_files.Refused, match="not inside"):
        run_files.read_bytes(run, run / ".." / ".." / "secret.txt", cap=10**6)


def test_export_refuses_a_run_with_a_linked_figure_and_writes_nothing(invoke, tmp_path, secret):
    pytest.importorskip("tensorboardX")
    run = fake_run(tmp_path)
    (run / "plots" / "leak.png").symlink_to(secret)
    result = invoke("export", str(run), "--to", "tensorboard", "--logdir", str(tmp_path / "tb"))
    assert result.exit_code == 2 and "leak.png: not a regular file of the run" in result.stderr
    assert not (tmp_path / "tb").exists() or not any((tmp_path / "tb").rglob("*"))
