"""The contract every experiment command follows: one typed spec, `COMMAND = Command(...)`, in its package.

A command lives in one folder, `nnlab/commands/<name>/`:

    __init__.py   the docstring (the command's --help) and COMMAND, the spec below
    config.py     the Config dataclass (every field a core.config.param), QUICK and memory_bytes(config);
                  the ground floor: the other modules import it, it imports none of them
    <parts>.py    the run and its parts (run(config, rec) -> summary), claims and checks (core.claims)
    results.py    headline(summary) and numbers(summary): what a finished run shows and what tools read
    plots.py      draw(summary, metrics, plots_dir), parts(...) and CAPTIONS; it draws only from what the
                  run wrote, so it imports nothing of its command but its config and readers (a contract
                  test checks the imports), and `nnlab redraw` needs no run code

The runner (core.runner) reads the spec's fields and does everything else: run directories, config.yaml
and meta.json, threads, signals, drawing, closing the run and printing the result. No hasattr on a module:
tests/test_contract.py (contract_problems) checks every command against this contract.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nnlab.core.errors import UserError, did_you_mean

Summary = dict[str, Any]
Table = tuple[list[str], list[list[Any]]]


@dataclass(frozen=True)
class Section:
    """What the lecture says where this command belongs, for `nnlab lecture` and its report.

    `how` is "quoted" (then `zh` holds the lecture's own words, verbatim, and `says` translates them) or
    "paraphrased" (then `zh` holds the lecture's keywords it summarises)."""

    title: str  # English heading
    title_zh: str  # the lecture's heading
    says: str  # one sentence: what the lecture says here
    how: str  # "quoted" or "paraphrased"
    zh: str  # the lecture's words (verbatim when quoted)
    formulas: tuple[str, ...] = ()  # the lecture's formulas for this section, in its own LaTeX (core.formulas)


@dataclass(frozen=True)
class Resume:
    """A resumable command: `--resume RUN_DIR` continues the run from its own checkpoint (rec.resumed)."""

    may_change: tuple[str, ...]  # config keys a resume may change (e.g. epochs); the rest stay as saved
    # (run_dir, config): refuse before the run is touched; may return the checkpoint's step, and then the
    # metrics.jsonl records logged past it (a kill between a log and its checkpoint) are dropped on the resume
    check: Callable[[Path, Any], int | None] | None = None

# What every memory estimate adds for the interpreter with numpy, torch and nnlab imported: measured 220-280 MB
# on CPU (the CI machine's is the larger), so the estimates, which the runner compares with MemAvailable, hold.
INTERPRETER_BYTES = 300 * 2**20


@dataclass(frozen=True)
class Command:
    """One experiment command. Every field is required but the last three (None: the command has none)."""

    name: str  # `nnlab <name>`
    help: str  # the --help text
    config: type  # a dataclass subclassing core.config.ExperimentConfig
    quick: Mapping[str, Any]  # config values for --quick: a seconds-long smoke version of the run
    run: Callable[[Any, Any], Summary]  # (config, rec: core.run.Run) -> summary, with claims and checks
    headline: Callable[[Summary], Table]  # the table printed at the end of a run: display only
    numbers: Callable[[Summary], dict[str, float | None]]  # stable names -> values, for sweep/compare/runs/export
    memory_bytes: Callable[[Any], int]  # a generous estimate of the run's peak memory (bytes), INTERPRETER_BYTES in
    plots: str  # the plots module's name, imported only to draw
    section: Section
    prepare: Callable[[Any], None] | None = None  # check inputs that can be missing or corrupt (data files)
    resume: Resume | None = None
    # The number `nnlab runs` shows for a run: a numbers() name, or a pattern (`*.test_error`) whose first match
    # is shown. None: the first number that is not a setting.
    key_number: str | None = None

    @property
    def resumable(self) -> bool:
        return self.resume is not None

    def plots_module(self) -> Any:
        return importlib.import_module(self.plots)

    def captions(self) -> dict[str, str]:
        """Figure file name -> caption in the current language, from the plots module (beside the code that names
        the files): CAPTIONS, and CAPTIONS_ZH in Chinese (nnlab.core.i18n)."""
        from nnlab.core import i18n

        module = self.plots_module()
        return dict(module.CAPTIONS_ZH if i18n.current() == "zh" else module.CAPTIONS)


def load(name: str) -> Command:
    """The spec of command `name` (a UserError for an unknown one, with a suggestion)."""
    from nnlab.registry import COMMANDS

    if name not in COMMANDS:
        raise UserError(f"unknown command {name!r}{did_you_mean(name, list(COMMANDS))}; "
                        f"commands: {', '.join(COMMANDS)}")
    spec = importlib.import_module(COMMANDS[name].module).COMMAND
    if spec.name != name:
        raise RuntimeError(f"{COMMANDS[name].module}.COMMAND is named {spec.name!r}, registered as {name!r}")
    return spec


__all__ = ["Command", "Resume", "Section", "load"]
