"""Every exercise, read from each command's `exercises.py` (EXERCISES, a list of dicts), in the lecture's order."""

from __future__ import annotations

import importlib
from functools import cache

from nnlab.core.errors import UserError, did_you_mean
from nnlab.exercise.model import Exercise, from_dict
from nnlab.registry import COMMANDS


def module_of(section: str) -> str:
    return f"{COMMANDS[section].module}.exercises"


@cache
def section_exercises(section: str) -> tuple[Exercise, ...]:
    """The exercises of one command (none when its folder has no exercises.py)."""
    try:
        module = importlib.import_module(module_of(section))
    except ModuleNotFoundError as exc:
        if exc.name == module_of(section):
            return ()
        raise
    return tuple(from_dict(section, spec) for spec in module.EXERCISES)


def all_exercises() -> list[Exercise]:
    found = [e for section in COMMANDS for e in section_exercises(section)]
    ids = [e.id for e in found]
    doubles = sorted({i for i in ids if ids.count(i) > 1})
    if doubles:
        raise RuntimeError(f"exercise ids used twice: {', '.join(doubles)}")
    return found


def by_id() -> dict[str, Exercise]:
    return {e.id: e for e in all_exercises()}


def select(names: tuple[str, ...] | list[str]) -> list[Exercise]:
    """The exercises of the sections (command names) or ids in `names`; every one for none. Unknown names are
    refused in one line, with a suggestion."""
    exercises = all_exercises()
    if not names:
        return exercises
    ids = {e.id for e in exercises}
    chosen: list[Exercise] = []
    for name in names:
        if name in COMMANDS:
            chosen += [e for e in exercises if e.section == name]
        elif name in ids:
            chosen += [e for e in exercises if e.id == name]
        else:
            raise UserError(f"unknown section or exercise {name!r}{did_you_mean(name, [*COMMANDS, *ids])}; "
                            f"sections: {', '.join(COMMANDS)}")
    return list({e.id: e for e in chosen}.values())  # once each, in the order asked


__all__ = ["all_exercises", "by_id", "section_exercises", "select"]
