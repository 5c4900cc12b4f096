"""`nnlab runs [COMMAND] [--out DIR]`: the runs under DIR, newest first.

\b
    nnlab runs
    nnlab runs optimize --limit 5

One row per run directory (and per sweep or compare): command, directory, status, start time, duration, tag,
its headline number (the first number of its headline table that is not a config setting) and how many of
its claims held.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from nnlab.core import run_files
from nnlab.core.errors import UserError

TOOL_DIRS = ("sweep", "compare")


@click.command("runs", help=__doc__, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.argument("command", required=False)
@click.option("--out", default="outputs", show_default=True, metavar="DIR", help="Where the runs are.")
@click.option("--limit", "-n", type=click.IntRange(1), metavar="N", help="Only the newest N.")
@click.option("--debug", is_flag=True, help="Show the full traceback on errors.")
def runs(command: str | None, out: str, limit: int | None, debug: bool) -> None:
    from nnlab.core import console
    from nnlab.registry import EXPERIMENTS

    known = [*EXPERIMENTS, *TOOL_DIRS]
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
    out.print(f"{len(shown)} of {len(rows)} runs")


def find(root: Path, commands: list[str]) -> list[dict[str, Any]]:
    from nnlab.tools.runs_common import tag_of

    rows = []
    for command in commands:
        parent = root / command
        if not parent.is_dir():
            continue
        for path in parent.iterdir():
            if path.is_symlink() or not (path / "meta.json").is_file():
                continue
            try:
                meta = json.loads(run_files.read_text(path, path / "meta.json", run_files.JSON_CAP))
            except (OSError, ValueError, run_files.Refused):  # a link, a FIFO, an endless file: not listed
                continue
            headline, claims = describe(path, meta)
            started = (meta.get("started") or "")[5:16].replace("T", " ")  # MM-DD HH:MM
            rows.append({"command": command, "name": path.name, "status": meta.get("status", "?"), "started": started,
                         "took": _duration(meta.get("elapsed_s")), "tag": tag_of(path), "headline": headline,
                         "claims": claims, "sort": (meta.get("started") or "", (path / "meta.json").stat().st_mtime)})
    return rows


def describe(path: Path, meta: dict[str, Any]) -> tuple[str, str]:
    """(headline number, claims held) of one run; a sweep or compare carries its own headline text."""
    from nnlab.core.console import fmt
    from nnlab.core.headline import claims_held, numbers
    from nnlab.registry import EXPERIMENTS

    if meta.get("headline"):
        return str(meta["headline"]), ""
    command = meta.get("command")
    try:
        summary = json.loads(run_files.read_text(path, path / "summary.json", run_files.JSON_CAP))
    except (OSError, ValueError, run_files.Refused):
        return "", ""
    if command not in EXPERIMENTS:
        return "", ""
    held = claims_held(summary)
    claims = f"{sum(held.values())}/{len(held)}" if held else ""
    config = _config_keys(path)
    for name, value in numbers(command, summary).items():
        label, _, column = name.rpartition("/")
        # `lr` is a setting, not a result; so is a number that repeats the row's label (init's w = scale)
        if value is not None and column not in config and label.rpartition("=")[2] != f"{value:g}":
            return f"{name} {fmt(value)}", claims
    return (summary.get("error") or "")[:60], claims


def _config_keys(path: Path) -> set[str]:
    import yaml

    try:
        config = yaml.safe_load(run_files.read_text(path, path / "config.yaml", run_files.JSON_CAP))
    except (OSError, run_files.Refused, yaml.YAMLError):
        return set()
    return set(config) if isinstance(config, dict) else set()


def _duration(seconds: Any) -> str:
    if not isinstance(seconds, (int, float)):
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.1f} min" if seconds < 3600 else f"{seconds / 3600:.1f} h"
