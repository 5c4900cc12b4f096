"""Every command's config as a JSON schema (from its dataclass fields, as the CLI builds its options), and what a
page sends turned into the CLI's own options, validated by the runner exactly as `nnlab <command>` validates.

A page sends {"command": "init", "config": {"scale": [0.05], "width": 1024}, "quick": true}. Each value becomes
what click would have handed the runner for the same command line (text, a tuple of texts for a list, a bool
for an on/off field), so `core.runner.build_config` sees the same input and says the same one-line message;
the same options become the worker's argv (`--scale=0.05 --width=1024`), so the run is the command line's run.
"""

from __future__ import annotations

import dataclasses
import shlex
import typing
from typing import Any

from nnlab.core.errors import UserError


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def type_of(tp: Any) -> dict[str, Any]:
    """{"type": int|float|str|bool, "list": bool, "optional": bool} of a resolved field type."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is list:
        return {"type": args[0].__name__, "list": True, "optional": False}
    if args and type(None) in args:  # int | None
        (inner,) = [a for a in args if a is not type(None)]
        return {"type": inner.__name__, "list": False, "optional": True}
    return {"type": tp.__name__, "list": False, "optional": False}


def default_of(f: dataclasses.Field) -> Any:
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default


def command_schema(name: str) -> dict[str, Any]:
    """One command: its help, the lecture's words for its section (in the current language as well), its --quick
    values and every field."""
    from nnlab.core.command import load
    from nnlab.core.config import ExperimentConfig, field_types
    from nnlab.core.formulas import mathml
    from nnlab.core.i18n import tr
    from nnlab.registry import COMMANDS

    spec = load(name)
    shared = {f.name for f in dataclasses.fields(ExperimentConfig)}
    types_by_key = field_types(spec.config)
    fields = []
    for f in sorted(dataclasses.fields(spec.config), key=lambda f: f.name in shared):  # shared ones last, as --help
        meta = f.metadata
        fields.append({"name": f.name, "flag": flag(f.name), **type_of(types_by_key[f.name]),
                       "default": default_of(f), "help": meta.get("help", ""), "choices": meta.get("choices"),
                       "low": meta.get("low"), "high": meta.get("high"), "low_open": bool(meta.get("low_open")),
                       "shared": f.name in shared})
    s = spec.section
    # `heading` and `text` in the current language (nnlab.core.i18n): in Chinese the lecture's own heading and
    # words; `subheading` the other language's heading. The help texts are --help's, which stays English.
    return {"name": name, "short_help": COMMANDS[name].short_help, "help": spec.help, "quick": dict(spec.quick),
            "section": {"title": s.title, "title_zh": s.title_zh, "says": s.says, "how": s.how, "zh": s.zh,
                        "heading": tr(s.title, s.title_zh), "subheading": tr(s.title_zh, s.title),
                        "text": tr(s.says, s.zh),
                        "formulas": [mathml(f) for f in s.formulas]},  # MathML: the browser renders it
            "fields": fields}


def all_schemas() -> list[dict[str, Any]]:
    """Every command, in the lecture's order (nnlab.registry), in the current language."""
    from nnlab.registry import COMMANDS

    return [command_schema(name) for name in COMMANDS]


def as_text(value: Any, label: str) -> str:
    """A JSON scalar as the text a command line would hold (a float by repr, which reads back exactly)."""
    from nnlab.core.values import excerpt

    if isinstance(value, bool):
        return "true" if value else "false"  # refused by a number field, as `--width true` is
    if isinstance(value, (int, float, str)):
        return repr(value) if isinstance(value, float) else str(value)
    raise UserError(f"{label}: expected a single value, got {excerpt(value)}")


class Options(typing.NamedTuple):
    """A page's request as the CLI has it: the options click would pass, `--set` pairs, and its argv."""

    options: dict[str, Any]  # key -> text, tuple of texts (a list) or bool (an on/off field)
    set_pairs: tuple[str, ...]  # `key=[]`: an empty list, which no repeated option can say
    args: list[str]  # the worker's argv after `nnlab <command>`, without --out


def to_options(name: str, config: Any, quick: bool) -> Options:
    """What a page sent (a JSON object of config keys) as CLI options; UserError (one line) for a value no
    command line could hold. Values are not checked here: build_config does that, as for the CLI."""
    from nnlab.core.command import load
    from nnlab.core.config import coerce, field_types
    from nnlab.core.values import excerpt

    spec = load(name)
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise UserError(f"config: expected an object of config keys, got {excerpt(config)}")
    types_by_key = field_types(spec.config)
    options: dict[str, Any] = {}
    set_pairs: list[str] = []
    args: list[str] = ["--quick"] if quick else []
    for raw_key, value in config.items():
        key = str(raw_key).replace("-", "_")
        label = flag(key)
        if key not in types_by_key:
            options[key] = as_text(value, label) if not isinstance(value, list) else tuple(value)
            continue  # build_config names the unknown key, with a suggestion, as the CLI would
        if value is None:
            continue  # not given: the default (or the recipe's, the quick preset's) stands
        kind = type_of(types_by_key[key])
        if kind["type"] == "bool" and not kind["list"]:
            on = coerce(value, bool, label)  # "true", "on", 1 ... as everywhere; else the one-line refusal
            options[key] = on
            args.append(label if on else f"--no-{label[2:]}")
        elif kind["list"]:
            items = value if isinstance(value, list) else [value]
            if not items:
                set_pairs.append(f"{key}=[]")
                args.append(f"--set={key}=[]")
                continue
            texts = tuple(as_text(v, label) for v in items)
            options[key] = texts
            args += [f"{label}={t}" for t in texts]
        else:
            text = as_text(value, label)
            options[key] = text
            args.append(f"{label}={text}")
    return Options(options, tuple(set_pairs), args)


def validate(name: str, config: Any, quick: bool) -> tuple[Options, Any]:
    """(the options, the resolved config), or UserError with the CLI's message: the runner's own build_config
    and memory check on the same options, so a value is refused here exactly when the command line refuses it."""
    from nnlab.core.command import load
    from nnlab.core.runner import Request, build_config, check_memory

    if not isinstance(quick, bool):
        raise UserError("quick: expected true or false")
    spec = load(name)
    opts = to_options(name, config, quick)
    resolved = build_config(spec, Request(name, opts.options, quick=quick, set_pairs=opts.set_pairs))
    check_memory(spec, resolved)
    return opts, resolved


def command_line(name: str, args: list[str]) -> str:
    """The shell line a person would type: `nnlab init --quick --scale 0.05 --width 1024`."""
    shown = []
    for arg in args:
        option, sep, value = arg.partition("=")
        if sep:
            shown += [option, shlex.quote(value)]
        else:
            shown.append(shlex.quote(arg))
    return " ".join(["nnlab", name, *shown])
