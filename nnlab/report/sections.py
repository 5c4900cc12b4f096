"""The lecture's sections in the lecture's order, for `nnlab lecture` and its report.

Each section is one experiment command: its words come from the command's spec (COMMAND.section) and its
figure captions from its plots module (CAPTIONS, beside the code that names the files). The order is the
registry's. A command this nnlab does not have (a run written by another version) still gets a plain section.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache

from nnlab.registry import COMMANDS


@dataclass(frozen=True)
class Section:
    command: str
    title: str  # English heading
    title_zh: str  # the lecture's heading
    says: str  # one sentence: what the lecture says here
    how: str  # "quoted" or "paraphrased"
    zh: str  # the lecture's words (verbatim when quoted)
    captions: dict[str, str] = field(default_factory=dict)  # figure file name -> caption
    formulas: tuple[str, ...] = ()  # the lecture's LaTeX (core.formulas renders it)


ORDER: tuple[str, ...] = tuple(COMMANDS)


def section(command: str) -> Section:
    """The section of `command` (captions in the current language); a plain one for a command this nnlab does
    not know."""
    from nnlab.core.i18n import current

    return _section(command, current())


@cache
def _section(command: str, lang: str) -> Section:
    if command not in COMMANDS:
        return Section(command, command, "", "(not mapped to a lecture section yet)", "paraphrased", "")
    from nnlab.core.command import load

    spec = load(command)
    s = spec.section
    return Section(command, s.title, s.title_zh, s.says, s.how, s.zh, spec.captions(), s.formulas)


def lecture_order(commands: Iterable[str]) -> list[str]:
    """`commands` in the lecture's order; any this nnlab does not know come last, as given."""
    commands = list(dict.fromkeys(commands))
    return [c for c in ORDER if c in commands] + [c for c in commands if c not in COMMANDS]


def caption(command: str, filename: str) -> str:
    known = section(command).captions.get(filename)
    return known or filename.rsplit(".", 1)[0].replace("_", " ").replace("-", " ").capitalize()
