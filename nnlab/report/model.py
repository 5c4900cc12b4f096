"""What a report shows, read from run directories: one Entry per run, grouped into the lecture's sections.

The HTML and Markdown writers render the same Report, so the two never disagree.
"""

from __future__ import annotations

import datetime as dt
import platform
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnlab.core.errors import UserError
from nnlab.core.i18n import tr
from nnlab.core.record import RAN, RunRecord, verdicts
from nnlab.report.sections import Section, lecture_order, section

SUBTITLE = 'nnlab · the lecture "Neural network basics" (神经网络基础), run and measured'
SUBTITLE_ZH = "nnlab · 讲义《神经网络基础》，逐条运行并测量"


@dataclass
class Entry:
    """One experiment run as the report shows it. `path` is None when it failed before a directory existed."""

    command: str
    path: Path | None
    status: str
    error: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    record: RunRecord | None = field(default=None, repr=False)  # what it was read from (None: no directory)

    @property
    def claims(self) -> list[dict[str, Any]]:
        return verdicts(self.summary, "claims")

    @property
    def checks(self) -> list[dict[str, Any]]:
        return verdicts(self.summary, "checks")

    @property
    def elapsed_s(self) -> float | None:
        return self.meta.get("elapsed_s")

    @property
    def figures(self) -> list[Path]:
        """The run's plots: those the section knows in its order (the lecture's), then the rest by name. Only
        the run's own regular files (core.run_files): a link out of the run is never embedded."""
        if not self.record:
            return []
        known = list(section(self.command).captions)
        return sorted(self.record.figures,
                      key=lambda p: (known.index(p.name) if p.name in known else len(known), p.name))

    def headline(self) -> tuple[list[str], list[list[Any]]] | str:
        """The experiment's own headline table, or why there is none."""
        if self.status not in RAN:
            return tr(f"no headline: the run {self.status}", f"没有主要结果：运行状态为 {self.status}")
        try:
            from nnlab.core.command import load

            return load(self.command).headline(self.summary)
        except Exception as exc:  # a partial summary, or a command this nnlab does not have
            return tr("no headline", "没有主要结果") + f" ({type(exc).__name__}: {exc})"


def read_entry(path: str | Path) -> Entry:
    """The run in `path` (any status), read whole through core.record.RunRecord (its schema: a damaged file
    is a UserError naming the file and the field, raised here, before anything of the report is written)."""
    path = Path(path)
    try:
        record = RunRecord(path).read_all()
    except OSError as exc:
        raise UserError(f"{path}: unreadable run directory ({exc.strerror or exc})") from None
    return Entry(record.command, path, record.status, record.error, record.meta, record.summary, record)


def read_entries(paths: Iterable[Path]) -> tuple[list[Entry], list[str]]:
    """(the entries of the runs in `paths` that read whole, one line per damaged run left out: its why)."""
    entries, left_out = [], []
    for path in paths:
        try:
            entries.append(read_entry(path))
        except UserError as exc:
            left_out.append(str(exc))
    return entries, left_out


def find_runs(paths: Iterable[str | Path]) -> list[Path]:
    """Run directories in `paths`: each path is a run directory, or holds some at any depth (a lecture, a
    sweep, an --out folder; core.walk); links (`latest`) are not followed, so no run appears twice. A sweep's
    or a compare's own directory is not a run: given by name it is refused, found inside a folder skipped."""
    from nnlab.core import walk

    found: list[Path] = []
    for given in paths:
        path = Path(given)
        if (path / "meta.json").is_file() and walk.is_tool_dir(path):
            raise UserError(f"{given}: a {path.parent.name} directory, not a run (give run directories, or a folder "
                            f"holding them)")
        if not path.is_dir():
            raise UserError(f"{given}: no such run directory")
        inner = walk.find(path)
        if not inner:
            raise UserError(f"{given}: not a run directory and holds none (no meta.json)")
        found += inner
    unique = list(dict.fromkeys(p.resolve() for p in found))
    return [Path(p) for p in unique]


@dataclass
class Report:
    title: str
    entries: list[Entry]
    out_dir: Path  # where report.html and report.md go; links are relative to it
    wall_s: float | None = None  # the lecture's wall time; None: the sum of the runs' times
    notes: list[str] = field(default_factory=list)  # shown at the top, in red: what did not run and why
    context: list[tuple[str, str]] = field(default_factory=list)  # e.g. ("command", the lecture's argv)
    created: str = field(default_factory=lambda: dt.datetime.now().astimezone().isoformat(timespec="seconds"))
    edition: str | None = None  # "student" or "instructor": with the exercises (report/exercises.py); None: none
    exercises: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # command -> its exercises' views

    def sections(self) -> list[tuple[Section, list[Entry]]]:
        """(section, its runs) in the lecture's order; runs of one command keep their order."""
        order = lecture_order(e.command for e in self.entries)
        return [(section(c), [e for e in self.entries if e.command == c]) for c in order]

    def run_time_s(self) -> float:
        if self.wall_s is not None:
            return self.wall_s
        return sum(e.elapsed_s or 0.0 for e in self.entries)

    def counts(self, entries: Iterable[Entry] | None = None) -> dict[str, tuple[int, int]]:
        """(held, total) for lecture claims, nnlab claims and sanity checks."""
        entries = self.entries if entries is None else list(entries)
        claims = [c for e in entries for c in e.claims]
        checks = [c for e in entries for c in e.checks]
        lecture = [c for c in claims if c.get("source") == "lecture"]
        nnlab = [c for c in claims if c.get("source") != "lecture"]
        return {name: (sum(bool(c.get("holds")) for c in group), len(group))
                for name, group in (("lecture", lecture), ("nnlab", nnlab), ("claims", claims), ("checks", checks))}

    def environment(self) -> list[tuple[str, str]]:
        """Versions, device, seed and source revision, as the runs recorded them (several values joined)."""

        def values(get) -> str:
            seen = [str(v) for v in dict.fromkeys(get(e.meta) for e in self.entries if e.meta) if v is not None]
            return ", ".join(seen) or "—"

        rows = [*self.context, (tr("created", "生成于"), self.created),
                (tr("run time", "运行用时"), format_seconds(self.run_time_s())),
                (tr("device", "设备"), values(lambda m: m.get("device"))),
                (tr("seed", "随机种子"), values(lambda m: m.get("seed")))]
        for lib in ("nnlab", "python", "torch", "numpy", "matplotlib"):
            rows.append((lib, values(lambda m, lib=lib: (m.get("versions") or {}).get(lib))))
        rows.append((tr("git revision", "git 版本"), values(lambda m: m.get("git_revision"))))
        rows.append((tr("platform", "平台"),
                     values(lambda m: m.get("platform")) if self.entries else platform.platform()))
        return rows

    def finished(self) -> str:
        done = f"{sum(e.status in RAN for e in self.entries)}/{len(self.entries)}"
        return tr(f"{done} runs finished", f"完成的运行 {done}")

    def all_ran(self) -> bool:
        return all(e.status in RAN for e in self.entries)


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def relative_link(target: Path, base: Path) -> str:
    """`target` relative to `base` with forward slashes (absolute when no relative path exists)."""
    import os

    try:
        return Path(os.path.relpath(target.resolve(), base.resolve())).as_posix()
    except ValueError:  # another drive on Windows
        return target.resolve().as_uri()
