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


# -- signals outside a run: every command and tool ends 130 (SIGINT) / 143 (SIGTERM) with one line ---------------

def _one_line_signal_exit(result, code: int) -> None:
    assert result.exit_code == code, f"{result.exit_code} {result.stderr!r}"
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr and "Aborted" not in result.stderr
    assert "interrupted" in result.stderr.lower() or "terminated" in result.stderr.lower(), result.stderr


def test_sigint_before_the_run_directory_exists_exits_130(fake_command, invoke, patch_command):
    def prepare(config):
        signal.raise_signal(signal.SIGINT)  # Python's default handler: KeyboardInterrupt here

    patch_command("fake", prepare=prepare)
    result = invoke("fake", "--quick")
    _one_line_signal_exit(result, 130)
    assert result.runs("fake") == []  # stopped before any directory was made


def test_sigterm_before_the_run_directory_exists_exits_143(fake_command, invoke, patch_command):
    def prepare(config):
        signal.raise_signal(signal.SIGTERM)  # without nnlab's handler this would kill the test process

    patch_command("fake", prepare=prepare)
    result = invoke("fake", "--quick")
    _one_line_signal_exit(result, 143)
    assert result.runs("fake") == []
    assert signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None) or callable(signal.getsignal(signal.SIGTERM))


def test_a_tool_interrupted_exits_130(fake_command, invoke, monkeypatch):
    from nnlab.core import record

    invoke("fake", "--quick")

    def interrupted(self, path):
        raise KeyboardInterrupt

    monkeypatch.setattr(record.RunRecord, "__init__", interrupted)
    out = invoke("fake", "--quick").out
    result = invoke("redraw", str(next((out / "fake").iterdir())))
    _one_line_signal_exit(result, 130)


def test_sigterm_handler_is_restored_after_the_cli_returns(fake_command, invoke):
    before = signal.getsignal(signal.SIGTERM)
    assert invoke("fake", "--quick").exit_code == 0
    assert signal.getsignal(signal.SIGTERM) == before


def test_the_console_script_exits_143_on_sigterm_in_a_tool(tmp_path):
    """The real entry point (nnlab.cli.main), in a process of its own: SIGTERM while a tool runs."""
    import subprocess
    import sys

    script = ("import signal, sys\nfrom nnlab.core import record\n"
              "def stop(self, path):\n    signal.raise_signal(signal.SIGTERM)\n"
              "record.RunRecord.__init__ = stop\nsys.argv = ['nnlab', 'redraw', sys.argv[1]]\n"
              "from nnlab.cli import main\nmain()\n")
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 143, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
