"""`nnlab runs [COMMAND] [--out DIR]`: the runs under DIR, newest first.

\b
    nnlab runs
    nnlab runs optimize --limit 5

One row per run directory (and per sweep or compare): command, directory, status, start time, duration, tag,
its headline number (the first number of its headline table that is not a config setting) and how many of
its claims held. A run killed without closing (SIGKILL, OOM) is `abandoned`; a directory whose meta.json
or summary.json is damaged is `damaged`, with the file and field, and the listing goes on.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from nnlab.core.errors import UserError

if TYPE_CHECKING:
    from nnlab.core.record import RunRecord

TOOL_DIRS = ("sweep", "compare")


@click.command("runs", help=__doc__, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.argument("command", required=False)
@click.option("--out", default="outputs", show_default=True, metavar="DIR", help="Where the runs are.")
@click.option("--limit", "-n", type=click.IntRange(1), metavar="N", help="Only the newest N.")
@click.option("--debug", is_flag=True, help="Show the full traceback on errors.")
def runs(command: str | None, out: str, limit: int | None, debug: bool) -> None:
    from nnlab.core import console
    from nnlab.registry import COMMANDS

    known = [*COMMANDS, *TOOL_DIRS]
    if command is not None and command not in known:
        raise UserError(f"runs: unknown command {command!r}; one of {', '.join(known)}")
    root = Path(out)
    if not root.is_dir():
        raise UserError(f"--out {out}: no such directory")
    rows = find(root, [command] if command else known)
    rows.sort(key=lambda r: r["sort"], reverse=True)  # start time, then (same second) when meta.json was written
    shown = rows[:limit] if limit else rows
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"runs in {root} (newest first)", title_justify="left", show_edge=False, pad_edge=False)
    table.add_column("run", no_wrap=True)  # whole, so it can be copied
    tags = any(r["tag"] for r in shown)
    for column in ("status", "started", "took", *(["tag"] if tags else []), "headline", "claims"):
        table.add_column(column)
    for r in shown:
        cells = [f"{r['command']}/{r['name']}", r["status"], r["started"], r["took"], *([r["tag"]] if tags else []),
                 r["headline"], r["claims"]]
        table.add_row(*(escape(str(v)) for v in cells))
    # Piped or captured: wide lines, one per run, rather than a table folded to 80 columns.
    out = console.out if console.out.is_terminal else Console(width=250, highlight=False)
    out.print(table)
    damaged = sum(r["status"] == "damaged" for r in rows)
    note = f" ({damaged} damaged: unreadable, shown with why)" if damaged else ""
    out.print(f"{len(shown)} of {len(rows)} runs{note}")


def find(root: Path, commands: list[str]) -> list[dict[str, Any]]:
    """One row per run directory; a damaged one (meta.json or summary.json breaking core.record's schema, a
    link, a FIFO, an endless file) is a row with status `damaged` and why, so the listing goes on and says so.
    Only meta.json and summary.json are read: what the listing shows (metrics and figures are not)."""
    rows = []
    for command in commands:
        parent = root / command
        if not parent.is_dir():
            continue
        for path in parent.iterdir():
            if path.is_symlink() or not (path / "meta.json").is_file():
                continue
            try:
                rows.append(_row(command, path))
            except (OSError, UserError) as exc:
                rows.append(_damaged_row(command, path, str(exc)))
    return rows


def _row(command: str, path: Path) -> dict[str, Any]:
    from nnlab.core.record import RunRecord
    from nnlab.tools.runs_common import tag_of

    record = RunRecord(path)
    meta, status = record.meta, record.status  # status reads summary.json: a damaged one is refused here
    headline, claims = describe(record)
    started = str(meta.get("started") or "")[5:16].replace("T", " ")  # MM-DD HH:MM
    return {"command": command, "name": path.name, "status": status, "started": started,
            "took": _duration(meta.get("elapsed_s")), "tag": tag_of(path), "headline": headline, "claims": claims,
            "sort": (str(meta.get("started") or ""), (path / "meta.json").stat().st_mtime)}


def _damaged_row(command: str, path: Path, why: str) -> dict[str, Any]:
    import datetime as dt

    from nnlab.tools.runs_common import tag_of

    written = dt.datetime.fromtimestamp(os.lstat(path).st_mtime).astimezone()
    return {"command": command, "name": path.name, "status": "damaged", "started": "", "took": "",
            "tag": tag_of(path), "headline": why.replace(f"{path}{os.sep}", "")[:120], "claims": "",
            "sort": (written.isoformat(timespec="seconds"), written.timestamp())}


def describe(record: RunRecord) -> tuple[str, str]:
    """(headline number, claims held) of one run; a sweep or compare carries its own headline text."""
    from nnlab.core.console import fmt
    from nnlab.core.headline import split_name

    if record.meta.get("headline"):
        return str(record.meta["headline"]), ""
    held, (numbers, _) = record.claims_held(), record.numbers_or_why()
    claims = f"{sum(held.values())}/{len(held)}" if held else ""
    try:
        config = set(record.config)
    except (OSError, UserError):
        config = set()
    for name, value in numbers.items():
        # `lr` is a setting, not a result; so is a number that repeats a label (init's w = scale)
        if value is not None and split_name(name)[1] not in config and not _repeats_label(name, value):
            return f"{name} {fmt(value)}", claims
    return (record.error or "")[:60], claims


def _repeats_label(name: str, value: float) -> bool:
    """Whether the number is written in its own name (init's `0.05/w` is the scale 0.05 of its row)."""
    import re

    return re.search(rf"(?<![\d.]){re.escape(f'{value:g}')}(?![\d])", name) is not None


def _duration(seconds: Any) -> str:
    if not isinstance(seconds, (int, float)):
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.1f} min" if seconds < 3600 else f"{seconds / 3600:.1f} h"
