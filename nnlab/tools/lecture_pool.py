"""The lecture's experiments side by side: `nnlab lecture --jobs N` runs N at once, each in a warm worker process
of its own (the sweep's local pool, nnlab.sweep.executors.PoolExecutor), each drawing its own figures.

The experiments do not depend on one another, and most of them compute on one core (small tensors, whose
arithmetic is cheaper than the synchronisation of a second thread), so on a machine of C cores N = C of them at
once take well under the time of one after another (x1.6 on 2 cores, benchmarks/lecture_speed.py; the longest
experiment bounds it), with the same numbers: every run seeds itself, and each
has the threads of one worker's share of the cores (C // N: `threads` 0, "every core this process may use",
means that share, through NNLAB_CORES; torch's and BLAS's own defaults are set to it before torch is imported).

The workers take the experiments longest first (START_ORDER; backprop the exception), so that the longest one
never starts last and bounds the lecture alone. A run's directory, record and report are those of the one-by-one
lecture, and the report keeps the lecture's order whatever order the runs start and end in. Ctrl-C: runs not
started are reported as not run, the running ones stop at their next safe point and are closed as interrupted,
and the report of what ran is still written.
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from typing import Any

CANCELLED = "cancelled before it started"  # the pool's own words for a run a Ctrl-C kept from starting
CORES_ENV = "NNLAB_CORES"  # the cores a process may use, when fewer than its affinity (core.device.available_cores)

# The order in which the workers take the experiments, (command, tag): longest first, by their seconds at the
# defaults on one core of two (benchmarks/lecture_speed.py prints each run's; --quick ranks them alike, modules
# first), so that the longest does not start last (on 2 workers the lecture's own order put modules third, and its
# end 11 s after all the others'), with one exception: backprop goes second, the first run of a fresh worker. Its
# cost claims time the machine, and a worker that had run other experiments timed a steeper backward cost (our
# engine's slope against N: 1.06 in a fresh process, 1.13 after approx, regularize and optimize's MLP in the same
# one, 1.27 in one lecture, past the claim's 1.25). Only the start order: every run seeds itself, so its numbers do
# not depend on it. An experiment not listed starts after these, in the lecture's order.
START_ORDER = [("modules", None), ("backprop", None), ("approx", None), ("regularize", None), ("train-mnist", None),
               ("attention", None), ("optimize", "mlp"), ("init", None), ("activations", None), ("optimize", None)]


def start_order(steps: list[tuple[Any, Any, Any]]) -> list[int]:
    """The indices of the lecture's `steps` ((spec, config, request) each) in the order the workers take them."""
    rank = {key: r for r, key in enumerate(START_ORDER)}
    return sorted(range(len(steps)), key=lambda i: (rank.get((steps[i][0].name, steps[i][2].tag), len(rank)), i))


@dataclasses.dataclass(frozen=True)
class Step:
    """One experiment of the lecture, as a worker receives it (picklable). `index`, `point` and `seed` are what
    the pool's records of a run that never started or whose worker died carry."""

    index: int
    command: str
    request: Any  # nnlab.core.runner.Request, `out` set to the lecture's directory
    cores: int  # this worker's share of the machine's cores
    point: int = 0
    seed: int = 0


def run_step(step: Step) -> dict[str, Any]:
    """In a worker: the experiment from start to end, figures drawn here; its record (index, status, path of its
    run directory, error line). Never raises for the experiment's own errors, nor for a Ctrl-C: one that came
    before it started (the worker warming up) cancels it, one during its setup or run interrupts it."""
    from nnlab.core import console
    from nnlab.core.runner import RunInterrupted, execute
    from nnlab.sweep.point import _worker

    record: dict[str, Any] = {"index": step.index, "point": step.point, "seed": step.seed, "status": "failed",
                              "path": None, "error": None}
    if _worker["stop"]:  # the pool's Ctrl-C handler marks it; the lecture lists this one as not run
        return {**record, "status": "interrupted", "error": CANCELLED}
    os.environ[CORES_ENV] = str(step.cores)
    console.err.quiet = True  # two experiments' progress bars would garble each other; the lecture prints lines
    try:
        _worker["busy"] = True  # from here a Ctrl-C raises (in the run, the runner's own handler takes over)
        try:
            outcome = execute(step.request, report=False)
        finally:
            _worker["busy"] = False
        record.update(status=outcome.status, path=str(outcome.path))
    except RunInterrupted as exc:
        record.update(status="interrupted", path=str(exc.path), error="interrupted")
    except KeyboardInterrupt:  # during the setup, before the run's directory existed
        record.update(status="interrupted", error="interrupted", path=newest(step.request.out, step.command,
                                                                               step.request.tag))
    except Exception as exc:  # closed as failed by the runner, when its directory existed
        record["error"] = f"{type(exc).__name__}: {exc}".splitlines()[0]
        record["path"] = newest(step.request.out, step.command, step.request.tag)
    return record


def newest(parent: str | Path, command: str, tag: str | None) -> str | None:
    """The newest run directory of `command` named with `tag` (None: untagged) in `parent`: `<time>[-tag][-N]`
    (core.run.claim_directory), so an untagged run is never taken for a tagged one (optimize's `-mlp`)."""
    folder = Path(parent) / command
    if not folder.is_dir():
        return None
    name = re.compile(r"(\d{8}-\d{6})" + (f"-{re.escape(tag)}" if tag else "") + r"(?:-(\d+))?")
    runs = [(m.group(1), int(m.group(2) or 1), p) for p in folder.iterdir()
            if (m := name.fullmatch(p.name)) and p.is_dir() and not p.is_symlink()]
    return str(max(runs, key=lambda r: r[:2])[2]) if runs else None


def start_workers(jobs: int, names: list[str]) -> Any:
    """The lecture's `jobs` workers, started now and warming up (~2 s of imports each) while the lecture plans
    its experiments `names` (whose configs import torch in this process: 1.5 s): the pool run_all takes."""
    from nnlab.core.device import available_cores
    from nnlab.sweep.executors import PoolExecutor

    rank = {name: r for r, (name, _tag) in reversed(list(enumerate(START_ORDER)))}
    first = min(names, key=lambda name: rank.get(name, len(rank)))  # the imports its first run needs
    pool = PoolExecutor(jobs, max(1, available_cores() // jobs), work=run_step, warm=first)
    pool.start(ahead=jobs)
    return pool


def run_all(steps: list[tuple[Any, Any, Any]], pool: Any, parent: Path, on_entry: Any) -> int | None:
    """Run the lecture's `steps` ((spec, config, request) each) on the workers of `pool` (start_workers), then
    close it; `on_entry(index, entry)` as each ends (in the order they end; one cancelled before it started has
    none). Returns the signal that stopped the lecture (SIGINT: Ctrl-C, or SIGTERM, which the console script
    turns into the same), or None."""
    import signal

    from nnlab.report import Entry, read_entry

    cores = pool.threads
    tasks = []
    for i in start_order(steps):
        spec, _config, request = steps[i]
        request.out = parent
        tasks.append(Step(i, spec.name, request, cores, point=i))

    def on_record(record: dict[str, Any]) -> None:
        if record.get("path") is None and record.get("error") == CANCELLED:
            return  # stopped before its turn: the report lists it as not run
        command = steps[record["index"]][0].name
        entry = None
        if record.get("path"):
            try:
                entry = read_entry(record["path"])
            except Exception:  # noqa: BLE001 - a directory the run left unreadable: reported by its error
                entry = None
        if entry is None:
            entry = Entry(command, None, record["status"], record.get("error"))
        on_entry(record["index"], entry)

    stopped = None
    try:
        pool.run(tasks, on_record)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (core.signals.Interrupted carries its number)
        stopped = getattr(exc, "signum", signal.SIGINT)
    finally:
        try:
            pool.close()
        except KeyboardInterrupt as exc:  # a second signal while the workers end: they are ending anyway
            stopped = stopped or getattr(exc, "signum", signal.SIGINT)
    return stopped
