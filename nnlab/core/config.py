"""Experiment configs: dataclasses filled from defaults, a YAML recipe, CLI options and `--set`, strictly.

Precedence, lowest first: dataclass defaults < recipe < the `--quick` preset < explicit CLI options < `--set`.
Every value is converted to the field's declared type by one grammar, the same for a CLI option, `--set`, a
recipe and a `--grid` list (decimal numbers only; nnlab.core.values states it), then checked against the
field's choices and range. Errors name the key, what was expected, and the closest valid key.

Deliberately light: imports yaml but no numpy or torch, so `--help` stays fast.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from nnlab.core.errors import UserError, did_you_mean

# Re-exported (F401): callers import the recipe readers and the value grammar from here, their one front door.
from nnlab.core.recipes import COMMAND_KEY, MAX_RECIPE_BYTES, load_recipe, parse_recipe, parse_set  # noqa: F401
from nnlab.core.values import coerce, excerpt, is_empty, same_value, type_name  # noqa: F401


def param(
    default: Any,
    help: str,
    *,
    choices: Iterable[str] | None = None,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    check: Callable[[Any], str | None] | None = None,
) -> Any:
    """A config field plus what the CLI and the validator need to know about it.

    `low`/`high` bound numbers (inclusive, or exclusive below with `low_open`); for a list field they
    bound each item. `check(value) -> error or None` adds a rule the bounds cannot express.
    """
    meta = {
        "help": help,
        "choices": list(choices) if choices is not None else None,
        "low": low,
        "high": high,
        "low_open": low_open,
        "check": check,
    }
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class ExperimentConfig:
    """Fields every experiment has. Subclasses add their own (all with defaults)."""

    seed: int = param(0, "Seed for every random generator (python, numpy, torch).", low=0, high=2**63 - 1)
    device: str = param(
        "auto", "Where tensors live: auto (CUDA, else Apple MPS, else the CPU), cpu, cuda or mps.",
        choices=["auto", "cpu", "cuda", "mps"],
    )

    def validate(self) -> None:
        """Cross-field checks; raise UserError. Per-field checks come from `param` metadata."""


# ----------------------------------------------------------------------------------------------------
# Type conversion


def field_types(cls: type) -> dict[str, Any]:
    """The resolved type of each field of a config dataclass (annotations are strings here)."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def check_field(f: dataclasses.Field, value: Any, label: str | None = None) -> None:
    """Apply a field's choices, bounds and custom check to a converted value; `label` names it in errors."""
    meta, label = f.metadata, label or f.name
    items = value if isinstance(value, list) else [value]
    for item in items:
        if item is None:
            continue
        if is_empty(item) and f.default != "":  # where "" is the default, its help says what empty means
            raise UserError(f"{label}: an empty value; give one")
        if meta.get("choices") is not None and item not in meta["choices"]:
            hint = did_you_mean(item, meta["choices"])
            raise UserError(f"{label}: {excerpt(item)} is not one of {', '.join(meta['choices'])}{hint}")
        if isinstance(item, (int, float)) and not isinstance(item, bool):
            if not math.isfinite(item):
                raise UserError(f"{label}: expected a finite number, got {excerpt(item)}")
            low, high = meta.get("low"), meta.get("high")
            if low is not None and (item <= low if meta.get("low_open") else item < low):
                op = ">" if meta.get("low_open") else ">="
                raise UserError(f"{label}: must be {op} {low:g}, got {excerpt(item)}")
            if high is not None and item > high:
                raise UserError(f"{label}: must be <= {high:g}, got {excerpt(item)}")
        if meta.get("check") is not None:
            problem = meta["check"](item)
            if problem:
                raise UserError(f"{label}: {problem}")


def check_list(name: str, values: list[Any], *, required: bool = False,
               same: Callable[[Any], Any] | None = None) -> None:
    """The rules a list field usually has, for Config.validate(): not empty (if `required`), no value twice.

    `same(value)` gives the value's identity when two spellings mean one thing (leaky_relu, leaky_relu:0.01);
    without it a text that is a number is that number (`--scale 0.05 --scale 5e-2` is one scale twice).
    """
    if required and not values:
        raise UserError(f"{name}: give at least one")
    keys = [(same or same_value)(v) for v in values]
    if len(set(keys)) != len(keys):
        raise UserError(f"{name}: each value once, got {values}")


# ----------------------------------------------------------------------------------------------------
# Resolution


@dataclass(frozen=True)
class Layer:
    """One source of values. `option_style` names keys as the CLI does (`--batch-size`) in errors."""

    source: str
    values: Mapping[str, Any]
    option_style: bool = False

    def label(self, key: str) -> str:
        return "--" + key.replace("_", "-") if self.option_style else f"{self.source}: {key}"


def saved_layer(path: str | Path, command: str, config_cls: type) -> Layer:
    """A run's config.yaml as a config layer. A key it lacks is one added after the run was made: the class's
    LEGACY mapping (if any) says what such a run did then, where the new default would do something else."""
    values = load_recipe(path, command)
    legacy = {k: v for k, v in getattr(config_cls, "LEGACY", {}).items() if k not in values}
    return Layer(str(path), {**legacy, **values})


def resolve(cls: type, layers: Iterable[Layer]) -> Any:
    """Build a validated config of type `cls` from layers of values, lowest precedence first.

    Each value is converted and checked as it is applied, so an error names the layer it came from.
    """
    types_by_key = field_types(cls)
    fields_by_key = {f.name: f for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    for layer in layers:
        spelled: dict[str, str] = {}  # batch_size -> the spelling seen first in this layer
        for raw_key, raw in layer.values.items():
            key = str(raw_key).replace("-", "_")
            if key not in types_by_key:
                raise UserError(f"{layer.source}: unknown key {excerpt(raw_key)}{did_you_mean(key, types_by_key)}")
            if key in spelled:
                raise UserError(f"{layer.source}: {raw_key!r} and {spelled[key]!r} are the same key, given twice")
            spelled[key] = str(raw_key)
            value = coerce(raw, types_by_key[key], layer.label(key))
            check_field(fields_by_key[key], value, layer.label(key))
            values[key] = value
    config = cls(**values)
    config.validate()
    return config


def to_dict(config: Any) -> dict[str, Any]:
    """The config's fields, the experiment's own first and the shared ones (seed, device) last."""
    shared = {f.name for f in dataclasses.fields(ExperimentConfig)}
    data = dataclasses.asdict(config)
    return {k: v for k, v in data.items() if k not in shared} | {k: data[k] for k in data if k in shared}


def to_recipe_yaml(config: Any, command: str) -> str:
    """The resolved config as a recipe: `nnlab <command> --recipe config.yaml` reruns the run."""
    return yaml.safe_dump({COMMAND_KEY: command, **to_dict(config)}, sort_keys=False, allow_unicode=True)
