"""Executors map a sweep's tasks over workers; each task is run by nnlab.sweep.point.run_point.

    SerialExecutor               one after another, in this process (--workers 1)
    PoolExecutor                 local worker processes ('spawn': no fork after torch is imported), one run
                                 at a time each; warm: a worker imports torch and the command's code once,
                                 before its first run, then runs task after task; a worker that dies fails its
                                 own run and is replaced (by a fresh worker, warmed in turn) while runs remain
    RayExecutor                  Ray tasks, on a local Ray that starts and stops with the sweep or a cluster;
                                 each record names the Ray node it ran on; a node lost mid-run fails its runs

Every executor has `start()` (connects; raises UserError before anything runs), `run(tasks, on_record)`
and `close()`. `run` calls `on_record(record)` as each run ends; at Ctrl-C (KeyboardInterrupt) it cancels
the runs that have not started, lets the started ones close as `interrupted`, reports them, and re-raises.
The names of nnlab.sweep.point (Task, run_point, unpack, the records) are importable from here too.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from nnlab.core.errors import UserError
from nnlab.sweep.point import (  # noqa: F401  (re-exported: the driver, the CLI and the tests use them here)
    DONE,
    ID_FILE,
    MAX_ARCHIVE,
    SHIP_ENV,
    Task,
    _worker,
    check_files,
    failed_record,
    interrupted_record,
    manifest,
    run_point,
    unpack,
    warm_up,
)

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


def _exit_now() -> None:
    """A pool worker's last exit handler: end without the interpreter's teardown of torch's and matplotlib's
    modules, which the sweep's close() waits for (a warm worker's shutdown took 0.74 s, with this 0.03 s).
    multiprocessing has run its own finalizers by then; a worker ends this way only once the pool is done."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(0)


def _init_worker(threads: int, parent_pid: int) -> None:
    """A pool worker: its own process group (the driver forwards Ctrl-C once); Ctrl-C between runs marks it
    stopped (a run installs its own handler), BLAS/OpenMP threads limited before torch is imported; SIGTERM
    when the driver dies (core.parent_watch: a run closes as interrupted, no worker outlives the sweep); a
    quick exit (_exit_now: registered first, the exit handlers run it last)."""
    import atexit

    from nnlab.core.parent_watch import die_with_parent

    atexit.register(_exit_now)
    if hasattr(os, "setpgrp"):
        os.setpgrp()
    die_with_parent(parent_pid)
    _worker["in_pool"] = True
    signal.signal(signal.SIGINT, _stop_worker)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)


def death_line(exitcode: int | None) -> str:
    """Why a worker process ended, in words: 'killed by SIGKILL', 'exited with code 1'."""
    if exitcode is None:
        return "ended (no exit status)"
    if exitcode < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-exitcode).name}"
        return f"killed by signal {-exitcode}"
    return f"exited with code {exitcode}"


class _Slot:
    """One worker of the pool: a one-process ProcessPoolExecutor holding at most one task. A pool of one, so
    that a worker's death (SIGKILL, out of memory) breaks only its own run: a shared pool, once broken, fails
    every pending run and terminates its other workers. The process lives for the whole sweep; with `warm`
    (a command name) its first job is point.warm_up (the imports that command's runs need), so that start-up
    is paid once per worker and stays out of every run's elapsed_s."""

    def __init__(self, threads: int, warm: str | None = None):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # 'spawn': a fresh interpreter per worker; forking a process that imported torch can deadlock.
        self.pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_init_worker, initargs=(threads, os.getpid()))
        self.task: Task | None = None
        self.process: Any = None  # the worker's multiprocessing.Process, once started (its exit code)
        # A failed warm-up (an import error) is the first run's failure: that run raises the same error.
        self.warming = self._submit(warm_up, warm) if warm else None

    def _submit(self, fn: Callable[..., Any], arg: Any) -> Any:
        future = self.pool.submit(fn, arg)
        if self.process is None:  # the pool starts its worker in its first submit()
            self.process = next(iter(getattr(self.pool, "_processes", {}).values()), None)
        return future

    def submit(self, work: Callable[[Task], dict[str, Any]], task: Task) -> Any:
        self.task = task
        return self._submit(work, task)

    def pid(self) -> int | None:
        return getattr(self.process, "pid", None)

    def exitcode(self) -> int | None:
        """The dead worker's exit status (-N: signal N). The pool's own thread reaps it too: when that thread
        wins, our wait finds no child and the status appears once that thread has stored it."""
        if self.process is None:
            return None
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                self.process.join(timeout=0.1)
                if self.process.exitcode is not None:
                    return self.process.exitcode
            time.sleep(0.01)
        return None

    def close(self, wait: bool) -> None:
        self.pool.shutdown(wait=wait, cancel_futures=True)


class PoolExecutor:
    """A local pool of `workers` processes, each run with `threads` torch threads (cores // workers). A worker
    that dies fails the run it held, with the signal, and is replaced; the other runs go on. With `warm` (the
    swept command) every worker, the replacements too, imports its code once before its first run."""

    name = "local"

    def __init__(self, workers: int, threads: int, work: Callable[[Task], dict[str, Any]] | None = None,
                 warm: str | None = None):
        self.workers, self.threads, self.warm = workers, threads, warm
        self.work = work or run_point  # what a worker does with a task (tests give a picklable stand-in)
        self.slots: list[_Slot] = []

    def start(self, ahead: int = 0) -> None:
        """`ahead` workers (at most `workers`) made now, warming while the caller prepares the runs (the lecture
        plans its experiments meanwhile); the others made by run() as tasks need them: none warming for nothing.
        Call it from the thread that calls run() (a worker's death-with-parent signal is tied to that thread)."""
        self.slots = [_Slot(self.threads, self.warm) for _ in range(min(ahead, self.workers))]

    def run(self, tasks: Sequence[Task], on_record: OnRecord) -> None:
        from concurrent.futures import FIRST_COMPLETED, wait
        from concurrent.futures.process import BrokenProcessPool

        queue = list(reversed(tasks))  # pop() takes the next task in plan order
        running: dict[Any, _Slot] = {}  # future -> the slot running it

        def fill() -> None:
            for slot in self.slots:
                if queue and slot.task is None:
                    running[slot.submit(self.work, queue.pop())] = slot
            # A worker is made only for a task waiting (no more workers than runs; a dead one is replaced only
            # while runs remain), here, in the thread that runs the sweep and outlives its runs: a worker's
            # death-with-parent signal is tied to the thread that started it (core.parent_watch).
            while queue and len(self.slots) < self.workers:
                self.slots.append(_Slot(self.threads, self.warm))
                running[self.slots[-1].submit(self.work, queue.pop())] = self.slots[-1]

        def report(done: set) -> None:
            for future in done:
                slot = running.pop(future)
                task, slot.task = slot.task, None
                try:
                    on_record(future.result())
                except BrokenProcessPool:  # its worker died: this run fails, a fresh worker takes the slot
                    record = interrupted_record(task, f"the worker process (pid {slot.pid()}) "
                                                      f"{death_line(slot.exitcode())} during the run")
                    record["status"] = "failed"
                    self._replace(slot)
                    on_record(record)
                except Exception as exc:  # the record did not come back (unpicklable, a bug): recorded
                    on_record(failed_record(task, exc))

        try:
            fill()
            while running:
                done, _ = wait(set(running), return_when=FIRST_COMPLETED)
                report(done)
                fill()
        except KeyboardInterrupt:
            for task in reversed(queue):  # not started: reported as such
                on_record(interrupted_record(task, "cancelled before it started"))
            queue.clear()
            self._signal_workers(signal.SIGINT)  # started runs stop at their next safe point, closed
            try:
                done, _ = wait(set(running))
            except KeyboardInterrupt:  # a second Ctrl-C: stop the runs now (the runner still closes them)
                self._signal_workers(signal.SIGINT)
                done, _ = wait(set(running))
            report(done)
            raise

    def _replace(self, slot: _Slot) -> None:
        """Drop a dead worker's slot; fill() makes a fresh (warm) worker if runs remain."""
        slot.close(wait=False)
        self.slots.remove(slot)

    def _signal_workers(self, signum: int) -> None:
        for slot in self.slots:
            if slot.task is not None and slot.pid() is not None:
                with contextlib.suppress(OSError):
                    os.kill(slot.pid(), signum)

    def close(self) -> None:
        for slot in self.slots:
            slot.close(wait=True)
        self.slots = []


def ray_point(task: Task) -> dict[str, Any]:
    """run_point as a Ray task: the record also names the Ray node that ran it."""
    import ray

    record = run_point(task)
    record["node"] = ray.get_runtime_context().get_node_id()
    return record


def lost_record(task: Task, exc: BaseException) -> dict[str, Any]:
    """A failed record for a Ray task whose result never came back, in one line: the worker process or the
    node died (Ray's own message, first line), or another error."""
    record = failed_record(task, exc)
    kind = type(exc).__name__
    if kind in ("WorkerCrashedError", "NodeDiedError", "LocalRayletDiedError", "ObjectLostError",
                "OwnerDiedError", "RaySystemError"):
        record["error"] = f"the Ray worker or node running it was lost during the run ({kind})"
    return record


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
        # max_retries=0: a run lost with its worker or node is recorded failed, its line says so, and --resume
        # runs it again.
        remote = ray.remote(ray_point).options(num_cpus=1, num_gpus=self.gpus, max_retries=0)
        refs = {remote.remote(task): task for task in tasks}
        pending = list(refs)

        def report(done: list) -> None:
            for ref in done:
                task = refs.pop(ref)  # its result is let go once read: archives do not pile up in Ray's store
                try:
                    record = ray.get(ref)
                except ray.exceptions.TaskCancelledError:
                    record = interrupted_record(task, "cancelled")
                except Exception as exc:  # the worker or its node died
                    record = lost_record(task, exc)
                on_record(record)
            done.clear()

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
