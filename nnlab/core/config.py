"""Experiment configs: dataclasses filled from defaults, a YAML recipe, CLI options and `--set`, strictly.

Precedence, lowest first: dataclass defaults < recipe < the `--quick` preset < explicit CLI options < `--set`.
Every value is converted to the field's declared type whatever YAML guessed (YAML reads `1e-3` as a
string and `off` as false), then checked against the field's choices and range. Errors name the key,
what was expected, and the closest valid key.

Deliberately light: imports yaml but no numpy or torch, so `--help` stays fast.
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from nnlab.core.errors import UserError, did_you_mean

# The key a recipe may carry to say which command it is for; config.yaml always carries it.
COMMAND_KEY = "command"
# A recipe is a handful of keys: anything larger is a mistake (or /dev/zero) and is refused unread.
MAX_RECIPE_BYTES = 256 * 1024
MAX_RECIPE_DEPTH = 20  # nesting of lists and mappings (a config value is at most a list of scalars)
_INTEGER = re.compile(r"^[+-]?\d+$")


def excerpt(value: Any, limit: int = 60) -> str:
    """repr(value), cut to `limit` characters: an error message echoes input, never all of it."""
    text = repr(value) if not isinstance(value, str) or len(value) <= limit else repr(value[:limit])
    return text if len(text) <= limit + 2 else text[: limit - 1] + "…"


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


def type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is list:
        return f"a list of {type_name(typing.get_args(tp)[0])}"
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return f"{type_name(inner[0])} or null"
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}[tp]


_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}
_NULL = {"null", "none", "~", ""}


def coerce(value: Any, tp: Any, key: str) -> Any:
    """Convert `value` (from YAML or a command line) to type `tp`, or raise UserError naming `key`."""
    origin = typing.get_origin(tp)
    if origin is list:
        (item_tp,) = typing.get_args(tp)
        items = value if isinstance(value, (list, tuple)) else [value]
        return [coerce(v, item_tp, key) for v in items]
    if origin in (typing.Union, types.UnionType):
        if value is None or (isinstance(value, str) and value.strip().lower() in _NULL):
            return None
        (inner,) = [a for a in typing.get_args(tp) if a is not type(None)]
        return coerce(value, inner, key)

    def bad() -> UserError:
        return UserError(f"{key}: expected {type_name(tp)}, got {excerpt(value)}")

    if isinstance(value, (dict, list, tuple)) or value is None:
        raise bad()
    if tp is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise bad()
    if tp is int:
        if isinstance(value, bool):
            raise bad()
        if isinstance(value, int):
            return value
        text = str(value).strip()
        if _INTEGER.match(text) and len(text) <= 40:  # exactly, not through a float (2**53 + 1 stays itself)
            return int(text)
        try:
            number = float(text)
        except ValueError:
            raise bad() from None
        if not math.isfinite(number) or number != int(number):
            raise bad()
        return int(number)
    if tp is float:
        if isinstance(value, bool):
            raise bad()
        try:
            return float(str(value).strip()) if isinstance(value, str) else float(value)
        except ValueError:
            raise bad() from None
    if tp is str:
        if isinstance(value, bool):
            raise bad()
        return str(value).strip()
    raise TypeError(f"config field {key} has an unsupported type {tp!r}")


def check_field(f: dataclasses.Field, value: Any, label: str | None = None) -> None:
    """Apply a field's choices, bounds and custom check to a converted value; `label` names it in errors."""
    meta, label = f.metadata, label or f.name
    items = value if isinstance(value, list) else [value]
    for item in items:
        if item is None:
            continue
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

    `same(value)` gives the value's identity when two spellings mean one thing (leaky_relu, leaky_relu:0.01).
    """
    if required and not values:
        raise UserError(f"{name}: give at least one")
    keys = [same(v) for v in values] if same else values
    if len(set(keys)) != len(keys):
        raise UserError(f"{name}: each value once, got {values}")


# ----------------------------------------------------------------------------------------------------
# Recipes (YAML)


class _StrictLoader(yaml.SafeLoader):
    """A SafeLoader that refuses duplicate keys instead of silently keeping the last one."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode):  # `? [a, b]: 1`: a config key is a name
            raise yaml.constructor.ConstructorError(None, None, "a key must be a plain name, not a list or mapping",
                                                    key_node.start_mark)
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first on line {seen[key] + 1})", key_node.start_mark
            )
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _compose_node(loader: _StrictLoader, parent: Any, index: Any) -> Any:
    """Refuse aliases (`*a`: a 400-byte "billion laughs" recipe expands to gigabytes) and deep nesting."""
    if loader.check_event(yaml.events.AliasEvent):
        event = loader.peek_event()
        raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed in recipes", event.start_mark)
    loader._nnlab_depth = getattr(loader, "_nnlab_depth", 0) + 1
    try:
        if loader._nnlab_depth > MAX_RECIPE_DEPTH:
            raise yaml.composer.ComposerError(None, None, f"nested deeper than {MAX_RECIPE_DEPTH} levels",
                                              loader.peek_event().start_mark)
        return yaml.composer.Composer.compose_node(loader, parent, index)
    finally:
        loader._nnlab_depth -= 1


_StrictLoader.compose_node = _compose_node  # type: ignore[method-assign]


def _no_sexagesimal(number: Callable) -> Callable:
    """YAML 1.1 reads 1:10 as 70 (base 60); here it stays the text "1:10" (a range, a ratio)."""

    def construct(loader: _StrictLoader, node: yaml.ScalarNode) -> Any:
        if ":" in node.value or len(node.value) > 40:  # a 5000-digit "number" stays text for coerce to refuse
            return node.value
        return number(loader, node)

    return construct


_StrictLoader.add_constructor("tag:yaml.org,2002:int", _no_sexagesimal(yaml.SafeLoader.construct_yaml_int))
_StrictLoader.add_constructor("tag:yaml.org,2002:float", _no_sexagesimal(yaml.SafeLoader.construct_yaml_float))


def load_recipe(path: str | Path, command: str) -> dict[str, Any]:
    """Read a recipe file: a YAML mapping of config keys, optionally with `command: <name>`."""
    path = Path(path)
    if not str(path) or str(path) == ".":
        raise UserError("--recipe: give a file name")
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_RECIPE_BYTES + 1)  # bounded: /dev/zero or a huge file is refused, not read
        if len(raw) > MAX_RECIPE_BYTES:
            raise UserError(f"recipe {path} is larger than {MAX_RECIPE_BYTES // 1024} KiB; a recipe is a few keys")
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise UserError(f"recipe not found: {path}") from None
    except IsADirectoryError:
        raise UserError(f"recipe {path} is a directory") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read recipe {path}: {excerpt(str(exc), 100)}") from None
    return parse_recipe(text, str(path), command)


def parse_recipe(text: str, name: str, command: str) -> dict[str, Any]:
    """A recipe's text to its mapping of config keys (`name` labels errors)."""
    path = name
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" (line {mark.line + 1}, column {mark.column + 1})"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UserError(f"recipe {path} is not valid YAML: {excerpt(problem, 100)[1:-1]}{where}") from None
    except RecursionError:
        raise UserError(f"recipe {path} is nested too deeply") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError(f"recipe {path} must be a mapping of config keys, got {type(data).__name__}")
    named = data.pop(COMMAND_KEY, command)
    if named != command:
        raise UserError(f"recipe {path} is for 'nnlab {excerpt(named)[1:-1]}', not 'nnlab {command}'")
    return data


def parse_set(pairs: Iterable[str]) -> dict[str, Any]:
    """`--set key=value` pairs to a mapping; the value is read as YAML (so `[1, 2]` is a list)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UserError(f"--set expects key=value, got {excerpt(pair)}")
        if key.replace("-", "_") in {k.replace("-", "_") for k in out}:
            raise UserError(f"--set: {key} given twice")
        try:
            out[key] = yaml.load(raw, Loader=_StrictLoader) if raw.strip() else ""  # noqa: S506 - a SafeLoader
        except (yaml.YAMLError, RecursionError):
            out[key] = raw
    return out


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
