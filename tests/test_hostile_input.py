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


def test_an_endless_recipe_is_not_read_to_the_end(fake_command, invoke, tmp_path):
    refused(invoke("fake", "--recipe", "/dev/zero"), "not a regular file")
    big = tmp_path / "big.yaml"
    big.write_text("# a comment\n" * 30_000)
    refused(invoke("fake", "--recipe", str(big)), "larger than 256 KiB")


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


# -- issue 29: one number grammar, empty values, repeated values, grids, formulas, FIFOs ----------------------

def _config_of(result, command: str = "fake") -> dict:
    import yaml

    assert result.exit_code == 0, result.stderr
    runs = sorted(p for p in result.out.glob(f"**/{command}/*/config.yaml") if not p.parent.is_symlink())  # no latest
    assert len(runs) == 1, runs
    return yaml.safe_load(runs[0].read_text())


def _through(path: str, invoke, tmp_path, key: str, text: str):
    """`nnlab fake` given key=text by one of the four paths: its CLI option, --set, a recipe or a one-value --grid."""
    out = tmp_path / path
    if path == "option":
        return invoke("fake", "--quick", f"--{key}", text, out=out)
    if path == "set":
        return invoke("fake", "--quick", "--set", f"{key}={text}", out=out)
    if path == "recipe":
        recipe = tmp_path / "r.yaml"
        recipe.write_text(f"{key}: {text}\n")
        return invoke("fake", "--quick", "--recipe", str(recipe), out=out)
    return invoke("sweep", "fake", "--grid", f"{key}=[{text}]", "--seeds", "0", "--workers", "1", "--quick",
                  "--out", str(out), out=out)


NUMBER_CASES = [  # (key, text as typed, the value every path reads, or None: refused by every path)
    ("width", "0777", 777), ("width", "010", 10), ("width", "+12", 12), ("width", "1e3", 1000),
    ("width", "0x1f", None), ("width", "0o17", None), ("width", "0b101", None), ("width", "1_000", None),
    ("width", "1:10", None), ("width", ".inf", None), ("width", "12.5", None), ("width", "yes", None),
    ("scale", "010", 10.0), ("scale", ".5", 0.5), ("scale", "1e-3", 0.001), ("scale", "1_0.5", None),
    ("scale", "0x1f", None), ("scale", ".inf", None), ("scale", "nan", None),
    ("activation", "on", None), ("activation", "relu", "relu"),
]


@pytest.mark.parametrize(("key", "text", "expected"), NUMBER_CASES, ids=[f"{k}={t}" for k, t, _ in NUMBER_CASES])
def test_one_grammar_for_options_set_recipes_and_grids(fake_command, invoke, tmp_path, key, text, expected):
    """`--set seed=0777` gave 511 and `--seed 0777` 777; `width: 010` in a recipe gave 8 (YAML 1.1 octal)."""
    results = {path: _through(path, invoke, tmp_path, key, text) for path in ("option", "set", "recipe", "grid")}
    if expected is None:
        problems = set()
        for result in results.values():
            refused(result)
            problems.add(result.stderr.split(f"{key}: ", 1)[1].strip())  # the message without its source
        assert len(problems) == 1, problems
    else:
        for path, result in results.items():
            assert _config_of(result)[key] == expected, path


@pytest.mark.parametrize("args", [
    ["--set", "width="], ["--set", "activation= "], ["--width", ""], ["--activation", ""], ["--scale", " "],
])
def test_an_empty_value_is_refused_not_the_default(fake_command, invoke, args):
    refused(invoke("fake", "--quick", *args), "empty value")


def test_an_empty_optional_value_is_refused_not_none(invoke):
    """`optimize --lr ""` silently meant lr none (per-method defaults)."""
    refused(invoke("optimize", "--quick", "--lr", ""), "--lr: an empty value")


def test_lecture_only_empty_is_refused_not_all_nine():
    from nnlab.core.errors import UserError
    from nnlab.tools.lecture import select

    for only in [("",), (" , ",), ("init", "")]:
        with pytest.raises(UserError, match="^--only: an empty value"):
            select(only, ())


def test_a_repeated_list_value_is_refused_after_reading_it_as_a_number(invoke):
    refused(invoke("init", "--quick", "--width", "8", "--depth", "1", "--scale", "0.05", "--scale", "5e-2"),
            "each value once")
    refused(invoke("sweep", "init", "--grid", "scale=0.05,5e-2", "--quick", "--set", "width=8", "--set", "depth=1",
                   "--seeds", "0", "--workers", "1"), "each value once")


GRID_LAUGHS = "width=[" + ",".join(["&a [1,2,3,4,5,6,7,8,9]"] + ["*a"] * 60) + "]"


@pytest.mark.parametrize(("grid", "message"), [
    (GRID_LAUGHS, "aliases (*name) are not allowed"),
    ("width=[" + "[" * 5000 + "]" * 5000 + "]", "nested deeper than"),
    ("width=[1, !!int 0x1f]", "0x1f"),
])
def test_hostile_grids_are_refused_before_expansion(fake_command, invoke, tmp_path, grid, message):
    start = time.perf_counter()
    result = invoke("sweep", "fake", "--grid", grid, "--seeds", "0", "--workers", "1", "--out", str(tmp_path))
    assert time.perf_counter() - start < 5
    refused(result, message)
    assert not (tmp_path / "sweep").exists()


@pytest.mark.parametrize(("command", "option"), [("backprop", "--expr"), ("approx", "--target")])
def test_a_deeply_parenthesised_formula_is_refused(invoke, command, option):
    variable = "x" if command == "backprop" else "x1"
    refused(invoke(command, "--quick", option, "(" * 200 + variable + ")" * 200), "nested deeper than")


def _unblock_after(path, seconds: float):
    """If a reader still blocks on the FIFO `path` after `seconds`, give it EOF (so a failing test ends)."""
    import contextlib
    import os
    import threading

    def release():
        time.sleep(seconds)
        with contextlib.suppress(OSError):  # ENXIO: nobody is reading, as it should be
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))

    threading.Thread(target=release, daemon=True).start()


@pytest.mark.parametrize("kind", ["fifo", "device", "directory"])
def test_a_recipe_that_is_not_a_regular_file_is_refused_unread(fake_command, invoke, tmp_path, kind):
    import os

    path = tmp_path / "recipe.yaml"
    if kind == "fifo":
        os.mkfifo(path)
        _unblock_after(path, 3)
    elif kind == "device":
        path = "/dev/null"
    else:
        path.mkdir()
    start = time.perf_counter()
    result = invoke("fake", "--quick", "--recipe", str(path))
    assert time.perf_counter() - start < 2
    refused(result, "not a regular file" if kind != "directory" else "is a directory")
    assert not result.runs("fake")
