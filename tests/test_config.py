"""nnlab.core.config: conversion, validation, recipes and precedence."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import yaml

from nnlab.core.config import (
    ExperimentConfig,
    Layer,
    coerce,
    load_recipe,
    param,
    parse_set,
    resolve,
    to_recipe_yaml,
)
from nnlab.core.errors import UserError


@dataclass
class Toy(ExperimentConfig):
    lr: float = param(0.1, "learning rate", low=0, low_open=True)
    steps: int = param(10, "steps", low=1, high=1000)
    method: list[str] = param(["gd"], "methods", choices=["gd", "adam"])
    shuffle: bool = param(True, "shuffle")
    note: str | None = param(None, "free text")


@pytest.mark.parametrize(
    ("value", "tp", "expected"),
    [
        ("1e-3", float, 1e-3),  # YAML 1.1 reads 1e-3 as a string
        (3, float, 3.0),
        ("4", int, 4),
        (4.0, int, 4),
        ("off", bool, False),
        ("Yes", bool, True),
        (False, bool, False),
        (0.05, str, "0.05"),
        ("adam", list[str], ["adam"]),  # a scalar where a list is expected is a one-item list
        ([1, "2"], list[int], [1, 2]),
        ("null", str | None, None),
    ],
)
def test_coerce_converts_to_the_declared_type(value, tp, expected):
    assert coerce(value, tp, "key") == expected


@pytest.mark.parametrize(("value", "tp"), [("2.5", int), (True, int), ("abc", float), ("maybe", bool),
                                            ([1], int), (None, int), ({"a": 1}, str)])
def test_coerce_rejects_with_the_key_and_type(value, tp):
    with pytest.raises(UserError, match=r"^key: expected"):
        coerce(value, tp, "key")


def test_precedence_defaults_recipe_cli_set():
    config = resolve(Toy, [
        Layer("recipe r.yaml", {"lr": "1e-2", "steps": 5, "shuffle": "off"}),
        Layer("option", {"steps": "7"}, option_style=True),
        Layer("--set", {"lr": 0.5}),
    ])
    assert (config.lr, config.steps, config.shuffle, config.method) == (0.5, 7, False, ["gd"])


@pytest.mark.parametrize(("layer", "message"), [
    (Layer("option", {"lr": "0"}, option_style=True), r"^--lr: must be > 0, got 0.0$"),
    (Layer("option", {"steps": "5000"}, option_style=True), r"^--steps: must be <= 1000"),
    (Layer("--set", {"method": ["gd", "adma"]}),
     r"^--set: method: 'adma' is not one of gd, adam \(did you mean 'adam'\?\)"),
    (Layer("recipe r.yaml", {"setps": 3}), r"^recipe r.yaml: unknown key 'setps' \(did you mean 'steps'\?\)$"),
    (Layer("option", {"lr": "nan"}, option_style=True), r"^--lr: expected a finite number"),
])
def test_invalid_values_name_their_source_and_key(layer, message):
    with pytest.raises(UserError, match=message):
        resolve(Toy, [layer])


def test_recipe_duplicate_key_is_an_error(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("lr: 0.1\nsteps: 3\nlr: 0.2\n")
    with pytest.raises(UserError, match=r"duplicate key 'lr' \(first on line 1\) \(line 3"):
        load_recipe(path, "toy")


@pytest.mark.parametrize(("text", "message"), [
    ("lr: [0.1\n", "is not valid YAML"),
    ("- 1\n- 2\n", "must be a mapping"),
    ("command: other\nlr: 1\n", "is for 'nnlab other', not 'nnlab toy'"),
])
def test_bad_recipes(tmp_path, text, message):
    path = tmp_path / "r.yaml"
    path.write_text(text)
    with pytest.raises(UserError, match=message):
        load_recipe(path, "toy")


def test_missing_recipe(tmp_path):
    with pytest.raises(UserError, match="recipe not found"):
        load_recipe(tmp_path / "nope.yaml", "toy")


def test_parse_set_reads_values_as_yaml_and_needs_an_equals_sign():
    assert parse_set(["a=1", "b=[x, y]", "c=", "d=a=b"]) == {"a": 1, "b": ["x", "y"], "c": "", "d": "a=b"}
    assert parse_set(["r=1:50:7", "s=1:10"]) == {"r": "1:50:7", "s": "1:10"}  # not YAML 1.1's base-60 ints


def test_recipes_keep_colon_ranges_as_text(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("note: 1:10\nsteps: 12\nlr: 1.5\n")
    assert load_recipe(path, "toy") == {"note": "1:10", "steps": 12, "lr": 1.5}
    with pytest.raises(UserError, match="--set expects key=value, got 'lr'"):
        parse_set(["lr"])


def test_resolved_config_is_a_recipe_that_reproduces_it(tmp_path):
    config = resolve(Toy, [Layer("--set", {"lr": 0.25, "method": ["adam", "gd"], "note": "hi", "seed": 3})])
    path = tmp_path / "config.yaml"
    path.write_text(to_recipe_yaml(config, "toy"))
    assert yaml.safe_load(path.read_text())["command"] == "toy"
    again = resolve(Toy, [Layer("recipe", load_recipe(path, "toy"))])
    assert again == config
    # Experiment keys first, shared (seed, device) last: the file reads in order of interest.
    assert list(yaml.safe_load(path.read_text()))[-2:] == ["seed", "device"]


def test_check_list_requires_and_deduplicates_by_identity():
    from nnlab.core.config import check_list

    check_list("x", [])  # optional lists may be empty
    with pytest.raises(UserError, match="^x: give at least one$"):
        check_list("x", [], required=True)
    with pytest.raises(UserError, match="each value once"):
        check_list("x", ["a", "b", "a"])
    with pytest.raises(UserError, match="each value once"):
        check_list("x", ["A", "a"], same=str.lower)


@pytest.mark.parametrize(("value", "tp", "expected"), [
    ("0777", int, 777), ("+12", int, 12), ("1e3", int, 1000), ("010", float, 10.0), (".5", float, 0.5),
    ("-inf", float, float("-inf")), (".inf", float, float("inf")),  # for check_field to refuse as not finite
    ("yes", bool, True), ("on", str, "on"), (" none ", int | None, None),
])
def test_the_number_grammar_is_decimal(value, tp, expected):
    assert coerce(value, tp, "key") == expected


@pytest.mark.parametrize(("value", "tp"), [("0x1f", int), ("0o17", int), ("0b101", int), ("1_000", int),
                                            ("1:10", int), ("1_0.5", float), ("0x1f", float), (b"1", float),
                                            (10**400, float), ("", int), ("", float | None), (" ", bool)])
def test_other_spellings_of_numbers_are_refused(value, tp):
    with pytest.raises(UserError, match=r"^key: "):
        coerce(value, tp, "key")


def test_recipes_and_set_read_numbers_as_the_cli_does(tmp_path):
    assert parse_set(["seed=0777", "steps=010", "x=0x1f", "y=1_000", "z=on", "w=true", "v=[010, .5]"]) == {
        "seed": 777, "steps": 10, "x": "0x1f", "y": "1_000", "z": "on", "w": True, "v": [10, 0.5]}
    path = tmp_path / "r.yaml"
    path.write_text("steps: 010\nlr: .5\nnote: 2001-12-14\nshuffle: yes\n")
    assert load_recipe(path, "toy") == {"steps": 10, "lr": 0.5, "note": "2001-12-14", "shuffle": "yes"}
    assert resolve(Toy, [Layer("r", load_recipe(path, "toy"))]).shuffle is True
    for text in ("steps: !!int 0x1f\n", "steps: !!binary aGk=\n", "shuffle: !!bool maybe\n"):
        path.write_text(text)
        with pytest.raises(UserError, match="is not valid YAML"):
            load_recipe(path, "toy")


def test_an_empty_value_is_refused_unless_empty_is_the_default():
    @dataclass
    class WithEmpty(ExperimentConfig):
        start: str = param("", "empty: the problem's default")

    for key in ("note", "method", "lr"):
        with pytest.raises(UserError, match=f"^--{key}: an empty value"):
            resolve(Toy, [Layer("option", {key: ""}, option_style=True)])
    assert resolve(WithEmpty, [Layer("option", {"start": ""}, option_style=True)]).start == ""


@pytest.mark.parametrize("text", ["a\x00b", "\x01", "out\x1b[2J", "x\x7f"])
def test_a_control_character_in_text_is_refused(text):
    """A NUL byte in a path fails only when the OS sees it, mid-run (an unused --data-dir not at all)."""
    with pytest.raises(UserError, match="^note: a control character"):
        coerce(text, str, "note")
    assert coerce("tab\tand newline\nstay", str, "note") == "tab\tand newline\nstay"


def test_check_list_reads_number_texts_as_numbers():
    from nnlab.core.config import check_list

    check_list("scale", ["0.05", "0.5", "xavier"])
    with pytest.raises(UserError, match="each value once"):
        check_list("scale", ["0.05", "5e-2"])
    with pytest.raises(UserError, match="each value once"):
        check_list("n", ["8", "08"])
