"""Every experiment's default recipe in the lecture's order, then one report of them all.

\b
  nnlab lecture                       the whole lecture (its defaults), report in outputs/lecture/<time>/
  nnlab lecture --quick               seconds-long versions of each, for a smoke run
  nnlab lecture --only init,optimize  some sections; --skip train-mnist leaves some out
  nnlab lecture --quick --strict      exit code 1 when any claim or sanity check did not hold (CI)

Each experiment runs through the same runner as `nnlab <command>`, into its own run directory under
outputs/lecture/<time>/<command>/. By default (--jobs auto) they run side by side, one per core, each in a
worker process of its own with its share of the cores, drawing its own figures; with --jobs 1 one after
another in this process, the console script's figure workers drawing each one's figures while the next
computes. The numbers are the same either way. report.html there is one self-contained page (open it from
anywhere, print it); report.md is the same for a code host. An experiment that fails is reported with its
error and the others still run. Ctrl-C closes the running experiments as interrupted (with --jobs 1, a
finished one whose figures are being drawn is kept), stops, and still writes the report of what ran. Exit
code: 0 when every experiment ran (completed or diverged), 1 when one failed (or, with --strict, a claim did
not hold), 130 after Ctrl-C. `nnlab report DIR` redoes the report.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from nnlab.core.errors import UserError
from nnlab.registry import COMMANDS


def names_from(values: tuple[str, ...], flag: str) -> list[str]:
    """Comma-separated (or repeated) experiment names, each one registered. An empty name is refused: `--only ""`
    would otherwise select nothing, that is every experiment."""
    from nnlab.core.errors import did_you_mean

    names = [n.strip() for v in values for n in v.split(",")]
    if "" in names:
        raise UserError(f"{flag}: an empty value; give experiment names, e.g. {flag} init,optimize")
    for name in names:
        if name not in COMMANDS:
            raise UserError(f"{flag}: unknown experiment {name!r}{did_you_mean(name, list(COMMANDS))}; "
                            f"experiments: {', '.join(COMMANDS)}")
    return names


def select(only: tuple[str, ...], skip: tuple[str, ...]) -> list[str]:
    """The experiments to run, in the lecture's order: every registered one unless --only/--skip say so."""
    from nnlab.report.sections import lecture_order

    names = lecture_order(COMMANDS)
    chosen, skipped = names_from(only, "--only"), names_from(skip, "--skip")
    names = [n for n in names if (not chosen or n in chosen) and n not in skipped]
    if not names:
        raise UserError("--only and --skip leave no experiment to run")
    return names


# Lecture statements a command's default run does not reach, each judged by a second run of that command in the
# same section (tag, settings): the flat-minima sentences of the optimization slides need optimize's MNIST MLP
# (15 s of CPU at its defaults, 3 s with --quick).
SECOND_RUNS: dict[str, list[tuple[str, dict[str, Any]]]] = {"optimize": [("mlp", {"problem": "mlp"})]}


def plan(names: list[str], options: dict[str, Any], quick: bool, argv: list[str]) -> list[tuple[Any, Any, Any]]:
    """(spec, config, request) for each experiment; every config resolved (and refused) before anything runs.
    The runner's `out` is set once the lecture's directory exists."""
    from nnlab.core.command import load
    from nnlab.core.device import resolve_device
    from nnlab.core.runner import Request, build_config

    steps = []
    for name in names:
        spec = load(name)
        for tag, settings in [(None, {}), *SECOND_RUNS.get(name, [])]:
            request = Request(name, {**options, **settings}, quick=quick, argv=argv, tag=tag)
            try:
                config = build_config(spec, request)
                if config.device not in ("auto", "cpu"):  # --device cuda without one: refused before anything runs
                    resolve_device(config.device)  # (auto always resolves: not probed here, so no torch import)
            except UserError as exc:
                raise UserError(f"nnlab {name}: {exc}") from None
            steps.append((spec, config, request))
    return steps


@contextlib.contextmanager
def stop_requests() -> Iterator[Callable[[], int | None]]:
    """Yields `stopped()`: the first Ctrl-C/SIGTERM received so far, or None.

    Between experiments a signal only asks the lecture to stop. During one, the runner's own handlers take
    over: the experiment stops at its next safe point and is closed as interrupted, or, when it has none
    left, completes. Either way the signal is seen here through a wakeup socket (Python writes every
    handled signal's number to it, whichever handler runs), so the lecture stops after that experiment."""
    seen: list[int] = []
    previous: dict[int, Any] = {}
    reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)
    old_fd = None
    try:
        for s in (signal.SIGINT, signal.SIGTERM):
            previous[s] = signal.signal(s, lambda signum, frame: None)
        old_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    except ValueError:  # not the main thread: no handlers, no stopping
        pass

    def stopped() -> int | None:
        with contextlib.suppress(BlockingIOError):
            while data := reader.recv(512):
                seen.extend(n for n in data if n in (signal.SIGINT, signal.SIGTERM))
        return seen[0] if seen else None

    try:
        yield stopped
    finally:
        if old_fd is not None:
            signal.set_wakeup_fd(old_fd)
        for s, handler in previous.items():
            signal.signal(s, handler)
        reader.close()
        writer.close()


def start_one(spec: Any, config: Any, request: Any) -> tuple[Any, int | None]:
    """Start one experiment: (a runner.Ending whose figures the workers may still be drawing, or the report
    Entry of a run that ended early; the signal that interrupted it or None). Never raises for the
    experiment's own errors: a failure is an Entry with status failed and its error line."""
    from nnlab.core.runner import start

    return ended_as(spec, request, lambda: start(spec, config, request, report=False, figures_later=True))


def end_one(spec: Any, request: Any, ending: Any, stop: int | None) -> tuple[Any, int | None]:
    """Wait for an experiment's figures and close its run: (its report Entry, the signal that stopped it).
    `stop`: the signal that already stopped the lecture, if any (the next one then interrupts the wait)."""
    from nnlab.report import read_entry

    return ended_as(spec, request, lambda: read_entry(ending.end(stopping=stop).path))


def ended_as(spec: Any, request: Any, step: Callable[[], Any]) -> tuple[Any, int | None]:
    """step()'s result, or the Entry of the run it left behind when it was stopped or failed."""
    from nnlab.core.runner import RunInterrupted
    from nnlab.report import Entry, read_entry

    try:
        return step(), None
    except RunInterrupted as exc:
        return read_entry(exc.path), exc.signum
    except KeyboardInterrupt:
        entry = newest_run(Path(request.out), spec.name, request.tag)
        return entry or Entry(spec.name, None, "interrupted", "KeyboardInterrupt"), signal.SIGINT
    except Exception as exc:  # closed as failed by the runner when its directory existed
        entry = newest_run(Path(request.out), spec.name, request.tag)
        return entry or Entry(spec.name, None, "failed", f"{type(exc).__name__}: {exc}"), None


def newest_run(parent: Path, command: str, tag: str | None) -> Any:
    from nnlab.report import read_entry
    from nnlab.tools.lecture_pool import newest

    path = newest(parent, command, tag)
    return read_entry(path) if path else None


def progress() -> Any:
    """One overall progress display on stderr (nested under each experiment's own bars: rich >= 14.1)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from nnlab.core import console

    nested_ok = hasattr(console.err, "_live_stack")  # older rich refuses a second live display
    return Progress(TextColumn("[bold]lecture[/] {task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console.err, disable=not (console.err.is_terminal and nested_ok))


def line(i: int, n: int, entry: Any) -> str:
    from rich.markup import escape

    from nnlab.core.i18n import tr
    from nnlab.report.model import format_seconds
    from nnlab.report.words import status_word

    ok = entry.status in ("completed", "diverged")
    held = f"{sum(bool(c.get('holds')) for c in entry.claims)}/{len(entry.claims)}"
    text = (f"[{i}/{n}] {'[green]✓[/]' if ok else '[red]✗[/]'} {escape(entry.command)} "
            f"{escape(status_word(entry.status))} · {tr(f'{held} claims held', f'说法成立 {held}')} · "
            f"{format_seconds(entry.elapsed_s)}")
    if entry.error:
        text += f" · [red]{escape(entry.error)}[/]"
    return text


def lecture_exercises(entries: list[Any], options: dict[str, Any], parent: Path) -> dict[str, list[Any]]:
    """The exercises of the sections that ran, measured into parent/exercises/ (their own quick runs, with the
    lecture's --seed and --device), as the report's views."""
    from nnlab.core import console
    from nnlab.exercise.edition import measure_sections

    sections = list(dict.fromkeys(e.command for e in entries))
    def say(p: Any) -> None:
        console.err.print(f"exercise: nnlab {p.command} {' '.join(p.set_pairs)}".rstrip(), soft_wrap=True, markup=False)

    return measure_sections(sections, parent, [f"{k}={v}" for k, v in options.items()], on_run=say)


def one_by_one(steps: list[tuple[Any, Any, Any]], parent: Path) -> tuple[dict[int, Any], int | None]:
    """The experiments one after another in this process, each one's figures drawn by the console script's
    figure workers while the next computes: (the report entry of each that ran, by its index in `steps`; the
    signal that stopped the lecture)."""
    from nnlab.report import Entry

    entries: list[Any] = []
    stopped: int | None = None
    drawing: tuple[Any, Any, Any] | None = None  # (spec, request, Ending): a run whose figures are being drawn
    with stop_requests() as stop_signal, progress() as bar:
        task = bar.add_task("", total=len(steps))

        def done(entry: Any) -> None:
            entries.append(entry)
            bar.console.print(line(len(entries), len(steps), entry), soft_wrap=True)
            bar.advance(task)

        def close_drawing() -> None:
            """Wait for the figures of the run in `drawing`, close it, report it."""
            nonlocal drawing, stopped
            spec, request, ending = drawing
            drawing = None
            entry, signum = end_one(spec, request, ending, stop_signal() or stopped)
            done(entry)
            stopped = stopped or signum

        # Each run's figures are drawn by the figure workers while the next experiment computes (on the core
        # it leaves idle); the run is closed, and reported, once the next one has computed.
        try:
            for i, (spec, config, request) in enumerate(steps, 1):
                # the previous run completes (its line printed) once its figures are in, after this one computes
                meanwhile = f" · {drawing[0].name}'s figures drawn meanwhile" if drawing is not None else ""
                bar.update(task, description=f"{spec.name} ({i}/{len(steps)}){meanwhile}")
                request.out = parent
                begun, signum = start_one(spec, config, request)
                stopped = stopped or signum
                if drawing is not None:
                    close_drawing()
                if isinstance(begun, Entry):
                    done(begun)
                else:
                    drawing = (spec, request, begun)
                    if begun.closed:  # drawn already (no figure workers): nothing to overlap
                        close_drawing()
                stopped = stop_signal() or stopped
                if stopped is not None:
                    break
        finally:  # whatever stops the loop, no run is left open
            if drawing is not None:
                close_drawing()
    return dict(enumerate(entries)), stopped


def side_by_side(steps: list[tuple[Any, Any, Any]], pool: Any, parent: Path) -> tuple[dict[int, Any], int | None]:
    """The experiments side by side, on the worker processes of `pool` (tools/lecture_pool.py): (the report entry
    of each that ran, by its index in `steps`; the signal that stopped the lecture)."""
    from nnlab.core import console, figure_pool
    from nnlab.tools.lecture_pool import run_all

    figure_pool.stop()  # each worker draws its own figures
    ended: dict[int, Any] = {}

    def on_entry(index: int, entry: Any) -> None:
        ended[index] = entry
        console.err.print(line(len(ended), len(steps), entry), soft_wrap=True)

    console.err.print(f"{len(steps)} experiments, {pool.workers} at a time", markup=False)
    stopped = run_all(steps, pool, parent, on_entry)
    return ended, stopped


def resolve_jobs(jobs: str, steps: int) -> int:
    """--jobs: a positive count, or auto (one per core this process may use, at most one per experiment)."""
    from nnlab.core.device import available_cores

    if jobs == "auto":
        return max(1, min(available_cores(), steps))
    if not jobs.isdigit() or int(jobs) < 1:
        raise UserError(f"--jobs: give a positive number of experiments at once, or auto; got {jobs!r}")
    return min(int(jobs), steps)


@click.command("lecture", help=__doc__, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--quick", is_flag=True, help="Each experiment's seconds-long --quick version.")
@click.option("--only", multiple=True, metavar="A,B", help="Run only these experiments (comma-separated or "
              "repeated).  [default: all]")
@click.option("--skip", multiple=True, metavar="C,D", help="Leave these experiments out.  [default: none]")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default=None,
              help="Device for every experiment.  [default: each experiment's own (auto)]")
@click.option("--seed", default=None, metavar="N", help="Seed for every experiment.  [default: each one's own (0)]")
@click.option("--out", default="outputs", show_default=True, metavar="DIR",
              help="The lecture goes to DIR/lecture/<time>/, one run directory per experiment inside.")
@click.option("--strict", is_flag=True, help="Exit code 1 when any claim or sanity check did not hold "
              "(the report is still written).")
@click.option("--jobs", default="auto", metavar="N", help="How many experiments run at once, each in a worker "
              "process of its own with its share of the cores (the numbers are the same).  [default: auto: one per "
              "core, at most one per experiment]")
@click.option("--edition", type=click.Choice(["student", "instructor"]), default=None,
              help="Add the exercises (`nnlab exercise`), measured here into <dir>/exercises/: student puts each "
                   "section's before its results with the answers behind a reveal; instructor adds them inline "
                   "after the results with a grading key.  [default: none, the plain report]")
@click.pass_context
def lecture(ctx: click.Context, quick: bool, only: tuple[str, ...], skip: tuple[str, ...], device: str | None,
            seed: str | None, out: str, strict: bool, jobs: str, edition: str | None) -> int:
    import datetime as dt

    from nnlab.core import console
    from nnlab.core.run import _point_latest, claim_directory
    from nnlab.report import Report, write

    argv = (ctx.obj or {}).get("argv", ["nnlab", *sys.argv[1:]])
    options = {k: v for k, v in (("device", device), ("seed", seed)) if v is not None}
    names = select(only, skip)
    jobs_n = resolve_jobs(jobs, sum(1 + len(SECOND_RUNS.get(name, [])) for name in names))  # refused first
    if not out:
        raise UserError("--out: give a directory")
    pool = None
    if jobs_n > 1:
        from nnlab.tools.lecture_pool import start_workers

        pool = start_workers(jobs_n, names)  # warming up while the configs are resolved
    try:
        steps = plan(names, options, quick, argv)  # every config refused or resolved before anything is made
        started = time.perf_counter()
        parent = claim_directory(out, "lecture", None, dt.datetime.now().astimezone())
    except BaseException:  # the workers end with the refusal
        if pool is not None:
            pool.close()
        raise
    console.err.print(f"lecture directory {parent}", soft_wrap=True, markup=False)

    if pool is not None:
        ran, stopped = side_by_side(steps, pool, parent)
    else:
        ran, stopped = one_by_one(steps, parent)
    entries = [ran[i] for i in sorted(ran)]  # the lecture's order, whatever order they ran in

    from nnlab.core.i18n import tr

    notes = []
    if stopped is not None:
        left = list(dict.fromkeys(spec.name for i, (spec, _, _) in enumerate(steps) if i not in ran))  # 2nd runs too
        name = signal.Signals(stopped).name
        notes.append(tr(f"Stopped by {name}", f"被 {name} 中止") + (tr(f"; not run: {', '.join(left)}",
                                                                     f"；未运行：{'、'.join(left)}") if left else ""))
    report = Report(tr("nnlab lecture", "nnlab 讲义") + (" --quick" if quick else ""), entries, parent,
                    wall_s=time.perf_counter() - started, notes=notes,
                    context=[(tr("command", "命令"), " ".join(argv)), (tr("directory", "目录"), str(parent))])
    if edition is not None and stopped is None:
        report.edition, report.exercises = edition, lecture_exercises(entries, options, parent)
    html_path, md_path = write(report)
    _point_latest(parent)
    counts = report.counts()
    lecture_n, nnlab_n, checks_n = (f"{counts[k][0]}/{counts[k][1]}" for k in ("lecture", "nnlab", "checks"))
    console.out.print(tr(f"claims held: lecture {lecture_n} · nnlab {nnlab_n} · checks {checks_n}",
                         f"成立的说法：讲义 {lecture_n} · nnlab {nnlab_n} · 检验 {checks_n}"))
    console.out.print(str(html_path), soft_wrap=True, markup=False)
    console.out.print(str(md_path), soft_wrap=True, markup=False)
    if stopped is not None:
        return 128 + stopped
    if not report.all_ran():
        return 1
    if strict and (counts["claims"][0] < counts["claims"][1] or counts["checks"][0] < counts["checks"][1]):
        console.err.print("--strict: not every claim held", markup=False)
        return 1
    return 0
