"""Shared fixtures: drive the real CLI in-process, read what a run wrote, a fake command, one thread.

`fake_command` registers `nnlab fake`: a command that follows the whole contract (nnlab/core/command.py) in a
few lines and costs nothing (no torch, no matplotlib). Tests of the runner, the CLI and the tools use it, so a
change to a real command moves only that command's tests (the way simonw/llm tests with a MockModel). It is
also the worked example of a command: its config, run, claims, headline, numbers, memory estimate and plots.
"""

from __future__ import annotations

import json
import os
import struct
import sys
import types
import zlib
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

# Before numpy or torch load: one BLAS/OpenMP thread in this process and in the processes tests start.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import pytest  # noqa: E402
from click.testing import CliRunner  # noqa: E402

from nnlab.cli import cli  # noqa: E402
from nnlab.core.command import Command, Section  # noqa: E402
from nnlab.core.config import ExperimentConfig, param  # noqa: E402
from nnlab.registry import COMMANDS, Entry  # noqa: E402

TESTS = Path(__file__).resolve().parent
# How long a test waits for a process it started before calling it hung: not a speed limit (a loaded 2-core
# machine ran the suite 6x slower than an idle one), only what keeps a hung process from holding CI to its end.
HUNG_S = 1800


# -- one thread ------------------------------------------------------------------------------------------------
# A tiny network's test cost 0.68 CPU-s on one thread and 14.6 on two on a busy machine (issue 23): OpenMP's
# spinning costs more than the arithmetic. Every test runs on one torch and one BLAS thread unless marked
# `@pytest.mark.threads`; `threads: 0` (every core) means one core here.

@pytest.fixture(scope="session")
def _one_thread_session():
    import numpy  # noqa: F401  (loads OpenBLAS, so openblas() finds it)
    import torch

    from nnlab.core.device import openblas

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    blas = openblas()
    if blas:
        blas[1](1)
    yield before


@pytest.fixture(autouse=True)
def _english(monkeypatch):
    """English unless a test asks for Chinese, whatever this machine's locale; a test's --lang (which sets
    NNLAB_LANG for its process) ends with it."""
    monkeypatch.setenv("NNLAB_LANG", "en")


@pytest.fixture(autouse=True)
def _one_thread(request, monkeypatch, _one_thread_session):
    if request.node.get_closest_marker("threads"):  # about threads: the machine's own cores and defaults
        import torch

        torch.set_num_threads(_one_thread_session)
        yield
        torch.set_num_threads(1)
        return
    from nnlab.core import device

    monkeypatch.setattr(device, "available_cores", lambda: 1)
    yield


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
def invoke(request, tmp_path):
    """invoke("init", "--quick", ...) runs `nnlab init --quick ... --out <tmp> --no-plots` in-process.

    Drawing is most of a quick run's CPU time and most tests read only numbers: a test that looks at the
    figures is marked `@pytest.mark.draws` (or passes draws=True), and its runs draw."""
    marked = request.node.get_closest_marker("draws") is not None

    def _invoke(*args: str, out: Path | None = None, draws: bool = False) -> CliResult:
        out = out or tmp_path / "outputs"
        argv = list(args)
        if argv and argv[0] in COMMANDS and "--help" not in argv:
            if "--out" not in argv and "--resume" not in argv:
                argv += ["--out", str(out)]
            if not (marked or draws):
                argv.append("--no-plots")
        result = CliRunner().invoke(cli, argv, catch_exceptions=True)
        return CliResult(result, out)

    return _invoke


@pytest.fixture
def patch_command(monkeypatch):
    """patch_command("init", run=...) replaces fields of a command's spec for the test (the runner reads the
    spec, so patching a module's function would not reach it); returns the patched spec."""
    import dataclasses
    import importlib

    def _patch(name: str, **fields):
        from nnlab.core.command import load

        package = importlib.import_module(COMMANDS[name].module)
        spec = dataclasses.replace(load(name), **fields)
        monkeypatch.setattr(package, "COMMAND", spec)
        return spec

    return _patch


def refused(result, message: str | None = None) -> None:
    """Bad input: exit code 2 and one short line on stderr, no traceback (and, if given, `message` in it)."""
    assert result.exit_code == 2, f"{result.stderr}\n{result.exception!r}"
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, result.stderr
    assert len(result.stderr) < 300 and "Traceback" not in result.stderr
    if message:
        assert message in result.stderr, result.stderr


def claim_by_id(summary: dict, claim_id: str) -> dict:
    """The claim or check `claim_id` of a summary (a KeyError naming the ids there when it has none)."""
    records = {c["id"]: c for c in [*summary.get("claims", []), *summary.get("checks", [])]}
    if claim_id not in records:
        raise KeyError(f"{claim_id} not in {sorted(records)}")
    return records[claim_id]


# -- the fake command --------------------------------------------------------------------------------------------
FAKE = "fake"
FAKE_MODULE = "nnlab_tests_fake_command"  # its spec and its plots, one module made here (sys.modules)


@dataclass
class FakeConfig(ExperimentConfig):
    """A tiny config: every kind of field the CLI turns into options (no `threads`: the runner leaves them)."""

    steps: int = param(5, "Steps the fake run logs, one metrics line each.", low=1, high=1000)
    width: int = param(8, "A size: the memory estimate grows with its square (bytes = 8 * width^2).", low=1,
                       high=2**20)
    scale: float = param(1.0, "The value each step adds to, times the step (a float option).", low=0.0, high=1e6)
    activation: str = param("tanh", "A choice, as the real commands have (tanh or relu).", choices=["tanh", "relu"])


def tiny_png(path: Path) -> Path:
    """A valid 1x1 PNG, written without matplotlib."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0\xff\0\0"))
                     + chunk(b"IEND", b""))
    return path


def fake_run(config: FakeConfig, rec: Any) -> dict[str, Any]:
    """Logs `steps` metrics lines (a stop is honoured between them) and returns one claim and one check."""
    import random

    from nnlab.core.claims import check, claim

    noise = random.Random(config.seed)  # the seed reaches the numbers, as in a real command
    total = 0.0
    for step in range(config.steps):
        rec.check_stop()
        total += config.scale * step + noise.random()
        rec.log({"step": step, "value": total})
    return {"value": total, "steps": config.steps, "activation": config.activation, "claims": [
        claim("fake.value-positive", "The fake run's value is positive", total, "> 0", total > 0,
              zh="假运行的值为正"),
        check("fake.steps-logged", "One metrics line a step", config.steps, f"= {config.steps}", True,
              zh="每步一行指标"),
    ]}


def fake_headline(summary: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    return ["value", "steps"], [[summary["value"], summary["steps"]]]


def fake_parts(summary: dict[str, Any], metrics: list[dict[str, Any]], plots_dir: Path) -> list:
    summary["value"]  # a summary of another layout: KeyError, as a real command's plots raise
    return [partial(tiny_png, plots_dir / "value.png")]


def fake_draw(summary: dict[str, Any], metrics: list[dict[str, Any]], plots_dir: Path) -> list[Path]:
    return [part() for part in fake_parts(summary, metrics, plots_dir)]


def fake_module() -> types.ModuleType:
    """The fake command's package: COMMAND (its spec) and, being its own plots module, draw/parts/CAPTIONS."""
    module = types.ModuleType(FAKE_MODULE, "nnlab fake: a command for tests.")
    module.__dict__.update(
        draw=fake_draw, parts=fake_parts, tiny_png=tiny_png, CAPTIONS={"value.png": "The fake value, step by step"},
        COMMAND=Command(
            name=FAKE, help="A fake command for tests: logs a few steps, one claim and one check.",
            config=FakeConfig, quick={"steps": 3}, run=fake_run, headline=fake_headline,
            numbers=lambda summary: {"fake.value": summary["value"]},
            memory_bytes=lambda config: 8 * config.width**2, plots=FAKE_MODULE,
            section=Section("A fake command", "假", "A command for tests.", "paraphrased", "测试")))
    return module


def install_fake() -> types.ModuleType:
    """Register `nnlab fake` for the rest of this process (a subprocess of a test calls this)."""
    from nnlab.report import sections

    module = sys.modules[FAKE_MODULE] = fake_module()
    COMMANDS[FAKE] = Entry(FAKE, FAKE_MODULE, "A fake command for tests.")
    sections.ORDER = tuple(COMMANDS)  # the lecture's order is the registry's, read once at import
    sections._section.cache_clear()
    return module


@pytest.fixture
def fake_command(monkeypatch) -> types.ModuleType:
    """`nnlab fake` registered for the test (last in the registry, as a new command would be): its module."""
    from nnlab.report import sections

    module = fake_module()
    monkeypatch.setitem(sys.modules, FAKE_MODULE, module)
    monkeypatch.setitem(COMMANDS, FAKE, Entry(FAKE, FAKE_MODULE, "A fake command for tests."))
    monkeypatch.setattr(sections, "ORDER", tuple(COMMANDS))  # the lecture's order, read once at import
    sections._section.cache_clear()
    yield module
    sections._section.cache_clear()
