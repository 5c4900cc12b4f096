"""`nnlab runs [COMMAND] [--out DIR]`: every run under DIR, newest first.

\b
    nnlab runs
    nnlab runs optimize --limit 5
    nnlab runs --out outputs/lecture --status completed --where seed=0
    nnlab runs --json > runs.json

One row per run directory wherever it is under DIR (a command's own, inside a lecture or a sweep), and one
per sweep or compare: where it is, status, start time, duration, the settings that differ from the
command's defaults, a number that says how the run went (the command's key number, e.g. train-mnist's test
accuracy) and how many of its claims held. A run killed without closing (SIGKILL, OOM) is `abandoned`; a
directory whose meta.json or summary.json is damaged is `damaged`, with the file and field, and the listing
goes on.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from nnlab.core.errors import UserError

if TYPE_CHECKING:
    from nnlab.core.record import RunRecord

STATUSES = ("completed", "failed", "interrupted", "diverged", "running", "abandoned", "damaged")


@click.command("runs", help=__doc__, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.argument("command", required=False)
@click.option("--out", default="outputs", show_default=True, metavar="DIR", help="Where the runs are (any depth).")
@click.option("--command", "-c", "only", metavar="NAME", help="Only runs of this command (the same as COMMAND).")
@click.option("--status", "-s", type=click.Choice(STATUSES), help="Only runs with this status.")
@click.option("--where", "-w", "where", multiple=True, metavar="KEY=VALUE",
              help="Only runs whose config has KEY equal to VALUE (repeat: all must match), e.g. --where dropout=0.5.")
@click.option("--limit", "-n", type=click.IntRange(1), metavar="N", help="Only the newest N.")
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON (one list) instead of a table.")
@click.option("--debug", is_flag=True, help="Show the full traceback on errors.")
def runs(command: str | None, out: str, only: str | None, status: str | None, where: tuple[str, ...],
         limit: int | None, as_json: bool, debug: bool) -> None:
    from nnlab.core import console
    from nnlab.core.record_schema import TOOL_DIRS
    from nnlab.core.walk import find as find_dirs
    from nnlab.registry import COMMANDS

    known = [*COMMANDS, *TOOL_DIRS]
    if command and only and command != only:
        raise UserError(f"runs: COMMAND {command!r} and --command {only!r} disagree; give one")
    command = command or only
    if command is not None and command not in known:
        raise UserError(f"runs: unknown command {command!r}; one of {', '.join(known)}")
    conditions = [_condition(w) for w in where]
    root = Path(out)
    if not root.is_dir():
        raise UserError(f"--out {out}: no such directory")
    rows = [_read(path, root) for path in find_dirs(root, tools=True)]
    rows = [r for r in rows if (command is None or r["command"] == command) and (status is None or r["status"] ==
                                                                                   status)
            and all(_matches(r, key, value) for key, value in conditions)]
    rows.sort(key=lambda r: r["sort"], reverse=True)  # start time, then (same second) when meta.json was written
    shown = rows[:limit] if limit else rows
    if as_json:
        import json

        click.echo(json.dumps([{k: v for k, v in r.items() if k not in ("sort", "config")} for r in shown], indent=1))
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"runs in {root} (newest first)", title_justify="left", show_edge=False, pad_edge=False)
    table.add_column("run", no_wrap=True)  # whole, so it can be copied
    for column in ("status", "started", "took", "settings", "key number", "claims"):
        table.add_column(column)
    for r in shown:
        cells = [r["run"], r["status"], r["started"], r["took"], r["settings"], r["headline"], r["claims"]]
        table.add_row(*(escape(str(v)) for v in cells))
    # Piped or captured: wide lines, one per run, rather than a table folded to 80 columns.
    out = console.out if console.out.is_terminal else Console(width=250, highlight=False)
    out.print(table)
    damaged = sum(r["status"] == "damaged" for r in rows)
    note = f" ({damaged} damaged: unreadable, shown with why)" if damaged else ""
    out.print(f"{len(shown)} of {len(rows)} runs{note}")


def _condition(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise UserError(f"--where {text}: give KEY=VALUE, e.g. --where dropout=0.5")
    return key.strip(), value.strip()


def _matches(row: dict[str, Any], key: str, value: str) -> bool:
    """Whether the run's config has `key` equal to `value`, compared as the YAML values they are (0.5 = 0.50)."""
    import yaml

    if key not in row["config"]:
        return False
    try:
        wanted = yaml.safe_load(value)
    except yaml.YAMLError:
        wanted = value
    have = row["config"][key]
    return have == wanted or str(have) == value


def _read(path: Path, root: Path) -> dict[str, Any]:
    command = path.parent.name
    try:
        return _row(command, path, root)
    except (OSError, UserError) as exc:
        return _damaged_row(command, path, root, str(exc))


def _row(command: str, path: Path, root: Path) -> dict[str, Any]:
    from nnlab.core.record import RunRecord

    record = RunRecord(path)
    meta, status = record.meta, record.status  # status reads summary.json: a damaged one is refused here
    headline, claims = describe(record)
    started = str(meta.get("started") or "")[5:16].replace("T", " ")  # MM-DD HH:MM
    config = record.config
    return {"run": _where(path, root), "command": command, "name": path.name, "status": status, "started": started,
            "took": _duration(meta.get("elapsed_s")), "settings": settings_changed(command, config),
            "headline": headline, "claims": claims, "config": config,
            "sort": (str(meta.get("started") or ""), (path / "meta.json").stat().st_mtime)}


def _damaged_row(command: str, path: Path, root: Path, why: str) -> dict[str, Any]:
    import datetime as dt

    written = dt.datetime.fromtimestamp(os.lstat(path).st_mtime).astimezone()
    return {"run": _where(path, root), "command": command, "name": path.name, "status": "damaged", "started": "",
            "took": "", "settings": "", "headline": why.replace(f"{path}{os.sep}", "")[:120], "claims": "",
            "config": {}, "sort": (written.isoformat(timespec="seconds"), written.timestamp())}


def _where(path: Path, root: Path) -> str:
    """The run's directory relative to --out (`init/2026...`, `lecture/2026.../init/2026...`)."""
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def settings_changed(command: str, config: dict[str, Any]) -> str:
    """The config keys whose values differ from the command's defaults, as `key=value`; a run that has every
    value of --quick is shown as `--quick` and what differs from those ('' for a sweep's or compare's own
    directory, or a command this nnlab does not have)."""
    from nnlab.registry import COMMANDS

    if command not in COMMANDS or not config:
        return ""
    from dataclasses import asdict

    from nnlab.core.command import load

    spec = load(command)
    defaults = asdict(spec.config())
    quick = all(k in config and _same(config[k], v) for k, v in spec.quick.items())
    if quick:
        defaults.update(spec.quick)
    changed = [f"{k}={plain(v)}" for k, v in config.items() if k in defaults and not _same(defaults[k], v)]
    return " ".join(["--quick", *changed] if quick else changed)


def _same(a: Any, b: Any) -> bool:
    return a == b or str(a) == str(b)  # "[0.05]" and ["0.05"]: a --quick value may be written as text


def plain(value: Any) -> str:
    """A config value as it is typed after --set (`0.05`, `[0.05,0.01]`)."""
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(plain(v) for v in value) + "]"
    return str(value)


def describe(record: RunRecord) -> tuple[str, str]:
    """(key number, claims held) of one run; a sweep or compare carries its own headline text."""
    if record.meta.get("headline"):
        return str(record.meta["headline"]), ""
    held, (numbers, _) = record.claims_held(), record.numbers_or_why()
    claims = f"{sum(held.values())}/{len(held)}" if held else ""
    try:
        config = set(record.config)
    except (OSError, UserError):
        config = set()
    return key_number(record.command, numbers, config) or (record.error or "")[:60], claims


def key_number(command: str, numbers: dict[str, float | None], config: set[str]) -> str:
    """`name value` of the number that says how a run went: the command's `key_number` (a name or a pattern),
    else the first number that is not a setting (`lr`) or a label (init's `0.05.w`)."""
    import fnmatch

    from nnlab.core.console import fmt
    from nnlab.core.headline import split_name
    from nnlab.registry import COMMANDS

    pattern = None
    if command in COMMANDS:
        from nnlab.core.command import load

        pattern = load(command).key_number
    known = [(n, v) for n, v in numbers.items() if v is not None]
    if pattern:
        chosen = [(n, v) for n, v in known if fnmatch.fnmatchcase(n, pattern)]
        if chosen:
            return f"{chosen[0][0]} {fmt(chosen[0][1])}"
    for name, value in known:
        if split_name(name)[1] not in config and not _repeats_label(name, value):
            return f"{name} {fmt(value)}"
    return ""


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
