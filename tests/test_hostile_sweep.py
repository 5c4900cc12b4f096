"""Hostile cases of issue 29 for sweeps and helper processes: a pool worker killed mid-run fails only its own run;
workers (the sweep's and the figure pool's) die with the process that started them; temporary PNGs of a killed
figure worker are swept at the next start; a damaged sweep.json or records.jsonl is refused in one line; a
sweep's stderr carries no library warnings.

The pool tests run a stand-in for run_point (`work` below): spawned workers import this module by name (pytest
puts tests/ on sys.path, and spawn hands sys.path to its children), so they cost a Python start, not a torch run.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import HUNG_S, refused

from nnlab.sweep import driver
from nnlab.sweep import executors as sweep_exec

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


def work(task: sweep_exec.Task) -> dict:
    """A run that ends at once; seed 1 of point 0 SIGKILLs its own process (an OOM kill, a stray kill -9)."""
    if task.point == 0 and task.seed == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    if task.seed == 99:  # a run that goes on for a minute (the driver is killed meanwhile)
        time.sleep(60)
    if task.seed == 97:  # a run that stops at its next safe point once Ctrl-C reached its worker
        Path(os.environ["NNLAB_TEST_MARKS"], str(task.index)).touch()  # "I am in my run"
        while not sweep_exec._worker["stop"]:
            time.sleep(0.02)
        return sweep_exec.interrupted_record(task, "interrupted")
    return {"index": task.index, "point": task.point, "seed": task.seed, "status": "completed", "error": None,
            "path": None, "headline": {"value": float(task.index)}, "claims": {}, "elapsed_s": 0.0,
            "host": "test"}


def tasks(points: int, seeds: list[int]) -> list[sweep_exec.Task]:
    return [sweep_exec.Task(index=p * len(seeds) + s, point=p, seed=seed, command="fake", options={}, recipe=None,
                            quick=True, set_pairs=(), sweep_dir="/nonexistent", sweep_id="x")
            for p in range(points) for s, seed in enumerate(seeds)]


def gone(pid: int) -> bool:
    """The process has ended (a zombie waiting for its new parent to reap it counts as ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False
    return state in ("Z", "X")


def wait_gone(pids: list[int], seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not all(gone(p) for p in pids):
        time.sleep(0.1)
    return [p for p in pids if not gone(p)]


# -- 1. a killed worker fails only its own run --------------------------------------------------------------


def test_a_worker_killed_mid_run_fails_only_that_run_and_the_pool_goes_on():
    pool = sweep_exec.PoolExecutor(2, threads=1, work=work)
    records: list[dict] = []
    pool.start()
    try:
        pool.run(tasks(3, [0, 1]), records.append)
    finally:
        pool.close()
    by_index = {r["index"]: r for r in records}
    assert sorted(by_index) == list(range(6)), records
    assert by_index[1]["status"] == "failed"
    assert "SIGKILL" in by_index[1]["error"] and "\n" not in by_index[1]["error"]
    assert all(by_index[i]["status"] == "completed" and by_index[i]["headline"] == {"value": float(i)}
               for i in (0, 2, 3, 4, 5))


def test_a_sweep_with_a_killed_worker_records_one_failure_and_five_results(tmp_path):
    """The driver's view: records.jsonl, sweep.csv and summary.json count one failed run, five completed."""
    plan = {"command": "fake", "grid": {"steps": ["1", "2", "3"]},
            "points_given": [{"steps": "1"}, {"steps": "2"}, {"steps": "3"}], "seeds": [0, 1], "recipe": None,
            "quick": True, "options": {}, "set": [], "points": [{"steps": 1}, {"steps": 2}, {"steps": 3}]}
    code = driver.run_sweep(plan, sweep_exec.PoolExecutor(2, threads=1, work=work), out=str(tmp_path), tag=None,
                            resume=None, argv=["nnlab", "sweep"])
    assert code == 1
    (sweep_dir,) = (tmp_path / "sweep").iterdir()
    summary = json.loads((sweep_dir / "summary.json").read_text())
    assert summary["statuses"] == {"completed": 5, "failed": 1}
    assert [p["done"] for p in summary["points"]] == [1, 2, 2]


def test_ctrl_c_cancels_the_runs_not_started_and_closes_the_started_ones(tmp_path, monkeypatch):
    """The pool of one-process slots keeps the sweep's Ctrl-C: started runs are told (SIGINT to their worker)
    and end interrupted, the one still queued is reported cancelled, and KeyboardInterrupt reaches the driver."""
    import threading

    monkeypatch.setenv("NNLAB_TEST_MARKS", str(tmp_path))  # the workers inherit it
    pool = sweep_exec.PoolExecutor(2, threads=1, work=work)
    records: list[dict] = []
    pool.start()
    try:
        def started() -> None:
            deadline = time.monotonic() + 30
            while len(list(tmp_path.iterdir())) < 2 and time.monotonic() < deadline:
                time.sleep(0.02)
            os.kill(os.getpid(), signal.SIGINT)

        threading.Thread(target=started, daemon=True).start()
        with pytest.raises(KeyboardInterrupt):
            pool.run(tasks(3, [97]), records.append)
    finally:
        pool.close()
    by_index = {r["index"]: r for r in records}
    assert sorted(by_index) == [0, 1, 2]
    assert {by_index[i]["error"] for i in (0, 1)} == {"interrupted"}
    assert by_index[2]["error"] == "cancelled before it started"
    assert {r["status"] for r in records} == {"interrupted"}


# -- 2. helpers die with their parent --------------------------------------------------------------------


def start_driver(code: str) -> tuple[subprocess.Popen, list[int]]:
    """A Python process running `code`, which prints its helpers' pids as one JSON line, then sleeps."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(TESTS)])}
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], stdout=subprocess.PIPE, text=True,
                            env=env, start_new_session=True)
    line = proc.stdout.readline()
    assert line, "the driver printed no pids"
    return proc, json.loads(line)


def test_sweep_workers_die_when_the_driver_is_killed():
    proc, pids = start_driver("""
        import json, threading, time
        from nnlab.sweep import executors as e
        import test_hostile_sweep as t
        pool = e.PoolExecutor(2, threads=1, work=t.work)
        pool.start()
        threading.Thread(target=pool.run, args=(t.tasks(2, [99]), print), daemon=True).start()
        while len([s for s in pool.slots if s.pid()]) < 2:
            time.sleep(0.05)
        time.sleep(1.0)  # the workers are in their runs
        print(json.dumps([s.pid() for s in pool.slots]), flush=True)
        time.sleep(60)
    """)
    try:
        assert not any(gone(p) for p in pids)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert wait_gone(pids, 5.0) == []
    finally:
        kill_all(pids)


def kill_all(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def test_figure_workers_die_when_the_main_process_is_killed_even_with_their_pipes_held_open():
    """A child forked from the main process holds the workers' stdin open, so they never see end of input:
    before the fix they lived on (the issue: figure workers of a killed `nnlab lecture` stayed alive)."""
    proc, pids = start_driver("""
        import json, os, time
        from nnlab.core.figure_pool import FigurePool
        pool = FigurePool(2)
        holder = os.fork()
        if holder == 0:  # keeps a copy of every pipe, as a forked helper of the command would
            time.sleep(30)
            os._exit(0)
        print(json.dumps([p.pid for p in pool.procs] + [holder]), flush=True)
        time.sleep(60)
    """)
    workers, holder = pids[:2], pids[2]
    try:
        assert not gone(holder)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert wait_gone(workers, 5.0) == []
    finally:
        kill_all(pids)


def test_temporary_pngs_of_a_dead_figure_worker_are_swept_at_the_next_start(tmp_path, monkeypatch):
    from nnlab.core import figure_pool

    notes = tmp_path / "notes"
    notes.mkdir(mode=0o700)
    monkeypatch.setattr(figure_pool, "LEFTOVERS_DIR", notes)
    dead_plots, live_plots = tmp_path / "dead" / "plots", tmp_path / "live" / "plots"
    for plots in (dead_plots, live_plots):
        plots.mkdir(parents=True)
        (plots / "loss.png").write_bytes(b"a figure")
        (plots / ".loss.k3_x9abq.png").write_bytes(b"half a figure")  # core.atomic's temporary name
        (plots / ".notes.txt").write_text("not a figure")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    (notes / dead).write_text(str(dead_plots))  # a worker that was SIGKILLed while drawing there
    (notes / str(os.getpid())).write_text(str(live_plots))  # a live worker's: its temporary file is being written
    pool = figure_pool.FigurePool(0)  # a start: sweeps first
    pool.close()
    assert sorted(p.name for p in dead_plots.iterdir()) == [".notes.txt", "loss.png"]
    assert sorted(p.name for p in live_plots.iterdir()) == [".loss.k3_x9abq.png", ".notes.txt", "loss.png"]
    assert not (notes / dead).exists() and (notes / str(os.getpid())).exists()


# -- 3. a damaged sweep.json or records.jsonl ------------------------------------------------------------


GOOD_PLAN = {"command": "optimize", "grid": {"lr": ["0.01", "0.1"]}, "points_given": [{"lr": "0.01"}, {"lr": "0.1"}],
             "seeds": [0], "recipe": None, "quick": True, "options": {"problem": "quadratic"}, "set": [],
             "points": [{"lr": 0.01}, {"lr": 0.1}], "sweep_id": "abc"}


def deep(n: int) -> str:
    return "[" * n + "]" * n


@pytest.mark.parametrize("text, message", [
    (json.dumps({k: v for k, v in GOOD_PLAN.items() if k != "points_given"}), "no 'points_given'"),
    (json.dumps({**GOOD_PLAN, "points_given": [3, 4]}), "'points_given' must be a list of objects"),
    (json.dumps({**GOOD_PLAN, "seeds": "0,1"}), "'seeds' must be a list of distinct integers"),
    (json.dumps({**GOOD_PLAN, "seeds": [0, True]}), "'seeds' must be"),
    (json.dumps({**GOOD_PLAN, "grid": {"lr": 3}}), "'grid' must be"),
    (json.dumps({**GOOD_PLAN, "command": 7}), "'command' must be a command name"),
    (json.dumps({**GOOD_PLAN, "options": []}), "'options' must be an object"),
    (json.dumps({**GOOD_PLAN, "set": [1]}), "'set' must be"),
    (json.dumps({**GOOD_PLAN, "quick": "yes"}), "'quick' must be true or false"),
    (json.dumps({**GOOD_PLAN, "points_given": [{"width": "1"}, {"lr": "0.1"}]}), "does not match 'grid'"),
    (json.dumps({**GOOD_PLAN, "points": [{"lr": 0.01}]}), "'points' must be one object per grid point"),
    ('{"command": "optimize", "grid": ' + deep(5_000) + "}", "nested too deeply"),
    ("[]", "expected a JSON object"),
    ("{torn", "not valid JSON"),
])
def test_a_damaged_sweep_plan_is_refused_in_one_line(tmp_path, text, message):
    (tmp_path / "sweep.json").write_text(text)
    with pytest.raises(driver.UserError, match=message.replace("(", r"\(")) as info:
        driver.load_plan(tmp_path)
    assert "\n" not in str(info.value)


def test_a_good_plan_passes_and_its_command_is_checked(tmp_path):
    (tmp_path / "sweep.json").write_text(json.dumps(GOOD_PLAN))
    assert driver.load_plan(tmp_path, "optimize") == GOOD_PLAN
    with pytest.raises(driver.UserError, match="a sweep of 'nnlab optimize', not 'nnlab init'"):
        driver.load_plan(tmp_path, "init")


@pytest.mark.parametrize("record", [
    {"index": "0", "point": 0, "status": "completed"},
    {"index": 7, "point": 0, "status": "completed"},
    {"index": 1, "point": 0, "status": "completed"},  # index 1 is point 1 with one seed
    {"index": 0, "point": 0, "status": ["completed"]},
    {"index": 0, "point": 0, "status": "completed", "headline": [1]},
    [1, 2],
])
def test_a_damaged_record_is_refused_naming_its_line(tmp_path, record):
    lines = [json.dumps({"index": 0, "point": 0, "status": "completed"}), json.dumps(record), "{torn"]
    (tmp_path / "records.jsonl").write_text("\n".join(lines))
    with pytest.raises(driver.UserError, match="records.jsonl line 2: damaged sweep record"):
        driver.read_records(tmp_path, GOOD_PLAN)


def test_a_torn_line_is_skipped(tmp_path):
    (tmp_path / "records.jsonl").write_text(json.dumps({"index": 1, "point": 1, "status": "failed"}) + "\n{torn")
    assert [r["index"] for r in driver.read_records(tmp_path, GOOD_PLAN)] == [1]


@pytest.mark.parametrize("plan", [
    {k: v for k, v in GOOD_PLAN.items() if k != "points_given"},
    {**GOOD_PLAN, "points_given": [3, 4]},
])
def test_resume_of_a_damaged_sweep_json_is_exit_2_in_one_line(invoke, tmp_path, plan):
    (tmp_path / "sweep.json").write_text(json.dumps(plan))
    refused(invoke("sweep", "--resume", str(tmp_path), "--workers", "1"), "damaged sweep plan")


# -- 4. no library warnings on a sweep's stderr ---------------------------------------------------------------


def test_the_sweep_plots_of_an_unlabelled_number_raise_no_warning(tmp_path):
    """One swept key and a headline number without a row ("value", as the fake command's): every line's label
    is empty, and matplotlib's legend() warned "No artists with labels found" on stderr."""
    import warnings

    from nnlab.sweep import report as sweep_report

    plan = {"command": "fake", "grid": {"steps": ["1", "2"]}, "seeds": [0, 1], "points": [{"steps": 1}, {"steps": 2}]}
    records = {i: {"index": i, "point": i // 2, "seed": i % 2, "status": "completed", "headline": {"value": i + 0.5},
                   "claims": {}} for i in range(4)}
    summary = sweep_report.summarize(plan, records)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (path,) = sweep_report.draw(summary, tmp_path / "plots")
    assert path.name == "value_vs_steps.png" and path.stat().st_size > 0


@pytest.mark.slow
def test_a_small_sweep_with_a_killed_worker_prints_no_warnings(tmp_path):
    """The console script, two pool workers, one of which is SIGKILLed: stderr has the sweep's own lines only
    (a killed worker used to leave multiprocessing's resource_tracker warning about leaked semaphores)."""
    code = textwrap.dedent(f"""
        import sys
        from nnlab.sweep import executors as e
        import test_hostile_sweep as t
        e.run_point = t.work  # the pool's work when none is given, looked up as the pool is made
        from nnlab.cli import main
        sys.argv = ["nnlab", "sweep", "optimize", "--grid", "lr=0.01,0.1", "--seeds", "0,1", "--quick",
                    "--problem", "quadratic", "--workers", "2", "--out", {str(tmp_path)!r}]
        main()
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(TESTS)]), "NNLAB_FIGURE_WORKERS": "0"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=HUNG_S)
    assert "SIGKILL" in result.stderr, result.stderr
    assert [line for line in result.stderr.splitlines() if "warning" in line.lower()] == [], result.stderr
