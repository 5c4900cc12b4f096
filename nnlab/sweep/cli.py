"""`nnlab sweep COMMAND --grid key=v1,v2 [--grid ...] [--seeds 0,1,2]`: every grid point x seed as its own run,
then mean, spread and range over seeds per point, and how often each claim held.

\b
    nnlab sweep optimize --problem quadratic --grid lr=0.01,0.1 --seeds 0,1,2 --quick
    nnlab sweep init --grid width=256,1024 --grid activation=tanh,relu --workers 2
    nnlab sweep optimize --grid lr=0.01,0.1 --executor ray --address auto     # on a Ray cluster
    nnlab sweep --resume outputs/sweep/20260101-120000                       # rerun what did not finish

Every value is converted and checked by the command's own config before anything runs. Options that are
not sweep options (--problem, --quick, --recipe, --set) go to every run. Runs land in
outputs/sweep/<time>/<command>/, beside sweep.csv (one row per run), summary.json (per point: mean, std,
min, max over seeds of each headline number; the fraction of seeds for which each claim held) and plots/.
A run that fails is recorded with its error line and the others go on; Ctrl-C cancels the runs that have
not started and closes the started ones as interrupted.

Executors: `local` (a process pool of --workers, torch threads split between them; each worker imports
torch and the command once, then runs task after task; --workers 1 runs one after another in this process)
or `ray` (pip install 'nnlab[ray]'): a local Ray with --workers CPUs that starts and stops with the sweep,
or a cluster with --address auto | HOST:PORT | ray://HOST:PORT, whose nodes have nnlab installed. sweep.csv
names the host and Ray node of each run. A node that cannot see --out (not a shared mount), or that was
started with NNLAB_SWEEP_SHIP_RUNS=1, sends its runs back as archives; every run directory is checked
against the sha256 of its files taken where it ran. A run lost with its node is recorded failed; --resume
runs it again.
"""

from __future__ import annotations

import itertools
import sys
import typing
from pathlib import Path
from typing import Any

import click

from nnlab.core.errors import UserError

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 110, "ignore_unknown_options": True}


@click.command("sweep", context_settings=CONTEXT, help=__doc__)
@click.argument("command", required=False)
@click.option("--grid", "grids", multiple=True, metavar="KEY=V1,V2,...",
              help="A config key and its values (repeatable; the grid is every combination). "
                   "Values with commas: KEY='[\"1,2\", \"3,4\"]' (a YAML list).")
@click.option("--seeds", default="0,1,2", show_default=True, metavar="S1,S2,...", help="Seeds of every point.")
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="Process pool on this machine, or Ray tasks.")
@click.option("--workers", type=click.IntRange(1, 4096), metavar="N",
              help="Runs at once (local pool size; CPUs of a local Ray).  [default: number of cores]")
@click.option("--address", metavar="ADDR", help="--executor ray: join this cluster (auto, HOST:PORT, ray://HOST:PORT) "
                                                "instead of starting a local Ray.")
@click.option("--recipe", metavar="FILE", help="The command's YAML recipe, for every run.")
@click.option("--quick", is_flag=True, help="The command's --quick, for every run.")
@click.option("--set", "set_pairs", multiple=True, metavar="KEY=VALUE", help="A config key for every run (repeatable).")
@click.option("--out", default="outputs", show_default=True, metavar="DIR", help="The sweep goes to DIR/sweep/<time>/.")
@click.option("--tag", metavar="TAG", help="Suffix of the sweep directory's name.")
@click.option("--resume", metavar="SWEEP_DIR", help="Run what did not finish in SWEEP_DIR (same grid, seeds, recipe).")
@click.option("--debug", is_flag=True, help="Show the full traceback on errors.")
@click.argument("options", nargs=-1, type=click.UNPROCESSED, metavar="[COMMAND OPTIONS]...")
@click.pass_context
def sweep(ctx: click.Context, command: str | None, grids: tuple[str, ...], seeds: str, executor: str,
          workers: int | None, address: str | None, recipe: str | None, quick: bool, set_pairs: tuple[str, ...],
          out: str, tag: str | None, resume: str | None, debug: bool, options: tuple[str, ...]) -> None:
    from nnlab.core.command import load
    from nnlab.core.device import available_cores
    from nnlab.core.run import check_tag

    check_tag(tag)
    given = {"--grid": grids, "--recipe": recipe, "--quick": quick, "--set": set_pairs, "COMMAND OPTIONS": options,
             "--seeds": seeds if ctx.get_parameter_source("seeds").name != "DEFAULT" else None}
    if resume is not None:
        clash = [name for name, value in given.items() if value]
        if clash:
            raise UserError(f"--resume keeps the sweep's own grid, seeds, recipe and settings; leave out {clash[0]}")
        from nnlab.sweep.driver import load_plan

        plan = load_plan(Path(resume), command)  # checked field by field: a damaged sweep.json is one line
        command = plan["command"]
    elif command is None:
        raise UserError("give a COMMAND to sweep, e.g. nnlab sweep optimize --grid lr=0.01,0.1")
    spec = load(command)
    if resume is None:
        plan = make_plan(spec, grids, seeds, recipe, quick, set_pairs, command_options(spec.config, options))
    configs = validate(spec, plan)  # every run's config, before anything runs
    if address is not None and executor != "ray":
        raise UserError("--address needs --executor ray")
    workers = workers or available_cores()
    runner = make_executor(executor, workers, address, gpus=1 if any(c.device == "cuda" for c in configs) else 0,
                           command=spec.name)
    argv = (ctx.obj or {}).get("argv", ["nnlab", *sys.argv[1:]])
    from nnlab.sweep.driver import run_sweep

    code = run_sweep(plan, runner, out=out, tag=tag, resume=resume, argv=argv)
    if code:
        sys.exit(code)


def command_options(config_cls: type, options: tuple[str, ...]) -> dict[str, Any]:
    """The command's own options given to the sweep (`--problem quadratic`, `--no-gif`) as {key: text}."""
    import dataclasses

    from nnlab.core.config import field_types

    types = field_types(config_cls)
    given: dict[str, Any] = {}
    items = list(options)
    while items:
        item = items.pop(0)
        if not item.startswith("--"):
            raise UserError(f"unexpected argument {item!r} (sweep options come as --grid KEY=V1,V2 or --KEY VALUE)")
        name, sep, value = item[2:].partition("=")
        key = name.replace("-", "_")
        if key.startswith("no_") and key[3:] in types and types[key[3:]] is bool and not sep:
            given[key[3:]] = "false"
            continue
        if key not in types:
            import difflib

            close = difflib.get_close_matches(key, [f.name for f in dataclasses.fields(config_cls)], n=1)
            hint = f" (did you mean --{close[0].replace('_', '-')}?)" if close else ""
            raise UserError(f"no such option: --{name}{hint}")
        if types[key] is bool and not sep:
            given[key] = "true"
            continue
        if not sep:
            if not items:
                raise UserError(f"--{name} needs a value")
            value = items.pop(0)
        if types[key] is not bool and key in given and typing.get_origin(types[key]) is list:
            given[key] = [*given[key], value]  # a repeatable option
        else:
            given[key] = [value] if typing.get_origin(types[key]) is list else value
    return given


def parse_values(key: str, raw: str) -> list[Any]:
    """`v1,v2,...` or a YAML list `[v1, v2]` (for values that contain commas), read by the recipes' strict loader
    (nnlab.core.recipes: the CLI's number grammar; aliases and deep nesting refused before anything expands)."""
    from nnlab.core.recipes import load_yaml

    raw = raw.strip()
    if raw.startswith("["):
        values = load_yaml(raw, f"--grid {key}")
        if not isinstance(values, list):
            raise UserError(f"--grid {key}: {raw!r} is not a list")
    else:
        values = [v.strip() for v in raw.split(",")]
    if not values or any(v is None or v == "" for v in values):
        raise UserError(f"--grid {key}: give values, e.g. --grid {key}=V1,V2")
    return values


def parse_grid(command: str, config_cls: type, grids: tuple[str, ...], fixed: set[str]) -> dict[str, list[Any]]:
    """{key: [values as given]}; each value converted and checked by the config field now."""
    import dataclasses
    import difflib

    from nnlab.core.config import check_field, coerce, field_types, same_value

    types = field_types(config_cls)
    fields = {f.name: f for f in dataclasses.fields(config_cls)}
    grid: dict[str, list[Any]] = {}
    for text in grids:
        name, sep, raw = text.partition("=")
        key = name.strip().replace("-", "_")
        if not sep or not key:
            raise UserError(f"--grid expects KEY=V1,V2,..., got {text!r}")
        if key not in types:
            close = difflib.get_close_matches(key, list(types), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise UserError(f"--grid: nnlab {command} has no config key {name.strip()!r}{hint}")
        if key == "seed":
            raise UserError("--grid seed: give seeds with --seeds S1,S2,...")
        if key in grid:
            raise UserError(f"--grid {key}: given twice; put every value in one --grid {key}=V1,V2")
        if key in fixed:
            raise UserError(f"--grid {key}: also fixed by --set or an option; give it in one place")
        values = parse_values(key, raw)
        converted = []
        for value in values:
            c = coerce(value, types[key], f"--grid {key}")
            check_field(fields[key], c, f"--grid {key}")
            converted.append(c)
        if len({repr(same_value(c)) for c in converted}) != len(converted):  # 0.05 and 5e-2 are one value
            raise UserError(f"--grid {key}: each value once, got {values}")
        grid[key] = values
    if not grid:
        raise UserError("give at least one --grid KEY=V1,V2,...")
    return grid


def parse_seeds(text: str, config_cls: type) -> list[int]:
    import dataclasses

    from nnlab.core.config import check_field, coerce

    field = next(f for f in dataclasses.fields(config_cls) if f.name == "seed")
    seeds = []
    for part in text.split(","):
        if not part.strip():
            raise UserError(f"--seeds: expected S1,S2,..., got {text!r}")
        seed = coerce(part, int, "--seeds")
        check_field(field, seed, "--seeds")
        seeds.append(seed)
    if len(set(seeds)) != len(seeds):
        raise UserError(f"--seeds: each seed once, got {text!r}")
    return seeds


def make_plan(spec: Any, grids: tuple[str, ...], seeds: str, recipe: str | None, quick: bool,
              set_pairs: tuple[str, ...], options: dict[str, Any]) -> dict[str, Any]:
    from nnlab.core.config import parse_set
    from nnlab.core.runner import Request, build_config

    build_config(spec, Request(spec.name, options, recipe=recipe, quick=quick, set_pairs=set_pairs))  # plain errors
    fixed = {str(k).replace("-", "_") for k in parse_set(set_pairs)} | set(options)
    if "seed" in fixed:
        raise UserError("--seed / --set seed: give seeds with --seeds S1,S2,...")
    grid = parse_grid(spec.name, spec.config, grids, fixed)
    points = [dict(zip(grid, combo, strict=True)) for combo in itertools.product(*grid.values())]
    return {"command": spec.name, "grid": grid, "points_given": points,
            "seeds": parse_seeds(seeds, spec.config), "recipe": str(Path(recipe).resolve()) if recipe else None,
            "quick": quick, "options": options, "set": list(set_pairs)}


def validate(spec: Any, plan: dict[str, Any]) -> list[Any]:
    """Build every run's config with the command's own rules (cross-field checks too); fill plan["points"]
    with the converted values. Raises UserError naming the grid point."""
    import dataclasses

    from nnlab.core.runner import Request, build_config

    configs, plan["points"] = [], []
    for point in plan["points_given"]:
        for seed in plan["seeds"]:
            request = Request(spec.name, {**plan["options"], **point, "seed": seed}, recipe=plan["recipe"],
                              quick=plan["quick"],
                              set_pairs=plan["set"])
            try:
                config = build_config(spec, request)
            except UserError as exc:
                where = ", ".join(f"{k}={v}" for k, v in point.items())
                raise UserError(f"grid point {where} (seed {seed}): {exc}") from None
            configs.append(config)
        values = dataclasses.asdict(config)
        plan["points"].append({k: values[k] for k in point})
    return configs


def make_executor(name: str, workers: int, address: str | None, gpus: float, command: str | None = None) -> Any:
    """The executor; a local pool's workers warm up for `command` (import its code once, before their first run)."""
    from nnlab.core.device import available_cores
    from nnlab.sweep import executors as sweep_exec

    if name == "ray":
        return sweep_exec.RayExecutor(workers, address, gpus)
    if workers == 1:
        return sweep_exec.SerialExecutor()
    return sweep_exec.PoolExecutor(workers, threads=max(1, available_cores() // workers), warm=command)
