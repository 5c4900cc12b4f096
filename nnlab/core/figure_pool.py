"""Figures drawn by helper processes, so that the `nnlab` command never waits for matplotlib's import.

The console script starts the pool before anything else (cli.main): each worker is a fresh Python that
imports matplotlib and nnlab's plotting setup, then draws one throwaway figure (fonts, glyph caches) while
the main process imports torch on the other core (torch's import is single-threaded, ~1.5 s). When a
run's summary is final, runner.draw hands the figures to the workers instead of drawing them itself: a
plots module with parts() (one callable per figure) has them shared out between the workers, which draw in
parallel; any other module is drawn whole by one worker. The workers run the same drawing code on the same
summary and metrics, so the PNG files are the ones an in-process draw writes (tests/test_figure_pool.py).
`nnlab lecture` does not wait: it submits a run's figures and computes the next run meanwhile
(runner.start); jobs queue up in the workers, which answer them in order.

Only the console script starts a pool ($NNLAB_FIGURE_WORKERS workers, default 2; 0: none). The Python API,
the tests' in-process CLI and `nnlab redraw` draw in their own process. A worker that is gone (killed, out of
memory) costs nothing but speed: its figures are drawn in-process instead. An error inside a figure function
fails the run as it would in-process.

Protocol, one JSON line each way: {"plots": module, "summary": {...}, "run": dir, "plots_dir": dir,
"share": k, "of": n} -> {"paths": [...], "done": time} or {"error": "Type: message", "done": time}. A worker
reads its jobs as they come (a job can outgrow the pipe's buffer), ignores SIGINT (the main
process handles Ctrl-C for the whole command) and exits when its stdin closes, or when the main process
dies even though its stdin stays open (a process forked from the main one holds the pipe): SIGTERM from
core.parent_watch. At SIGTERM a worker ends at once; the figure it was writing leaves no temporary file
(core.atomic removes it). A worker killed outright (SIGKILL, out of memory) may leave one, a hidden
`.<name>.XXXXXXXX.png` in the run's plots/: each worker notes the plots folder it draws into in
LEFTOVERS_DIR/<pid>, and the next pool's start (the next command that draws) removes the temporary PNGs
of the workers that died there.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from nnlab.core.parent_watch import process_alive

WORKERS = 2  # a 2-core laptop's second core; three or more figures split in two halves
WORKERS_ENV = "NNLAB_FIGURE_WORKERS"
PATH_ENV = "NNLAB_FIGURE_WORKER_PATH"  # the main process's sys.path, handed to its workers
PARENT_ENV = "NNLAB_FIGURE_WORKER_PARENT"  # the main process's pid: a worker dies with it (core.parent_watch)
# a worker's note of the plots folder it draws into, one file per worker pid, in this user's own folder (None:
# <the system's temporary folder>/nnlab-figure-workers-<uid>, found when first used: tempfile costs 5 ms to import)
LEFTOVERS_DIR: Path | None = None
TEMP_PNG = re.compile(r"\..+\.[a-z0-9_]{8}\.png")  # core.atomic's mkstemp name for `<name>.png`
_pool: FigurePool | None = None


class FigureError(Exception):
    """A figure function raised inside a worker: the run fails with its message, as an in-process draw would."""


class Job:
    """One run's figures handed to the workers (FigurePool.submit); wait() for them."""

    def __init__(self, pool: FigurePool, procs: list[subprocess.Popen], plots: str):
        self.pool, self.procs, self.plots = pool, procs, plots
        self.replies: list[dict[str, Any]] | None = None  # one a worker, once read; None until then
        self.failed = False  # a worker died or was given up on: draw this job in-process
        self.done_at: float | None = None  # time.time() when the last share was written

    def wait(self) -> list[Path] | None:
        """The figures' paths, once every share is drawn; None when a worker is gone (the caller draws them
        itself). Raises FigureError for an error inside a figure function."""
        self.pool._collect(self)
        if self.failed:
            return None
        self.done_at = max(r.get("done", 0.0) for r in self.replies)  # also when a figure failed: the run's end
        errors = [r["error"] for r in self.replies if "error" in r]
        if errors:
            raise FigureError(f"drawing the figures of {self.plots.rsplit('.', 1)[-1]}: {errors[0]}")
        return [Path(p) for r in self.replies for p in r["paths"]]


class FigurePool:
    """`workers` helper processes, each answering drawing jobs in the order they were handed out, one at a
    time, over its stdin/stdout pipes. Several jobs may be out at once (nnlab lecture draws one run's figures
    while the next run computes); their answers are read in that order."""

    def __init__(self, workers: int = WORKERS):
        sweep_leftovers()
        # this process's own import path: the workers import the same nnlab and libraries it does
        env = {**os.environ, PATH_ENV: json.dumps(sys.path), PARENT_ENV: str(os.getpid())}
        code = (f"import json, os, sys; sys.path[:] = json.loads(os.environ[{PATH_ENV!r}]); "
                "from nnlab.core.figure_pool import serve; serve()")
        self.procs = [
            subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, env=env, text=True, encoding="utf-8")
            for _ in range(workers)
        ]
        self.jobs: list[Job] = []  # handed out and not yet read back, oldest first

    def draw(self, plots: str, summary: dict[str, Any], run_dir: Path, plots_dir: Path) -> list[Path] | None:
        """Draw `plots`' figures of this run on the workers and wait; None when no worker answered (draw
        in-process)."""
        job = self.submit(plots, summary, run_dir, plots_dir)
        return None if job is None else job.wait()

    def submit(self, plots: str, summary: dict[str, Any], run_dir: Path, plots_dir: Path) -> Job | None:
        """Hand `plots`' figures of this run to the workers, split between them, and return at once; None when
        no worker is left (draw in-process)."""
        live = [p for p in self.procs if p.poll() is None]
        if not live:
            self._give_up()
            return None
        job = Job(self, live, plots)
        base = {"plots": plots, "summary": summary, "run": str(run_dir), "plots_dir": str(plots_dir)}
        for k, proc in enumerate(live):
            try:
                proc.stdin.write(json.dumps({**base, "share": k, "of": len(live)}) + "\n")
                proc.stdin.flush()
            except (OSError, ValueError):  # gone since poll(): its share is missing, so draw everything here
                job.procs = live[:k]
                self.jobs.append(job)
                self._give_up()
                return None
        self.jobs.append(job)
        return job

    def _collect(self, job: Job) -> None:
        """Read the answers of every job handed out before `job`, then of `job` (each worker answers in order)."""
        try:
            while job.replies is None and not job.failed:
                if not self.jobs:  # given up on by an earlier stop
                    job.failed = True
                    break
                oldest = self.jobs[0]
                replies = [proc.stdout.readline() for proc in oldest.procs]
                self.jobs.pop(0)
                if not all(replies):  # a worker died while drawing: its answers will never come
                    oldest.failed = True
                    self._give_up()
                else:
                    oldest.replies = [json.loads(line) for line in replies]
        except BaseException:  # a stop (Ctrl-C) while waiting: answers may still come, so no job may follow
            self._fail_all()
            raise

    def _give_up(self) -> None:
        """Stop using the workers: drain the answers of every job out (the pipes stay in step and no worker
        is still writing a figure the caller will draw), close them, fail every unanswered job."""
        try:
            for job in self.jobs:
                for proc in job.procs:
                    with contextlib.suppress(OSError, ValueError):
                        proc.stdout.readline()
        finally:  # a stop while draining too: the pipes are out of step, so nothing more is read from them
            self._fail_all()

    def _fail_all(self) -> None:
        for job in self.jobs:
            job.failed = True
        self.jobs = []
        self.close()

    def close(self) -> None:
        for proc in self.procs:
            if proc.stdin and not proc.stdin.closed:
                with contextlib.suppress(OSError):
                    proc.stdin.close()
        self.procs = []


def start() -> None:
    """Start this process's pool (the console script does, for commands that draw): $NNLAB_FIGURE_WORKERS
    workers (default 2; 0 draws every figure in the main process, as the Python API does)."""
    global _pool
    text = os.environ.get(WORKERS_ENV, "").strip()
    workers = int(text) if text.isdigit() else WORKERS
    if workers == 0:
        return
    try:
        _pool = FigurePool(min(workers, 16))
    except OSError:  # no fork/exec here (a sandbox, a process limit): figures are drawn in-process
        _pool = None


def active() -> FigurePool | None:
    return _pool


def stop() -> None:
    """End the workers now (the command is over): a command refused at once leaves none importing matplotlib."""
    global _pool
    if _pool is not None:
        for proc in _pool.procs:
            with contextlib.suppress(OSError):
                proc.terminate()
        _pool = None


def shares(module: Any, summary: dict[str, Any], metrics: list[dict[str, Any]], plots_dir: Path) -> list:
    """The drawing jobs of one run: one per figure (every plots module lists its figures as parts(): the contract)."""
    return module.parts(summary, metrics, plots_dir)


# ----------------------------------------------------------------------------------------------------
# Temporary PNGs of workers that were killed


def _leftovers_dir(create: bool) -> Path | None:
    """LEFTOVERS_DIR when it is this user's own real folder (made 0700 if `create`), else None."""
    import stat
    import tempfile

    uid = os.getuid() if hasattr(os, "getuid") else None
    where = LEFTOVERS_DIR or Path(tempfile.gettempdir()) / f"nnlab-figure-workers-{uid or 0}"
    with contextlib.suppress(OSError):
        if create:
            where.mkdir(mode=0o700, exist_ok=True)
        info = where.lstat()
        if stat.S_ISDIR(info.st_mode) and (uid is None or info.st_uid == uid):
            return where
    return None


def sweep_leftovers() -> int:
    """Remove the temporary PNGs that dead workers left in the plots folders they noted; how many."""
    where = _leftovers_dir(create=False)
    removed = 0
    if where is None:
        return 0
    with contextlib.suppress(OSError):
        for note in where.iterdir():
            if not note.name.isdigit() or process_alive(int(note.name)):
                continue
            with contextlib.suppress(OSError, ValueError):
                plots_dir = Path(note.read_text(encoding="utf-8").strip())
                if plots_dir.is_absolute() and plots_dir.is_dir() and not plots_dir.is_symlink():
                    for tmp in plots_dir.iterdir():
                        if TEMP_PNG.fullmatch(tmp.name) and tmp.is_file() and not tmp.is_symlink():
                            tmp.unlink()
                            removed += 1
            with contextlib.suppress(OSError):
                note.unlink()
    return removed


def _note_plots_dir(plots_dir: str | None) -> None:
    """This worker draws into `plots_dir` now (None: it is done)."""
    where = _leftovers_dir(create=plots_dir is not None)
    if where is None:
        return
    note = where / str(os.getpid())
    with contextlib.suppress(OSError):
        if plots_dir is None:
            note.unlink(missing_ok=True)
        else:
            note.write_text(str(Path(plots_dir).resolve()), encoding="utf-8")


# ----------------------------------------------------------------------------------------------------
# The worker


def serve() -> None:
    try:
        _serve()
    except SystemExit:  # SIGTERM (stop(), or the main process died): the figure being saved left no temp file
        _note_plots_dir(None)
        os._exit(143)


def _sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(143)


def _serve() -> None:
    import importlib
    import io
    import queue
    import signal
    import threading

    from nnlab.core.parent_watch import die_with_parent

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group; the main process acts
    signal.signal(signal.SIGTERM, _sigterm)  # unwinds: core.atomic removes the temporary PNG being written
    parent = os.environ.get(PARENT_ENV, "")
    if parent.isdigit():
        die_with_parent(int(parent))
    if hasattr(os, "nice"):  # POSIX
        with contextlib.suppress(OSError):
            # below the main process: the workers' start-up (~0.8 s of CPU each) is meant for the core that the
            # main process's single-threaded start leaves idle, not for the cores its training uses
            os.nice(10)
    replies, sys.stdout = sys.stdout, sys.stderr  # a figure that prints cannot garble the replies
    # Jobs are read as they come, whatever this worker is drawing: a job (a run's summary) can outgrow the
    # pipe's buffer, and the main process must never wait to hand one out while its next run could compute.
    jobs: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        for line in sys.stdin:
            jobs.put(line)
        jobs.put(None)  # stdin closed: the main process is done with this worker

    threading.Thread(target=read, name="jobs", daemon=True).start()
    from nnlab.core import plotting
    from nnlab.core.run import read_run

    fig, axes = plotting.subplots()  # warm up: fonts, glyphs, the PNG writer
    axes[0, 0].plot([0, 1], [0, 1], label="warm-up")
    axes[0, 0].legend()
    fig.savefig(io.BytesIO(), format="png")
    plotting.close(fig)
    while (line := jobs.get()) is not None:
        job = json.loads(line)
        _note_plots_dir(job["plots_dir"])
        try:
            module = importlib.import_module(job["plots"])
            metrics = read_run(job["run"])["metrics"]
            mine = shares(module, job["summary"], metrics, Path(job["plots_dir"]))[job["share"]::job["of"]]
            paths: list[str] = []
            for draw in mine:
                drawn = draw()
                paths += [str(p) for p in (drawn if isinstance(drawn, list) else [drawn]) if p is not None]
            reply: dict[str, Any] = {"paths": paths}
        except Exception as exc:  # the figure's error, for the main process to fail the run with
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        reply["done"] = time.time()  # when this share was written: the run's end (runner.Ending)
        _note_plots_dir(None)  # nothing of this job is left half-written
        replies.write(json.dumps(reply) + "\n")
        replies.flush()
