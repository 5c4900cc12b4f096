"""Finding runs: every run directory under a folder, wherever a command, a lecture or a sweep put it.

A run lives in `<command>/<time>[-tag]/` with its meta.json: directly under an --out folder
(`outputs/init/20260101-120000/`), inside a lecture (`outputs/lecture/<time>/init/<time>/`) or inside a sweep
(`outputs/sweep/<time>/init/<time>-p0-s1/`). A sweep's and a compare's own directories hold a meta.json too:
they are tool directories, not runs. `latest` links (and every other link) are not followed, so each run is
found once and nothing outside the folder is read.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from nnlab.core.record_schema import TOOL_DIRS

DEPTH = 6  # outputs/sweep/<time>/<command>/<run> is 4 deep; a lecture's runs too


def is_tool_dir(path: Path) -> bool:
    """A sweep's or a compare's own directory (`.../sweep/<time>/`), told by where it lives, not by reading it."""
    return path.parent.name in TOOL_DIRS


def find(root: Path, *, tools: bool = False, depth: int = DEPTH) -> list[Path]:
    """The run directories under `root` (`root` itself when it is one), in name order, each once; with
    `tools`, the sweeps' and compares' directories too. Only names are looked at: a damaged run is found,
    and reading it is the caller's business (core.record)."""
    return list(_walk(root, tools, depth))


def _walk(path: Path, tools: bool, depth: int) -> Iterator[Path]:
    if (path / "meta.json").is_file():
        if not is_tool_dir(path):
            yield path  # a run: its own folders (plots/) hold no runs
            return
        if tools:
            yield path
    if depth == 0:
        return
    try:
        children = sorted(path.iterdir())
    except OSError:  # unreadable, or gone while walking: nothing to list there
        return
    for child in children:
        if not child.is_symlink() and child.is_dir():
            yield from _walk(child, tools, depth - 1)
