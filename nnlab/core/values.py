"""The one grammar of a config value, wherever it is typed: a CLI option, `--set`, a recipe, a `--grid` list.

The rule, decided here once: numbers are decimal. An integer is decimal digits with an optional sign, read
in base 10 whatever its leading zeros (`0777` is 777, as a person reads it); a number is a decimal
fraction with an optional exponent (`.5`, `1e-3`, `2.5E+4`). Hex, octal and binary (`0x1f`, `0o17`,
`0b101`), digit separators (`1_000`), YAML 1.1's base 60 (`1:10`) and `.inf` are not numbers: where a
number is wanted they are refused in one line; where text is wanted they stay the text typed. `yes`,
`no`, `on` and `off` are booleans only where a boolean is wanted. An empty value is refused where the
field's own default is not empty (it would silently mean the default). nnlab.core.config's YAML loader
resolves scalars by the same patterns, so a recipe reads `width: 010` as the CLI reads `--width 010`.

Imports nothing heavy (the CLI's `--help` stays fast).
"""

from __future__ import annotations

import math
import re
import types
import typing
from typing import Any

from nnlab.core.errors import UserError

INTEGER = re.compile(r"^[+-]?[0-9]+$")
DECIMAL = re.compile(r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$")
# Not finite: read as numbers only so that the range check can say "expected a finite number".
NOT_FINITE = re.compile(r"^[+-]?(?:\.?inf|infinity|\.?nan)$", re.IGNORECASE)
BOOLEAN = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")  # what YAML may read as a boolean by itself
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # control characters other than tab and newline
MAX_DIGITS = 40  # a longer "number" is text, for the field's check to refuse (no 5000-digit int() either)

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}
_NULL = {"null", "none", "~"}


def excerpt(value: Any, limit: int = 60) -> str:
    """repr(value), cut to `limit` characters: an error message echoes input, never all of it."""
    text = repr(value) if not isinstance(value, str) or len(value) <= limit else repr(value[:limit])
    return text if len(text) <= limit + 2 else text[: limit - 1] + "…"


def read_integer(text: str) -> int | None:
    """`text` as a decimal integer, or None if it is not one by the rule above."""
    text = text.strip()
    return int(text, 10) if len(text) <= MAX_DIGITS and INTEGER.match(text) else None


def read_number(text: str) -> float | None:
    """`text` as a float (decimal, or an infinity/NaN spelled out), or None if it is not a number."""
    text = text.strip()
    if len(text) <= MAX_DIGITS and DECIMAL.match(text):
        return float(text)
    if NOT_FINITE.match(text):
        return float(text.replace(".", ""))
    return None


def type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is list:
        return f"a list of {type_name(typing.get_args(tp)[0])}"
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return f"{type_name(inner[0])} or null"
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}[tp]


def is_empty(value: Any) -> bool:
    return isinstance(value, str) and not value.strip()


def coerce(value: Any, tp: Any, key: str) -> Any:
    """Convert `value` (text from a command line, a scalar from YAML, a Python value from the API) to type `tp`
    by the grammar above, or raise UserError naming `key`. An empty text stays "" for a `str` (the field's check
    decides, config.check_field); for every other type it is refused here."""
    origin = typing.get_origin(tp)
    if origin is list:
        (item_tp,) = typing.get_args(tp)
        items = value if isinstance(value, (list, tuple)) else [value]
        return [coerce(v, item_tp, key) for v in items]
    if is_empty(value) and tp is not str:
        raise UserError(f"{key}: an empty value; give one" + (" (or null)" if origin is not None else ""))
    if origin in (typing.Union, types.UnionType):
        if value is None or (isinstance(value, str) and value.strip().lower() in _NULL):
            return None
        (inner,) = [a for a in typing.get_args(tp) if a is not type(None)]
        return coerce(value, inner, key)

    def bad() -> UserError:  # a number is echoed as text: YAML's 12.5 and the CLI's '12.5' read alike
        shown = str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value
        return UserError(f"{key}: expected {type_name(tp)}, got {excerpt(shown)}")

    if not isinstance(value, (str, int, float)):  # None, lists, mappings, bytes, objects: never a scalar here
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
    if isinstance(value, bool) and tp in (int, float, str):
        raise bad()
    if tp is int:
        if isinstance(value, int):
            return int(value)
        number = read_integer(value) if isinstance(value, str) else None
        if number is not None:  # exactly, not through a float (2**53 + 1 stays itself)
            return number
        real = read_number(value) if isinstance(value, str) else value
        if real is None or not math.isfinite(real) or real != int(real):
            raise bad()
        return int(real)
    if tp is float:
        if isinstance(value, str):
            number = read_number(value)
            if number is None:
                raise bad()
            return number
        try:
            return float(value)
        except OverflowError:  # an int past 1.8e308
            raise UserError(f"{key}: expected a finite number, got {excerpt(value)}") from None
    if tp is str:
        text = str(value).strip()
        if CONTROL.search(text):  # a NUL byte cannot be in a path (the OS refuses it mid-run); the others are typos
            raise UserError(f"{key}: a control character in {excerpt(text)}; give printable text")
        return text
    raise TypeError(f"config field {key} has an unsupported type {tp!r}")


def same_value(value: Any) -> Any:
    """What a value means, for "each value once": a text that is a number is that number (`0.05` and `5e-2`,
    `8` and `08` are one value each). Numbers compare as Python compares them (1 == 1.0)."""
    if isinstance(value, (list, tuple)):
        return tuple(same_value(v) for v in value)
    if isinstance(value, str):
        integer = read_integer(value)
        if integer is not None:
            return integer
        number = read_number(value)
        return number if number is not None and math.isfinite(number) else value
    return value
