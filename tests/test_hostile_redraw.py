"""`nnlab redraw` on a damaged run: one line and exit 2, whatever file was broken and however."""

from __future__ import annotations

import pytest
from conftest import refused


@pytest.mark.parametrize(("target", "content", "message"), [
    ("summary.json", "{broken", "not valid JSON"),
    ("meta.json", "{broken", "not valid JSON"),
    ("meta.json", "[1]", "expected a JSON object"),
    ("meta.json", '{"command": ["fake"]}', "`command` must be str"),
    ("meta.json", '{"command": "nosuch"}', "unknown command"),
    ("summary.json", '{"claims": [], "layers": 3}', "does not hold what 'nnlab fake' draws"),
])
def test_redraw_of_a_damaged_run_is_one_line_exit_2(fake_command, invoke, target, content, message):
    result = invoke("fake", "--quick")
    (run,) = result.runs("fake")
    (run / target).write_text(content)
    refused(invoke("redraw", str(run)), message)


def test_redraw_of_a_real_commands_summary_of_another_layout_is_one_line_exit_2(invoke):
    """A real command's plots meet a summary without their keys (as a run of another version writes)."""
    result = invoke("init", "--quick", "--width", "8", "--depth", "1")
    (run,) = result.runs("init")
    (run / "summary.json").write_text('{"claims": [], "layers": 3}')
    refused(invoke("redraw", str(run)), "does not hold what 'nnlab init' draws")
