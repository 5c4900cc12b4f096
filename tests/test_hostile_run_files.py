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


def test_a_linked_or_special_figure_is_never_embedded_in_the_report(invoke, tmp_path, secret):
    run = fake_run(tmp_path)
    (run / "plots" / "leak.png").symlink_to(secret)
    os.mkfifo(run / "plots" / "fifo.png")
    result = invoke("report", str(run), "--out", str(tmp_path / "report"))
    assert result.exit_code == 0, result.stderr
    html = (tmp_path / "report" / "report.html").read_text()
    assert base64.b64encode(SECRET).decode() not in html and SECRET.decode() not in html
    assert base64.b64encode(PNG).decode() in html  # the run's own figure is still there
    assert "leak.png is not a file of this run" in html and "fifo.png is not a file of this run" in html


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
    assert nnlab.load(run).figures == []
    result = invoke("report", str(run), "--out", str(tmp_path / "report"))
    assert result.exit_code == 0, result.stderr
    assert base64.b64encode(SECRET).decode() not in (tmp_path / "report" / "report.html").read_text()


def test_the_api_leaves_out_linked_figures_and_refuses_a_linked_summary(tmp_path, secret):
    run = fake_run(tmp_path)
    (run / "plots" / "leak.png").symlink_to(secret)
    result = nnlab.load(run)
    assert [p.name for p in result.figures] == ["own.png"]
    assert base64.b64encode(SECRET).decode() not in result._repr_html_()
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


def test_export_reads_only_the_runs_own_figures(invoke, tmp_path, secret):
    pytest.importorskip("tensorboardX")
    run = fake_run(tmp_path)
    (run / "plots" / "leak.png").symlink_to(secret)
    result = invoke("export", str(run), "--to", "tensorboard", "--logdir", str(tmp_path / "tb"))
    assert result.exit_code == 0, result.stderr
    events = b"".join(p.read_bytes() for p in (tmp_path / "tb").rglob("*") if p.is_file())
    assert SECRET not in events and b"leak" not in events
