"""The sweep driver: the sweep directory, its tasks, the records as runs end, and the report at the end.

    outputs/sweep/<time>[-tag]/
      sweep.json      the plan: command, grid (values as given), converted points, seeds, recipe, --set
      meta.json       argv, versions, executor, times, status (like a run's, so `nnlab runs` lists it)
      records.jsonl   one record per finished run, appended as they end (what --resume reads), with the
                      sha256 of each file of its run directory
      sweep.csv       one row per run: grid values, seed, status, error, host and Ray node, headline
                      numbers, claims
      summary.json    per grid point: mean, std, min, max over seeds; fraction of seeds each claim held
      plots/*.png     each headline number against each swept key, one-std error bars
      <command>/<time>-p<point>-s<seed>/   the runs themselves
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import signal
from pathlib import Path
from typing import Any

import click

from nnlab.core import atomic, run_files
from nnlab.core.errors import UserError
from nnlab.core.record import RunRecord, end_meta, new_meta, read_object, write_meta
from nnlab.sweep import report as sweep_report
from nnlab.sweep.executors import DONE, ID_FILE, Task, check_files, unpack


def _now() -> dt.datetime:
    return dt.datetime.now().astimezone()


def new_sweep_id() -> str:
    """A random id in the sweep directory (ID_FILE): a worker that reads the same id shares the directory."""
    return secrets.token_hex(8)


def sigterm_as_interrupt() -> Any:
    """SIGTERM in the driver behaves like Ctrl-C (cancel, close, write what finished); returns the old handler."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        return None


def load_plan(sweep_dir: Path, command: str | None = None) -> dict[str, Any]:
    """sweep.json of `sweep_dir`, checked (check_plan); UserError in one line for a missing or damaged one."""
    if not os.path.lexists(sweep_dir / "sweep.json"):
        raise UserError(f"--resume: {sweep_dir} is not a sweep directory (no readable sweep.json)")
    try:
        plan = read_object(sweep_dir, "sweep.json")  # core.run_files: the sweep's own regular file, capped
    except RecursionError:  # nesting deeper than json's recursion allows: no plan of ours
        raise UserError(f"--resume: {sweep_dir / 'sweep.json'}: nested too deeply to be a sweep plan") from None
    except OSError as exc:
        raise UserError(f"--resume: {sweep_dir} is not a sweep directory (sweep.json: {exc.strerror or exc})") from None
    except UserError as exc:  # not JSON, not an object, a link out of the directory: the reader's line says which
        raise UserError(f"--resume: {exc}") from None
    check_plan(plan, sweep_dir / "sweep.json")
    if command is not None and command != plan["command"]:
        raise UserError(f"--resume: {sweep_dir} is a sweep of 'nnlab {plan['command']}', not 'nnlab {command}'")
    return plan


# The fields of sweep.json (cli.make_plan writes them; cli.validate adds "points", open_sweep "sweep_id"):
# field -> (what it must be, in words; a test of the value).
_PLAN_FIELDS: dict[str, tuple[str, Any]] = {
    "command": ("a command name", lambda v: isinstance(v, str) and v != ""),
    "grid": ("an object of KEY: [values]", lambda v: isinstance(v, dict) and bool(v) and all(
        isinstance(k, str) and isinstance(vs, list) and vs for k, vs in v.items())),
    "points_given": ("a list of objects", lambda v: isinstance(v, list) and bool(v)
                     and all(isinstance(x, dict) for x in v)),
    "seeds": ("a list of distinct integers", lambda v: isinstance(v, list) and bool(v) and all(
        isinstance(x, int) and not isinstance(x, bool) for x in v) and len(set(v)) == len(v)),
    "recipe": ("a path or null", lambda v: v is None or isinstance(v, str)),
    "quick": ("true or false", lambda v: isinstance(v, bool)),
    "options": ("an object", lambda v: isinstance(v, dict) and all(isinstance(k, str) for k in v)),
    "set": ("a list of KEY=VALUE strings", lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v)),
    "sweep_id": ("a string", lambda v: isinstance(v, str)),
}


def check_plan(plan: dict[str, Any], where: Path) -> None:
    """Refuse a damaged sweep.json in one line naming the field: every field of the right type, every grid
    point giving a value to each grid key and to no other, "points" (when there) one per grid point."""
    for field, (kind, ok) in _PLAN_FIELDS.items():
        if field not in plan:
            raise UserError(f"{where}: damaged sweep plan: no {field!r}")
        if not ok(plan[field]):
            raise UserError(f"{where}: damaged sweep plan: {field!r} must be {kind}")
    keys = set(plan["grid"])
    if any(set(point) != keys for point in plan["points_given"]):
        raise UserError(f"{where}: damaged sweep plan: a point of 'points_given' does not match 'grid'")
    points = plan.get("points", plan["points_given"])
    if not (isinstance(points, list) and len(points) == len(plan["points_given"])
            and all(isinstance(x, dict) and set(x) == keys for x in points)):
        raise UserError(f"{where}: damaged sweep plan: 'points' must be one object per grid point")


def check_record(record: Any, plan: dict[str, Any], where: str) -> None:
    """Refuse a record of records.jsonl that this plan cannot have written (its index, point, seed, status)."""
    n_seeds, n_points = len(plan["seeds"]), len(plan["points_given"])

    def integer(v: Any, below: int) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < below

    ok = (isinstance(record, dict) and integer(record.get("index"), n_points * n_seeds)
          and integer(record.get("point"), n_points) and record["index"] // n_seeds == record["point"]
          and isinstance(record.get("status"), str)
          and all(isinstance(record.get(f) or {}, dict) for f in ("headline", "claims")))
    if not ok:
        raise UserError(f"{where}: damaged sweep record (index, point, status, headline or claims)")


def read_records(sweep_dir: Path, plan: dict[str, Any]) -> list[dict[str, Any]]:
    """records.jsonl (core.run_files: the sweep's own regular file, capped); a torn line (not JSON) is skipped,
    a record this plan cannot have written is refused (check_record)."""
    path = sweep_dir / "records.jsonl"
    records = []
    if os.path.lexists(path):
        for n, line in enumerate(run_files.read_text(sweep_dir, path, run_files.LOG_CAP).splitlines(), 1):
            try:
                record = json.loads(line)
            except (json.JSONDecodeError, RecursionError):
                continue
            check_record(record, plan, f"{path} line {n}")
            records.append(record)
    return records


def make_tasks(plan: dict[str, Any], sweep_dir: Path, skip: set[int], threads: int) -> list[Task]:
    n = len(plan["seeds"])
    return [
        Task(index=p * n + s, point=p, seed=seed, command=plan["command"], options={**plan["options"], **point},
             recipe=plan["recipe"], quick=plan["quick"], set_pairs=tuple(plan["set"]),
             sweep_dir=str(sweep_dir.resolve()), sweep_id=plan["sweep_id"], threads=threads)
        for p, point in enumerate(plan["points_given"]) for s, seed in enumerate(plan["seeds"])
        if p * n + s not in skip
    ]


def open_sweep(plan: dict[str, Any], out: str, tag: str | None, resume: str | None, argv: list[str],
               executor: Any) -> tuple[Path, dict[str, Any], list[dict[str, Any]]]:
    """A new sweep directory (or the resumed one): its meta and the records it already has."""
    from nnlab.core.run import claim_directory

    started = _now()
    run_info = {"executor": executor.name, "workers": getattr(executor, "workers", 1), "argv": argv,
                "at": started.isoformat(timespec="seconds")}
    if resume is not None:
        sweep_dir = Path(resume)
        on_disk = load_plan(sweep_dir, plan["command"])
        meta = RunRecord(sweep_dir).meta
        meta.setdefault("resumed", []).append(run_info)
        meta.update(status="running", ended=None)
        return sweep_dir, meta, read_records(sweep_dir, on_disk)
    if not str(out):
        raise UserError("--out: give a directory")
    sweep_dir = claim_directory(out, "sweep", tag, started)
    plan["sweep_id"] = new_sweep_id()
    atomic.write_json(sweep_dir / "sweep.json", plan)
    atomic.write_text(sweep_dir / ID_FILE, plan["sweep_id"] + "\n")
    meta = new_meta("sweep", argv, started, swept=plan["command"], executor=executor.name,
                    workers=run_info["workers"], seed=None)
    write_meta(sweep_dir, meta)
    return sweep_dir, meta, []


def run_sweep(plan: dict[str, Any], executor: Any, *, out: str, tag: str | None, resume: str | None,
              argv: list[str]) -> int:
    """Run the plan's tasks that have not finished; write the report; the exit code (130 interrupted, 1 failures)."""
    from nnlab.core import console

    executor.start()  # an unreachable cluster or a missing extra fails here, before any directory exists
    interrupted = False
    try:
        sweep_dir, meta, records = open_sweep(plan, out, tag, resume, argv, executor)
        plan = load_plan(sweep_dir)
        done = {i for i, r in sweep_report.latest(records).items() if r["status"] in DONE}
        tasks = make_tasks(plan, sweep_dir, done, getattr(executor, "threads", 0))
        total = len(tasks)
        console.err.print(f"sweep directory {sweep_dir}: {total} run{'s' * (total != 1)} to do"
                          + (f" ({len(done)} already done)" if done else "") + f", executor {executor.name}",
                          soft_wrap=True, markup=False)

        received = [0]

        def on_record(record: dict[str, Any]) -> None:
            if not received[0]:
                sweep_report.import_meanwhile()  # the first record: the workers' start-up is over
            unpack(record, sweep_dir)
            check_files(record, sweep_dir)  # every file as it was where the run ended, or the run failed
            records.append(record)
            with (sweep_dir / "records.jsonl").open("a", encoding="utf-8") as f:
                f.write(json.dumps(record, default=str) + "\n")
            received[0] += 1
            values = ", ".join(f"{k}={v}" for k, v in plan["points_given"][record["point"]].items())
            error = f": {record['error']}" if record.get("error") and record["status"] != "interrupted" else ""
            console.err.print(f"[{received[0]}/{total}] {values} seed {record['seed']}: {record['status']} "
                              f"({record.get('elapsed_s') or 0:.1f} s){error}", soft_wrap=True, markup=False)

        previous = sigterm_as_interrupt()
        try:
            executor.run(tasks, on_record)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
    finally:
        executor.close()
    return finish(plan, sweep_dir, meta, records, interrupted)


def finish(plan: dict[str, Any], sweep_dir: Path, meta: dict[str, Any], records: list[dict[str, Any]],
           interrupted: bool) -> int:
    from nnlab.core import console

    latest = sweep_report.stable_names(plan, sweep_report.latest(records))
    sweep_report.write_csv(sweep_dir / "sweep.csv", plan, latest)
    summary = sweep_report.summarize(plan, latest, status="interrupted" if interrupted else "completed",
                                     std="sample standard deviation over seeds (n - 1); null below two values")
    atomic.write_json(sweep_dir / "summary.json", summary)
    plots = sweep_report.draw(summary, sweep_dir / "plots")
    failed = summary["statuses"].get("failed", 0)
    counts = ", ".join(f"{v} {k}" for k, v in summary["statuses"].items())
    write_meta(sweep_dir, end_meta(meta, summary["status"], _now(), headline=f"{summary['runs']} runs: {counts}"))
    console.out.print(sweep_report.table(summary))
    console.out.print(f"runs: {counts} · plots: {', '.join(p.name for p in plots) or 'none'}")
    console.out.print(str(sweep_dir), soft_wrap=True, markup=False)
    if interrupted:
        console.err.print(f"interrupted; finished runs kept in {sweep_dir} (nnlab sweep --resume {sweep_dir})",
                          soft_wrap=True, markup=False)
        return 130
    if failed:
        click.echo(f"Error: {failed} of {summary['runs']} runs failed; their error lines are in "
                   f"{sweep_dir / 'sweep.csv'}", err=True)
        return 1
    return 0
