"""Reading YAML given by a user: recipe files, `--set` values and `--grid` lists, one strict loader for all.

The loader is PyYAML's SafeLoader with four changes, each a surprise or a cost it refuses:
- scalars resolve by nnlab's own grammar (nnlab.core.values), not YAML 1.1's: `010` is 10 (not 8), `0x1f`,
  `1_000`, `1:10`, `.inf`, `yes`, `on` and dates stay the text typed, for the field's type to read or refuse
  exactly as it reads the same text from a CLI option; only `true`/`false` are booleans and `null`/`~`/empty
  is null. Explicit tags other than !!str, !!seq, !!map and !!null (`!!int 0x1f`, `!!binary`) are refused;
- a duplicate key is an error (YAML would keep the last one silently);
- aliases (`*a`) are refused: a 264-byte "billion laughs" expands to gigabytes;
- nesting deeper than MAX_RECIPE_DEPTH is refused before anything recursive sees it.
Recipe files are opened only when they are regular files (a FIFO, /dev/zero or a directory is refused
unread) and read to at most MAX_RECIPE_BYTES.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from nnlab.core.errors import UserError
from nnlab.core.values import BOOLEAN, DECIMAL, INTEGER, MAX_DIGITS, excerpt, read_integer, read_number

# The key a recipe may carry to say which command it is for; config.yaml always carries it.
COMMAND_KEY = "command"
# A recipe is a handful of keys: anything larger is a mistake and is refused unread.
MAX_RECIPE_BYTES = 256 * 1024
MAX_RECIPE_DEPTH = 20  # nesting of lists and mappings (a config value is at most a list of scalars)

_TAG = "tag:yaml.org,2002:"


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader with nnlab's scalar grammar, no duplicate keys, no aliases, bounded nesting."""


# Only these implicit types; every other plain scalar is a str (the resolver's default for scalars).
_StrictLoader.yaml_implicit_resolvers = {}
_StrictLoader.add_implicit_resolver(_TAG + "bool", BOOLEAN, list("tTfF"))
_StrictLoader.add_implicit_resolver(_TAG + "int", INTEGER, list("+-0123456789"))
_StrictLoader.add_implicit_resolver(_TAG + "float", DECIMAL, list("+-0123456789."))
_StrictLoader.add_implicit_resolver(_TAG + "null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""])


def _construct_number(loader: _StrictLoader, node: yaml.ScalarNode) -> Any:
    """A decimal int or float (`!!int 0x1f` too is refused); a 5000-digit "number" stays text, for the field to
    refuse in one line."""
    text = str(node.value).strip()
    if len(text) > MAX_DIGITS:
        return node.value
    number = read_integer(text) if node.tag == _TAG + "int" else read_number(text)
    if number is None:
        raise yaml.constructor.ConstructorError(None, None, f"{excerpt(text)} is not a decimal number",
                                                node.start_mark)
    return number


def _construct_bool(loader: _StrictLoader, node: yaml.ScalarNode) -> Any:
    if not BOOLEAN.match(str(node.value)):  # `!!bool maybe`: SafeLoader's own raises a bare KeyError
        raise yaml.constructor.ConstructorError(None, None, f"{excerpt(node.value)} is not true or false",
                                                node.start_mark)
    return str(node.value).lower() == "true"


def _refuse_tag(loader: _StrictLoader, node: yaml.Node) -> Any:
    raise yaml.constructor.ConstructorError(None, None, f"the tag {node.tag.replace(_TAG, '!!')} is not allowed",
                                            node.start_mark)


_StrictLoader.add_constructor(_TAG + "int", _construct_number)
_StrictLoader.add_constructor(_TAG + "float", _construct_number)
_StrictLoader.add_constructor(_TAG + "bool", _construct_bool)
for _name in ("binary", "timestamp", "set", "omap", "pairs"):
    _StrictLoader.add_constructor(_TAG + _name, _refuse_tag)


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
        raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed", event.start_mark)
    loader._nnlab_depth = getattr(loader, "_nnlab_depth", 0) + 1
    try:
        if loader._nnlab_depth > MAX_RECIPE_DEPTH:
            raise yaml.composer.ComposerError(None, None, f"nested deeper than {MAX_RECIPE_DEPTH} levels",
                                              loader.peek_event().start_mark)
        return yaml.composer.Composer.compose_node(loader, parent, index)
    finally:
        loader._nnlab_depth -= 1


_StrictLoader.compose_node = _compose_node  # type: ignore[method-assign]


def load_yaml(text: str, what: str) -> Any:
    """`text` read by the strict loader; a UserError starting with `what` ("recipe r.yaml", "--grid lr") if it is
    not valid YAML or breaks a rule above (with the line and column where YAML knows them)."""
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" (line {mark.line + 1}, column {mark.column + 1})"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UserError(f"{what} is not valid YAML: {excerpt(problem, 100)[1:-1]}{where}") from None
    except RecursionError:
        raise UserError(f"{what} is nested too deeply") from None


def read_recipe_text(path: Path) -> str:
    """The text of the recipe file `path`: a regular file (checked on the open descriptor; opened with O_NONBLOCK
    so a FIFO cannot block the open), at most MAX_RECIPE_BYTES, UTF-8; else UserError."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise UserError(f"recipe not found: {path}") from None
    except IsADirectoryError:
        raise UserError(f"recipe {path} is a directory") from None
    except OSError as exc:
        raise UserError(f"cannot read recipe {path}: {excerpt(exc.strerror or str(exc), 100)[1:-1]}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise UserError(f"recipe {path} is a directory")
        if not stat.S_ISREG(info.st_mode):  # a FIFO, a device (/dev/zero, /dev/null), a socket: refused unread
            raise UserError(f"recipe {path} is not a regular file; a recipe is a YAML file")
        if info.st_size > MAX_RECIPE_BYTES:
            raise UserError(f"recipe {path} is larger than {MAX_RECIPE_BYTES // 1024} KiB; a recipe is a few keys")
        with os.fdopen(fd, "rb") as f:
            fd = -1  # the file object owns it now
            raw = f.read(MAX_RECIPE_BYTES + 1)  # bounded even if the file grows while it is read
    except OSError as exc:
        raise UserError(f"cannot read recipe {path}: {excerpt(exc.strerror or str(exc), 100)[1:-1]}") from None
    finally:
        if fd >= 0:
            os.close(fd)
    if len(raw) > MAX_RECIPE_BYTES:
        raise UserError(f"recipe {path} is larger than {MAX_RECIPE_BYTES // 1024} KiB; a recipe is a few keys")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"cannot read recipe {path}: {excerpt(str(exc), 100)[1:-1]}") from None


def load_recipe(path: str | Path, command: str) -> dict[str, Any]:
    """Read a recipe: a YAML file (a path), or one shipped with nnlab by name (find_recipe); a mapping of config
    keys, optionally with `command: <name>`."""
    if not str(path) or str(path) == ".":
        raise UserError("--recipe: give a file name")
    path = find_recipe(str(path), command)
    return parse_recipe(read_recipe_text(path), str(path), command)


PACKAGED = Path(__file__).resolve().parent.parent / "recipes"  # nnlab/recipes/, installed with the package


def packaged(command: str | None = None) -> list[Path]:
    """The recipes shipped with nnlab (all, or `command`'s: `<command>.yaml` and `<command>-<variant>.yaml`)."""
    found = sorted(PACKAGED.glob("*.yaml"))
    return [p for p in found if command is None or p.stem == command or p.stem.startswith(command + "-")]


def find_recipe(given: str, command: str) -> Path:
    """The file `--recipe GIVEN` means: a path when GIVEN names a file or looks like one (a `/`, a .yaml
    suffix); else a packaged recipe of `command` by name, with or without the command's prefix
    (`--recipe curse` and `--recipe approx-curse` are approx-curse.yaml; `--recipe approx` is approx.yaml)."""
    path = Path(given)
    if os.path.lexists(path) or "/" in given or os.sep in given or path.suffix in (".yaml", ".yml"):
        return path
    names = {p.stem: p for p in packaged(command)}
    for name in (given, f"{command}-{given}"):
        if name in names:
            return names[name]
    listed = ", ".join(n.removeprefix(command + "-") for n in names) or "none"
    raise UserError(f"--recipe {excerpt(given)[1:-1]}: no such file, and nnlab {command} ships no recipe of that "
                    f"name (its recipes: {listed}; `nnlab recipes` lists them all)")


def parse_recipe(text: str, name: str, command: str) -> dict[str, Any]:
    """A recipe's text to its mapping of config keys (`name` labels errors)."""
    data = load_yaml(text, f"recipe {name}")
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError(f"recipe {name} must be a mapping of config keys, got {type(data).__name__}")
    named = data.pop(COMMAND_KEY, command)
    if named != command:
        raise UserError(f"recipe {name} is for 'nnlab {excerpt(named)[1:-1]}', not 'nnlab {command}'")
    return data


def parse_set(pairs: Iterable[str]) -> dict[str, Any]:
    """`--set key=value` pairs to a mapping; the value is read as YAML (so `[1, 2]` is a list). A value YAML
    cannot read stays its text, for the field to read or refuse; an empty one stays "" (refused where it would
    mean the default: nnlab.core.values)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        if not isinstance(pair, str):
            raise UserError(f"--set expects key=value texts, got {excerpt(pair)}")
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UserError(f"--set expects key=value, got {excerpt(pair)}")
        if key.replace("-", "_") in {k.replace("-", "_") for k in out}:
            raise UserError(f"--set: {key} given twice")
        try:
            out[key] = load_yaml(raw, "--set") if raw.strip() else ""
        except UserError:
            out[key] = raw
    return out
