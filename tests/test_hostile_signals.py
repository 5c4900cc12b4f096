"""Signals at every moment: a stop is honoured wherever it arrives, and every run directory that exists says
what it is (README, "Guarantees"). The runner is the same for every command: the fake one (conftest.py) runs."""

from __future__ import annotations

import json
import signal


def test_signals_during_setup_leave_a_directory_that_says_what_it_is(fake_command, invoke, monkeypatch):
    from nnlab.core import run as run_module

    original = run_module.claim_directory

    def claim_then_signal(*args, **kwargs):
        path = original(*args, **kwargs)
        signal.raise_signal(signal.SIGTERM)
        signal.raise_signal(signal.SIGTERM)  # a second one: setup still completes
        return path

    monkeypatch.setattr(run_module, "claim_directory", claim_then_signal)
    result = invoke("fake", "--quick")
    assert result.exit_code == 128 + signal.SIGTERM, result.stderr
    (run,) = result.runs("fake")
    assert json.loads((run / "meta.json").read_text())["status"] == "interrupted"
    assert sorted(p.name for p in run.iterdir() if not p.name.startswith(".lock")) == [
        "config.yaml", "meta.json", "metrics.jsonl", "plots", "summary.json"]


def test_a_signal_after_the_last_safe_point_still_stops_the_run(fake_command, invoke, patch_command):
    real_run = fake_command.COMMAND.run

    def run_then_signal(config, rec):
        summary = real_run(config, rec)
        signal.raise_signal(signal.SIGINT)
        return summary

    patch_command("fake", run=run_then_signal)
    result = invoke("fake", "--quick")
    assert result.exit_code == 130
    summary = result.summary("fake")
    assert summary["status"] == "interrupted" and summary["claims"]  # the results are kept


def test_a_second_signal_during_finish_cannot_break_it(fake_command, invoke, monkeypatch):
    from nnlab.core import run as run_module

    original = run_module._point_latest

    def signal_twice_then_link(path):
        signal.raise_signal(signal.SIGTERM)
        signal.raise_signal(signal.SIGTERM)
        original(path)

    monkeypatch.setattr(run_module, "_point_latest", signal_twice_then_link)
    result = invoke("fake", "--quick")
    (run,) = result.runs("fake")
    assert (run.parent / "latest").resolve() == run.resolve()
    assert not [p for p in run.rglob(".*") if p.name != ".lock"]  # no temporary file left behind
    assert json.loads((run / "summary.json").read_text())["status"] in ("completed", "interrupted")
