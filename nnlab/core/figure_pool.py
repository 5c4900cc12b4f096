"""Figures drawn by helper processes, so that the `nnlab` command never waits for matplotlib's import.

The console script starts the pool before anything else (cli.main): each worker is a fresh Python that
imports matplotlib and nnlab's plotting setup, then draws one throwaway figure (fonts, glyph caches) while
the main process imports torch on the other core (torch's import is single-threaded, ~1.5 s). When a
run's summary is final, runner.draw hands the figures to the workers instead of drawing them itself: a
plots module with parts() (one callable per figure) has them shared out between the workers, which draw in
parallel; any other module is drawn whole by one worker. The workers run the same drawing code on the same
summary and metrics, so the PNG files are the ones an in-process draw writes (tests/test_figure_pool.py).

Only the console script starts a pool ($NNLAB_FIGURE_WORKERS workers, default 2; 0: none). The Python API,
the tests' in-process CLI and `nnlab redraw` draw in their own process. A worker that is gone (killed, out of
memory) costs nothing but speed: its figures are drawn in-process instead. An error inside a figure function
fails the run as it would in-process.

Protocol, one JSON line each way: {"plots": module, "summary": {...}, "run": dir, "plots_dir": dir,
"share": k, "of": n} -> {"paths": [...]} or {"error": "Type: message"}. A worker ignores SIGINT (the main
process handles Ctrl-C for the whole command) and exits when its stdin closes: when the main process
ends, however it ends.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

WORKERS = 2  # a 2-core laptop's second core; three or more figures split in two halves
WORKERS_ENV = "NNLAB_FIGURE_WORKERS"
PATH_ENV = "NNLAB_FIGURE_WORKER_PATH"  # the main process's sys.path, handed to its workers
_pool: FigurePool | None = None


class FigureError(Exception):
    """A figure function raised inside a worker: the run fails with its message, as an in-process draw would."""


class FigurePool:
    """`workers` helper processes, each answering one drawing job at a time over its stdin/stdout pipes."""

    def __init__(self, workers: int = WORKERS):
        # this process's own import path: the workers import the same nnlab and libraries it does
        env = {**os.environ, PATH_ENV: json.dumps(sys.path)}
        code = (f"import json, os, sys; sys.path[:] = json.loads(os.environ[{PATH_ENV!r}]); "
                "from nnlab.core.figure_pool import serve; serve()")
        self.procs = [
            subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, env=env, text=True, encoding="utf-8")
            for _ in range(workers)
        ]

    def draw(self, plots: str, summary: dict[str, Any], run_dir: Path, plots_dir: Path) -> list[Path] | None:
        """Draw `plots`' figures of this run on the workers; None when no worker answered (draw in-process)."""
        job = {"plots": plots, "summary": summary, "run": str(run_dir), "plots_dir": str(plots_dir)}
        live = [p for p in self.procs if p.poll() is None]
        if not live:
            return self._give_up([])
        sent = []
        for k, proc in enumerate(live):
            try:
                proc.stdin.write(json.dumps({**job, "share": k, "of": len(live)}) + "\n")
                proc.stdin.flush()
                sent.append(proc)
            except (OSError, ValueError):  # gone since poll(): its share is missing, so draw everything here
                return self._give_up(sent)
        paths, errors = [], []
        try:
            for proc in sent:
                line = proc.stdout.readline()
                if not line:  # died while drawing
                    return self._give_up([])
                reply = json.loads(line)
                if "error" in reply:
                    errors.append(reply["error"])
                else:
                    paths += [Path(p) for p in reply["paths"]]
        except BaseException:  # a stop (Ctrl-C) while waiting: answers may still come, so no job may follow
            self.close()
            raise
        if errors:
            raise FigureError(f"drawing the figures of {plots.rsplit('.', 1)[-1]}: {errors[0]}")
        return paths

    def _give_up(self, sent: list[subprocess.Popen]) -> None:
        for proc in sent:  # drain the answers of the shares already handed out, so the pipes stay in step
            proc.stdout.readline()
        self.close()
        return None

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


# ----------------------------------------------------------------------------------------------------
# The worker


def shares(module: Any, summary: dict[str, Any], metrics: list[dict[str, Any]], plots_dir: Path) -> list:
    """The drawing jobs of one run: one per figure where the plots module lists them, else its whole draw()."""
    if hasattr(module, "parts"):
        return module.parts(summary, metrics, plots_dir)
    return [lambda: module.draw(summary, metrics, plots_dir)]


def serve() -> None:
    import importlib
    import io
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group; the main process acts
    if hasattr(os, "nice"):  # POSIX
        with contextlib.suppress(OSError):
            # below the main process: the workers' start-up (~0.8 s of CPU each) is meant for the core that the
            # main process's single-threaded start leaves idle, not for the cores its training uses
            os.nice(10)
    replies, sys.stdout = sys.stdout, sys.stderr  # a figure that prints cannot garble the replies
    from nnlab.core import plotting
    from nnlab.core.run import read_run

    fig, axes = plotting.subplots()  # warm up: fonts, glyphs, the PNG writer
    axes[0, 0].plot([0, 1], [0, 1], label="warm-up")
    axes[0, 0].legend()
    fig.savefig(io.BytesIO(), format="png")
    plotting.close(fig)
    for line in sys.stdin:
        job = json.loads(line)
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
        replies.write(json.dumps(reply) + "\n")
        replies.flush()
