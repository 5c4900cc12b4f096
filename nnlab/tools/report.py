"""The lecture's report (report.html and report.md) built from existing runs, without rerunning them.

\b
  nnlab report outputs/lecture/20250101-120000           redo a lecture's report without rerunning it
  nnlab report outputs/init/latest outputs/optimize/latest   any set of runs, in the lecture's order
  nnlab report outputs/ --out my-report                  every run under outputs/ (two levels down)

Each RUN_DIR is a run directory, or a directory holding some (a lecture, a sweep, an --out folder).
Runs of one command are shown one after another in that command's section. The report goes to a new
directory, outputs/report/<time>/ (or --out DIR); figures of runs outside it are copied into its
figures/ folder for report.md, so the directory can be moved or committed on its own.
"""

from __future__ import annotations

from pathlib import Path

import click

from nnlab.core.errors import UserError


@click.command("report", help=__doc__, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("run_dirs", nargs=-1, required=True, metavar="RUN_DIR...")
@click.option("--out", default=None, metavar="DIR",
              help="Write the report into DIR (created; must not hold a report yet).  "
                   "[default: outputs/report/<time>/]")
@click.option("--title", default="nnlab report", show_default=True, help="The report's heading.")
@click.pass_context
def report(ctx: click.Context, run_dirs: tuple[str, ...], out: str | None, title: str) -> None:
    import datetime as dt

    from nnlab.core import console
    from nnlab.core.run import claim_directory
    from nnlab.report import Report, find_runs, read_entry, write

    entries = [read_entry(p) for p in find_runs(run_dirs)]
    if out is None:
        out_dir = claim_directory("outputs", "report", None, dt.datetime.now().astimezone())
    else:
        out_dir = Path(out)
        if not str(out):
            raise UserError("--out: give a directory")
        if (out_dir / "report.html").exists() or (out_dir / "report.md").exists():
            raise UserError(f"--out: {out_dir} already holds a report; give a new directory")
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"--out: cannot create {out_dir}: {exc.strerror or exc}") from None
    argv = (ctx.obj or {}).get("argv", ["nnlab", "report", *run_dirs])
    built = Report(title, entries, out_dir, context=[("command", " ".join(argv))])
    html_path, md_path = write(built)
    counts = built.counts()
    console.out.print(f"{len(entries)} runs · lecture claims held {counts['lecture'][0]}/{counts['lecture'][1]}",
                      markup=False)
    console.out.print(str(html_path), soft_wrap=True, markup=False)
    console.out.print(str(md_path), soft_wrap=True, markup=False)
