"""`nnlab export RUN_DIR --to tensorboard [--logdir DIR]`: a run (or every run of a lecture, a sweep or a
folder) as TensorBoard event files.

\b
    pip install 'nnlab[tensorboard]'
    nnlab export outputs/optimize/latest --to tensorboard
    tensorboard --logdir outputs        # the viewer: pip install tensorboard

Every numeric field of metrics.jsonl becomes a scalar at its step (tag `<field>/<series>`, the series
named by the line's text fields: loss/method_gd), the headline numbers become `headline/...` scalars,
the figures in plots/ become images and the claims a text table. The event files are written with
tensorboardX (protobuf only, no TensorFlow); default DIR: RUN_DIR/tensorboard. Given a folder of runs, each run
goes to DIR/<its path in the folder>, so one viewer compares them. A damaged run is refused before anything is
written; the event file appears in DIR whole or not at all. `--tensorboard` on a command writes the same
scalars live, while it trains.
"""

from __future__ import annotations

import os
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
    from nnlab.core import walk
    from nnlab.tools.runs_common import exits_on_signal

    with exits_on_signal("export"):
        if (run_dir / "meta.json").is_file() and not walk.is_tool_dir(run_dir):
            _export(run_dir, logdir or run_dir / "tensorboard")
            return
        runs = walk.find(run_dir)  # a lecture's, a sweep's or an --out folder's runs: each its own logdir
        if not runs:
            raise UserError(f"{run_dir}: not a run directory and holds none (no meta.json)")
        base = logdir or run_dir / "tensorboard"
        for run in runs:
            _export(run, base / run.relative_to(run_dir))


def _export(run_dir: Path, logdir: Path) -> None:
    """Check everything, write the event file into a temporary directory beside `logdir`, then move it in: an
    interrupted or failed export leaves no torn event file in `logdir` (one there would block the next)."""
    import shutil

    from nnlab.core.record import RunRecord

    run = RunRecord(run_dir).read_all()  # every file, figures included, checked before anything is written
    numbers, why = run.numbers_or_why()  # a summary of another version: the curves still go, its numbers not
    if why:
        click.echo(f"warning: {why}; no headline/ scalars", err=True)
    try:
        from tensorboardX import SummaryWriter
    except ImportError:
        raise UserError("--to tensorboard needs tensorboardX: pip install 'nnlab[tensorboard]'") from None
    if logdir.is_dir() and any(logdir.glob("events.out.tfevents.*")):
        raise UserError(f"--logdir {logdir} already has event files; remove them or give another --logdir")
    images = decode_figures(run)
    sweep_stale(logdir)
    tmp = logdir.parent / f".{logdir.name}.export-{os.getpid()}.tmp"
    try:
        tmp.mkdir(parents=True, exist_ok=True)
        with SummaryWriter(logdir=str(tmp)) as writer:
            counts = write_run(writer, run, numbers, images)
        logdir.mkdir(parents=True, exist_ok=True)
        for event_file in sorted(tmp.iterdir()):
            os.replace(event_file, logdir / event_file.name)  # one rename each: whole or absent
    except OSError as exc:
        raise UserError(f"--logdir {logdir}: cannot write ({exc.strerror or exc})") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    click.echo(f"{counts['scalars']} scalars, {counts['images']} images -> {logdir}")
    click.echo(f"view: tensorboard --logdir {logdir}")


def sweep_stale(logdir: Path) -> None:
    """Remove the temporary directories of exports into `logdir` whose process is gone (SIGKILL: no cleanup)."""
    import shutil

    from nnlab.core.parent_watch import process_alive

    for tmp in logdir.parent.glob(f".{logdir.name}.export-*.tmp"):
        pid = tmp.name.rsplit("-", 1)[-1].removesuffix(".tmp")
        if pid.isdigit() and not process_alive(int(pid)) and not tmp.is_symlink():
            shutil.rmtree(tmp, ignore_errors=True)


def decode_figures(run: RunRecord) -> dict[str, Any]:
    """{figure stem: (H, W, 3) pixels in [0, 1]} of the run's own figures; one that does not decode is a
    UserError naming it (core.record checked the PNG header; the image data may still be torn)."""
    import io

    import matplotlib.image

    images = {}
    for png in run.figures:  # the run's own files only: a link out of it is never read
        try:
            pixels = matplotlib.image.imread(io.BytesIO(run.png(png)), format="png")
        except (ValueError, OSError, SyntaxError) as exc:
            raise UserError(f"{png}: not a PNG image that decodes ({type(exc).__name__})") from None
        if pixels.ndim == 2:  # greyscale: as RGB
            pixels = pixels[..., None].repeat(3, axis=-1)
        images[png.stem] = pixels[..., :3]
    return images


def write_run(writer: Any, run: RunRecord, numbers: dict[str, float | None],
              images: dict[str, Any]) -> dict[str, int]:
    """Every scalar, image and the claims table of `run` into `writer`. `run` is checked whole (core.record):
    its steps are finite numbers in [0, 1e12], its claims carry a string id and a bool holds."""
    from nnlab.core.live_board import scalars_of

    scalars = 0
    for i, record in enumerate(run.metrics):
        for tag, value, step in scalars_of(record, i):  # the tags --tensorboard writes live
            writer.add_scalar(tag, value, step)
            scalars += 1
    for name, value in numbers.items():
        if value is not None:
            writer.add_scalar(f"headline/{name}", value, 0)
            scalars += 1
    for stem, pixels in images.items():
        writer.add_image(f"plots/{stem}", pixels, 0, dataformats="HWC")
    records = [*run.claims, *run.checks]
    if records:
        lines = ["| | id | claim | measured | expected |", "|---|---|---|---|---|"]
        lines += [f"| {'✓' if c['holds'] else '✗'} | {c['id']} | {c.get('claim', '')} | {c.get('measured')} | "
                  f"{c.get('expected', '')} |" for c in records]
        writer.add_text("claims", "\n".join(lines), 0)
    return {"scalars": scalars, "images": len(images)}
