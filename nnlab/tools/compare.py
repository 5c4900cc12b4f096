"""`nnlab compare RUN_DIR RUN_DIR... [--metric M]`: runs side by side.

\b
    nnlab compare outputs/init/20260101-120000 outputs/init/20260101-120500 --metric std

Prints the config keys that differ and every headline number of each run, and overlays the curves of one
metric of metrics.jsonl (default: the first numeric one all runs logged), one line per run and series
(method=gd, scale=0.05, ...). Writes compare.json and plots/<metric>.png to outputs/compare/<time>/.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from nnlab.core.errors import UserError

if TYPE_CHECKING:
    from nnlab.core.record import RunRecord


@click.command("compare", help=__doc__,
               context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.argument("run_dirs", nargs=-1, metavar="RUN_DIR...", type=click.Path(file_okay=False, path_type=Path))
@click.option("--metric", "-m", metavar="M", help="The metrics.jsonl field to overlay.  [default: the first one "
                                                  "every run logged]")
@click.option("--out", default="outputs", show_default=True, metavar="DIR", help="Writes DIR/compare/<time>/.")
@click.option("--tag", metavar="TAG", help="Suffix of the output directory's name.")
@click.option("--debug", is_flag=True, help="Show the full traceback on errors.")
@click.pass_context
def compare(ctx: click.Context, run_dirs: tuple[Path, ...], metric: str | None, out: str, tag: str | None,
            debug: bool) -> None:
    from nnlab.tools.runs_common import exits_on_signal

    argv = (ctx.obj or {}).get("argv", ["nnlab", *sys.argv[1:]])
    with exits_on_signal("compare"):
        _compare(run_dirs, metric, out, tag, argv)


def _compare(run_dirs: tuple[Path, ...], metric: str | None, out: str, tag: str | None, argv: list[str]) -> None:
    from nnlab.core import atomic, console
    from nnlab.core.record import RunRecord, write_meta
    from nnlab.core.run import claim_directory
    from nnlab.core.walk import is_tool_dir
    from nnlab.tools.runs_common import metric_names, tool_meta

    if len(run_dirs) < 2:
        raise UserError("compare: give at least two run directories")
    for d in run_dirs:
        if is_tool_dir(d):
            raise UserError(f"{d}: a {d.parent.name} directory, not a run; compare the runs themselves")
    runs = [RunRecord(d).read_all() for d in run_dirs]  # every file checked (core.record) before any is written
    differ = differing(runs)
    names = labels(differ, len(runs)) or short_names(list(run_dirs))
    available = [m for m in metric_names(runs[0].metrics) if all(m in metric_names(r.metrics) for r in runs[1:])]
    if metric is not None and metric not in available:
        everywhere = ", ".join(available) or "none"
        raise UserError(f"--metric {metric}: not logged by every run (metrics all runs have: {everywhere})")
    metric = metric or (available[0] if available else None)
    numbers = {}
    for name, run in zip(names, runs, strict=True):
        numbers[name], why = run.numbers_or_why()
        if why:
            console.err.print(f"warning: {why}; its headline numbers are left out", soft_wrap=True, markup=False)
    heads = list(dict.fromkeys(k for values in numbers.values() for k in values))
    claims = {n: r.claims_held() for n, r in zip(names, runs, strict=True)}

    started = dt.datetime.now().astimezone()
    path = claim_directory(out, "compare", tag, started)
    plots = [overlay(runs, names, metric, path / "plots")] if metric else []
    result = {"runs": [str(d) for d in run_dirs], "names": names, "config_differs": differ,
              "headline": {h: [numbers[n].get(h) for n in names] for h in heads},
              "claims": {c: [claims[n].get(c) for n in names] for c in dict.fromkeys(k for v in claims.values()
                                                                                       for k in v)},
              "metric": metric}
    atomic.write_json(path / "summary.json", result)
    write_meta(path, tool_meta("compare", argv, started, f"{len(runs)} runs, metric {metric}"))

    console.out.print(console.table("config keys that differ", ["key", *names],
                                    [[k, *v] for k, v in differ.items()] or [["(none)", *[""] * len(names)]]))
    console.out.print(console.table("headline numbers", ["", *names], [[h, *result["headline"][h]] for h in heads]))
    if result["claims"]:
        console.out.print(console.table("claims held", ["", *names], [[c, *v] for c, v in result["claims"].items()]))
    console.out.print(f"plots: {', '.join(p.name for p in plots) or 'none (no metric every run logged)'}")
    console.out.print(str(path), soft_wrap=True, markup=False)


def labels(differ: dict[str, list[Any]], n: int) -> list[str] | None:
    """Each run named by the settings that tell it apart (`dropout=0`, `dropout=0.5`), when they do (None:
    the runs differ in no setting, or two share the same differing values: names from their directories)."""
    from nnlab.tools.runs import plain

    if not differ:
        return None
    names = [" ".join(f"{k}={plain(v[i])}" for k, v in differ.items())[:60] for i in range(n)]
    return names if len(set(names)) == n else None


def short_names(run_dirs: list[Path]) -> list[str]:
    """Directory names, with their parents where two are alike (two sweeps' p0-s0 runs)."""
    names = [d.resolve().name for d in run_dirs]
    if len(set(names)) < len(names):
        names = [f"{d.resolve().parent.name}/{d.resolve().name}" for d in run_dirs]
    if len(set(names)) < len(names):
        names = [f"{n} #{i + 1}" for i, n in enumerate(names)]
    return names


def differing(runs: list[RunRecord]) -> dict[str, list[Any]]:
    """{config key: value per run} for the keys (and the command) whose values are not all equal."""
    configs = [{"command": r.command, **{k: v for k, v in r.config.items() if k != "command"}} for r in runs]
    keys = list(dict.fromkeys(k for c in configs for k in c))
    return {k: [c.get(k) for c in configs] for k in keys if len({repr(c.get(k)) for c in configs}) > 1}


def overlay(runs: list[RunRecord], names: list[str], metric: str, plots_dir: Path) -> Path:
    """One figure: `metric` against step for every run and series; runs by colour, series by line style."""
    from nnlab.core import plotting
    from nnlab.core.headline import slug
    from nnlab.tools.runs_common import series, wants_log

    fig, axes = plotting.subplots(figsize=(7.0, 4.4))
    ax = axes[0][0]
    styles = ["-", "--", ":", "-."]
    all_values: list[float] = []
    lines = 0
    for i, (run, name) in enumerate(zip(runs, names, strict=True)):
        colour = f"C{i % 10}"
        for j, (group, (xs, ys)) in enumerate(series(run.metrics, metric).items()):
            label = f"{name} · {group}" if group else name
            ax.plot(xs, ys, styles[j % len(styles)], color=colour, label=label, lw=1.3)
            all_values += ys
            lines += 1
    if wants_log(all_values):
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel(metric)
    ax.set_title(f"{metric}: {len(runs)} runs")
    if lines <= 16:
        ax.legend(fontsize=7)
    return plotting.save(fig, plots_dir / f"{slug(metric)}.png")
