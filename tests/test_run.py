"""nnlab.core.run and atomic: exclusive run directories, atomic files, the status life cycle."""

from __future__ import annotations

import datetime as dt
import json
import threading
from dataclasses import dataclass

import pytest

from nnlab.core import atomic
from nnlab.core.config import ExperimentConfig
from nnlab.core.errors import UserError
from nnlab.core.run import Run, claim_directory, read_run


def test_same_second_runs_get_distinct_directories(tmp_path):
    now = dt.datetime(2026, 1, 2, 3, 4, 5)
    paths: list = []
    threads = [threading.Thread(target=lambda: paths.append(claim_directory(tmp_path, "cmd", "t", now)))
               for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    names = sorted(p.name for p in paths)
    assert len(set(names)) == 16
    assert names[0] == "20260102-030405-t" and "20260102-030405-t-16" in names


@pytest.mark.parametrize("tag", ["a/b", "..", "", "x" * 65, "-x"])
def test_bad_tags_are_refused(tmp_path, tag):
    with pytest.raises(UserError, match="--tag"):
        claim_directory(tmp_path, "cmd", tag, dt.datetime.now())


def test_unwritable_out_is_a_user_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(UserError, match="cannot create"):
        claim_directory(blocker / "out", "cmd", None, dt.datetime.now())


def test_atomic_write_leaves_nothing_behind_on_failure(tmp_path):
    target = tmp_path / "x.json"
    atomic.write_json(target, {"a": 1})
    with pytest.raises(RuntimeError), atomic.atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash while writing")
    assert json.loads(target.read_text()) == {"a": 1}  # the old file, whole
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]  # no temporary left


@dataclass
class Cfg(ExperimentConfig):
    pass


def test_run_life_cycle(tmp_path):
    run = Run.create(tmp_path, "cmd", Cfg(seed=7), "cpu", None, argv=["nnlab", "cmd"])
    assert json.loads((run.path / "meta.json").read_text())["status"] == "running"
    run.log({"step": 1, "loss": 0.5})
    run.log({"step": 2, "loss": float("nan")})
    run.finish("diverged", {"claims": []})
    got = read_run(run.path)
    assert got["meta"]["status"] == got["summary"]["status"] == "diverged"
    assert got["meta"]["seed"] == 7 and got["meta"]["ended"] is not None
    assert [m["step"] for m in got["metrics"]] == [1, 2]
    assert got["metrics"][1]["loss"] is None  # strict JSON: NaN is written as null
    assert (tmp_path / "cmd" / "latest").resolve() == run.path.resolve()
    assert (run.path / "config.yaml").read_text().startswith("command: cmd\n")


def test_read_run_skips_a_torn_last_line(tmp_path):
    run = Run.create(tmp_path, "cmd", Cfg(), "cpu", None, argv=[])
    run.log({"step": 1})
    run.finish("completed", {})
    with open(run.path / "metrics.jsonl", "a") as f:
        f.write('{"step": 2, "lo')  # a crash mid-line
    assert read_run(run.path)["metrics"] == [{"step": 1}]


def test_track_stops_at_a_safe_point_after_a_signal(tmp_path):
    import signal

    from nnlab.core.run import Interrupted

    run = Run.create(tmp_path, "cmd", Cfg(), "cpu", None, argv=[])
    seen = []
    with pytest.raises(Interrupted), run.signals.installed():
        for i in run.track(range(10), "loop"):
            seen.append(i)
            if i == 2:
                signal.raise_signal(signal.SIGTERM)  # handled: the loop finishes item 2, then stops
    assert seen == [0, 1, 2]
    run.finish("interrupted")


# -- the run record (core.record): one reader of a run directory, one writer of meta.json -----------------------


def finished_run(tmp_path, command: str, summary: dict) -> Run:
    run = Run.create(tmp_path, command, Cfg(seed=3), "cpu", "rec", argv=["nnlab", command])
    run.log({"method": "gd", "step": 0, "loss": 1.0})
    run.finish(summary.pop("status", "completed"), summary)
    return run


def test_the_record_reads_every_file_of_a_run(tmp_path):
    from nnlab.core.record import RunRecord

    claims = [{"id": "a", "holds": True}, {"id": "b", "holds": False}]
    run = finished_run(tmp_path, "cmd", {"claims": claims, "checks": [{"id": "c", "holds": True}]})
    record = RunRecord(run.path)
    assert record.command == "cmd" and record.status == "completed" and record.complete and record.error is None
    assert record.meta["seed"] == 3 and record.config["seed"] == 3 and record.config["command"] == "cmd"
    assert record.metrics == [{"method": "gd", "step": 0, "loss": 1.0}]
    assert record.claims_held() == {"a": True, "b": False} and [c["id"] for c in record.checks] == ["c"]
    assert record.figures == [] and record.refused_figures == []
    assert record.numbers == {}  # a command this nnlab does not have
    assert read_run(run.path) == {"meta": record.meta, "summary": record.summary, "metrics": record.metrics}


def test_a_failed_run_has_no_numbers_and_says_why(tmp_path):
    from nnlab.core.record import RunRecord

    run = Run.create(tmp_path, "init", Cfg(), "cpu", None, argv=[])
    run.finish("failed", error="ValueError: boom")
    record = RunRecord(run.path)
    assert record.status == "failed" and not record.complete and record.error == "ValueError: boom"
    assert record.numbers == {} and record.claims == []


def test_numbers_come_from_the_commands_spec_and_a_foreign_summary_is_named(tmp_path, patch_command):
    from nnlab.core.record import RunRecord

    patch_command("init", numbers=lambda summary: {"init.answer": float(summary["answer"])})
    good = finished_run(tmp_path, "init", {"claims": [], "answer": 42})
    assert RunRecord(good.path).numbers == {"init.answer": 42.0}
    foreign = RunRecord(finished_run(tmp_path, "init", {"claims": []}).path)  # no `answer`: another layout
    with pytest.raises(UserError, match="does not hold what 'nnlab init' reads"):
        _ = foreign.numbers
    numbers, why = foreign.numbers_or_why()
    assert numbers == {} and "KeyError" in why


def test_meta_json_is_written_by_one_writer(tmp_path):
    from nnlab.core.record import end_meta, new_meta, write_meta

    started = dt.datetime(2026, 1, 2, 3, 4, 5).astimezone()
    meta = new_meta("tool", ["nnlab", "tool"], started, seed=None)
    assert meta["status"] == "running" and meta["ended"] is None and meta["versions"]["nnlab"]
    write_meta(tmp_path, meta)
    assert json.loads((tmp_path / "meta.json").read_text()) == meta
    end_meta(meta, "completed", started + dt.timedelta(seconds=2.5), headline="2 runs")
    write_meta(tmp_path, meta)
    got = json.loads((tmp_path / "meta.json").read_text())
    assert (got["status"], got["elapsed_s"], got["headline"]) == ("completed", 2.5, "2 runs")
    assert [p.name for p in tmp_path.iterdir()] == ["meta.json"]  # atomic: no temporary left


@pytest.mark.parametrize("kind", ["directory", "file"])
def test_a_latest_that_is_not_a_link_is_never_replaced(tmp_path, capsys, kind):
    """`latest` is ours only while it is a symlink: a user's directory or file of that name is kept, with a warning."""
    latest = tmp_path / "cmd" / "latest"
    latest.parent.mkdir()
    if kind == "directory":
        latest.mkdir()
        (latest / "mine.txt").write_text("keep me")
    else:
        latest.write_text("keep me")
    run = Run.create(tmp_path, "cmd", Cfg(), "cpu", None, argv=[])
    run.finish("completed", {})
    kept = latest / "mine.txt" if kind == "directory" else latest
    assert not latest.is_symlink() and kept.read_text() == "keep me"
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "latest" in err and "not a symlink" in err, err
    assert sorted(p.name for p in latest.parent.iterdir()) == sorted(["latest", run.path.name])  # no temp link


def test_progress_off_a_terminal_is_plain_lines_that_name_the_experiment(monkeypatch):
    """Issue 25: piped to a file, long work still says where it is: a line at most every PLAIN_EVERY_S seconds,
    each naming its experiment, with how much is left."""
    import io

    from rich.console import Console

    from nnlab.core import console

    buffer = io.StringIO()
    monkeypatch.setattr(console, "err", Console(file=buffer, force_terminal=False, width=200))
    clock = iter([0.0, 4.0, 11.0, 15.0, 23.0, 30.0])  # start, then one reading per advance
    monkeypatch.setattr(console.time, "monotonic", lambda: next(clock))
    with console.labelled("init p0-s1"), console.progress_bar("layers", 5) as advance:
        for _ in range(5):
            advance()
    lines = buffer.getvalue().splitlines()
    assert lines == ["[init p0-s1] layers: 2/5 after 11 s, about 16 s left",
                     "[init p0-s1] layers: 4/5 after 23 s, about 6 s left",
                     "[init p0-s1] layers: 5/5 after 30 s"]
    console.note("a note")
    assert buffer.getvalue().splitlines()[-1] == "a note"  # outside a run: no label
