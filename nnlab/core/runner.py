"""The runner: config layers -> run directory -> prepare, run, draw -> close -> report.

One code path for the CLI (`nnlab <command>`), the Python API (`nnlab.run`) and the tools that run
experiments in bulk (lecture, sweep). Nothing here imports click.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shlex
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnlab.core.command import Command, load
from nnlab.core.errors import UserError


class RunInterrupted(Exception):
    """A run stopped by Ctrl-C or SIGTERM; its directory was closed with status `interrupted`."""

    def __init__(self, path: Path, signum: int, resume: str | None = None):
        # `resume`: the command that continues it, for a resumable command (`nnlab train-mnist --resume DIR`)
        then = f"; continue it with: {resume}" if resume else ""
        super().__init__(f"interrupted; partial run kept in {path}{then}")
        self.path = path
        self.signum = signum


@dataclass
class Request:
    """What one invocation asks for, before validation. `options` are config keys given by name
    (CLI options or API keywords), `set_pairs` are `--set key=value` texts applied last."""

    command: str
    options: Mapping[str, Any] = field(default_factory=dict)
    recipe: str | Path | None = None
    quick: bool = False
    set_pairs: Iterable[str] = ()
    out: str | Path | None = None  # None: outputs/
    tag: str | None = None
    resume: str | Path | None = None
    argv: list[str] | None = None
    draw: bool = True  # False: no figures (tests and tools that read only the numbers); the run says so in meta
    tensorboard: bool = False  # event files written live into RUN_DIR/tensorboard/ (also NNLAB_TENSORBOARD=1)


@dataclass
class Outcome:
    """A closed run: where it is, how it ended, what it returned."""

    path: Path
    status: str
    summary: dict[str, Any]


def build_config(spec: Command, request: Request) -> Any:
    """Resolve the config: (resumed run's config.yaml <) recipe < --quick < options < --set."""
    from nnlab.core.config import Layer, load_recipe, parse_set, resolve, saved_layer
    from nnlab.core.run import check_config_hash, check_resumable

    layers = []
    if request.resume is not None:
        if not str(request.resume):
            raise UserError("--resume: give a run directory")
        if request.quick:
            raise UserError("--resume with --quick: a resumed run keeps its own config")
        meta = check_resumable(Path(request.resume), spec.name)
        saved = saved_layer(Path(request.resume) / "config.yaml", spec.name, spec.config)
        check_config_hash(Path(request.resume), resolve(spec.config, [saved]), meta)  # before the layers above it
        layers.append(saved)
    if request.recipe is not None:
        if not str(request.recipe):
            raise UserError("--recipe: give a file name")
        layers.append(Layer(f"recipe {request.recipe}", load_recipe(request.recipe, spec.name)))
    if request.quick:
        layers.append(Layer("--quick", dict(spec.quick)))
    layers.append(Layer("option", dict(request.options), option_style=True))
    layers.append(Layer("--set", parse_set(request.set_pairs)))
    return resolve(spec.config, layers)


def execute(request: Request, *, report: bool = True) -> Outcome:
    """Run `request` from start to end. Raises UserError for bad input (before any directory exists,
    where it can be known then), RunInterrupted after closing an interrupted run, and re-raises any
    other error after closing the run as failed."""
    spec = load(request.command)
    if request.resume is not None and not spec.resumable:
        raise UserError(f"nnlab {spec.name} cannot resume runs")
    config = build_config(spec, request)
    return execute_config(spec, config, request, report=report)


def execute_config(spec: Command, config: Any, request: Request, *, report: bool = True) -> Outcome:
    """execute() for an already resolved config."""
    return start(spec, config, request, report=report).end()


def start(spec: Command, config: Any, request: Request, *, report: bool = True,
          figures_later: bool = False) -> Ending:
    """Everything execute_config does, up to the figures; Ending.end() finishes. With figures_later and the
    console script's figure workers running, the figures are handed to them and this returns at once: the
    run stays open (status running) until end() has them, so a caller can compute the next run meanwhile
    (nnlab lecture). Otherwise the run is drawn and closed before this returns."""
    from nnlab.core import console, figure_pool, live_board
    from nnlab.core.device import describe, resolve_device, thread_limit
    from nnlab.core.run import Run, check_tag
    from nnlab.core.signals import Signals

    argv = request.argv or ["nnlab.run", spec.name]
    check_tag(request.tag)
    if request.out is not None and not str(request.out):
        raise UserError("--out: give a directory")
    if request.resume is not None and (request.out is not None or request.tag is not None):
        raise UserError("--resume continues a run in its own directory: --out and --tag do not apply")
    check_memory(spec, config)
    device = resolve_device(config.device)
    if spec.prepare is not None:  # inputs that can be missing or corrupt: fail before the run exists
        spec.prepare(config)
    board = live_board.wanted(request.tensorboard)
    if board:
        live_board.LiveBoard.check_installed()  # a missing tensorboardX is refused before the run exists
    signals = Signals()
    with signals.installed():  # before the directory exists: a signal during setup cannot leave half of one
        with signals.critical():
            if request.resume is not None:
                resume = Path(request.resume)
                step = None
                if spec.resume.check is not None:  # e.g. a readable checkpoint: refuse before touching the run
                    step = spec.resume.check(resume, config)
                rec = Run.reopen(resume, spec.name, config, device, argv, may_change=spec.resume.may_change,
                                 signals=signals, checkpoint_step=checkpoint_step(step))
            else:
                rec = Run.create(request.out or "outputs", spec.name, config, device, request.tag, argv=argv,
                                 signals=signals)
            rec.meta["device"] = describe(device)
            if board:
                rec.board = live_board.LiveBoard(rec.path / "tensorboard")
            if not request.draw:
                rec.meta["figures"] = "not drawn (asked for numbers only)"
        if report:
            console.err.print(f"run directory {rec.path}", soft_wrap=True, markup=False)
        ending = Ending(spec, rec, report, request.draw)
        with ending.closed_on_error():
            rec.check_stop()  # a stop asked for while the directory was being made
            tag = rec.path.name[len("20260101-120000") + 1:]  # a sweep's grid point and seed (p1-s0), a tag
            with thread_limit(threads_of(config)), console.labelled(f"{spec.name} {tag}".strip()):
                ending.summary = finish_summary(spec.name, spec.run(config, rec))
            rec.check_stop()  # asked for after the experiment's last safe point: still a stop
            pool = figure_pool.active() if figures_later and request.draw else None
            ending.job = pool.submit(spec.plots, ending.summary, rec.path, rec.plots_dir) if pool else None
        if ending.job is None:
            ending.close()
    return ending


class Ending:
    """A run whose experiment has returned (start() makes it): its figures, its closing, its report."""

    def __init__(self, spec: Command, rec: Any, report: bool, drawing: bool = True):
        self.spec, self.rec, self.report, self.drawing = spec, rec, report, drawing
        self.summary: dict[str, Any] | None = None
        self.job: Any = None  # figure_pool.Job: the figures being drawn by the workers, or None
        self.closed = False

    @contextlib.contextmanager
    def closed_on_error(self) -> Iterator[None]:
        """A stop closes the run as interrupted (raising RunInterrupted), any other error as failed."""
        from nnlab.core.signals import Interrupted

        try:
            yield
        except (Interrupted, KeyboardInterrupt) as exc:
            self.closed = True
            self.rec.finish("interrupted", self.summary)
            resumable = self.spec.resumable
            resume = f"nnlab {self.spec.name} --resume {shlex.quote(str(self.rec.path))}" if resumable else None
            raise RunInterrupted(self.rec.path, exc.signum if isinstance(exc, Interrupted) else 2, resume) from None
        except BaseException as exc:
            from nnlab.core import atomic

            self.closed = True
            self.rec.finish("failed", self.summary, error=atomic.error_text(exc))
            raise

    def close(self, *, stop_after_drawing: bool = True) -> None:
        """Draw (or wait for) the figures, then close the run; the run's signal handlers must be installed.
        stop_after_drawing: a stop asked for while drawing closes the run as interrupted, as at any point of
        a run; False keeps the run once its figures are in (a second signal still stops the wait)."""
        with self.closed_on_error():
            drawn_at = draw(self.spec, self.summary, self.rec, self.job) if self.drawing else None
            if stop_after_drawing:
                self.rec.check_stop()
        self.closed = True
        self.rec.finish(self.summary.get("status", "completed"), self.summary, ended=drawn_at)

    def end(self, stopping: int | None = None) -> Outcome:
        """Close the run if start() left it open (waiting for its figures), print its report, return it.
        Its experiment is over by then (the caller has gone on to the next), so a first Ctrl-C while its
        figures are drawn keeps it: the caller sees the signal and stops after it (nnlab lecture). When the
        caller is stopping already (`stopping`: the signal), that first one has come: the next interrupts."""
        if not self.closed:
            if stopping is not None and self.rec.signals.signum is None:
                self.rec.signals.signum = stopping
            with self.rec.signals.installed():
                self.close(stop_after_drawing=False)
        if self.report:
            print_report(self.spec, self.summary, self.rec)
        return Outcome(self.rec.path, self.rec.status, self.summary)


def checkpoint_step(step: Any) -> int | None:
    """What a command's Resume.check returned, as the step its checkpoint holds: an int, or None when it says
    nothing (then no metrics are dropped on the resume; a bool is not a step)."""
    return step if isinstance(step, int) and not isinstance(step, bool) else None


def finish_summary(command: str, summary: dict[str, Any]) -> dict[str, Any]:
    """Claims and checks apart, ids checked, a non-finite number made a `diverged` status, strict JSON.

    The result is exactly what summary.json will hold, so plots and `nnlab redraw` see the same numbers.
    """
    from nnlab.core import atomic
    from nnlab.core.claims import check_ids, partition

    claims, checks = partition(summary.get("claims", []))
    summary["claims"], summary["checks"] = claims, [*summary.get("checks", []), *checks]
    check_ids(command, [*claims, *checks])
    bad = atomic.nonfinite_paths(json.loads(json.dumps(summary, default=atomic._jsonable)))
    if bad and summary.get("status", "completed") == "completed":
        summary["status"] = "diverged"  # a reported number that is not finite is not a completed result
    if bad:
        summary["nonfinite"] = bad[:20]
    return json.loads(atomic.dumps(summary))


def draw(spec: Command, summary: dict[str, Any], rec: Any, job: Any = None) -> float | None:
    """The run's figures: `job`'s (handed to the figure workers by start()), else drawn on the console script's
    figure workers when it has them (core.figure_pool), else here. Returns when the workers wrote the last
    one (time.time()), None when drawn here (now)."""
    from nnlab.core import figure_pool
    from nnlab.core.run import read_run

    if job is not None and job.wait() is not None:
        return job.done_at
    pool = figure_pool.active()
    if pool is not None and pool.draw(spec.plots, summary, rec.path, rec.plots_dir) is not None:
        return None
    spec.plots_module().draw(summary, read_run(rec.path)["metrics"], rec.plots_dir)
    return None


def threads_of(config: Any) -> int | None:
    """The run's CPU threads: its `threads` key (0: every core this process may use), None: leave as they are."""
    names = {f.name for f in dataclasses.fields(config)}
    return int(config.threads) if "threads" in names else None


def check_memory(spec: Command, config: Any) -> None:
    """Refuse a run whose estimated memory (the spec's `memory_bytes(config)`) exceeds what the machine has
    available, before anything is written."""
    need, available = int(spec.memory_bytes(config)), available_memory()
    if available is not None and need > available:
        raise UserError(f"this run needs about {need / 2**30:.1f} GiB of memory (estimated from its config) and "
                        f"{available / 2**30:.1f} GiB are available; make it smaller")


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux: MemAvailable), or None where unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def print_report(spec: Command, summary: dict[str, Any], rec: Any) -> None:
    from nnlab.core import console
    from nnlab.core.i18n import tr

    columns, rows = spec.headline(summary)
    console.out.print(console.table(f"nnlab {rec.command}", columns, rows))
    if summary.get("claims"):
        console.out.print(console.claims_table(summary["claims"]))
    if summary.get("checks"):
        console.out.print(console.claims_table(summary["checks"], checks=True))
    if spec.section.formulas:
        from nnlab.core.formulas import plain

        formulas = "   ".join(plain(f) for f in spec.section.formulas)
        console.out.print(tr("the lecture: ", "讲义：") + formulas, soft_wrap=True, markup=False, highlight=False)
    plots = sorted(p.name for p in rec.plots_dir.glob("*.png"))
    console.out.print(tr(f"status [bold]{rec.status}[/] · plots: {', '.join(plots) or 'none'}",
                         f"状态 [bold]{rec.status}[/] · 图：{'、'.join(plots) or '无'}"))
    console.out.print(str(rec.path), soft_wrap=True, markup=False)  # whole, so it can be copied
