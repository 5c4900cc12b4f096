"""The sweep's warm pool and the checks on runs that come back (issue 28): a pool worker imports the command's code
once, before its first run, and runs task after task (a replacement for a dead one warms up too); no more workers
than runs; each run directory is checked against the sha256 of its files taken where it ran; a node told to ship
its runs does so even where it sees the sweep directory; a lost Ray task is one line that says so.

The pool test runs a stand-in for run_point (`report_warmth` below): spawned workers import this module by name
(pytest puts tests/ on sys.path, and spawn hands sys.path to its children).
"""

from __future__ import annotations

import json
import os
import signal
import sys

import pytest

from nnlab.sweep import executors as sweep_exec
from nnlab.sweep import point as sweep_point
from nnlab.sweep import report as sweep_report


def report_warmth(task: sweep_exec.Task) -> dict:
    """A run that says which process ran it and whether torch and the command's plots were imported before it
    began; point 0 seed 1 SIGKILLs its own worker (so a replacement is made)."""
    if task.point == 0 and task.seed == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    warm = "torch" in sys.modules and "nnlab.commands.optimize.plots" in sys.modules
    return {"index": task.index, "point": task.point, "seed": task.seed, "status": "completed", "error": None,
            "path": None, "headline": {"pid": float(os.getpid()), "warm": float(warm)}, "claims": {},
            "elapsed_s": 0.0, "host": "test", "node": None}


def tasks(points: int, seeds: list[int]) -> list[sweep_exec.Task]:
    return [sweep_exec.Task(index=p * len(seeds) + s, point=p, seed=seed, command="optimize", options={},
                            recipe=None, quick=True, set_pairs=(), sweep_dir="/nonexistent", sweep_id="x")
            for p in range(points) for s, seed in enumerate(seeds)]


@pytest.mark.slow
def test_a_pool_worker_warms_up_once_and_runs_task_after_task_and_so_does_its_replacement():
    """One worker, four runs, the second of which kills it: the first worker and its replacement each import
    torch and the command's plots before their first run, and the replacement runs the last two."""
    pool = sweep_exec.PoolExecutor(1, threads=1, work=report_warmth, warm="optimize")
    records: list[dict] = []
    pool.start()
    try:
        pool.run(tasks(2, [0, 1]), records.append)
    finally:
        pool.close()
    by_index = {r["index"]: r for r in records}
    assert sorted(by_index) == [0, 1, 2, 3]
    assert by_index[1]["status"] == "failed" and "SIGKILL" in by_index[1]["error"]
    done = [by_index[i] for i in (0, 2, 3)]
    assert all(r["status"] == "completed" and r["headline"]["warm"] == 1.0 for r in done)
    first, *replacement = (r["headline"]["pid"] for r in done)
    assert replacement[0] == replacement[1] != first  # one process per worker, not one per run


def test_the_pool_starts_no_more_workers_than_runs():
    pool = sweep_exec.PoolExecutor(4, threads=1, work=report_warmth)
    records: list[dict] = []
    pool.start()
    try:
        pool.run(tasks(1, [0]), records.append)
        assert len(pool.slots) == 1
    finally:
        pool.close()
    assert [r["status"] for r in records] == ["completed"]


# -- the run directory that comes back ------------------------------------------------------------------------


def fake_run(tmp_path):
    """A sweep directory with one run directory of three files, its record as run_point would return it."""
    sweep = tmp_path / "sweep"
    run = sweep / "optimize" / "20260101-000000-p0-s0"
    (run / "plots").mkdir(parents=True)
    (run / "summary.json").write_text('{"status": "completed"}')
    (run / "meta.json").write_text("{}")
    (run / "plots" / "a.png").write_bytes(bytes(range(256)) * 10)
    record = {"index": 0, "point": 0, "seed": 0, "status": "completed", "error": None,
              "path": "optimize/20260101-000000-p0-s0", "files": sweep_point.manifest(run)}
    return sweep, run, record


def test_manifest_is_the_sha256_of_every_file_by_relative_path(tmp_path):
    import hashlib

    _, run, record = fake_run(tmp_path)
    assert record["files"] == {name: hashlib.sha256((run / name).read_bytes()).hexdigest()
                               for name in ("meta.json", "plots/a.png", "summary.json")}


@pytest.mark.parametrize("damage, missing_or_different", [
    (lambda run: (run / "plots" / "a.png").write_bytes(b"torn"), "plots/a.png"),
    (lambda run: (run / "summary.json").unlink(), "summary.json"),
    (lambda run: None, None),
])
def test_a_run_that_came_back_incomplete_is_failed_in_one_line(tmp_path, damage, missing_or_different):
    sweep, run, record = fake_run(tmp_path)
    damage(run)
    sweep_point.check_files(record, sweep)
    if missing_or_different is None:
        assert (record["status"], record["error"]) == ("completed", None)
    else:
        assert record["status"] == "failed"
        assert record["error"] == ("the run directory came back incomplete: 1 of 3 files missing or different "
                                   f"({missing_or_different})")


def test_a_run_left_where_it_ran_is_not_checked(tmp_path):
    sweep, run, record = fake_run(tmp_path)
    record["left_at"] = "node7:/tmp/nnlab-sweep-x/optimize/20260101-000000-p0-s0"
    import shutil

    shutil.rmtree(run)
    sweep_point.check_files(record, sweep)
    assert record["status"] == "completed"


def test_a_node_told_to_ship_its_runs_ships_them_though_it_sees_the_directory(tmp_path, monkeypatch):
    """NNLAB_SWEEP_SHIP_RUNS=1 (a read-only or slow mount of --out): the run goes to a temporary folder and comes
    back as an archive; the driver unpacks it whole."""
    here = tmp_path / "sweep"
    here.mkdir()
    (here / sweep_exec.ID_FILE).write_text("the-id\n")  # the directory is visible to this process
    monkeypatch.setenv(sweep_point.SHIP_ENV, "1")
    task = sweep_exec.Task(index=0, point=0, seed=2, command="optimize",
                           options={"problem": "quadratic", "method": ["gd"], "lr": "0.01"}, recipe=None, quick=True,
                           set_pairs=(), sweep_dir=str(here), sweep_id="the-id")
    record = sweep_exec.run_point(task)
    assert record["status"] == "completed" and record["archive"]
    assert not (here / "optimize").exists()  # nothing written in place
    sweep_exec.unpack(record, here)
    sweep_exec.check_files(record, here)
    assert record["status"] == "completed" and record["shipped"] is True
    run = here / record["path"]
    assert set(record["files"]) >= {"summary.json", "meta.json", "config.yaml"}
    assert json.loads((run / "meta.json").read_text())["seed"] == 2


def test_a_run_too_big_to_ship_stays_where_it_ran_and_its_line_says_where(tmp_path, monkeypatch):
    import shutil
    from pathlib import Path

    monkeypatch.setattr(sweep_point, "MAX_ARCHIVE", 100)  # bytes: any run directory is bigger
    task = sweep_exec.Task(index=0, point=0, seed=0, command="optimize",
                           options={"problem": "quadratic", "method": ["gd"], "lr": "0.01"}, recipe=None, quick=True,
                           set_pairs=(), sweep_dir=str(tmp_path / "elsewhere"), sweep_id="not-seen")
    record = sweep_exec.run_point(task)
    host, _, where = record["left_at"].partition(":")
    try:
        assert record["status"] == "completed" and record["archive"] is None
        assert record["error"] == f"run directory over 0 MiB: left on {record['left_at']}"
        assert host == record["host"] and (Path(where) / "summary.json").is_file()  # kept, whole
        assert sweep_point.manifest(Path(where)) == record["files"]
        sweep_exec.check_files(record, tmp_path)  # nothing of it on the driver's disk: not checked, not failed
        assert record["status"] == "completed"
    finally:
        shutil.rmtree(Path(where).parent.parent, ignore_errors=True)  # the run's temporary folder


def test_a_ray_task_lost_with_its_node_is_one_line_that_says_so():
    class NodeDiedError(Exception):  # the name Ray gives it (ray.exceptions.NodeDiedError)
        pass

    (task,) = tasks(1, [0])
    lost = sweep_exec.lost_record(task, NodeDiedError("Task failed due to the node dying.\n\nmore lines"))
    assert (lost["status"], lost["error"]) == ("failed", "the Ray worker or node running it was lost during the run "
                                                         "(NodeDiedError)")
    other = sweep_exec.lost_record(task, ValueError("bad\nvalue"))
    assert (other["status"], other["error"]) == ("failed", "ValueError: bad")


def test_sweep_csv_names_the_node_of_each_run(tmp_path):
    plan = {"grid": {"lr": ["0.1"]}, "points": [{"lr": 0.1}], "seeds": [0, 1]}
    records = {0: {"status": "completed", "node": "ab12", "host": "h1", "headline": {}, "claims": {}},
               1: {"status": "completed", "node": None, "host": "h2", "headline": {}, "claims": {}}}
    sweep_report.write_csv(tmp_path / "sweep.csv", plan, records)
    import csv

    with (tmp_path / "sweep.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [(r["host"], r["node"]) for r in rows] == [("h1", "ab12"), ("h2", "")]
