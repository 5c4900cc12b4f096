"""The contract every experiment command follows, written once and checked by tests for every command.

An experiment is two modules, named in `nnlab.registry.EXPERIMENTS`:

`nnlab/experiments/<name>.py` (or a package), required:
    <Config>          a dataclass subclassing core.config.ExperimentConfig; every field made with
                      `param(default, help, ...)`, so the CLI, recipes and the Python API share it
    QUICK             dict of config values for `--quick`, a seconds-long smoke version of the run
    run(config, rec)  does the work; logs through `rec` (a core.run.Run: rec.log, rec.track,
                      rec.check_stop, rec.device, rec.path) and returns the summary: a JSON-able dict
                      with the headline numbers, `claims` and `checks` (core.claims), optionally
                      `status` ("diverged" for a run that blew up: a result, not a crash)
    headline(summary) -> (columns, rows), the table printed at the end of a run
optional:
    prepare(config)   checks inputs that can be missing or corrupt (data files) before a run exists
    RESUME_MAY_CHANGE tuple of config keys a `--resume` may change; its presence makes a command
                      resumable (the run then continues from its own checkpoint: rec.resumed)
    check_resume(run_dir, config)  refuses a resume before the run directory is touched
    memory_bytes(config) a generous estimate of the run's peak memory; the runner refuses a run that
                      needs more than the machine has available, before anything is written

`nnlab/plots/<name>.py`, required:
    draw(summary, metrics, plots_dir) -> list of written paths; draws only from what the run logged
                      (summary.json and metrics.jsonl), so `nnlab redraw` needs no experiment module
optional:
    parts(summary, metrics, plots_dir) -> one callable per figure (draw() then draws them all), so the
                      console script's figure workers can share a run's figures out (core.figure_pool)

The runner (core.runner) does everything else: run directories, config.yaml and meta.json, signals,
drawing, closing the run and printing the result.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Protocol, runtime_checkable

from nnlab.core.errors import UserError


@runtime_checkable
class ExperimentModule(Protocol):
    QUICK: dict[str, Any]

    def run(self, config: Any, rec: Any) -> dict[str, Any]: ...

    def headline(self, summary: dict[str, Any]) -> tuple[list[str], list[list[Any]]]: ...


@runtime_checkable
class PlotsModule(Protocol):
    def draw(self, summary: dict[str, Any], metrics: list[dict[str, Any]], plots_dir: Any) -> list[Any]: ...


@dataclass(frozen=True)
class Loaded:
    """An experiment's modules, imported."""

    name: str
    module: ModuleType
    config_cls: type
    plots: str  # the plots module's name, imported only when drawing

    @property
    def resumable(self) -> bool:
        return hasattr(self.module, "RESUME_MAY_CHANGE")


def load(name: str) -> Loaded:
    """Import experiment `name` (raises UserError for an unknown one, with a suggestion)."""
    import difflib

    from nnlab.registry import EXPERIMENTS

    if name not in EXPERIMENTS:
        close = difflib.get_close_matches(name, list(EXPERIMENTS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UserError(f"unknown command {name!r}{hint}; commands: {', '.join(EXPERIMENTS)}")
    exp = EXPERIMENTS[name]
    module = importlib.import_module(exp.module)
    return Loaded(name, module, getattr(module, exp.config), exp.plots)


def contract_problems(name: str) -> list[str]:
    """Every way experiment `name` breaks the contract above (empty: it follows it)."""
    from nnlab.core.config import ExperimentConfig

    loaded = load(name)
    module, problems = loaded.module, []
    cls = loaded.config_cls
    if not (dataclasses.is_dataclass(cls) and issubclass(cls, ExperimentConfig)):
        problems.append(f"{cls.__name__} is not a dataclass subclassing ExperimentConfig")
    else:
        problems += [f"config field {f.name} has no help text" for f in dataclasses.fields(cls)
                     if not f.metadata.get("help")]
    if not isinstance(getattr(module, "QUICK", None), dict):
        problems.append("QUICK is missing or not a dict")
    for fn, params in (("run", 2), ("headline", 1)):
        obj = getattr(module, fn, None)
        if not callable(obj):
            problems.append(f"{fn}() is missing")
        elif len(inspect.signature(obj).parameters) != params:
            problems.append(f"{fn}() must take {params} parameter(s)")
    for hook, params in (("prepare", 1), ("check_resume", 2)):
        obj = getattr(module, hook, None)
        if obj is not None and (not callable(obj) or len(inspect.signature(obj).parameters) != params):
            problems.append(f"{hook}() must take {params} parameter(s)")
    if hasattr(module, "check_resume") and not loaded.resumable:
        problems.append("check_resume() without RESUME_MAY_CHANGE")
    if loaded.resumable:
        keys = {f.name for f in dataclasses.fields(cls)}
        bad = [k for k in module.RESUME_MAY_CHANGE if k not in keys]
        if bad:
            problems.append(f"RESUME_MAY_CHANGE names unknown keys {bad}")
    plots = importlib.import_module(loaded.plots)
    if not isinstance(plots, PlotsModule):
        problems.append(f"{loaded.plots} has no draw(summary, metrics, plots_dir)")
    elif len(inspect.signature(plots.draw).parameters) != 3:
        problems.append(f"{loaded.plots}.draw() must take 3 parameters")
    parts = getattr(plots, "parts", None)
    if parts is not None and (not callable(parts) or len(inspect.signature(parts).parameters) != 3):
        problems.append(f"{loaded.plots}.parts() must take 3 parameters")
    return problems
