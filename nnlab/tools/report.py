"""The lecture's report (report.html and report.md) built from existing runs, without rerunning them.

\b
  nnlab report outputs/lecture/20250101-120000           redo a lecture's report without rerunning it
  nnlab report outputs/init/latest outputs/optimize/latest   any set of runs, in the lecture's order
  nnlab report outputs/ --out my-report                  every run under outputs/ (two levels down)

Each RUN_DIR is a run directory, or a directory holding some (a lecture, a sweep, an --out folder).
Runs of one command are shown one after another in that command's section. The report goes to a new
directory, outputs/report/<time>/ (or --out DIR); figures of runs outside it are copied into its
figures/ folder for report.md, so the directory can be moved or committed on its own. A damaged run (a file
that breaks the run schema) is left out, named on stderr and at the top of the report; the rest are shown.
"""

from __future__ import annotations

from pathlib import Path

import click

from nnlab.core.errors import UserError


@click.command("report", help=__doc__, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("run_dirs", nargs=-1, required=True, metavar="RUN_DIR...")
@click.option("--out", default=None, metavar="DIR",
              help="Write the report into DIR (created, or an empty one; taken by one report only).  "
                   "[default: outputs/report/<time>/]")
@click.option("--title", default="nnlab report", show_default=True, help="The report's heading.")
@click.pass_context
def report(ctx: click.Context, run_dirs: tuple[str, ...], out: str | None, title: str) -> None:
    import datetime as dt

    from nnlab.core import console
    from nnlab.core.run import claim_directory
    from nnlab.report import Report, claim_out_dir, find_runs, read_entries, write

    if out is not None and not str(out):
        raise UserError("--out: give a directory")
    paths = find_runs(run_dirs)
    entries, left_out = read_entries(paths)  # every file of every run read (and checked) before anything is written
    if not entries:
        raise UserError(left_out[0] if len(left_out) == 1 else f"no run could be read: {left_out[0]} "
                        f"(and {len(left_out) - 1} more)")
    for why in left_out:
        console.err.print(f"warning: left out: {why}", soft_wrap=True, markup=False)
    if out is None:
        out_dir = claim_directory("outputs", "report", None, dt.datetime.now().astimezone())
    else:
        out_dir = claim_out_dir(Path(out))
    argv = (ctx.obj or {}).get("argv", ["nnlab", "report", *run_dirs])
    built = Report(title, entries, out_dir, context=[("command", " ".join(argv))],
                   notes=[f"left out: {why}" for why in left_out])
    html_path, md_path = write(built)
    counts = built.counts()
    console.out.print(f"{len(entries)} runs · lecture claims held {counts['lecture'][0]}/{counts['lecture'][1]}",
                      markup=False)
    console.out.print(str(html_path), soft_wrap=True, markup=False)
    console.out.print(str(md_path), soft_wrap=True, markup=False)
