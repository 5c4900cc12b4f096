"""Runs started from a page: each in its own worker process, the CLI itself (`python -m nnlab <command> ...
--out OUT`), so a run from the page is a normal run directory with the command line's numbers, the server
never waits on one, and a run that crashes (or is killed) takes only its own process down.

At most `workers` run at once; the rest wait in order, shown as `queued`. Cancel is SIGINT to the worker, as
Ctrl-C would be: the runner closes the run as `interrupted` (a queued job is just dropped). A job's states:
queued -> starting (the worker imports, no run directory yet) -> running (its directory exists) -> the run's
own status (completed, diverged, failed, interrupted), or `refused` (the worker refused its input: exit 2,
nothing written), `cancelled` (stopped before it had a directory), `crashed` (the worker died without closing).
"""

from __future__ import annotations

import collections
import itertools
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ACTIVE = ("queued", "starting", "running")
MAX_QUEUED = 200  # runs waiting at once; more are refused (a page cannot fill the memory with a queue)
KEEP_FINISHED = 500  # jobs remembered after they end (the runs themselves are on disk): memory stays bounded
LINES_KEPT = 40  # the worker's last output lines kept per job
RUN_DIRECTORY = re.compile(r"^run directory (.+)$")  # what core.runner prints first, on stderr


class QueueFull(RuntimeError):
    """No run can be queued now (the server is stopping, or the queue is full)."""


def default_launcher() -> list[str]:
    return [sys.executable, "-m", "nnlab"]


@dataclass
class Job:
    """One run asked for by a page."""

    id: str
    command: str
    args: list[str]  # after `nnlab <command>`, without --out
    cli: str  # the command line a person would type
    lang: str = "en"  # what its student reads (its figures): the page's ?lang=, given to the worker as NNLAB_LANG
    status: str = "queued"
    run_id: str | None = None  # <command>/<name>, relative to --out, once the directory exists
    pid: int | None = None
    returncode: int | None = None
    message: str | None = None  # the worker's one-line error, if it gave one
    created: float = field(default_factory=time.time)
    started: float | None = None
    ended: float | None = None
    lines: collections.deque = field(default_factory=lambda: collections.deque(maxlen=LINES_KEPT))
    cancel_asked: bool = False
    proc: subprocess.Popen | None = field(default=None, repr=False)

    def as_dict(self, queue_position: int | None = None) -> dict[str, Any]:
        return {"job": self.id, "command": self.command, "status": self.status, "id": self.run_id, "cli": self.cli,
                "lang": self.lang, "pid": self.pid, "returncode": self.returncode, "message": self.message,
                "created": self.created, "started": self.started, "ended": self.ended, "queue_position": queue_position,
                "output": list(self.lines)[-5:]}


class JobQueue:
    """The runs the server started, and the worker processes running them."""

    def __init__(self, out: Path, workers: int, launcher: list[str] | None = None, draw: bool = True):
        self.out = Path(out).resolve()
        self.workers = max(1, int(workers))
        self.launcher = list(launcher or default_launcher())
        self.draw = draw
        self.jobs: dict[str, Job] = {}
        self.queue: collections.deque[Job] = collections.deque()
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.counter = itertools.count(1)
        self.peak_running = 0  # the most workers seen at once (the load test reads it)
        self.closing = False

    # -- asking ------------------------------------------------------------------------------------
    def submit(self, command: str, args: list[str], cli: str, lang: str = "en") -> Job:
        with self.lock:
            if self.closing:
                raise QueueFull("the server is shutting down")
            if len(self.queue) >= MAX_QUEUED:
                raise QueueFull(f"{MAX_QUEUED} runs are waiting already; cancel some or wait")
            job = Job(f"{int(time.time())}-{next(self.counter)}", command, list(args), cli, lang)
            self.jobs[job.id] = job
            self.queue.append(job)
            self._start_waiting()
            self._forget_old()
            return job

    def cancel(self, job: Job) -> None:
        """A queued job is dropped; a started one gets SIGINT (the runner closes its run as interrupted)."""
        with self.lock:
            job.cancel_asked = True
            if job.status == "queued":
                self.queue.remove(job)
                job.status, job.ended = "cancelled", time.time()
                self.changed.notify_all()
                return
            proc = job.proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)

    def find_run(self, run_id: str) -> Job | None:
        with self.lock:
            return next((j for j in reversed(list(self.jobs.values())) if j.run_id == run_id), None)

    def position(self, job: Job) -> int | None:
        with self.lock:
            return self.queue.index(job) + 1 if job in self.queue else None

    def running(self) -> int:
        """Jobs with a worker process (self.lock held: the watcher threads change the jobs)."""
        return sum(j.status in ("starting", "running") for j in self.jobs.values())

    def active(self) -> list[Job]:
        """The queued and running jobs, oldest first (takes the lock)."""
        with self.lock:
            return [j for j in self.jobs.values() if j.status in ACTIVE]

    def counts(self) -> dict[str, int]:
        with self.lock:
            return {"running": self.running(), "queued": len(self.queue), "peak_running": self.peak_running}

    def wait_for(self, job: Job, until: Any, timeout: float) -> bool:
        """Block (a thread, never the event loop) until `until(job)` or `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while not until(job):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.changed.wait(left)
            return True

    def shutdown(self, grace_s: float = 30.0) -> None:
        """The server is stopping: queued jobs are dropped, running ones get SIGINT and are waited for (closed as
        interrupted), then SIGKILL after `grace_s`."""
        with self.lock:
            self.closing = True
            for job in self.queue:
                job.status, job.ended = "cancelled", time.time()
            self.queue.clear()
            procs = [j.proc for j in self.jobs.values() if j.proc is not None and j.proc.poll() is None]
        for proc in procs:
            proc.send_signal(signal.SIGINT)
        deadline = time.monotonic() + grace_s
        for proc in procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        time.sleep(0.05)  # the watcher threads record the ends
        with self.lock:
            self.changed.notify_all()

    # -- the workers -------------------------------------------------------------------------------
    def _start_waiting(self) -> None:
        """Start queued jobs while fewer than `workers` run (self.lock held)."""
        while self.queue and self.running() < self.workers and not self.closing:
            job = self.queue.popleft()
            argv = [*self.launcher, job.command, *job.args, f"--out={self.out}"]
            if not self.draw:
                argv.append("--no-plots")
            # the page's language, not the server's locale: a run started from an English page is drawn in English
            env = {**os.environ, "PYTHONUNBUFFERED": "1", "NNLAB_SERVE_JOB": job.id, "NNLAB_LANG": job.lang}
            try:
                # its own session: a Ctrl-C at the server's terminal reaches the server, which stops the workers
                job.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                            stderr=subprocess.STDOUT, env=env, start_new_session=True)
            except OSError as exc:
                job.status, job.message, job.ended = "crashed", f"could not start a worker: {exc}", time.time()
                continue
            job.status, job.pid, job.started = "starting", job.proc.pid, time.time()
            self.peak_running = max(self.peak_running, self.running())
            threading.Thread(target=self._watch, args=(job,), name=f"job-{job.id}", daemon=True).start()
        self.changed.notify_all()

    def _watch(self, job: Job) -> None:
        """Read the worker's output as it comes (the run directory's line; the last lines), then record its end."""
        assert job.proc is not None and job.proc.stdout is not None
        for raw in job.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip()
            with self.lock:
                job.lines.append(line)
                found = RUN_DIRECTORY.match(line)
                if found and job.run_id is None:
                    path = Path(found.group(1)).resolve()
                    job.run_id = str(path.relative_to(self.out)) if path.is_relative_to(self.out) else str(path)
                    job.status = "running"
                    self.changed.notify_all()
        code = job.proc.wait()
        job.proc.stdout.close()
        with self.lock:
            job.returncode, job.ended = code, time.time()
            job.status = self._final_status(job, code)
            errors = [ln[len("Error: "):] for ln in job.lines if ln.startswith("Error: ")]
            job.message = errors[-1] if errors else (None if code == 0 else (job.lines[-1] if job.lines else None))
            self._start_waiting()

    def _final_status(self, job: Job, code: int) -> str:
        if job.run_id is not None:
            from nnlab.core.errors import UserError
            from nnlab.core.record import RunRecord

            try:
                status = RunRecord(self.out / job.run_id).status
            except (OSError, UserError):
                status = "crashed"
            return "crashed" if status in ("running", "abandoned") else status
        if code == 2:
            return "refused"
        if job.cancel_asked or code in (130, 143, -signal.SIGINT):
            return "cancelled"
        return "crashed"

    def _forget_old(self) -> None:
        finished = [j for j in self.jobs.values() if j.status not in ACTIVE]
        for job in finished[: max(0, len(finished) - KEEP_FINISHED)]:
            del self.jobs[job.id]
