"""`nnlab export RUN_DIR --to tensorboard [--logdir DIR]`: a run as TensorBoard event files.

\b
    pip install 'nnlab[tensorboard]'
    nnlab export outputs/optimize/latest --to tensorboard
    tensorboard --logdir outputs        # the viewer: pip install tensorboard

Every numeric field of metrics.jsonl becomes a scalar at its step (tag `<field>/<series>`, the series
named by the line's text fields: loss/method_gd), the headline numbers become `headline/...` scalars,
the figures in plots/ become images and the claims a text table. The event files are written with
tensorboardX (protobuf only, no TensorFlow); default DIR: RUN_DIR/tensorboard.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from nnlab.core.errors import UserError

if TYPE_CHECKING:
    from nnlab.core.record import RunRecord


@click.command("export", help=__doc__,
               context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--to", "target", type=click.Choice(["tensorboard"]), required=True, help="The format.")
@click.option("--logdir", type=click.Path(path_type=Path), metavar="DIR",
              help="Where the event files go.  [default: RUN_DIR/tensorboard]")
@click.option("--debug", is_flag=True, help="Show the full traceback on errors.")
def export(run_dir: Path, target: str, logdir: Path | None, debug: bool) -> None:
    from nnlab.core.record import RunRecord

    run = RunRecord(run_dir)
    numbers, why = run.numbers_or_why()  # a summary of another version: the curves still go, its numbers not
    if why:
        click.echo(f"warning: {why}; no headline/ scalars", err=True)
    try:
        from tensorboardX import SummaryWriter
    except ImportError:
        raise UserError("--to tensorboard needs tensorboardX: pip install 'nnlab[tensorboard]'") from None
    logdir = logdir or run_dir / "tensorboard"
    if logdir.is_dir() and any(logdir.glob("events.out.tfevents.*")):
        raise UserError(f"--logdir {logdir} already has event files; remove them or give another --logdir")
    with SummaryWriter(logdir=str(logdir)) as writer:
        counts = write_run(writer, run, numbers)
    click.echo(f"{counts['scalars']} scalars, {counts['images']} images -> {logdir}")
    click.echo(f"view: tensorboard --logdir {logdir}")


def write_run(writer: Any, run: RunRecord, numbers: dict[str, float | None]) -> dict[str, int]:
    from nnlab.core.headline import finite, is_number
    from nnlab.tools.runs_common import AXES, group_of

    scalars = images = 0
    for i, record in enumerate(run.metrics):
        step = record.get("step", i)
        step = int(step) if finite(step) else i
        group = group_of(record, sep="/", eq="_")  # TensorBoard tags keep only [A-Za-z0-9_./-]
        for key, value in record.items():
            if key in AXES or not is_number(value):
                continue
            writer.add_scalar(f"{key}/{group}" if group else key, float(value), step)
            scalars += 1
    for name, value in numbers.items():
        if value is not None:
            writer.add_scalar(f"headline/{name}", value, 0)
            scalars += 1
    for png in run.figures:  # the run's own files only: a link out of it is never read
        import io

        import matplotlib.image

        pixels = matplotlib.image.imread(io.BytesIO(run.png(png)), format="png")[..., :3]  # (H, W, 3) in [0, 1]
        writer.add_image(f"plots/{png.stem}", pixels, 0, dataformats="HWC")
        images += 1
    records = [*run.claims, *run.checks]
    if records:
        lines = ["| | id | claim | measured | expected |", "|---|---|---|---|---|"]
        lines += [f"| {'✓' if c['holds'] else '✗'} | {c['id']} | {c['claim']} | {c['measured']} | {c['expected']} |"
                  for c in records]
        writer.add_text("claims", "\n".join(lines), 0)
    return {"scalars": scalars, "images": images}
