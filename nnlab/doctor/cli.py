"""`nnlab doctor`: check this machine, one ✓/✗ line per check, with the fix for each ✗.

The checks live in nnlab.doctor.checks and are imported when the command runs, so `nnlab --help`
and `nnlab doctor --help` load neither torch nor numpy.
"""

from __future__ import annotations

import json
import time

import click

MARKS = {True: "[green]✓[/]", False: "[red]✗[/]", None: "[dim]–[/]"}


@click.command("doctor", context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.option("--out", default="outputs", show_default=True, metavar="DIR",
              help="The output directory to check (where experiment commands write their runs).")
@click.option("--data-dir", metavar="DIR", default=None,
              help="Folder of the four MNIST .gz files to check.  [default: $NNLAB_DATA_DIR, else the copy "
                   "shipped in the package]")
@click.option("--device", type=click.Choice(["all", "auto", "cpu", "cuda", "mps"]), default="all",
              show_default=True, help="Where to run the smoke training: all (every available device) or one, "
                                      "as experiment commands take it; an absent device is an error.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the checks as JSON ({ok, seconds, checks: [{group, name, ok, detail, fix}]}) "
                   "instead of a table.  [default: off]")
def doctor(out: str, data_dir: str | None, device: str, as_json: bool) -> int:
    """Check this machine: library versions, CPU/CUDA/MPS devices (a tiny matmul checked against numpy), the
    MNIST files' SHA-256 and decoded cache, that the output and cache directories are writable with room to spare,
    and a seeded smoke training on each device whose loss must land in its measured range.

    Absent devices are shown as – and do not fail. Exit code 0 when every check holds, 1 otherwise.
    """
    from nnlab.doctor.checks import run_checks

    start = time.perf_counter()
    checks = run_checks(out, data_dir, device)
    seconds = time.perf_counter() - start
    ok = all(c.ok is not False for c in checks)
    if as_json:
        click.echo(json.dumps({"ok": ok, "seconds": round(seconds, 3), "checks": [c.as_dict() for c in checks]},
                              indent=2))
    else:
        print_table(checks, ok, seconds)
    return 0 if ok else 1


def print_table(checks: list, ok: bool, seconds: float) -> None:
    from rich.markup import escape
    from rich.table import Table

    from nnlab.core import console

    table = Table(title="nnlab doctor", title_justify="left", show_edge=False, pad_edge=False)
    for column in ("", "check", "detail"):
        table.add_column(column, overflow="fold")
    for i, c in enumerate(checks):
        detail = escape(c.detail) + (f"\n[red]fix:[/] {escape(c.fix)}" if c.ok is False and c.fix else "")
        last_of_group = i + 1 == len(checks) or checks[i + 1].group != c.group
        table.add_row(MARKS[c.ok], escape(c.name), detail, end_section=last_of_group)
    console.out.print(table)
    failed = sum(c.ok is False for c in checks)
    absent = sum(c.ok is None for c in checks)
    verdict = "[green]all checks hold[/]" if ok else f"[red]{failed} check{'s' * (failed != 1)} failed[/]"
    console.out.print(f"{verdict} · {len(checks)} checks, {absent} absent or skipped · {seconds:.1f} s")
