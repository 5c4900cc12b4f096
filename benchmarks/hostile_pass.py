"""An adversarial pass: thousands of hostile invocations, each judged by the house rule for bad input.

    python benchmarks/hostile_pass.py [--only values,recipes,api] [--limit N] [--json FILE] [--show 20]

Cases are generated, not listed: every config field of every command (read from its spec) gets values that
no reading of its type and bounds can accept (a word where a number goes, NaN, infinities, a number past
its bound, a list where one value goes, an empty value, a NUL byte, a choice it does not have), each given
three ways (`--<key> V`, `--set key=V`, a recipe line); then hostile recipe files (aliases, deep nesting,
a FIFO, binary, a list, unknown keys, another command's) for every command, API calls with wrong types,
and a real run damaged in 35 ways (wrong types, deep nesting, NaN, links to a secret file or /dev/zero,
FIFOs, garbage figures) handed to report, compare, export, redraw, runs and nnlab.load.
A case holds when the command refuses it as README promises: exit code 2 (UserError for the API), one line
on stderr, no traceback, nothing written, within --timeout seconds, and no output holding the secret
(`runs`, whose job is many runs, must instead list the good run beside the damaged one and exit 0).
Everything runs in this process through click's test runner (a refusal costs milliseconds; an accepted
hostile value would start a `--quick --no-plots` run, and that is a broken case). Prints held / broke per
section and the broken cases.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import signal
import sys
import tempfile
import types
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from click.testing import CliRunner  # noqa: E402

from nnlab.cli import cli  # noqa: E402
from nnlab.registry import COMMANDS  # noqa: E402


@dataclasses.dataclass
class Case:
    section: str
    name: str  # what a reader needs to reproduce it
    attempt: Callable[[Path], str | None]  # (scratch dir) -> None if it held, else why it broke


class Timeout(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    def expire(signum, frame):
        raise Timeout(f"no answer within {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def written(out: Path) -> list[str]:
    """Every file or directory under `out` (a refused command writes none)."""
    return sorted(str(p.relative_to(out)) for p in out.rglob("*")) if out.exists() else []


def cli_refuses(argv: list[str]) -> Callable[[Path], str | None]:
    """A case: `nnlab <argv> --out <scratch>/out` must exit 2 with one stderr line and write nothing."""

    def attempt(scratch: Path) -> str | None:
        out = scratch / "out"
        full = [*argv, "--out", str(out)] if argv[0] in COMMANDS else list(argv)
        result = CliRunner().invoke(cli, full, catch_exceptions=True)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        problems = []
        if result.exit_code != 2:
            problems.append(f"exit {result.exit_code}")
        if isinstance(result.exception, Timeout):
            problems.append(str(result.exception))
        if "Traceback" in result.stderr:
            problems.append("a traceback")
        if len(lines) != 1:
            problems.append(f"{len(lines)} stderr lines")
        if written(out):
            problems.append(f"wrote {written(out)[:2]}")
        if not problems:
            return None
        said = (lines[-1] if lines else repr(result.exception))[:100]
        return "; ".join(problems) + f" (said: {said})"

    return attempt


# -- values: every field, every way of giving it ----------------------------------------------------------

def is_optional(tp: Any) -> bool:
    """`int | None` and the like: null (`key: ` in a recipe) is a value of the field."""
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


def hostile_values(field: dataclasses.Field, tp: Any) -> list[str]:
    """Text values that no reading of the field's type and bounds accepts."""
    if is_optional(tp):
        tp = next(a for a in typing.get_args(tp) if a is not type(None))
    if typing.get_origin(tp) is list:
        tp = typing.get_args(tp)[0]
    meta = field.metadata
    # An empty value is not "the default" (unless "" is the field's own default; an optional field takes null).
    values = [] if field.default == "" else [""]
    values.append("\x00")
    if tp is not str or meta.get("choices"):  # free text may be "{a: 1}" (a folder's name, say)
        values.append("{a: 1}")
    if tp is bool:
        return values + ["maybe", "2", "[true]"]
    if tp in (int, float):
        values += ["abc", "nan", "inf", "-inf", "1e400", "[[1]]", "1" * 400]
        if tp is int:
            values += ["1.5", "2e0.5"]
        low, high = meta.get("low"), meta.get("high")
        if low is not None and math.isfinite(low):
            values.append(repr(low if meta.get("low_open") else low - (1 if tp is int else max(abs(low), 1))))
        if high is not None and math.isfinite(high):
            values.append(repr(high + (1 if tp is int else max(abs(high), 1))))
        return values
    if meta.get("choices"):
        return values + ["no-such-choice", "[a, b]"]
    return values


def value_cases(commands: list[str]) -> Iterator[Case]:
    from nnlab.core.command import load
    from nnlab.core.config import field_types

    for name in commands:
        spec = load(name)
        typed = field_types(spec.config)
        for f in dataclasses.fields(spec.config):
            for value in hostile_values(f, typed[f.name]):
                flag = "--" + f.name.replace("_", "-")
                base = [name, "--quick", "--no-plots"]
                if typed[f.name] is not bool:  # a bool is a --x/--no-x flag: it takes no value
                    yield Case("values", f"{name} {flag} {value!r}", cli_refuses([*base, flag, value]))
                yield Case("values", f"{name} --set {f.name}={value!r}", cli_refuses([*base, "--set",
                                                                                       f"{f.name}={value}"]))
                if value or not is_optional(typed[f.name]):  # `key: ` in YAML is null: an optional field's value
                    yield Case("values", f"{name} recipe {f.name}: {value!r}", recipe_refused(name,
                                                                                         f"{f.name}: {value}\n"))


# -- recipes ---------------------------------------------------------------------------------------------

def recipe_refused(command: str, text: str | bytes, make: Callable[[Path], None] | None = None
                   ) -> Callable[[Path], str | None]:
    def attempt(scratch: Path) -> str | None:
        path = scratch / "recipe.yaml"
        if make:
            make(path)
        else:
            path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
        return cli_refuses([command, "--quick", "--no-plots", "--recipe", str(path)])(scratch)

    return attempt


HOSTILE_RECIPES: dict[str, str | bytes] = {
    "aliases (a billion laughs)": "a: &a [1, 1, 1, 1, 1, 1, 1, 1]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n"
                                  "seed: [*b, *b, *b, *b, *b, *b, *b, *b]\n",
    "nested 500 deep": "seed: " + "[" * 500 + "]" * 500 + "\n",
    "a list, not a mapping": "- seed: 1\n",
    "a bare number": "3\n",
    "an unknown key": "no_such_key: 1\n",
    "another command's": "command: no-such-command\n",
    "binary": bytes(range(256)) * 4,
    "invalid UTF-8": b"seed: \xff\xfe\n",
    "a duplicated key": "seed: 1\nseed: 2\n",
    "a tab-indented mapping": "seed:\n\t1\n",
    "a python tag": "seed: !!python/object/apply:os.system [true]\n",
    "a complex key": "? [a, b]\n: 1\n",
    "seed in sexagesimal": "seed: 1:30\n",
    "seed as a date": "seed: 2026-12-03\n",
    "a 2 MB value": "seed: " + "9" * 2_000_000 + "\n",
}


def recipe_cases(commands: list[str]) -> Iterator[Case]:
    for name in commands:
        for what, text in HOSTILE_RECIPES.items():
            yield Case("recipes", f"{name} --recipe <{what}>", recipe_refused(name, text))
        yield Case("recipes", f"{name} --recipe <a FIFO>", recipe_refused(name, "", make=os.mkfifo))
        yield Case("recipes", f"{name} --recipe <a directory>", recipe_refused(name, "", make=os.mkdir))
        yield Case("recipes", f"{name} --recipe <missing>", recipe_refused(name, "", make=lambda p: None))
        yield Case("recipes", f"{name} --resume <not a run>", cli_refuses([name, "--resume", "/"]))


# -- the Python API --------------------------------------------------------------------------------------

def api_refuses(call: Callable[[Path], Any]) -> Callable[[Path], str | None]:
    def attempt(scratch: Path) -> str | None:
        import nnlab

        try:
            call(scratch)
        except nnlab.UserError as exc:
            lines = str(exc).strip().splitlines()
            bad = written(scratch / "out")
            if len(lines) == 1 and not bad:
                return None
            return f"UserError with {len(lines)} lines" + (f", wrote {bad[:2]}" if bad else "")
        except Timeout as exc:
            return str(exc)
        except BaseException as exc:  # noqa: BLE001 - the point is to see what escapes
            return f"{type(exc).__name__}: {str(exc)[:80]}"
        return "accepted"

    return attempt


def api_cases() -> Iterator[Case]:
    import nnlab

    def run(*args: Any, **kw: Any) -> Callable[[Path], Any]:
        return lambda scratch: nnlab.run(*args, out=kw.pop("out", scratch / "out"), plots=False, **kw)

    wrong = [5, None, 3.5, b"init", ["init"], {"init": 1}, "", "no-such-command"]
    for value in wrong:
        yield Case("api", f"nnlab.run({value!r})", api_refuses(run(value, quick=True)))
    for key, value in [("tag", 3), ("tag", ["a"]), ("recipe", 3), ("recipe", ["x"]), ("set", [3]), ("set", "seed=1"),
                       ("set", {"seed": 1}), ("quick", "yes"), ("out", 3), ("resume", 3), ("resume", "/"),
                       ("plots", "no"), ("seed", "abc"), ("seed", float("nan")), ("seed", [1, 2]), ("seed", {}),
                       ("seed", object()), ("scale", [object()]), ("no_such_key", 1), ("seed", -1)]:
        kw = {key: value}
        if key not in ("quick", "plots"):
            kw["quick"] = True
        yield Case("api", f"nnlab.run('init', {key}={value!r})", api_refuses(
            lambda scratch, kw=kw: nnlab.run("init", out=kw.pop("out", scratch / "out"), **kw)))
    for value in [None, 3, "", "/", "/etc/passwd", "/dev/null", b"x", ["a"]]:
        yield Case("api", f"nnlab.load({value!r})", api_refuses(lambda scratch, v=value: nnlab.load(v)))


# -- damaged run directories, given to every tool that reads runs ----------------------------------------

SECRET = b"nnlab-hostile-pass-secret-6b1f"  # in a file outside every run: no output may ever hold it


def _json_edit(name: str, edit: Callable[[Any], Any]) -> Callable[[Path], None]:
    def damage(run: Path) -> None:
        path = run / name
        path.write_text(json.dumps(edit(json.loads(path.read_text())), allow_nan=True))

    return damage


def _write(name: str, data: bytes) -> Callable[[Path], None]:
    return lambda run: (run / name).write_bytes(data)


def _link(name: str, target: str) -> Callable[[Path], None]:
    def damage(run: Path) -> None:
        (run / name).unlink(missing_ok=True)
        (run / name).symlink_to(target if target != "SECRET" else run.parent.parent / "secret.txt")

    return damage


def _fifo(name: str) -> Callable[[Path], None]:
    def damage(run: Path) -> None:
        (run / name).unlink(missing_ok=True)
        os.mkfifo(run / name)

    return damage


def _first_claim(**change: Any) -> Callable[[Any], Any]:
    def edit(summary: Any) -> Any:
        summary["claims"][0].update(change)
        for key in [k for k, v in change.items() if v is DROP]:
            del summary["claims"][0][key]
        return summary

    return edit


DROP = object()
DEEP = "[" * 100_000 + "]" * 100_000
DAMAGE: dict[str, Callable[[Path], None]] = {
    "meta.json command is a number": _json_edit("meta.json", lambda m: {**m, "command": 3}),
    "meta.json started is a number": _json_edit("meta.json", lambda m: {**m, "started": 12}),
    "meta.json started is not a time": _json_edit("meta.json", lambda m: {**m, "started": "yesterday"}),
    "meta.json status is a list": _json_edit("meta.json", lambda m: {**m, "status": ["completed"]}),
    "meta.json is a list": _json_edit("meta.json", lambda m: [m]),
    "meta.json nested 100,000 deep": _write("meta.json", DEEP.encode()),
    "meta.json empty": _write("meta.json", b""),
    "meta.json not JSON": _write("meta.json", b"{not json"),
    "meta.json binary": _write("meta.json", bytes(range(256))),
    "meta.json a link to a secret": _link("meta.json", "SECRET"),
    "meta.json a link to /dev/zero": _link("meta.json", "/dev/zero"),
    "meta.json a FIFO": _fifo("meta.json"),
    "summary.json claim id a number": _json_edit("summary.json", _first_claim(id=7)),
    "summary.json claim without holds": _json_edit("summary.json", _first_claim(holds=DROP)),
    "summary.json holds a string": _json_edit("summary.json", _first_claim(holds="yes")),
    "summary.json claims an object": _json_edit("summary.json", lambda m: {**m, "claims": {"a": 1}}),
    "summary.json status a list": _json_edit("summary.json", lambda m: {**m, "status": [1]}),
    "summary.json is a list": _json_edit("summary.json", lambda m: [m]),
    "summary.json a bare NaN": _json_edit("summary.json", lambda m: {**m, "extra": float("nan")}),
    "summary.json nested deep": _write("summary.json", DEEP.encode()),
    "summary.json a link to a secret": _link("summary.json", "SECRET"),
    "summary.json a link to /dev/zero": _link("summary.json", "/dev/zero"),
    "summary.json a FIFO": _fifo("summary.json"),
    "metrics.jsonl step NaN": _write("metrics.jsonl", b'{"step": NaN, "loss": 1}\n'),
    "metrics.jsonl step 1e30": _write("metrics.jsonl", b'{"step": 1e30, "loss": 1}\n'),
    "metrics.jsonl step a string": _write("metrics.jsonl", b'{"step": "one", "loss": 1}\n'),
    "metrics.jsonl a list line": _write("metrics.jsonl", b"[1, 2]\n{\"step\": 1}\n"),
    "metrics.jsonl nested deep": _write("metrics.jsonl", DEEP.encode() + b"\n"),
    "metrics.jsonl a link to a secret": _link("metrics.jsonl", "SECRET"),
    "metrics.jsonl a FIFO": _fifo("metrics.jsonl"),
    "plots/a.png garbage": _write("plots/histograms.png", b"not a png at all"),
    "plots/a.png a link to a secret": _link("plots/histograms.png", "SECRET"),
    "plots/a.png a link to /dev/zero": _link("plots/histograms.png", "/dev/zero"),
    "plots/a.png a FIFO": _fifo("plots/histograms.png"),
    "config.yaml garbage": _write("config.yaml", b"\x00\x01: ["),
}
PLOT_DAMAGE = {k for k in DAMAGE if k.startswith("plots/")}


def leaked(root: Path) -> list[str]:
    """Files under `root` (not links) that hold the secret."""
    secret = root / "secret.txt"
    return [str(p) for p in root.rglob("*")
            if p != secret and p.is_file() and not p.is_symlink() and SECRET in p.read_bytes()]


def damaged_run(scratch: Path, good: Path, kind: str) -> Path:
    import shutil

    (scratch / "secret.txt").write_bytes(SECRET)
    run = scratch / "runs" / "init" / good.name
    shutil.copytree(good, run, symlinks=True)
    DAMAGE[kind](run)
    return run


def tool_cases(good: Path) -> Iterator[Case]:
    def tool(kind: str, name: str) -> Callable[[Path], str | None]:
        def attempt(scratch: Path) -> str | None:
            run = damaged_run(scratch, good, kind)
            out = scratch / "out"
            argv = {"report": ["report", str(run), "--out", str(out)],
                    "compare": ["compare", str(good), str(run), "--out", str(out)],
                    "export": ["export", str(run), "--to", "tensorboard", "--logdir", str(out)],
                    "redraw": ["redraw", str(run)]}[name]
            why = cli_refuses(argv)(scratch)
            return why or (f"leaked the secret into {leaked(scratch)[:1]}" if leaked(scratch) else None)

        return attempt

    def runs_goes_on(kind: str) -> Callable[[Path], str | None]:
        def attempt(scratch: Path) -> str | None:
            run = damaged_run(scratch, good, kind)
            import shutil

            shutil.copytree(good, run.parent / "20000101-000000", symlinks=True)  # one good run beside it
            result = CliRunner().invoke(cli, ["runs", "--out", str(scratch / "runs")], catch_exceptions=True)
            if result.exit_code != 0 or "Traceback" in result.stderr:
                return f"exit {result.exit_code} (said: {(result.stderr.strip().splitlines() or [''])[-1][:100]})"
            return None if "20000101-000000" in result.stdout else "the good run is not listed"

        return attempt

    def load_refuses(kind: str) -> Callable[[Path], str | None]:
        return api_refuses(lambda scratch: __import__("nnlab").load(damaged_run(scratch, good, kind)))

    for kind in DAMAGE:
        tools = ["report", "compare", "export"] + ([] if kind in PLOT_DAMAGE else ["redraw"])
        for name in tools:
            yield Case("runs", f"{name} <{kind}>", tool(kind, name))
        yield Case("runs", f"runs <{kind}> beside a good run", runs_goes_on(kind))
        yield Case("runs", f"nnlab.load(<{kind}>)", load_refuses(kind))


def run_cases(commands: list[str]) -> Iterator[Case]:
    """Damage a real `init --quick` run (made once, with its figures) every way DAMAGE knows."""
    import nnlab

    made = Path(tempfile.mkdtemp(prefix="nnlab-hostile-good-"))
    good = nnlab.run("init", quick=True, out=made).path
    yield from tool_cases(good)


SECTIONS = {"values": value_cases, "recipes": recipe_cases, "api": lambda commands: api_cases(),
            "runs": run_cases}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(SECTIONS), help="sections, comma-separated")
    parser.add_argument("--commands", default=",".join(COMMANDS), help="commands, comma-separated")
    parser.add_argument("--limit", type=int, default=0, help="at most this many cases per section (0: all)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds a case may take")
    parser.add_argument("--show", type=int, default=20, help="broken cases to print per section")
    parser.add_argument("--json", help="write every case's outcome here")
    args = parser.parse_args()
    commands = args.commands.split(",")
    outcomes: dict[str, list[tuple[str, str | None]]] = {}
    for section in args.only.split(","):
        cases = list(SECTIONS[section](commands))
        if args.limit:
            cases = cases[:: max(1, len(cases) // args.limit)][: args.limit]
        for i, case in enumerate(cases):
            with tempfile.TemporaryDirectory() as scratch:
                try:
                    with time_limit(args.timeout):
                        why = case.attempt(Path(scratch))
                except Timeout as exc:
                    why = str(exc)
            outcomes.setdefault(section, []).append((case.name, why))
            print(f"\r{section}: {i + 1}/{len(cases)}", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
    total = held = 0
    for section, results in outcomes.items():
        broke = [(n, w) for n, w in results if w]
        total, held = total + len(results), held + len(results) - len(broke)
        print(f"{section}: {len(results) - len(broke)} of {len(results)} held")
        for name, why in broke[: args.show]:
            print(f"  BROKE {name}: {why}")
    print(f"all: {held} of {total} held ({100 * held / max(total, 1):.1f}%)")
    if args.json:
        Path(args.json).write_text(json.dumps({s: [{"case": n, "broke": w} for n, w in r]
                                               for s, r in outcomes.items()}, indent=1))


if __name__ == "__main__":
    main()
