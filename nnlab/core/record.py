"""One run directory, read: `RunRecord`; and the one writer of meta.json, `write_meta`.

Every tool that reads a finished (or running, or failed) run reads it here: `nnlab.load` and its `Result`,
the report's entries, `nnlab runs`, `compare`, `export`, `redraw` and the sweep. Every file is read through
core.run_files (regular files inside the run, never a link out of it, at most a cap of bytes), so a run
directory that someone edited cannot make a tool read /etc/shadow or block on a FIFO.

    meta.json      argv, versions, git revision, platform, device, seed, times, status  (record.meta)
    config.yaml    the resolved config, a recipe                                         (record.config)
    summary.json   what the run measured, its claims and checks, status                  (record.summary)
    metrics.jsonl  one JSON object per `rec.log(...)` call                               (record.metrics)
    plots/*.png    the figures                                                           (record.figures)

The metric-series convention: every line of metrics.jsonl is one `rec.log({...})` record. Its numeric
fields are measurements at that point (`step` and `epoch` are the x axes, not metrics); its string fields
name the series the line belongs to, so `{"method": "gd", "step": 3, "loss": 0.5}` is the third point of
the `loss` curve of series `method=gd` (tools.runs_common.group_of). A command that logs two curves of one
metric tells them apart by a string field, never by the order of the lines.

A summary is *complete* when it has its `claims` (the run got as far as measuring them); a failed or
interrupted run's summary has only its status and error, and then `numbers` is {}.

The schema (core.record_schema) is checked here, once, as each file is read: a damaged file is a UserError
naming the file and the field, so no tool builds output from it. A run whose meta.json says `running` but
whose `.lock` no process holds (its process was killed: SIGKILL, OOM, power cut) has the status `abandoned`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import sys
from functools import cached_property
from pathlib import Path
from typing import Any

from nnlab.core import atomic, record_schema, run_files
from nnlab.core.errors import UserError
from nnlab.version import __version__

RAN = ("completed", "diverged")  # a diverged run is a result: it ran to its end and measured
LOCK = ".lock"  # core.run: the pid of the process that owns the run, flock-ed while it lives


class RunRecord:
    """A run directory as data. meta.json is read at once (it says the directory is a run); the summary,
    config and metrics when first used (`nnlab runs` lists hundreds of runs and reads no metrics)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not (self.path / "meta.json").is_file():
            raise UserError(f"{self.path} is not a run directory (no meta.json)")
        self.meta: dict[str, Any] = read_object(self.path, "meta.json")
        record_schema.check_meta(self.meta, self.path / "meta.json")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r}, command={self.command!r}, status={self.status!r})"

    # -- the files ---------------------------------------------------------------------------------
    @cached_property
    def summary(self) -> dict[str, Any]:
        """summary.json; {} while the run is still running (it is written at the end)."""
        if not os.path.lexists(self.path / "summary.json"):
            return {}
        summary = read_object(self.path, "summary.json")
        record_schema.check_summary(summary, self.path / "summary.json", self.command)
        return summary

    @cached_property
    def config(self) -> dict[str, Any]:
        """config.yaml as a dict ({} when there is none: a sweep's or a compare's directory)."""
        import yaml

        path = self.path / "config.yaml"
        if not os.path.lexists(path):
            return {}
        try:
            config = yaml.safe_load(run_files.read_text(self.path, path, run_files.JSON_CAP))
        except yaml.YAMLError as exc:
            raise UserError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
        except RecursionError:
            raise UserError(f"{path}: nested too deeply to be a config (deep nesting is damage)") from None
        record_schema.check_tree(config, path)
        return config if isinstance(config, dict) else {}

    @cached_property
    def metrics(self) -> list[dict[str, Any]]:
        """metrics.jsonl, one dict per logged line; a torn last line (a crash mid-write) is skipped. A line that
        breaks the schema (not an object, not JSON before the last line, a step that is NaN or 1e30, a NaN
        value, deep nesting) is a UserError naming it."""
        log = self.path / "metrics.jsonl"
        if not os.path.lexists(log):
            return []
        records = []
        lines = run_files.read_text(self.path, log, run_files.LOG_CAP).splitlines()
        for number, line in enumerate(lines, 1):
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                if number == len(lines):  # the last line, torn by a crash mid-write: what was logged before stands
                    continue
                raise UserError(f"{log} line {number}: not JSON (only the last line may be torn)") from None
            except RecursionError:
                raise UserError(f"{log} line {number}: nested too deeply (deep nesting is damage)") from None
            if not isinstance(record, dict):
                raise UserError(f"{log} line {number}: a {type(record).__name__}, not an object")
            record_schema.check_metrics_line(record, f"{log} line {number}")
            records.append(record)
        return records

    # -- what they say -----------------------------------------------------------------------------
    @property
    def command(self) -> str:
        return str(self.meta.get("command", "?"))

    @property
    def status(self) -> str:
        """completed, diverged, failed, interrupted, running; or abandoned (meta says running, no process
        holds the lock: the run was killed)."""
        status = str(self.summary.get("status") or self.meta.get("status") or "running")
        return "abandoned" if status == "running" and self.abandoned else status

    @property
    def error(self) -> str | None:
        return self.abandoned or self.summary.get("error") or self.meta.get("error")

    @cached_property
    def abandoned(self) -> str | None:
        """Why the run counts as abandoned (its dead pid, when meta.json was last written), or None: the
        run is not said to be running, or its lock is held (it lives), or there is no lock to tell by (a
        sweep's directory, or a platform without flock)."""
        if (self.summary.get("status") or self.meta.get("status") or "running") != "running":
            return None
        held, holder = run_files.lock_state(self.path, LOCK)
        if held is not False:
            return None
        pid = holder if holder.isdigit() else "?"
        written = dt.datetime.fromtimestamp(os.lstat(self.path / "meta.json").st_mtime).astimezone()
        return (f"abandoned: process {pid} that ran it is gone (its lock is free); meta.json last written "
                f"{written.isoformat(timespec='seconds')}")

    @property
    def complete(self) -> bool:
        """Whether the summary holds the run's measurements (its claims), not only a status and an error."""
        return isinstance(self.summary.get("claims"), list)

    @property
    def claims(self) -> list[dict[str, Any]]:
        return verdicts(self.summary, "claims")

    @property
    def checks(self) -> list[dict[str, Any]]:
        return verdicts(self.summary, "checks")

    def claims_held(self) -> dict[str, bool]:
        """{claim id: holds} for the claims (not the checks)."""
        return claims_held(self.summary)

    @property
    def figures(self) -> list[Path]:
        """plots/*.png that are the run's own regular files, by name (links out of the run are left out)."""
        return run_files.figures(self.path)[0]

    @property
    def refused_figures(self) -> list[Path]:
        """plots/*.png entries that are not the run's own regular files (links, FIFOs): named, never read."""
        return run_files.figures(self.path)[1]

    @cached_property
    def numbers(self) -> dict[str, float | None]:
        """The command's named numbers (`load(command).numbers(summary)`); {} for a run whose summary is not
        complete and for a command this nnlab does not have (a sweep, a compare, another version's)."""
        return summary_numbers(self.command, self.summary, where=self.path)

    def numbers_or_why(self) -> tuple[dict[str, float | None], str | None]:
        """(numbers, None); or ({}, why) when the summary is complete but the command's numbers() cannot read
        it (a run of another version), for the tools that go on without its numbers and say so."""
        try:
            return self.numbers, None
        except UserError as exc:
            return {}, str(exc)

    def png(self, figure: Path) -> bytes:
        """The bytes of one of `figures` (capped, read only if it is still the run's own file, and a PNG)."""
        data = run_files.read_bytes(self.path, figure, run_files.PNG_CAP)
        record_schema.check_png(data, figure)
        return data

    def read_all(self, figures: bool = True) -> RunRecord:
        """Read every file now (summary, config, metrics and, with `figures`, the figures' bytes), so a refused
        or damaged one is an error here, before a tool writes anything."""
        for _ in (self.summary, self.config, self.metrics, self.status):
            pass
        if figures:
            for entry in self.refused_figures[:1]:  # a link, a FIFO: never opened, and the run is not whole
                raise UserError(f"{entry}: not a regular file of the run (a link, a FIFO or a device); a figure "
                                "must be one")
            for figure in self.figures:
                self.png(figure)
        return self

    def as_dict(self) -> dict[str, Any]:
        """{meta, summary, metrics}: the shape of core.run.read_run."""
        return {"meta": self.meta, "summary": self.summary, "metrics": self.metrics}


def summary_numbers(command: str, summary: dict[str, Any], where: Any = None) -> dict[str, float | None]:
    """`load(command).numbers(summary)` for a complete summary ({} otherwise, or for an unknown command).
    A complete summary that the command's numbers() cannot read (another version's layout) is a UserError."""
    from nnlab.core.command import load
    from nnlab.registry import COMMANDS

    if command not in COMMANDS or not isinstance(summary.get("claims"), list):
        return {}
    try:
        return load(command).numbers(summary)
    except (KeyError, TypeError, IndexError) as exc:  # a summary of another layout: say so, never {} silently
        raise UserError(f"{where or command}: summary.json does not hold what 'nnlab {command}' reads its numbers "
                        f"from ({type(exc).__name__}: {str(exc)[:80]})") from None


def verdicts(summary: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """A summary's "claims" or "checks" list (empty where the run did not get as far as measuring them)."""
    return list(summary.get(kind) or [])


def claims_held(summary: dict[str, Any]) -> dict[str, bool]:
    """{claim id: holds} for the claims (not the checks) of a summary."""
    return {c["id"]: bool(c["holds"]) for c in summary.get("claims") or [] if isinstance(c, dict) and "id" in c}


def read_object(run_dir: Path, name: str) -> dict[str, Any]:
    """A JSON object file of the run (core.run_files); a damaged or foreign one is a UserError naming it."""
    path = run_dir / name
    try:
        data = json.loads(run_files.read_text(run_dir, path, run_files.JSON_CAP))
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    except RecursionError:
        raise UserError(f"{path}: nested too deeply (deep nesting is damage)") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a JSON object, got {type(data).__name__}")
    record_schema.check_tree(data, path)
    return data


# -- writing meta.json ---------------------------------------------------------------------------------


def git_revision() -> str | None:
    """The source checkout's commit, with `+dirty` for uncommitted changes; None outside git."""
    here = Path(__file__).resolve().parent
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=here, capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return rev + ("+dirty" if dirty else "")


def library_versions() -> dict[str, str | None]:
    """Versions of the libraries a run may use: a loaded module's own, else its installed distribution's
    (not imported for this: matplotlib's import alone is ~0.35 s, and the figure workers may be its only users)."""
    from importlib import metadata

    versions: dict[str, str | None] = {"python": platform.python_version(), "nnlab": __version__}
    for name in ("numpy", "torch", "matplotlib"):
        module = sys.modules.get(name)
        if module is not None:
            versions[name] = getattr(module, "__version__", None)
            continue
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def new_meta(command: str, argv: list[str], started: dt.datetime, **fields: Any) -> dict[str, Any]:
    """A running directory's meta.json: who made it (argv, versions, git revision, platform), the language its
    figures were drawn in, `fields` (device, seed, executor, ...), when it started; `ended` None and status
    `running` until end_meta."""
    from nnlab.core.i18n import current

    return {"command": command, "argv": argv, "versions": library_versions(), "git_revision": git_revision(),
            "platform": platform.platform(), "lang": current(), **fields,
            "started": started.isoformat(timespec="seconds"), "ended": None, "status": "running"}


def end_meta(meta: dict[str, Any], status: str, ended: dt.datetime, **fields: Any) -> dict[str, Any]:
    """`meta` closed: its status, end time and elapsed seconds since its `started`, and `fields`."""
    started = dt.datetime.fromisoformat(meta["started"])
    meta.update(status=status, ended=ended.isoformat(timespec="seconds"),
                elapsed_s=round((ended - started).total_seconds(), 3), **fields)
    return meta


def write_meta(run_dir: str | Path, meta: dict[str, Any]) -> None:
    """Write `run_dir`/meta.json, atomically (a reader sees the old file or the new one, never half)."""
    atomic.write_json(Path(run_dir) / "meta.json", meta)


__all__ = ["RAN", "RunRecord", "claims_held", "end_meta", "git_revision", "library_versions", "new_meta",
           "read_object", "summary_numbers", "write_meta"]
