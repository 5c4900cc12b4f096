"""The measuring runs: one normal run directory per distinct (command, --quick, settings), shared by every
exercise that reads it, with the user's --set pairs on top. Every config is resolved (and refused, in one line)
before the first run starts, so bad input leaves nothing behind."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnlab.core.errors import UserError
from nnlab.exercise.model import Exercise, Measured


@dataclass
class RunPlan:
    """One measuring run and the exercises that read it."""

    command: str
    quick: bool
    set_pairs: tuple[str, ...]  # the exercises' settings, then the user's --set pairs for this command
    exercises: list[Exercise] = field(default_factory=list)
    config: Any = None  # resolved by plan(), so a bad value is refused before anything runs


@dataclass
class Outcome:
    """What one exercise's run measured. `measured` is None when the run failed (then `error` says why)."""

    exercise: Exercise
    measured: Measured | None
    run: Path | None
    error: str | None = None
    run_settings: tuple[str, ...] = ()  # the `key=value` pairs the run was given (on top of --quick when quick)


def split_sets(pairs: Iterable[str], commands: Iterable[str]) -> dict[str, list[str]]:
    """The user's `--set KEY=VALUE` (or `COMMAND:KEY=VALUE`) pairs, per command whose config has KEY. A pair that
    no selected command takes is refused: it would change nothing, silently."""
    from nnlab.core.command import load

    commands = list(dict.fromkeys(commands))
    keys = {c: {f.name for f in dataclasses.fields(load(c).config)} for c in commands}
    out: dict[str, list[str]] = {c: [] for c in commands}
    for pair in pairs:
        target, _, rest = pair.partition(":") if ":" in pair.split("=", 1)[0] else ("", "", pair)
        key = rest.split("=", 1)[0].strip().replace("-", "_")
        if "=" not in rest or not key:
            raise UserError(f"--set: expected KEY=VALUE or COMMAND:KEY=VALUE, got {pair!r}")
        if target and target not in commands:
            raise UserError(f"--set {pair}: {target!r} is not a section of the exercises asked "
                            f"({', '.join(commands)})")
        takers = [c for c in ([target] if target else commands) if key in keys[c]]
        if not takers:
            raise UserError(f"--set {pair}: no command of the exercises asked has a key {key!r}")
        for c in takers:
            out[c].append(rest)
    return out


def merged(settings: Iterable[str], overrides: Iterable[str]) -> tuple[str, ...]:
    """`settings` with each key that `overrides` names replaced by its value there (a config key is given once)."""
    pairs = {p.split("=", 1)[0].strip().replace("-", "_"): p for p in settings}
    pairs |= {p.split("=", 1)[0].strip().replace("-", "_"): p for p in overrides}
    return tuple(pairs.values())


def plan(exercises: list[Exercise], user_sets: Iterable[str] = (), full: bool = False) -> list[RunPlan]:
    """The runs the exercises need, each config resolved (a UserError names the command and the problem)."""
    from nnlab.core.command import load
    from nnlab.core.runner import Request, build_config

    sets = split_sets(user_sets, [e.section for e in exercises])
    plans: dict[tuple[Any, ...], RunPlan] = {}
    for e in exercises:
        quick = e.quick and not full
        pairs = merged(e.settings, sets[e.section])
        key = (e.section, quick, pairs)
        if key not in plans:
            plans[key] = RunPlan(e.section, quick, pairs)
        plans[key].exercises.append(e)
    for p in plans.values():
        try:
            p.config = build_config(load(p.command), Request(p.command, quick=p.quick, set_pairs=p.set_pairs))
        except UserError as exc:
            raise UserError(f"nnlab {p.command} ({' '.join(p.set_pairs)}): {exc}") from None
    return list(plans.values())


def run_plan(p: RunPlan, runs_dir: Path, argv: list[str] | None = None) -> list[Outcome]:
    """Run one plan into runs_dir/<command>/<time>/ (no figures: only numbers are read) and read every exercise's
    answer from it. A run that fails is an Outcome with its error for each of its exercises, not a crash."""
    from nnlab.core.command import load
    from nnlab.core.record import RAN, RunRecord
    from nnlab.core.runner import Request, RunInterrupted, execute_config

    request = Request(p.command, quick=p.quick, set_pairs=p.set_pairs, out=runs_dir, draw=False,
                      argv=argv or ["nnlab", "exercise", p.command, *p.set_pairs])
    try:
        path = execute_config(load(p.command), p.config, request, report=False).path
    except (RunInterrupted, KeyboardInterrupt):
        raise
    except Exception as exc:  # the runner closed the run as failed: every exercise of it says so
        return [Outcome(e, None, None, f"{type(exc).__name__}: {exc}", p.set_pairs) for e in p.exercises]
    record = RunRecord(path).read_all()
    if record.status not in RAN:
        return [Outcome(e, None, path, f"the run {record.status}", p.set_pairs) for e in p.exercises]
    return [Outcome(e, e.measure(record), path, None, p.set_pairs) for e in p.exercises]


def measure(exercises: list[Exercise], runs_dir: Path, user_sets: Iterable[str] = (), full: bool = False,
            plans: list[RunPlan] | None = None, on_run: Any = None) -> dict[str, Outcome]:
    """Every exercise's Outcome, by id, in the order given; `on_run(plan)` is called before each run."""
    outcomes: dict[str, Outcome] = {}
    for p in plans if plans is not None else plan(exercises, user_sets, full):
        if on_run is not None:
            on_run(p)
        for o in run_plan(p, runs_dir):
            outcomes[o.exercise.id] = o
    return {e.id: outcomes[e.id] for e in exercises}


__all__ = ["Outcome", "RunPlan", "measure", "plan", "run_plan", "split_sets"]
