"""The console script's fixed costs: figures drawn by helper processes (core.figure_pool), and a way out
without the interpreter's teardown (cli.leave). Same pixels, same failures, nothing left behind."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from nnlab.core import figure_pool
from nnlab.core.run import read_run


def pixels(path: Path) -> np.ndarray:
    from matplotlib.image import imread

    return imread(path)


@pytest.fixture(scope="module")
def mnist_run(tmp_path_factory) -> Path:
    """A small finished train-mnist run, drawn in this process (the tests' CLI has no pool)."""
    import nnlab

    out = tmp_path_factory.mktemp("runs")
    result = nnlab.run("train-mnist", quick=True, out=out, train_samples=300, val_samples=200, test_samples=200)
    assert result.status == "completed"
    return result.path


def end(pool: figure_pool.FigurePool) -> None:
    """Close a pool and end its workers at once (they would otherwise finish starting up, then leave)."""
    procs = list(pool.procs)
    pool.close()
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()


@pytest.fixture
def pool():
    started = figure_pool.FigurePool()
    yield started
    end(started)


def test_workers_draw_the_in_process_pixels_sharing_the_figures_out(mnist_run, pool, tmp_path):
    summary = read_run(mnist_run)["summary"]
    paths = pool.draw("nnlab.commands.train_mnist.plots", summary, mnist_run, tmp_path)
    assert paths is not None  # the workers answered: nothing fell back to this process
    names = sorted(p.name for p in paths)
    assert names == ["confusion_matrix.png", "learning_curves.png", "misclassified.png"]
    for name in names:
        assert np.array_equal(pixels(tmp_path / name), pixels(mnist_run / "plots" / name)), name


def test_activations_figures_match_too(tmp_path, pool):
    import nnlab

    run = nnlab.run("activations", quick=True, out=tmp_path / "runs")
    drawn = pool.draw("nnlab.commands.activations.plots", run.summary, run.path, tmp_path / "again")
    assert drawn is not None and sorted(p.name for p in drawn) == sorted(p.name for p in run.figures)
    for path in drawn:
        assert np.array_equal(pixels(path), pixels(run.path / "plots" / path.name)), path.name


PRINTING = """
from functools import partial

from nnlab.core import plotting


def figure(name, plots_dir):
    print("drawing", name)  # a figure that prints must not garble the worker's replies
    fig, axes = plotting.subplots()
    axes[0, 0].plot([0, 1], [0, 1])
    return plotting.save(fig, plots_dir / name)


def parts(summary, metrics, plots_dir):
    return [partial(figure, name, plots_dir) for name in summary["names"]]


def draw(summary, metrics, plots_dir):
    return [part() for part in parts(summary, metrics, plots_dir)]
"""


def test_a_figure_that_prints_does_not_garble_the_workers_replies(tmp_path, mnist_run, monkeypatch):
    (tmp_path / "printing_plots.py").write_text(PRINTING)
    monkeypatch.syspath_prepend(str(tmp_path))  # the workers import with this process's path
    started = figure_pool.FigurePool()
    try:
        drawn = started.draw("printing_plots", {"names": ["a.png", "b.png"]}, mnist_run, tmp_path / "plots")
    finally:
        end(started)
    assert drawn is not None and sorted(p.name for p in drawn) == ["a.png", "b.png"]


def test_a_figure_error_fails_with_its_message(mnist_run, pool, tmp_path):
    summary = read_run(mnist_run)["summary"]
    del summary["errors"]  # the confusion matrix's title needs it
    job = pool.submit("nnlab.commands.train_mnist.plots", summary, mnist_run, tmp_path)
    with pytest.raises(figure_pool.FigureError, match="KeyError: 'errors'"):
        job.wait()
    assert job.done_at <= time.time()  # when the workers answered: the failed run's end


def test_jobs_handed_out_together_are_answered_in_order(mnist_run, pool, tmp_path):
    """nnlab lecture leaves one run's figures with the workers while the next run computes: jobs queue up,
    each gets its own answers, whichever is waited for first."""
    summary = read_run(mnist_run)["summary"]
    first = pool.submit("nnlab.commands.train_mnist.plots", summary, mnist_run, tmp_path / "a")
    second = pool.submit("nnlab.commands.train_mnist.plots", {**summary, "padding": "x" * 300_000}, mnist_run,
                         tmp_path / "b")
    assert sorted(p.parent.name for p in second.wait()) == ["b"] * 3  # reads the first job's answers on the way
    assert sorted(p.name for p in first.wait()) == ["confusion_matrix.png", "learning_curves.png", "misclassified.png"]
    assert {p.parent.name for p in first.wait()} == {"a"} and pool.jobs == []
    assert first.done_at <= second.done_at <= time.time()  # when the workers wrote the last figure of each
    for name in ("confusion_matrix.png", "learning_curves.png", "misclassified.png"):
        assert np.array_equal(pixels(tmp_path / "a" / name), pixels(tmp_path / "b" / name)), name


def test_a_dead_worker_leaves_the_drawing_to_this_process(mnist_run, pool, tmp_path):
    pool.procs[1].kill()
    pool.procs[1].wait(timeout=30)
    summary = read_run(mnist_run)["summary"]
    assert pool.draw("nnlab.commands.train_mnist.plots", summary, mnist_run, tmp_path) is not None
    pool.procs[0].kill()  # now none is left: the caller (runner.draw) is told to draw in-process
    pool.procs[0].wait(timeout=30)
    assert pool.draw("nnlab.commands.train_mnist.plots", read_run(mnist_run)["summary"], mnist_run, tmp_path) is None


SLOW_PLOTS = """
import time


def parts(summary, metrics, plots_dir):
    return [lambda: time.sleep(60)]  # one figure that keeps its worker busy
"""


def test_a_job_is_handed_out_while_its_worker_is_busy_drawing(mnist_run, tmp_path, monkeypatch):
    """A job carries the run's summary, up to ~1 MB: more than a pipe holds. The worker reads it while it
    draws (on its reading thread), so handing it out does not wait for the figure in progress (60 s)."""
    (tmp_path / "slow_plots.py").write_text(SLOW_PLOTS)
    monkeypatch.syspath_prepend(str(tmp_path))  # the workers get this process's sys.path
    pool = figure_pool.FigurePool(workers=1)
    try:
        pool.submit("slow_plots", {}, mnist_run, tmp_path)
        handed_out = threading.Event()
        big = {"padding": "x" * 2_000_000}
        threading.Thread(target=lambda: (pool.submit("slow_plots", big, mnist_run, tmp_path), handed_out.set()),
                         daemon=True).start()
        # without the reading thread the second job stays in the pipe until the first figure is done (60 s)
        assert handed_out.wait(timeout=30), "handing out a job waited for the worker to finish a figure"
    finally:
        end(pool)


def test_a_worker_dying_with_jobs_out_fails_them_all_for_this_process_to_draw(mnist_run, pool, tmp_path):
    summary = read_run(mnist_run)["summary"]
    jobs = [pool.submit("nnlab.commands.train_mnist.plots", summary, mnist_run, tmp_path / k) for k in "ab"]
    pool.procs[1].kill()
    pool.procs[1].wait(timeout=30)
    assert [job.wait() for job in jobs] == [None, None]  # the live worker's answers drained, the pool closed
    assert pool.procs == [] and pool.jobs == []


def test_workers_end_when_their_input_closes(pool):
    procs = list(pool.procs)
    pool.close()
    for proc in procs:
        assert proc.wait(timeout=60) == 0


CONSOLE = """
import json, sys
from nnlab import cli
from nnlab.core import figure_pool, runner
cli.start_figure_pool(["train-mnist"])
outcome = runner.execute(runner.Request("train-mnist", quick=True, out={out!r},
                                        options={{"train_samples": 300, "val_samples": 200, "test_samples": 200}}),
                         report=False)
print(json.dumps({{"status": outcome.status, "pool": figure_pool.active() is not None,
                  "matplotlib": "matplotlib" in sys.modules,
                  "figures": sorted(p.name for p in (outcome.path / "plots").iterdir())}}))
"""


@pytest.mark.slow
def test_the_console_script_never_imports_matplotlib_itself(tmp_path):
    proc = subprocess.run([sys.executable, "-c", CONSOLE.format(out=str(tmp_path))], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["status"] == "completed" and seen["pool"]
    assert not seen["matplotlib"], "the main process drew a figure itself"
    assert seen["figures"] == ["confusion_matrix.png", "learning_curves.png", "misclassified.png"]


LEAVE = """
import atexit, sys
atexit.register(lambda: open({marker!r}, "w").write("ran"))
from nnlab.cli import leave
print("flushed", end="")  # still in the buffer when leave() is called
leave({code})
"""


@pytest.mark.parametrize("code, status, stderr", [("3", 3, ""), ("None", 0, ""), ("'a message'", 1, "a message")])
def test_leave_runs_atexit_flushes_and_exits_with_sys_exit_codes(tmp_path, code, status, stderr):
    marker = tmp_path / "atexit"
    script = LEAVE.format(marker=str(marker), code=code)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == status
    assert proc.stdout == "flushed" and proc.stderr.strip() == stderr
    assert marker.read_text() == "ran"


def test_leave_waits_for_a_running_thread(tmp_path):
    marker = tmp_path / "thread"
    script = (f"import threading, time\nfrom nnlab.cli import leave\n"
              f"def work():\n    time.sleep(0.5)\n    open({str(marker)!r}, 'w').write('done')\n"
              f"threading.Thread(target=work).start()\nleave(0)\n")
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert marker.read_text() == "done" and time.perf_counter() - start >= 0.5


@pytest.mark.parametrize("setting, workers", [("", 2), ("0", 0), ("3", 3), ("many", 2)])
def test_the_number_of_workers_comes_from_the_environment(monkeypatch, setting, workers):
    monkeypatch.setenv(figure_pool.WORKERS_ENV, setting)
    monkeypatch.setattr(figure_pool, "_pool", None)
    figure_pool.start()
    started = figure_pool.active()
    try:
        assert (len(started.procs) if started else 0) == workers
    finally:
        if started:
            end(started)


def test_stop_ends_the_workers_at_once(monkeypatch):
    monkeypatch.setenv(figure_pool.WORKERS_ENV, "2")
    monkeypatch.setattr(figure_pool, "_pool", None)
    figure_pool.start()
    procs = list(figure_pool.active().procs)
    figure_pool.stop()  # while they are still importing matplotlib
    assert figure_pool.active() is None
    for proc in procs:
        assert proc.wait(timeout=30) != 0  # ended by a signal, not by finishing
