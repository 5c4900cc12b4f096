"""Runs that cannot fit are refused before they exist: bounds on every number, and a memory estimate compared
with what the machine has available."""

from __future__ import annotations

import pytest
from conftest import refused


@pytest.mark.parametrize("args", [
    ("init", "--width", "65536", "--depth", "1"),           # 16 GiB of weights: passed the old guard
    ("init", "--batch-size", "1e12"),
    ("activations", "--chains", "10000000", "--depth", "1000"),
    ("approx", "--samples", "1e12"),
], ids=" ".join)
def test_runs_that_cannot_fit_are_refused_before_they_exist(invoke, args):
    result = invoke(*args)
    refused(result)
    assert "GiB" in result.stderr or "must be <=" in result.stderr
    assert not result.runs(args[0])


def test_the_memory_estimate_is_compared_with_what_is_available(monkeypatch):
    from nnlab.core import runner
    from nnlab.core.command import load
    from nnlab.core.errors import UserError

    loaded = load("activations")
    config = loaded.config()
    monkeypatch.setattr(runner, "available_memory", lambda: 10 * 2**20)  # a 10 MiB machine
    with pytest.raises(UserError, match=r"needs about 0\.\d GiB .* 0\.0 GiB are available"):
        runner.check_memory(loaded, config)
    monkeypatch.setattr(runner, "available_memory", lambda: 64 * 2**30)
    runner.check_memory(loaded, config)
