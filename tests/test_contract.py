"""The command contract (nnlab/core/experiment.py) holds for every registered experiment, and breaks loudly."""

from __future__ import annotations

import subprocess
import sys

import pytest

from nnlab.core import experiment
from nnlab.core.claims import check, check_ids, claim, partition
from nnlab.registry import EXPERIMENTS


@pytest.mark.parametrize("command", list(EXPERIMENTS))
def test_every_experiment_follows_the_contract(command):
    assert experiment.contract_problems(command) == []


def test_a_module_without_headline_breaks_the_contract(monkeypatch):
    module = experiment.load("init").module
    monkeypatch.delattr(module, "headline")
    assert experiment.contract_problems("init") == ["headline() is missing"]


def test_a_run_with_the_wrong_signature_breaks_the_contract(monkeypatch):
    module = experiment.load("init").module
    monkeypatch.setattr(module, "run", lambda config: {})
    assert "run() must take 2 parameter(s)" in experiment.contract_problems("init")


def test_check_resume_without_resume_keys_breaks_the_contract(monkeypatch):
    module = experiment.load("init").module
    monkeypatch.setattr(module, "check_resume", lambda path, config: None, raising=False)
    assert "check_resume() without RESUME_MAY_CHANGE" in experiment.contract_problems("init")


def test_parts_with_the_wrong_signature_break_the_contract(monkeypatch):
    import nnlab.plots.init as plots

    monkeypatch.setattr(plots, "parts", lambda summary: [])
    assert experiment.contract_problems("init") == ["nnlab.plots.init.parts() must take 3 parameters"]


@pytest.mark.parametrize("command", list(EXPERIMENTS))
def test_every_plots_module_lists_its_figures_as_parts(command):
    """So the console script's two figure workers can share any command's figures out (core.figure_pool)."""
    import importlib

    assert hasattr(importlib.import_module(experiment.load(command).plots), "parts")


def test_unknown_command_suggests_the_closest():
    from nnlab.core.errors import UserError

    with pytest.raises(UserError, match="did you mean 'init'"):
        experiment.load("innit")


@pytest.mark.parametrize("command", list(EXPERIMENTS))
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


@pytest.mark.parametrize("command", list(EXPERIMENTS))
def test_every_number_has_documented_bounds_and_memory_is_estimated(command):
    """Every int and float config field is bounded below and above (a value that passes validation must not
    crash later with a run directory made), and each command estimates its memory before a run exists."""
    import dataclasses
    import typing

    from nnlab.core.config import field_types

    loaded = experiment.load(command)
    unbounded = []
    for name, tp in field_types(loaded.config_cls).items():
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        inner = args[0] if typing.get_origin(tp) is not None and args else tp
        field = next(f for f in dataclasses.fields(loaded.config_cls) if f.name == name)
        if inner in (int, float) and (field.metadata.get("low") is None or field.metadata.get("high") is None):
            unbounded.append(name)
    assert unbounded == []
    estimate = loaded.module.memory_bytes(loaded.config_cls())
    assert 100 * 2**20 < estimate < 16 * 2**30  # a default run: more than the interpreter, less than a laptop
