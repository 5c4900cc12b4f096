"""The runs under --out, as the pages show them: a listing that stays fast with thousands of runs, one run as
JSON, and runs side by side.

A run's id is its directory relative to --out: `init/20261203-101500` for a command's run, and deeper for the
runs a lecture or a sweep made (`lecture/<time>/init/<time>`), found by core.walk as `nnlab runs` finds them.

The listing reads each run through core.record.RunRecord once and keeps its row, keyed by the (size, mtime)
of its meta.json and summary.json: a run's files change only while it runs, so listing 1,000 runs again costs
at most a walk and 2,000 stat calls (benchmarks/serve_speed.py), not 2,000 JSON reads. The walk and the stat
calls are made at most every `restat_s` seconds (a file edited by hand after its run ended, or a lecture's new
run, shows within that time); between them a new run directly under --out/<command>/ shows at once, and a run
still said to be `running` is read again each time (it may have ended, or its process died: abandoned).
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
from pathlib import Path
from typing import Any

from nnlab.core.errors import UserError

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")  # one part of a run's id (a command, a time, a tag)
MAX_PARTS = 8  # parts of a run's id: a sweep's run is 4 deep (sweep/<time>/<command>/<run>)


def commands_listed() -> list[str]:
    from nnlab.core.record_schema import TOOL_DIRS
    from nnlab.registry import COMMANDS

    return [*COMMANDS, *TOOL_DIRS]


def _stamp(path: str) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_size, info.st_mtime_ns


class RunIndex:
    """Rows of every run under `out`, newest first, cached by file times."""

    def __init__(self, out: Path, restat_s: float = 2.0):
        self.out = Path(out)
        self.restat_s = restat_s
        self.swept = -1e9  # time.monotonic() of the last walk (and look at every run's files)
        self.rows: dict[str, tuple[Any, dict[str, Any]]] = {}  # run id -> (key, row)
        self.ordered: list[dict[str, Any]] | None = None  # the rows, newest first, while none changed
        self.lock = threading.Lock()
        self.sweep_lock = threading.Lock()  # one walk at a time
        self.refreshing = False  # a refresher thread walks every restat_s: requests then never walk

    def run_dir(self, run_id: str) -> Path:
        """The directory of run `run_id`, or UserError: an id that is not a run's (`..`, an absolute path, a link
        on the way, no meta.json)."""
        from nnlab.core import run_files

        parts = run_id.split("/")
        if not 2 <= len(parts) <= MAX_PARTS or not all(NAME.fullmatch(p) for p in parts):
            raise UserError(f"no run {run_id}")
        path = self.out.joinpath(*parts)
        if not run_files.is_regular_inside(self.out, path / "meta.json"):  # lstat of every part: no link
            raise UserError(f"no run {run_id}")
        return path

    def _found(self, sweep: bool) -> list[tuple[str, str]]:
        """(run id, directory) of every run: by a walk when `sweep`, else the ones known plus what is directly
        under --out/<command>/ now (a run just started from the page shows at once)."""
        if sweep:
            from nnlab.core.walk import find

            prefix = len(str(self.out)) + 1
            return [(str(p)[prefix:].replace(os.sep, "/"), str(p)) for p in find(self.out, tools=True)]
        found = {run_id: os.path.join(self.out, *run_id.split("/")) for run_id in self.rows}
        for command in commands_listed():
            try:
                entries = list(os.scandir(os.path.join(self.out, command)))
            except OSError:
                continue
            for entry in entries:
                if NAME.fullmatch(entry.name) and not entry.is_symlink() and entry.is_dir(follow_symlinks=False):
                    found.setdefault(f"{command}/{entry.name}", entry.path)
        return list(found.items())

    def start_refresher(self) -> None:
        """Walk and look at every run's files in a thread, every restat_s seconds, so that no request waits for
        it (the first, on a cold start, waits for the first walk)."""
        def refresh() -> None:
            try:
                self._list(sweep=True)
            finally:
                self.sweep_lock.release()  # taken below, before the thread started: the first walk is done
            while True:
                time.sleep(self.restat_s)
                with self.sweep_lock, contextlib.suppress(Exception):  # a bad moment on disk: the next walk
                    self._list(sweep=True)

        self.sweep_lock.acquire()
        self.refreshing = True
        threading.Thread(target=refresh, name="runs-index", daemon=True).start()

    def list(self) -> list[dict[str, Any]]:
        """Every run's row, newest first. Damaged runs are rows too (status `damaged`, and why)."""
        if self.refreshing:
            if self.swept < 0:  # the first walk is still going: wait for it rather than read every run twice
                with self.sweep_lock:
                    pass
            return self._list(sweep=False)
        return self._list(sweep=time.monotonic() - self.swept >= self.restat_s)

    def _list(self, sweep: bool) -> list[dict[str, Any]]:
        seen: dict[str, tuple[Any, dict[str, Any]]] = {}
        changed = False
        now = time.monotonic()
        for run_id, path in self._found(sweep):  # plain strings and os.stat: no more than 2 stat calls a run
            cached = self.rows.get(run_id)
            if cached is not None and not sweep and cached[1]["status"] != "running":
                seen[run_id] = cached
                continue
            key = (_stamp(os.path.join(path, "meta.json")), _stamp(os.path.join(path, "summary.json")))
            if key[0] is None:
                continue  # not a run (yet): no meta.json
            if cached is not None and cached[0] == key and cached[1]["status"] != "running":
                seen[run_id] = cached
            else:
                seen[run_id] = (key, row_of(run_id, Path(path)))
                changed = True
        if sweep:
            self.swept = now
        with self.lock:
            if changed or seen.keys() != self.rows.keys() or self.ordered is None:
                self.ordered = sorted((row for _, row in seen.values()), key=lambda r: r["sort"], reverse=True)
            self.rows = seen
            return self.ordered

    def page(self, command: str | None = None, status: str | None = None, limit: int = 100,
             offset: int = 0) -> dict[str, Any]:
        rows = self.list()
        picked = [r for r in rows if (not command or r["command"] == command) and (not status or r["status"] == status)]
        shown = [{k: v for k, v in r.items() if k != "sort"} for r in picked[offset:offset + limit]]
        statuses = sorted({r["status"] for r in rows})
        return {"total": len(rows), "matching": len(picked), "offset": offset, "limit": limit, "runs": shown,
                "statuses": statuses}

    def latest(self) -> dict[str, dict[str, Any]]:
        """{command: its newest run's row}, for the home page's verdicts."""
        newest: dict[str, dict[str, Any]] = {}
        for row in self.list():
            newest.setdefault(row["command"], {k: v for k, v in row.items() if k != "sort"})
        return newest


def row_of(run_id: str, path: Path) -> dict[str, Any]:
    """One run's row: what `nnlab runs` shows (its headline number, claims held), and each claim's verdict.
    Its command is the name of the folder it is in, as core.walk has it."""
    from nnlab.core.record import RunRecord
    from nnlab.tools.runs import describe, settings_changed
    from nnlab.tools.runs_common import tag_of

    command = path.parent.name
    try:
        record = RunRecord(path)
        status = record.status
        headline, held = describe(record)
        meta = record.meta
        return {"id": run_id, "command": command, "name": path.name, "status": status,
                "started": meta.get("started"), "elapsed_s": meta.get("elapsed_s"), "tag": tag_of(path),
                "headline": headline, "held": held, "settings": settings_changed(command, record.config),
                "claims": [{"id": c.get("id"), "holds": bool(c.get("holds"))} for c in record.claims],
                "sort": (str(meta.get("started") or ""), path.name)}
    except (OSError, UserError) as exc:
        return {"id": run_id, "command": command, "name": path.name, "status": "damaged", "started": None,
                "elapsed_s": None, "tag": tag_of(path), "headline": str(exc)[:200], "held": "", "settings": "",
                "claims": [],
                "sort": ("", path.name)}


def figure_url(run_id: str, figure: Path) -> str:
    return f"/files/{run_id}/plots/{figure.name}"


def spoken(record: dict[str, Any]) -> dict[str, Any]:
    """A claim or check record with its texts in the current language (`claim`, `reason`: `claim_zh`, `reason_zh`
    in Chinese, where the record has them), the English kept as `claim_en`, and `failure`: why it fails."""
    from nnlab.core.console import failure
    from nnlab.core.i18n import field

    return {**record, "claim_en": record.get("claim"), "claim": field(record, "claim"),
            "reason": field(record, "reason"), "failure": failure(record)}


def run_json(out: Path, run_id: str, path: Path) -> dict[str, Any]:
    """The run record as the run's page reads it, its texts in the current language (nnlab.core.i18n); UserError
    for a damaged run (one line naming the file)."""
    from nnlab.core.command import load
    from nnlab.core.record import RunRecord
    from nnlab.registry import COMMANDS

    record = RunRecord(path)
    summary = record.summary
    headline = None
    captions: dict[str, str] = {}
    if record.command in COMMANDS:
        spec = load(record.command)
        if record.complete:
            try:
                columns, rows = spec.headline(summary)
                headline = {"columns": list(columns), "rows": [list(r) for r in rows]}
            except (KeyError, TypeError, IndexError, ValueError):
                headline = None  # a summary of another version's layout: the numbers below still show
        try:
            captions = spec.captions()  # in the current language
        except Exception:  # noqa: BLE001 - a plots module that cannot load leaves the figures without captions
            captions = {}
    numbers, why = record.numbers_or_why()
    return {"id": run_id, "command": record.command, "name": path.name, "status": record.status,
            "error": record.error, "meta": record.meta, "config": record.config, "complete": record.complete,
            "headline": headline, "numbers": numbers, "numbers_error": why,
            "claims": [spoken(c) for c in record.claims], "checks": [spoken(c) for c in record.checks],
            "figures": [{"name": f.name, "url": figure_url(run_id, f), "caption": captions.get(f.name, "")}
                        for f in record.figures],
            "metrics_url": f"/api/runs/{run_id}/metrics"}


def compare_json(records: list[tuple[str, Path]]) -> dict[str, Any]:
    """Runs side by side: the config keys that differ, every number of each, the metrics all of them logged."""
    from nnlab.core.record import RunRecord
    from nnlab.tools.compare import differing
    from nnlab.tools.runs_common import metric_names

    runs = [RunRecord(path) for _, path in records]
    for run in runs:
        run.read_all(figures=False)
    numbers: dict[str, list[Any]] = {}
    for i, run in enumerate(runs):
        for name, value in run.numbers_or_why()[0].items():
            numbers.setdefault(name, [None] * len(runs))[i] = value
    common = [m for m in metric_names(runs[0].metrics) if all(m in metric_names(r.metrics) for r in runs[1:])]
    return {"runs": [{"id": run_id, "status": run.status, "held": f"{sum(run.claims_held().values())}/"
                      f"{len(run.claims_held())}"} for (run_id, _), run in zip(records, runs, strict=True)],
            "differ": differing(runs), "numbers": numbers, "metrics": common}
