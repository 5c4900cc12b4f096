"""Damaged run directories and dead runs, given to every tool that reads runs (issue 29).

One schema for a run directory, enforced by the one reader (core.record.RunRecord): a tool given a damaged
run refuses it in one line naming the file and the field (exit 2) and writes nothing; `runs` and `report`,
given many runs, leave the damaged ones out, say so, and go on with the rest. A run whose meta.json says
`running` but whose lock no process holds is `abandoned`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import refused

import nnlab

DEEP = "[" * 5000 + "]" * 5000  # RecursionError in json.loads (and so in every reader) before issue 29


def _edit_json(name: str, change):
    def damage(run: Path) -> None:
        path = run / name
        data = json.loads(path.read_text())
        data = change(data)
        path.write_text(data if isinstance(data, str) else json.dumps(data))
    return damage


def _meta(**fields):
    return _edit_json("meta.json", lambda m: {**m, **fields})


def _first_claim(change):
    def edit(summary):
        summary["claims"][0] = change(dict(summary["claims"][0]))
        return summary
    return _edit_json("summary.json", edit)


def _metrics_line(text: str):
    def damage(run: Path) -> None:
        with open(run / "metrics.jsonl", "a", encoding="utf-8") as f:
            f.write(text + "\n" + '{"step": 99, "value": 1.0}\n')  # not the last line: not a torn write
    return damage


def _garbage_png(run: Path) -> None:
    (run / "plots").mkdir(exist_ok=True)
    (run / "plots" / "value.png").write_bytes(b"this is not a PNG at all" * 10)


# (id, damage, the file the refusal names, the field it names)
DAMAGE = [
    ("command-number", _meta(command=3), "meta.json", "command"),
    ("started-number", _meta(started=1700000000), "meta.json", "started"),
    ("status-list", _meta(status=["completed"]), "meta.json", "status"),
    ("meta-list", _edit_json("meta.json", lambda m: [m]), "meta.json", "JSON object"),
    ("meta-deep", _edit_json("meta.json", lambda m: json.dumps(m)[:-1] + ', "deep": ' + DEEP + "}"),
     "meta.json", "deep"),
    ("summary-deep", _edit_json("summary.json", lambda s: json.dumps(s)[:-1] + ', "deep": ' + DEEP + "}"),
     "summary.json", "deep"),
    ("claim-id-number", _first_claim(lambda c: {**c, "id": 7}), "summary.json", "id"),
    ("claim-without-holds", _first_claim(lambda c: {k: v for k, v in c.items() if k != "holds"}),
     "summary.json", "holds"),
    ("summary-status-list", _edit_json("summary.json", lambda s: {**s, "status": [1]}), "summary.json", "status"),
    ("step-nan", _metrics_line('{"step": NaN, "value": 1.0}'), "metrics.jsonl", "step"),
    ("step-huge", _metrics_line('{"step": 1e30, "value": 1.0}'), "metrics.jsonl", "step"),
    ("value-infinite", _metrics_line('{"step": 3, "value": Infinity}'), "metrics.jsonl", "value"),
    ("metrics-deep", _metrics_line('{"step": 3, "value": ' + DEEP + "}"), "metrics.jsonl", "deep"),
    ("metrics-list-line", _metrics_line("[1, 2]"), "metrics.jsonl", "not an object"),
    ("metrics-torn-mid-file", _metrics_line('{"step": 3, "val'), "metrics.jsonl", "only the last line"),
    ("garbage-png", _garbage_png, "value.png", "PNG"),
    ("linked-png", lambda run: (run / "plots").mkdir(exist_ok=True) or (run / "plots" / "x.png").symlink_to(
        "/etc/hostname"), "x.png", "not a regular file"),
]
IDS = [d[0] for d in DAMAGE]


@pytest.fixture
def fake_runs(fake_command, invoke, tmp_path):
    """Two finished fake runs under tmp/outputs: (good, to_damage)."""
    invoke("fake", "--quick", "--tag", "good")
    result = invoke("fake", "--quick", "--tag", "bad")
    good, bad = sorted(result.runs("fake"), key=lambda p: p.name.endswith("bad"))
    return good, bad


def _files_under(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.exists() else []


@pytest.mark.parametrize(("name", "damage", "file", "field"), DAMAGE, ids=IDS)
def test_the_reader_refuses_a_damaged_run_naming_the_file_and_field(fake_runs, name, damage, file, field):
    _, bad = fake_runs
    damage(bad)
    with pytest.raises(nnlab.UserError) as caught:
        nnlab.load(bad)
    message = str(caught.value)
    assert file in message and field in message and "\n" not in message and len(message) < 300, message


@pytest.mark.parametrize(("name", "damage", "file", "field"), DAMAGE, ids=IDS)
@pytest.mark.parametrize("tool", ["compare", "export", "report", "redraw"])
def test_every_tool_refuses_a_damaged_run_and_writes_nothing(fake_runs, invoke, tmp_path, tool, name, damage,
                                                             file, field):
    good, bad = fake_runs
    if tool == "redraw" and name in ("garbage-png", "linked-png"):  # its writes rename over, never follow a link
        pytest.skip("redraw draws the figures again: a damaged figure is what it replaces")
    if tool == "export":
        pytest.importorskip("tensorboardX")
    damage(bad)
    target = tmp_path / "written"
    before = _files_under(bad)
    args = {"compare": ["compare", str(good), str(bad), "--out", str(target)],
            "export": ["export", str(bad), "--to", "tensorboard", "--logdir", str(target)],
            "report": ["report", str(bad), "--out", str(target)],
            "redraw": ["redraw", str(bad)]}[tool]
    result = invoke(*args)
    refused(result, file)
    assert field in result.stderr, result.stderr
    assert _files_under(target) == [], "a tool built output from a damaged run"
    assert _files_under(bad) == before


@pytest.mark.parametrize(("name", "damage", "file", "field"), DAMAGE, ids=IDS)
def test_runs_and_report_leave_a_damaged_run_out_say_so_and_go_on(fake_runs, invoke, tmp_path, name, damage,
                                                                   file, field):
    good, bad = fake_runs
    damage(bad)
    listed = invoke("runs", "--out", str(tmp_path / "outputs"))
    assert listed.exit_code == 0, (listed.stderr, listed.exception)
    assert good.name in listed.output and bad.name in listed.output
    if file in ("meta.json", "summary.json"):  # `runs` reads only these two: what it shows
        assert "1 damaged" in listed.output and file in listed.output and field in listed.output
    report = invoke("report", str(tmp_path / "outputs"), "--out", str(tmp_path / "report"))
    assert report.exit_code == 0, (report.stderr, report.exception)
    assert "left out" in report.stderr and file in report.stderr
    html = (tmp_path / "report" / "report.html").read_text()
    assert html.count('<div class="run"') == 1 and good.name in html  # only the good run is shown
    assert "left out" in html and file in html


def test_report_of_only_damaged_runs_is_refused_and_writes_nothing(fake_runs, invoke, tmp_path):
    _, bad = fake_runs
    _meta(status=["x"])(bad)
    refused(invoke("report", str(bad), "--out", str(tmp_path / "report")), "meta.json")
    assert not (tmp_path / "report").exists()


# -- dead runs -------------------------------------------------------------------------------------------------
def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _as_if_killed(run: Path) -> int:
    """The run as SIGKILL leaves it: meta says running, no summary, its .lock names a pid no longer alive."""
    pid = _dead_pid()
    meta = json.loads((run / "meta.json").read_text())
    meta.update(status="running", ended=None)
    meta.pop("elapsed_s", None)
    (run / "meta.json").write_text(json.dumps(meta))
    (run / "summary.json").unlink()
    (run / ".lock").write_text(f"{pid}\n")
    return pid


def test_a_run_whose_lock_is_not_held_is_abandoned_everywhere(fake_runs, invoke, tmp_path):
    _, bad = fake_runs
    pid = _as_if_killed(bad)
    result = nnlab.load(bad)
    assert result.status == "abandoned"
    assert str(pid) in (result.error or "")
    listed = invoke("runs", "--out", str(tmp_path / "outputs"))
    assert listed.exit_code == 0, listed.stderr
    line = next(x for x in listed.output.splitlines() if bad.name in x)
    assert "abandoned" in line and "running" not in line and str(pid) in line
    report = invoke("report", str(bad), "--out", str(tmp_path / "report"))
    assert report.exit_code == 0, report.stderr
    html = (tmp_path / "report" / "report.html").read_text()
    assert 'data-status="abandoned"' in html and str(pid) in html


def test_a_run_whose_lock_is_held_is_running(fake_runs):
    import fcntl

    _, bad = fake_runs
    _as_if_killed(bad)
    with open(bad / ".lock", "a+") as holder:  # another open file description: as the live run's process
        fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert nnlab.load(bad).status == "running"
    assert nnlab.load(bad).status == "abandoned"  # the probe released its own shared lock at once


@pytest.mark.parametrize("lock", ["none", "fifo", "link-out"])
def test_a_running_directory_without_a_lock_of_its_own_is_not_called_abandoned(fake_runs, tmp_path, lock):
    """A sweep's directory says running and has no lock; a FIFO or a link out of the run is never opened (no
    hang): nothing tells whether the run lives, so it stays running."""
    _, bad = fake_runs
    _as_if_killed(bad)
    (bad / ".lock").unlink()
    if lock == "fifo":
        os.mkfifo(bad / ".lock")
    elif lock == "link-out":
        (tmp_path / "free.lock").write_text("1\n")
        (bad / ".lock").symlink_to(tmp_path / "free.lock")
    assert nnlab.load(bad).status == "running"


# -- tool outputs are exclusive --------------------------------------------------------------------------------
def test_report_out_that_holds_anything_is_refused(fake_runs, invoke, tmp_path):
    good, _ = fake_runs
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    refused(invoke("report", str(good), "--out", str(busy)), "busy")
    assert sorted(p.name for p in busy.iterdir()) == ["notes.txt"]


def test_report_out_is_claimed_once(tmp_path):
    """Four concurrent `report --out DIR`: the first claims DIR, the others are refused (claimed atomically)."""
    from nnlab.report import claim_out_dir

    target = tmp_path / "shared"
    claim_out_dir(target)
    for _ in range(3):
        with pytest.raises(nnlab.UserError, match="already"):
            claim_out_dir(target)
    empty = tmp_path / "empty"
    empty.mkdir()
    claim_out_dir(empty)  # an existing empty directory may be claimed, once
    with pytest.raises(nnlab.UserError, match="already"):
        claim_out_dir(empty)


def test_compare_outputs_never_share_a_directory(fake_runs, invoke, tmp_path):
    good, bad = fake_runs
    out = tmp_path / "cmp"
    for _ in range(3):
        assert invoke("compare", str(good), str(bad), "--out", str(out)).exit_code == 0
    assert len(list((out / "compare").iterdir())) == 3


# -- half-written outputs and interruptions --------------------------------------------------------------------
def test_an_interrupted_export_leaves_no_torn_event_file_and_the_next_export_works(fake_runs, invoke, tmp_path,
                                                                                    monkeypatch):
    pytest.importorskip("tensorboardX")
    from nnlab.tools import export as export_tool

    good, _ = fake_runs
    logdir = tmp_path / "tb"
    real = export_tool.write_run

    def interrupted(writer, *args, **kwargs):
        writer.add_scalar("x", 1.0, 0)
        writer.flush()
        raise KeyboardInterrupt

    monkeypatch.setattr(export_tool, "write_run", interrupted)
    result = invoke("export", str(good), "--to", "tensorboard", "--logdir", str(logdir))
    assert result.exit_code == 130 and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, \
        (result.exit_code, result.stderr)
    assert not list(logdir.glob("events.out.tfevents.*"))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tb")], "a temporary directory is left"
    monkeypatch.setattr(export_tool, "write_run", real)
    result = invoke("export", str(good), "--to", "tensorboard", "--logdir", str(logdir))
    assert result.exit_code == 0, result.stderr
    assert len(list(logdir.glob("events.out.tfevents.*"))) == 1


def test_a_killed_exports_temporary_directory_is_swept(fake_runs, invoke, tmp_path):
    pytest.importorskip("tensorboardX")
    good, _ = fake_runs
    stale = tmp_path / f".tb.export-{_dead_pid()}.tmp"
    stale.mkdir()
    (stale / "events.out.tfevents.1.torn").write_bytes(b"\x00\x01")
    result = invoke("export", str(good), "--to", "tensorboard", "--logdir", str(tmp_path / "tb"))
    assert result.exit_code == 0, result.stderr
    assert not stale.exists()


def test_report_renders_both_files_before_writing_either(fake_runs, monkeypatch, tmp_path):
    from nnlab.report import html, read_entry, write
    from nnlab.report.model import Report

    good, _ = fake_runs

    def broken(report):
        raise RuntimeError("the html renderer broke")

    monkeypatch.setattr(html, "render", broken)
    out = tmp_path / "r"
    out.mkdir()
    with pytest.raises(RuntimeError):
        write(Report("t", [read_entry(good)], out))
    assert not list(out.iterdir())


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
@pytest.mark.parametrize("tool", ["redraw", "export"])
def test_an_interrupted_tool_exits_by_the_signals_convention_in_one_line(fake_runs, invoke, monkeypatch, tmp_path,
                                                                          fake_command, tool, signum, code):
    if tool == "export":
        pytest.importorskip("tensorboardX")
    good, _ = fake_runs

    class Unhandled(Exception):
        pass

    def unhandled(signum, frame):  # the test's own guard: without the tool's handler, SIGTERM must not end pytest
        raise Unhandled

    previous = signal.signal(signal.SIGTERM, unhandled)
    try:
        def draw(summary, metrics, plots_dir):
            os.kill(os.getpid(), signum)
            return []

        monkeypatch.setattr(fake_command, "draw", draw)
        if tool == "export":
            from nnlab.tools import export as export_tool

            monkeypatch.setattr(export_tool, "write_run", lambda *a, **k: draw(None, None, None))
        args = ["redraw", str(good)] if tool == "redraw" else ["export", str(good), "--to", "tensorboard",
                                                               "--logdir", str(tmp_path / "tb")]
        result = invoke(*args)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert result.exit_code == code, (result.exit_code, result.stderr, result.exception)
    assert result.stderr.count("\n") == 1 and "interrupted" in result.stderr and "Traceback" not in result.stderr
