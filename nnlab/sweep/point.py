"""One run of a sweep: the task (a grid point x seed, small and picklable), `run_point(task)`, the only code that
runs an experiment whichever executor calls it, and the record it returns.

A record: {"index", "point", "seed", "status", "error", "path" (relative to the sweep directory),
"headline" {name: number}, "claims" {id: holds}, "elapsed_s", "host", "node" (the Ray node id; None in a
local pool), "files" {relative path: sha256 hex} (the run directory as it was where the run ended),
"left_at" (HOST:PATH of a run directory too big to ship, left where it ran)} and, for a run made on a
machine that cannot see the sweep directory, "archive": its run directory as tar.gz bytes, which the driver
unpacks (then "shipped": true) and checks, file by file, against "files" (check_files).

A machine "sees" the sweep directory when it reads the driver's random id in ID_FILE there (the same
machine, or --out on a shared mount). A node started with NNLAB_SWEEP_SHIP_RUNS=1 in its environment
(`NNLAB_SWEEP_SHIP_RUNS=1 ray start --address ...`) ships its runs back even where it sees it: a mount
that is read-only or slow there.

`warm_up(command)` runs first in a fresh pool worker: the imports every run needs (torch, about 1.5 s of
one core), paid once per worker and not inside the first run's elapsed_s.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import socket
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nnlab.core.errors import UserError

ID_FILE = ".sweep-id"          # in the sweep directory; a task that cannot read it ships its run back
MAX_ARCHIVE = 256 * 2**20      # bytes: a bigger run directory stays on the machine it ran on
DONE = ("completed", "diverged")  # statuses whose numbers count (a diverged run is a result)
SHIP_ENV = "NNLAB_SWEEP_SHIP_RUNS"  # "1" on a node: ship runs back as archives even where the directory is seen

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
                              "host": socket.gethostname(), "node": None}
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
    kept = False  # a run too big to ship stays where it ran
    if path is not None:
        record["path"] = str(path.relative_to(out))
        record["files"] = manifest(path)
        if not shared:
            record["archive"] = _pack(path)
            if record["archive"] is None:
                kept = True
                record["left_at"] = f"{record['host']}:{path}"
                note = f"run directory over {MAX_ARCHIVE // 2**20} MiB: left on {record['left_at']}"
                record["error"] = f"{record['error']}; {note}" if record["error"] else note
    if not shared and not kept:
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
    record["shipped"] = True  # records.jsonl says which runs came back as archives


def warm_up(command: str) -> float:
    """In a fresh pool worker, before its first run: import what a run of `command` imports (torch, the runner,
    the command's code, its plots module and matplotlib) and draw one throwaway figure (fonts, the PNG writer).
    Returns the seconds it took (the worker's start-up, paid once per worker per sweep)."""
    started = time.perf_counter()
    import torch  # noqa: F401  (the import is the point: ~1.5 s of one core, once per worker)

    import nnlab.core.runner  # noqa: F401
    from nnlab.core import plotting
    from nnlab.core.command import load

    load(command).plots_module()
    fig, axes = plotting.subplots()
    axes[0, 0].plot([0, 1], [0, 1])
    fig.savefig(io.BytesIO(), format="png")
    plotting.close(fig)
    return time.perf_counter() - started


def manifest(path: Path) -> dict[str, str]:
    """{path relative to `path` (POSIX): sha256 hex} of every regular file of a run directory (links skipped:
    a run writes none, and an archive drops them)."""
    files = {}
    for file in sorted(path.rglob("*")):
        if file.is_file() and not file.is_symlink():
            digest = hashlib.sha256()
            with file.open("rb") as f:
                for block in iter(lambda f=f: f.read(2**20), b""):
                    digest.update(block)
            files[file.relative_to(path).as_posix()] = digest.hexdigest()
    return files


def check_files(record: dict[str, Any], sweep_dir: Path) -> None:
    """Driver side, after unpack: the run directory of a finished run (completed or diverged) against the
    checksums taken where it ended. A missing or different file fails the run (--resume runs it again); a run
    left where it ran is not checked, nor one that failed already (its own error line is kept)."""
    expected = record.get("files")
    if record.get("status") not in DONE or not record.get("path") or expected is None or record.get("left_at"):
        return
    run_dir = sweep_dir / record["path"]
    found = manifest(run_dir) if run_dir.is_dir() else {}
    bad = sorted(name for name in expected if found.get(name) != expected[name])
    if bad:
        record["status"] = "failed"
        record["error"] = (f"the run directory came back incomplete: {len(bad)} of {len(expected)} files missing "
                           f"or different ({bad[0]})")


def _sees(task: Task) -> bool:
    """Does this process see the sweep directory (same machine, or a shared --out) and may write there?"""
    if os.environ.get(SHIP_ENV) == "1":
        return False
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
            "path": None, "headline": {}, "claims": {}, "elapsed_s": 0.0, "host": None, "node": None}


def failed_record(task: Task, exc: BaseException) -> dict[str, Any]:
    record = interrupted_record(task, f"{type(exc).__name__}: {exc}".splitlines()[0])
    record["status"] = "failed"
    return record
