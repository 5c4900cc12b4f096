"""The Python API refuses what the CLI refuses, with nnlab.UserError and one line: never a bare TypeError.

Each case once raised TypeError or AttributeError from deep inside (issue 29). The fake command (conftest.py)
carries the config layer; nothing here runs an experiment.
"""

from __future__ import annotations

import pytest

import nnlab

BAD_RUNS = [
    ("command is a number", (5,), {}),
    ("command is None", (None,), {}),
    ("tag is a number", ("fake",), {"tag": 3}),
    ("recipe is a number", ("fake",), {"recipe": 3}),
    ("recipe is bytes", ("fake",), {"recipe": b"r.yaml"}),
    ("set holds a number", ("fake",), {"set": [3]}),
    ("set is one str", ("fake",), {"set": "width=1"}),
    ("set is a number", ("fake",), {"set": 3}),
    ("set is a mapping", ("fake",), {"set": {"width": 1}}),
    ("quick is a str", ("fake",), {"quick": "yes"}),
    ("quick is None", ("fake",), {"quick": None}),
    ("plots is a str", ("fake",), {"plots": "no"}),
    ("report is a number", ("fake",), {"report": 1}),
    ("out is a number", ("fake",), {"out": 3}),
    ("out is a list", ("fake",), {"out": ["outputs"]}),
    ("resume is a number", ("fake",), {"resume": 3}),
    ("a value is bytes", ("fake",), {"scale": b"1"}),
    ("a value is an object", ("fake",), {"width": object()}),
    ("a value is a huge int where a float goes", ("fake",), {"scale": 10**400}),
    ("a value is a mapping", ("fake",), {"activation": {"tanh": 1}}),
    ("a value is empty", ("fake",), {"activation": ""}),
]


@pytest.mark.parametrize(("args", "kwargs"), [c[1:] for c in BAD_RUNS], ids=[c[0] for c in BAD_RUNS])
def test_bad_run_arguments_are_user_errors(fake_command, tmp_path, monkeypatch, args, kwargs):
    monkeypatch.chdir(tmp_path)  # a run that should not have started lands here, not in the repository
    with pytest.raises(nnlab.UserError) as error:
        nnlab.run(*args, **{"out": tmp_path, **kwargs})
    message = str(error.value)
    assert message and "\n" not in message and len(message) < 300, message
    assert not list(tmp_path.glob("**/meta.json"))


@pytest.mark.parametrize("where", [None, 3, 2.5, b"outputs", ["a"], object()], ids=repr)
def test_load_of_a_non_path_is_a_user_error(where):
    with pytest.raises(nnlab.UserError) as error:
        nnlab.load(where)
    assert "\n" not in str(error.value) and "run_dir" in str(error.value)


def test_good_arguments_still_run(fake_command, tmp_path):
    result = nnlab.run("fake", quick=True, out=str(tmp_path), tag="ok", set=("width=4",), plots=False, scale=2)
    assert result.status == "completed" and result.config["width"] == 4 and result.config["scale"] == 2.0
