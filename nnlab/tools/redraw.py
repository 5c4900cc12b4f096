"""`nnlab redraw RUN_DIR`: draw a finished run's plots again from its summary.json and metrics.jsonl."""

from __future__ import annotations

from pathlib import Path

import click

from nnlab.core.errors import UserError
from nnlab.registry import COMMANDS


@click.command("redraw", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
def redraw(run_dir: Path) -> None:
    """Redraw the plots of the run in RUN_DIR (after a plotting change, or on another machine)."""
    from nnlab.tools.runs_common import exits_on_signal

    with exits_on_signal("redraw"):
        _redraw(run_dir)


def _redraw(run_dir: Path) -> None:
    from nnlab.core.record import RunRecord

    # Every file checked first (core.record's schema), the figures excepted: they are what redraw replaces.
    run = RunRecord(run_dir).read_all(figures=False)
    command = run.command
    if command not in COMMANDS:
        raise UserError(f"{run_dir}: unknown command {command[:40]!r} in meta.json")
    if not run.complete:
        raise UserError(f"{run_dir}: the run has no complete summary.json to draw from")
    (run_dir / "plots").mkdir(exist_ok=True)
    from nnlab.core.command import load

    plots = load(command).plots_module()
    try:
        paths = plots.draw(run.summary, run.metrics, run_dir / "plots")
    except (KeyError, TypeError, ValueError, IndexError) as exc:  # a summary of another layout or version
        raise UserError(f"{run_dir}: summary.json does not hold what 'nnlab {command}' draws "
                        f"({type(exc).__name__}: {str(exc)[:80]})") from None
    for path in paths:
        click.echo(path)
