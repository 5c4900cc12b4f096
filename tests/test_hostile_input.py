"""Hostile and careless input is one line and exit 2 with nothing written (README, "Guarantees").

Each case once broke that promise. The config layer is the same for every command, so the fake command
(conftest.py) carries it; a key only a real command has (batch_size) uses that command.
"""

from __future__ import annotations

import json
import time

import pytest
from conftest import refused

LAUGHS = """a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
width: [*d,*d,*d,*d,*d,*d,*d,*d,*d]
"""


@pytest.mark.parametrize(("command", "content", "message"), [
    ("fake", LAUGHS, "aliases (*name) are not allowed"),
    ("fake", "width: " + "[" * 5000 + "]" * 5000 + "\n", "nested deeper than"),
    ("fake", "? [a, b]\n: 1\n", "a key must be a plain name"),
    ("fake", "{? {a: 1}: 2}\n", "a key must be a plain name"),
    ("init", "batch-size: 4\nbatch_size: 8\n", "are the same key, given twice"),
    ("fake", "width: " + "9" * 5000 + "\n", "recipe hostile.yaml: width: expected an integer"),
])
def test_hostile_recipes_are_refused_fast_and_briefly(fake_command, invoke, tmp_path, command, content, message):
    recipe = tmp_path / "hostile.yaml"
    recipe.write_text(content)
    start = time.perf_counter()
    result = invoke(command, "--recipe", str(recipe))
    result.stderr = result.stderr.replace(str(tmp_path) + "/", "")
    assert time.perf_counter() - start < 5  # well under a second alone; generous for a busy CI machine
    refused(result, message)
    assert not result.runs(command)


def test_an_endless_recipe_is_not_read_to_the_end(fake_command, invoke):
    refused(invoke("fake", "--recipe", "/dev/zero"), "larger than 256 KiB")


def test_integers_are_parsed_exactly(fake_command, invoke):
    result = invoke("fake", "--quick", "--width", "8", "--seed", "9007199254740993")
    assert result.exit_code == 0, result.stderr
    assert json.loads((result.runs("fake")[0] / "meta.json").read_text())["seed"] == 9007199254740993
    refused(invoke("fake", "--seed", str(2**63)), "must be <=")


@pytest.mark.parametrize("args", [["--recipe", ""], ["--out", ""], ["--tag", "ok\n"], ["--set", "width=1", "--set",
                                                                                         "width=2"]])
def test_empty_and_sneaky_values_are_errors(fake_command, invoke, args):
    refused(invoke("fake", "--quick", *args))


def test_a_long_bad_value_is_echoed_as_an_excerpt(fake_command, invoke):
    refused(invoke("fake", "--scale", "x" * 100_000))
