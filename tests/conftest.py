"""Shared fixtures: drive the real CLI in-process, read what a run wrote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from nnlab.cli import cli
from nnlab.registry import EXPERIMENTS


class CliResult:
    def __init__(self, result, out: Path):
        self.exit_code = result.exit_code
        self.output = result.stdout  # stdout only (click's result.output mixes in stderr)
        self.stderr = result.stderr
        self.exception = result.exception
        self.out = out

    def runs(self, command: str) -> list[Path]:
        """Run directories written under the fixture's --out for `command`, oldest first."""
        parent = self.out / command
        return sorted(p for p in parent.iterdir() if p.is_dir() and not p.is_symlink()) if parent.is_dir() else []

    def summary(self, command: str) -> dict:
        (run,) = self.runs(command)
        return json.loads((run / "summary.json").read_text())


@pytest.fixture
def invoke(tmp_path):
    """invoke("init", "--quick", ...) runs `nnlab init --quick ... --out <tmp>` in-process."""

    def _invoke(*args: str, out: Path | None = None) -> CliResult:
        out = out or tmp_path / "outputs"
        argv = list(args)
        if argv and argv[0] in EXPERIMENTS and "--help" not in argv and "--out" not in argv \
                and "--resume" not in argv:
            argv += ["--out", str(out)]
        result = CliRunner().invoke(cli, argv, catch_exceptions=True)
        return CliResult(result, out)

    return _invoke
