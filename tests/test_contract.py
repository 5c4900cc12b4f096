"""The command contract (nnlab/core/command.py) holds for every registered command, and breaks loudly."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from nnlab.core import claims
from nnlab.core import command as contract
from nnlab.core.claims import check_ids, partition
from nnlab.registry import COMMANDS

ROOT = Path(__file__).resolve().parents[1]


def claim(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """core.claims.claim with a Chinese text (and reason, where one is given) filled in."""
    return claims.claim(*args, **{"zh": "说法", **({"why_zh": "原因"} if "why" in kwargs else {}), **kwargs})


def check(*args: Any, **kwargs: Any) -> dict[str, Any]:
    return claims.check(*args, **{"zh": "检验", **({"why_zh": "原因"} if "why" in kwargs else {}), **kwargs})


def _takes(fn: Any, n: int) -> bool:
    return callable(fn) and len(inspect.signature(fn).parameters) == n


def contract_problems(name: str) -> list[str]:
    """Every way command `name` breaks the contract of nnlab/core/command.py (empty: it follows it)."""
    from nnlab.core.config import ExperimentConfig

    spec, problems = contract.load(name), []
    cls = spec.config
    if not (dataclasses.is_dataclass(cls) and issubclass(cls, ExperimentConfig)):
        problems.append(f"{cls.__name__} is not a dataclass subclassing ExperimentConfig")
    else:
        problems += [f"config field {f.name} has no help text" for f in dataclasses.fields(cls)
                     if not f.metadata.get("help")]
    keys = {f.name for f in dataclasses.fields(cls)} if dataclasses.is_dataclass(cls) else set()
    if not isinstance(spec.quick, Mapping):
        problems.append("quick is not a mapping")
    else:
        problems += [f"quick names unknown key {k!r}" for k in spec.quick if k not in keys]
    for label, fn, n in (("run", spec.run, 2), ("headline", spec.headline, 1), ("numbers", spec.numbers, 1),
                         ("memory_bytes", spec.memory_bytes, 1), ("prepare", spec.prepare, 1)):
        if fn is not None and not _takes(fn, n):
            problems.append(f"{label}() must take {n} parameter(s)")
    if spec.resume is not None:
        problems += [f"resume.may_change names unknown key {k!r}" for k in spec.resume.may_change if k not in keys]
        if spec.resume.check is not None and not _takes(spec.resume.check, 2):
            problems.append("resume.check() must take 2 parameters")
    if spec.section.how not in ("quoted", "paraphrased"):
        problems.append(f"section.how is {spec.section.how!r}, not 'quoted' or 'paraphrased'")
    plots = spec.plots_module()
    for fn in ("draw", "parts"):
        if not _takes(getattr(plots, fn, None), 3):
            problems.append(f"{spec.plots}.{fn}() must take 3 parameters")
    if not isinstance(getattr(plots, "CAPTIONS", None), Mapping):
        problems.append(f"{spec.plots}.CAPTIONS is missing or not a mapping")
    return problems



@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_follows_the_contract(command):
    assert contract_problems(command) == []


def test_a_spec_with_the_wrong_signature_breaks_the_contract(monkeypatch):
    spec = contract.load("init")
    import nnlab.commands.init as package

    monkeypatch.setattr(package, "COMMAND", dataclasses.replace(spec, run=lambda config: {}, numbers=lambda: {}))
    assert contract_problems("init") == ["run() must take 2 parameter(s)",
                                                  "numbers() must take 1 parameter(s)"]


def test_resume_keys_must_be_config_keys(monkeypatch):
    import nnlab.commands.init as package

    spec = dataclasses.replace(contract.load("init"), resume=contract.Resume(may_change=("epochs",)))
    monkeypatch.setattr(package, "COMMAND", spec)
    assert contract_problems("init") == ["resume.may_change names unknown key 'epochs'"]


def test_parts_with_the_wrong_signature_break_the_contract(monkeypatch):
    import nnlab.commands.init.plots as plots

    monkeypatch.setattr(plots, "parts", lambda summary: [])
    assert contract_problems("init") == ["nnlab.commands.init.plots.parts() must take 3 parameters"]


def imported_modules(path: Path) -> set[str]:
    """Every module a source file imports, at any depth of the file (function-level imports included)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
    return names


@pytest.mark.parametrize("command", list(COMMANDS))
def test_plots_draw_only_from_what_the_run_wrote(command):
    """plots.py imports nothing of its command's run (so `nnlab redraw` needs no run code) and no torch."""
    package = COMMANDS[command].module
    plots = ROOT / (package.replace(".", "/") + "/plots.py")
    allowed = {f"{package}.readers", f"{package}.config"}
    bad = sorted(m for m in imported_modules(plots)
                 if m.split(".")[0] == "torch" or (m.startswith(package + ".") and m.rpartition(".")[0] not in allowed
                                                   and m not in allowed))
    assert bad == []


def test_unknown_command_suggests_the_closest():
    from nnlab.core.errors import UserError

    with pytest.raises(UserError, match="did you mean 'init'"):
        contract.load("innit")


@pytest.mark.parametrize("command", list(COMMANDS))
def test_command_help_imports_no_torch(command):
    code = (
        "import sys\nfrom nnlab.cli import cli\n"
        f"try:\n    cli.main([{command!r}, '--help'])\nexcept SystemExit as e:\n    assert e.code == 0, e.code\n"
        "print('TORCH' if 'torch' in sys.modules else 'LIGHT')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "LIGHT"


def test_claim_records_have_ids_kinds_and_sources():
    c = claim("init.x-keeps", "text", 1.0, "> 0", True)
    k = check("init.identity", "text", 0.0, "= 0", True)
    n = claim("init.ours", "text", 1, "> 0", False, source="nnlab")
    assert (c["kind"], c["source"], k["kind"], k["source"], n["source"]) == ("claim", "lecture", "check", "nnlab",
                                                                             "nnlab")
    assert partition([c, k, n]) == ([c, n], [k])
    for bad in ("Init.X", "init", "init. spaced", ""):
        with pytest.raises(ValueError):
            claim(bad, "t", 0, "", True)
    with pytest.raises(ValueError, match="source"):
        claim("init.a", "t", 0, "", True, source="paper")


def test_a_claim_without_its_chinese_text_or_reason_is_refused_and_both_languages_are_kept():
    with pytest.raises(ValueError, match="Chinese text"):
        claims.claim("init.a", "the spread vanishes", 0.9, "< 0.5", True)
    with pytest.raises(ValueError, match="reason has no Chinese"):  # even while it holds: a flip would need it
        claims.check("init.a", "t", 0.0, "= 0", True, zh="检验", why="off by one")
    record = claims.claim("init.a", "the spread vanishes", {"std_ratio": 0.91234}, "< 0.5", False, zh="分布消失")
    assert (record["claim"], record["claim_zh"]) == ("the spread vanishes", "分布消失")
    assert record["reason_zh"] == "测得 std ratio 0.912，而该陈述要求 < 0.5"
    worded = claims.claim("init.a", "t", 0.9, "< 0.5", False, zh="说法", why="it keeps 91%", why_zh="保留了 91%")
    assert (worded["reason"], worded["reason_zh"]) == ("it keeps 91%", "保留了 91%")


@pytest.mark.parametrize("measured", [float("nan"), {"ratio": float("inf")}, [1.0, float("-inf")],
                                      {"a": {"b": [float("nan")]}}])
def test_a_non_finite_measurement_fails_the_verdict_and_says_why(measured):
    import numpy as np

    for record in (claim("init.a", "t", measured, "> 1", True), check("init.b", "t", measured, "= 0", True)):
        assert record["holds"] is False and "NaN or infinite" in record["reason"]
    assert claim("init.a", "t", np.float64("nan"), "> 1", True)["holds"] is False
    assert claim("init.a", "t", {"x": 2.0, "label": "nan"}, "> 1", True)["holds"] is True  # a string is no number


def test_a_failed_claim_carries_a_reason_and_its_tip_and_the_tables_show_them():
    from nnlab.core.console import claims_table, failure

    held = claim("init.a", "t", 2.0, "> 1", True, tip="--depth 1")
    assert "reason" not in held and failure(held) is None
    failed = claim("init.a", "the spread vanishes", {"std_ratio": 0.91234}, "< 0.5", False, tip="--scale 0.01")
    assert failed["reason"] == "measured std ratio 0.912, and the statement needs < 0.5"
    worded = claim("init.a", "t", 0.9, "< 0.5", False, why="the last layer keeps 91% of the first layer's spread")
    assert failure(worded) == "Why it fails: the last layer keeps 91% of the first layer's spread."
    assert failure(failed).endswith("Try: --scale 0.01.")
    from rich.console import Console

    console = Console(width=200, record=True)
    console.print(claims_table([failed]))
    assert "Why it fails: measured std ratio 0.912" in console.export_text()


def test_claim_ids_must_be_unique_and_prefixed():
    check_ids("init", [claim("init.a", "t", 0, "", True), check("init.b", "t", 0, "", True)])
    with pytest.raises(ValueError, match="twice"):
        check_ids("init", [claim("init.a", "t", 0, "", True), check("init.a", "t", 0, "", True)])
    with pytest.raises(ValueError, match="must start with 'init.'"):
        check_ids("init", [claim("approx.a", "t", 0, "", True)])


def test_named_streams_are_distinct_and_reproducible():
    from nnlab.core.seeding import stream, stream_seed

    a = stream(3, "weights").random(4)
    assert (a == stream(3, "weights").random(4)).all()
    others = [stream(3, "noise").random(4), stream(4, "weights").random(4), stream(3, "weights", 1).random(4),
              stream(3 + 2**32, "weights").random(4)]  # a high seed word is not dropped
    assert all(not (a == o).any() for o in others)
    # What numeric salts could not guarantee: use "sgd" with index 57 and use "sharpness" with index 7 differ.
    assert stream_seed(0, "sgd", 57) != stream_seed(0, "sharpness", 7)
    assert 0 <= stream_seed(2**63 - 1, "x") < 2**63


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_number_has_documented_bounds_and_memory_is_estimated(command):
    """Every int and float config field is bounded below and above (a value that passes validation must not
    crash later with a run directory made), and each command estimates its memory before a run exists."""
    import typing

    from nnlab.core.config import field_types

    spec = contract.load(command)
    unbounded = []
    for name, tp in field_types(spec.config).items():
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        inner = args[0] if typing.get_origin(tp) is not None and args else tp
        field = next(f for f in dataclasses.fields(spec.config) if f.name == name)
        if inner in (int, float) and (field.metadata.get("low") is None or field.metadata.get("high") is None):
            unbounded.append(name)
    assert unbounded == []
    estimate = spec.memory_bytes(spec.config())
    assert 100 * 2**20 < estimate < 16 * 2**30  # a default run: more than the interpreter, less than a laptop


# -- reproducibility: one test over every command --------------------------------------------------------------
# Keys naming a wall-clock quantity (seconds, speeds, times): they differ between two runs by design.
WALL_CLOCK = re.compile(r"(^|_)(time|times|timing|timings|elapsed|seconds|wall|speed|throughput|cpu)(_|$)"
                        r"|_(s|ms|us|per_s)$")
# Per command: further paths (`/`-joined keys, a claim or check by its id) whose values come from timings.
WALL_CLOCK_PATHS: dict[str, re.Pattern[str]] = {
    # the O(N) cost of a gradient: ratios and slopes of measured seconds, and the claims read from them
    "backprop": re.compile(r"^/cost/(slopes/|rows/\w+\[\d+\]/ratio$)|^/claims/backprop\.cost-"),
}


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    """The paths where two summaries differ (numbers exactly), skipping wall-clock keys; claims and checks
    are matched by id, so a path reads `claims/<id>/measured`."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{path}/{k}" for k in set(a) ^ set(b)]
        for k in sorted(set(a) & set(b)):
            if not WALL_CLOCK.search(str(k)):
                out += differences(a[k], b[k], f"{path}/{k}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path} (length {len(a)} vs {len(b)})"]
        if all(isinstance(x, dict) and "id" in x for x in a + b):
            return differences({x["id"]: x for x in a}, {x["id"]: x for x in b}, path)
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in differences(x, y, f"{path}[{i}]")]
    return [] if a == b else [path]


@pytest.mark.slow
@pytest.mark.parametrize("command", list(COMMANDS))
def test_the_same_seed_gives_the_same_summary_and_another_seed_other_numbers(command, tmp_path):
    """Every command's --quick run, twice with the same seed (in-process, no figures), writes the same
    summary.json but for wall-clock numbers, and a third with another seed differs (the seed reaches the
    numbers): what the per-command reruns used to check, once for all."""
    import json

    from nnlab.core.runner import Request, execute

    def summary(out: str, seed: int) -> dict:
        request = Request(command, {"seed": seed}, quick=True, out=tmp_path / out, draw=False)
        return json.loads((execute(request, report=False).path / "summary.json").read_text())

    a, b, c = summary("a", 3), summary("b", 3), summary("c", 4)
    assert a["status"] == "completed"
    timings = WALL_CLOCK_PATHS.get(command)
    assert [d for d in differences(a, b) if not (timings and timings.search(d))] == []
    assert [d for d in differences(a, c) if not (timings and timings.search(d))] != []


# -- the test harness itself (tests/conftest.py) -----------------------------------------------------------------
def test_the_fake_command_follows_the_contract_and_runs(fake_command, tmp_path):
    """conftest's fake command is a whole command in a few lines: the worked example of the contract."""
    from nnlab.core.runner import Request, execute

    assert contract_problems("fake") == []
    outcome = execute(Request("fake", quick=True, out=tmp_path), report=False)
    assert outcome.status == "completed" and [p.name for p in (outcome.path / "plots").iterdir()] == ["value.png"]
    assert contract.load("fake").numbers(outcome.summary) == {"fake.value": outcome.summary["value"]}


def test_tests_run_on_one_thread():
    import torch

    from nnlab.core import device

    assert torch.get_num_threads() == 1 and device.available_cores() == 1


@pytest.mark.threads
def test_a_test_about_threads_sees_the_machines_cores():
    import os

    from nnlab.core import device

    if not hasattr(os, "sched_getaffinity"):
        pytest.skip("no affinity mask on this platform")
    assert device.available_cores() == len(os.sched_getaffinity(0))
