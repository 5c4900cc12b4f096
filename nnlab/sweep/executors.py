"""Running a sweep's runs: one function runs one grid point x seed through the core runner and returns a
small record; executors map it over the tasks.

    run_point(task) -> record    the only code that runs an experiment, whichever executor calls it
    SerialExecutor               one after another, in this process (--workers 1)
    PoolExecutor                 a local process pool ('spawn' context: no fork after torch is imported)
    RayExecutor                  Ray tasks, on a local Ray that starts and stops with the sweep or a cluster

Every executor has `start()` (connects; raises UserError before anything runs), `run(tasks, on_record)`
and `close()`. `run` calls `on_record(record)` as each run ends; at Ctrl-C (KeyboardInterrupt) it cancels
the runs that have not started, lets the started ones close as `interrupted`, reports them, and re-raises.

A record: {"index", "point", "seed", "status", "error", "path" (relative to the sweep directory),
"headline" {name: number}, "claims" {id: holds}, "elapsed_s", "host"} and, for a run made on a machine
that cannot see the sweep directory, "archive": its run directory as tar.gz bytes, unpacked by the driver.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import socket
import tarfile
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nnlab.core.errors import UserError

ID_FILE = ".sweep-id"          # in the sweep directory; a task that cannot read it ships its run back
MAX_ARCHIVE = 256 * 2**20      # bytes: a bigger run directory stays on the machine it ran on
DONE = ("completed", "diverged")  # statuses whose numbers count (a diverged run is a result)

# In a pool worker: set once Ctrl-C reached it; tasks already queued to it are then not started.
_worker = {"in_pool": False, "stop": False, "busy": False}


@dataclass(frozen=True)
class Task:
    """One run of a sweep: grid point `point` with seed `seed`. Small and picklable (it travels to workers)."""

    index: int
    point: int
    seed: int
    command: str
    options: dict[str, Any]       # the command's options and the point's grid values, as given
    recipe: str | None
    quick: bool
    set_pairs: tuple[str, ...]
    sweep_dir: str                # absolute
    sweep_id: str
    threads: int = 0              # torch threads for this run (0: leave as they are)

    @property
    def tag(self) -> str:
        return f"p{self.point}-s{self.seed}"

    def argv(self) -> list[str]:
        """An equivalent command line (recorded in the run's meta.json)."""
        argv = ["nnlab", self.command, *(["--recipe", self.recipe] if self.recipe else []),
                *(["--quick"] if self.quick else [])]
        for key, value in self.options.items():  # lists as JSON, which --set reads as YAML
            argv += ["--set", f"{key}={json.dumps(value) if isinstance(value, list) else value}"]
        for pair in self.set_pairs:
            argv += ["--set", pair]
        return [*argv, "--seed", str(self.seed)]


def run_point(task: Task) -> dict[str, Any]:
    """Run `task` through the core runner and return its record; never raises for a failed run."""
    from nnlab.core import console
    from nnlab.core.record import claims_held, summary_numbers
    from nnlab.core.runner import Request, RunInterrupted, execute

    if _worker["stop"]:
        return interrupted_record(task, "cancelled before it started")
    shared = _sees(task)
    out = Path(task.sweep_dir) if shared else Path(tempfile.mkdtemp(prefix="nnlab-sweep-"))
    record: dict[str, Any] = {"index": task.index, "point": task.point, "seed": task.seed, "status": "failed",
                              "error": None, "path": None, "headline": {}, "claims": {},
                              "host": socket.gethostname()}
    request = Request(task.command, {**task.options, "seed": task.seed}, recipe=task.recipe, quick=task.quick,
                      set_pairs=task.set_pairs, out=out, tag=task.tag, argv=task.argv())
    started = time.perf_counter()
    quiet, console.err.quiet = console.err.quiet, True  # no progress bars from inside a sweep
    try:
        with _threads(task.threads):
            _worker["busy"] = True
            try:
                outcome = execute(request, report=False)
            finally:
                _worker["busy"] = False
    except RunInterrupted:
        record.update(status="interrupted", error="interrupted")
    except KeyboardInterrupt:  # Ray's cancel of a running task, outside the run's own signal handling
        record.update(status="interrupted", error="interrupted")
    except Exception as exc:  # a bad value only the run could find, a bug: recorded, the sweep goes on
        record["error"] = str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
    else:
        record["status"] = outcome.status
        record["claims"] = claims_held(outcome.summary)
        try:
            record["headline"] = summary_numbers(task.command, outcome.summary)
        except UserError as exc:  # the command's numbers() cannot read its own summary: a bug, recorded
            record["error"] = str(exc)
    finally:
        console.err.quiet = quiet
    record["elapsed_s"] = round(time.perf_counter() - started, 3)
    if record["status"] == "interrupted" and _worker["in_pool"]:
        _worker["stop"] = True  # the pool may have queued more tasks to this worker: do not start them
    path = _find_run(out, task.command, task.tag)
    if path is not None:
        record["path"] = str(path.relative_to(out))
        if not shared:
            record["archive"] = _pack(path)
    if not shared:
        shutil.rmtree(out, ignore_errors=True)
    record["error"] = (record["error"] or "").splitlines()[0] if record["error"] else None  # one line
    return record


def unpack(record: dict[str, Any], sweep_dir: Path) -> None:
    """Put a run shipped back as an archive into the sweep directory (driver side); drops the bytes."""
    data = record.pop("archive", None)
    if not data or not record.get("path"):
        return
    target = (sweep_dir / record["path"]).parent
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        if hasattr(tarfile, "data_filter"):  # Python >= 3.10.12: refuse links and names outside `target`
            tar.extractall(target, filter="data")
        else:
            tar.extractall(target)  # our own archive, made by run_point


def _sees(task: Task) -> bool:
    """Does this process see the sweep directory (same machine, or a shared --out)?"""
    with contextlib.suppress(OSError):
        return (Path(task.sweep_dir) / ID_FILE).read_text(encoding="utf-8").strip() == task.sweep_id
    return False


def _find_run(out: Path, command: str, tag: str) -> Path | None:
    """The newest run directory of `command` tagged `tag` under `out` (a failed run raises before returning it)."""
    parent = out / command
    if not parent.is_dir():
        return None
    runs = [p for p in parent.iterdir() if p.is_dir() and not p.is_symlink()
            and (p.name.endswith(f"-{tag}") or f"-{tag}-" in p.name)]
    return max(runs, key=lambda p: p.stat().st_mtime, default=None)


def _pack(path: Path) -> bytes | None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(path, arcname=path.name)
    data = buffer.getvalue()
    return data if len(data) <= MAX_ARCHIVE else None


@contextlib.contextmanager
def _threads(n: int):
    if n <= 0:
        yield
        return
    from nnlab.core.device import thread_limit

    with thread_limit(n):
        yield


def interrupted_record(task: Task, why: str) -> dict[str, Any]:
    return {"index": task.index, "point": task.point, "seed": task.seed, "status": "interrupted", "error": why,
            "path": None, "headline": {}, "claims": {}, "elapsed_s": 0.0, "host": None}


def failed_record(task: Task, exc: BaseException) -> dict[str, Any]:
    record = interrupted_record(task, f"{type(exc).__name__}: {exc}".splitlines()[0])
    record["status"] = "failed"
    return record


OnRecord = Callable[[dict[str, Any]], None]


# ----------------------------------------------------------------------------------------------------
# Executors


class SerialExecutor:
    """Runs tasks one after another in this process: no pool, no re-import of torch."""

    name = "serial"

    def start(self) -> None:
        pass

    def run(self, tasks: Sequence[Task], on_record: OnRecord) -> None:
        for task in tasks:
            record = run_point(task)  # Ctrl-C inside a run: the runner closes it, the record says interrupted
            on_record(record)
            if record["status"] == "interrupted":
                raise KeyboardInterrupt

    def close(self) -> None:
        pass


def _stop_worker(signum: int, frame: Any) -> None:
    """Ctrl-C in a pool worker outside a run's own handler: no new runs; one being set up (imports, data
    checks, before its directory exists) stops now."""
    _worker["stop"] = True
    if _worker["busy"]:
        raise KeyboardInterrupt


def _init_worker(threads: int) -> None:
    """A pool worker: its own process group (the driver forwards Ctrl-C once); Ctrl-C between runs marks it
    stopped (a run installs its own handler), BLAS/OpenMP threads limited before torch is imported."""
    if hasattr(os, "setpgrp"):
        os.setpgrp()
    _worker["in_pool"] = True
    signal.signal(signal.SIGINT, _stop_worker)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)


class PoolExecutor:
    """A local process pool of `workers`, each run with `threads` torch threads (cores // workers)."""

    name = "local"

    def __init__(self, workers: int, threads: int):
        self.workers, self.threads = workers, threads
        self.pool: Any = None

    def start(self) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # 'spawn': a fresh interpreter per worker; forking a process that imported torch can deadlock.
        self.pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_init_worker, initargs=(self.threads,))

    def run(self, tasks: Sequence[Task], on_record: OnRecord) -> None:
        from concurrent.futures import FIRST_COMPLETED, wait

        futures = {self.pool.submit(run_point, t): t for t in tasks}
        pending = set(futures)

        def report(done: set) -> None:
            for future in done:
                task = futures[future]
                if future.cancelled():
                    on_record(interrupted_record(task, "cancelled before it started"))
                    continue
                try:
                    on_record(future.result())
                except Exception as exc:  # the worker died (BrokenProcessPool, out of memory)
                    on_record(failed_record(task, exc))

        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                report(done)
        except KeyboardInterrupt:
            for future in pending:
                future.cancel()  # succeeds for runs that have not started
            self._signal_workers(signal.SIGINT)  # started runs stop at their next safe point, closed
            try:
                done, _ = wait(pending)
            except KeyboardInterrupt:  # a second Ctrl-C: stop the runs now (the runner still closes them)
                self._signal_workers(signal.SIGINT)
                done, _ = wait(pending)
            report(done)
            raise

    def _signal_workers(self, signum: int) -> None:
        for process in list(getattr(self.pool, "_processes", {}).values()):
            with contextlib.suppress(OSError, AttributeError, TypeError):
                os.kill(process.pid, signum)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None


def check_address(address: str) -> None:
    """Fail fast, in one line, on an address nothing listens at ('auto' is left to Ray)."""
    if address == "auto":
        return
    hostport = address.removeprefix("ray://")
    host, sep, port = hostport.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise UserError(f"--address: expected auto, HOST:PORT or ray://HOST:PORT, got {address!r}")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=5):
            pass
    except OSError as exc:
        raise UserError(f"--address {address}: cannot reach a Ray cluster there ({exc.strerror or exc})") from None


class RayExecutor:
    """Ray tasks, one CPU each (and one GPU when the runs ask for cuda). Without `address` a local Ray with
    `workers` CPUs starts in start() and stops in close(); with one, the sweep joins that cluster."""

    name = "ray"

    def __init__(self, workers: int, address: str | None, gpus: float = 0):
        self.workers, self.address, self.gpus = workers, address, gpus
        self.ray: Any = None

    def start(self) -> None:
        import logging

        if self.address is not None:
            check_address(self.address)
        try:
            import ray
        except ImportError:
            raise UserError("--executor ray needs Ray: pip install 'nnlab[ray]'") from None
        # Local workers import the nnlab the driver runs (a source checkout may shadow an installed one).
        root = str(Path(__file__).resolve().parents[2])
        env = {"PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                  "logging_level": logging.WARNING}
        try:
            if self.address is None:
                ray.init(num_cpus=self.workers, runtime_env={"env_vars": env}, **kwargs)
            else:
                ray.init(address=self.address, **kwargs)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = f" at {self.address}" if self.address else ""
            raise UserError(f"--executor ray: cannot start or join Ray{where} ({str(exc).splitlines()[0]})") from None
        self.ray = ray

    def run(self, tasks: Sequence[Task], on_record: OnRecord) -> None:
        ray = self.ray
        remote = ray.remote(run_point).options(num_cpus=1, num_gpus=self.gpus, max_retries=0)
        refs = {remote.remote(task): task for task in tasks}
        pending = list(refs)

        def report(done: list) -> None:
            for ref in done:
                try:
                    on_record(ray.get(ref))
                except ray.exceptions.TaskCancelledError:
                    on_record(interrupted_record(refs[ref], "cancelled"))
                except Exception as exc:  # the worker died
                    on_record(failed_record(refs[ref], exc))

        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                report(done)
        except KeyboardInterrupt:
            for ref in pending:  # not started: dropped; running: KeyboardInterrupt there, the runner closes it
                ray.cancel(ref)
            report(pending)
            raise

    def close(self) -> None:
        if self.ray is not None:
            self.ray.shutdown()  # stops a local Ray; disconnects from a cluster
            self.ray = None
