"""Where a command's wall time goes: interpreter, imports, config, data, train, evaluation, plots, files.

    python benchmarks/phases.py                                  # train-mnist, init, optimize, lecture --quick
    python benchmarks/phases.py --only init --repeats 3
    python benchmarks/phases.py --tree /tmp/base --tree .        # before/after: two checkouts, interleaved
    python benchmarks/phases.py --json phases.json

Each command runs in a fresh interpreter (`python benchmarks/phases.py --child ...`, from the checkout
given by --tree, so that checkout's nnlab is the one imported) exactly as `nnlab <args>` would, and is
timed in-process, without touching nnlab's code:
- an import hook times the heavy imports wherever they happen (torch, torch._dynamo, numpy,
  matplotlib.pyplot, ...), so a lazy import inside training is counted as an import, not as training;
- the runner's steps are wrapped: config (build_config), data (the experiment's prepare), run (its
  run(), minus any evaluation function named in EVALUATION and minus imports), plots (draw), files (run
  directory creation and closing), report (the printed tables; lecture: report.html/md);
- interpreter start is the time from the parent's launch to the child's first line, interpreter exit
  the time from its last line to the parent seeing it end (through the checkout's own way out, `cli.leave`,
  where it has one); "cli and other" is the rest. Where the checkout has figure workers
  (`cli.start_figure_pool`), they start as the console script starts them, and "plots" is the wait for them.
Every phase is exclusive (a nested phase is subtracted from its parent), so the rows add up to the
command's wall time; for train-mnist the run's own training-loop time (summary.json's train_time_s) and
the wall time beyond it follow (medians of the per-run values). CPU time (user + system, all threads) is
printed beside wall time: on a shared, loaded machine wall time includes waiting for a core, CPU time
mostly does not.
"""

from __future__ import annotations

import json
import os
import sys
import time

T0_WALL, T0_CPU = time.time(), time.process_time()  # before anything else: the child's start

WATCH = ("torch", "torch._dynamo", "numpy", "matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg",
         "matplotlib.pyplot", "scipy", "rich", "yaml", "click", "PIL")
# Evaluation functions to time apart from training, per command ("module:function"); absent ones are skipped.
EVALUATION = {"train-mnist": ["nnlab.commands.train_mnist.training:evaluate",
                              "nnlab.experiments.train_mnist.training:evaluate"]}  # (before the one-home layout)
COMMANDS = {
    "train-mnist": ["train-mnist"],
    "init": ["init"],
    "optimize": ["optimize"],
    "lecture --quick": ["lecture", "--quick"],
}
ORDER = ["interpreter start", "imports", "cli and other", "config", "data", "train", "evaluation", "plots", "files",
         "report", "interpreter exit"]


# ----------------------------------------------------------------------------------------------------
# Child: one command, instrumented


class Phases:
    """Exclusive wall and CPU seconds per phase name; nested spans are subtracted from the enclosing one."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.stack: list[list[float]] = []  # per open span: [nested wall, nested cpu]

    def wrap(self, name: str, fn):
        def timed(*args, **kwargs):
            w0, c0 = time.perf_counter(), time.process_time()
            self.stack.append([0.0, 0.0])
            try:
                return fn(*args, **kwargs)
            finally:
                nested = self.stack.pop()
                w, c = time.perf_counter() - w0, time.process_time() - c0
                self.wall[name] = self.wall.get(name, 0.0) + w - nested[0]
                self.cpu[name] = self.cpu.get(name, 0.0) + c - nested[1]
                if self.stack:
                    self.stack[-1][0] += w
                    self.stack[-1][1] += c
        return timed


def install_import_hook(phases: Phases) -> None:
    """Time the execution of each watched module (its own import, nested watched imports excluded)."""
    import importlib.abc

    class Finder(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name not in WATCH:
                return None
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(name, path, target)
                if spec is not None:
                    break
            else:
                return None
            if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                spec.loader.exec_module = phases.wrap(f"import {name}", spec.loader.exec_module)
            return spec

    sys.meta_path.insert(0, Finder())


def instrument(phases: Phases, command: str) -> None:
    """Wrap the runner's steps (module attributes, looked up at call time)."""
    import dataclasses

    from nnlab.core import run, runner

    runner.build_config = phases.wrap("config", runner.build_config)
    runner.draw = phases.wrap("plots", runner.draw)
    runner.print_report = phases.wrap("report", runner.print_report)
    run.Run.create = phases.wrap("files", run.Run.create)
    run.Run.finish = phases.wrap("files", run.Run.finish)
    if command == "lecture":
        import nnlab.report

        nnlab.report.write = phases.wrap("report", nnlab.report.write)
    try:
        from nnlab.core import command as contract
    except ImportError:  # a checkout from before the typed spec (44f2871 and older)
        _instrument_modules(phases)
        return
    load, wrapped = contract.load, {}

    def load_wrapped(name):
        if name not in wrapped:
            spec = load(name)
            prepare = phases.wrap("data", spec.prepare) if spec.prepare else None
            wrapped[name] = dataclasses.replace(spec, run=phases.wrap("train", spec.run), prepare=prepare)
            wrap_evaluation(phases, name)
        return wrapped[name]

    contract.load = runner.load = load_wrapped


def wrap_evaluation(phases: Phases, name: str) -> None:
    """Count the functions EVALUATION names for command `name` as its evaluation phase (absent ones: skipped)."""
    import importlib

    for target in EVALUATION.get(name, []):
        mod_name, fn_name = target.split(":")
        try:
            mod = importlib.import_module(mod_name)
            setattr(mod, fn_name, phases.wrap("evaluation", getattr(mod, fn_name)))
        except (ImportError, AttributeError):
            pass


def _instrument_modules(phases: Phases) -> None:
    """instrument() for a checkout whose commands are modules with attributes (before the typed spec)."""

    from nnlab.core import experiment, runner

    load = experiment.load

    def load_wrapped(name):
        loaded = load(name)
        module = loaded.module
        if not getattr(module, "_phases_wrapped", False):
            module._phases_wrapped = True
            if hasattr(module, "prepare"):
                module.prepare = phases.wrap("data", module.prepare)
            module.run = phases.wrap("train", module.run)
            wrap_evaluation(phases, name)
        return loaded

    experiment.load = runner.load = load_wrapped


def child(argv: list[str], out_json: str) -> None:
    sys.path.insert(0, os.getcwd())  # the checkout under test, not the script's folder or an installed nnlab
    phases = Phases()
    install_import_hook(phases)
    code, leave = 0, sys.exit
    try:
        from nnlab import cli

        leave = getattr(cli, "leave", sys.exit)  # the console script's own way out, where the checkout has one
        getattr(cli, "start_figure_pool", lambda argv: None)(argv)  # and its figure workers, where it has them
        instrument(phases, argv[0])
        cli.cli.main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        import resource

        ru = resource.getrusage(resource.RUSAGE_SELF)
        end_wall, end_cpu = time.time(), time.process_time()
        data = {"start": T0_WALL, "start_cpu": T0_CPU, "end": end_wall, "end_cpu": end_cpu, "code": code,
                "wall": phases.wall, "cpu": phases.cpu, "maxrss_mb": ru.ru_maxrss / 1024,
                "dynamo": "torch._dynamo" in sys.modules, "pyplot": "matplotlib.pyplot" in sys.modules}
        with open(out_json, "w", encoding="utf-8") as f:
            json.dump(data, f)
        sys.stdout.flush()
    leave(code)


# ----------------------------------------------------------------------------------------------------
# Parent: launch, collect, print


def measure(tree: str, argv: list[str], out_dir: str) -> dict:
    """One instrumented run of `nnlab argv` from checkout `tree`: {phase: (wall s, cpu s)} and totals."""
    import resource
    import subprocess
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out_json = f.name
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    launch = time.time()
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", out_json, "--", *argv, "--out",
                           out_dir], cwd=tree, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    done = time.time()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(out_json, encoding="utf-8") as f:
        data = json.load(f)
    os.unlink(out_json)
    if proc.returncode not in (0, 1):  # 1: a lecture claim/experiment failing is still a measured run
        raise SystemExit(f"nnlab {' '.join(argv)} exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    cpu_total = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    rows: dict[str, list[float]] = {}

    def add(name: str, wall: float, cpu: float) -> None:
        rows.setdefault(name, [0.0, 0.0])
        rows[name][0] += wall
        rows[name][1] += cpu

    add("interpreter start", data["start"] - launch, data["start_cpu"])
    for name, wall in data["wall"].items():
        add("imports" if name.startswith("import ") else name, wall, data["cpu"][name])
    inside_wall = data["end"] - data["start"] - sum(data["wall"].values())
    inside_cpu = data["end_cpu"] - data["start_cpu"] - sum(data["cpu"].values())
    add("cli and other", inside_wall, inside_cpu)
    add("interpreter exit", done - data["end"], max(cpu_total - data["end_cpu"], 0.0))
    imports = {k[len("import "):]: (w, data["cpu"][k]) for k, w in data["wall"].items() if k.startswith("import ")}
    return {"rows": rows, "imports": imports, "wall": done - launch, "cpu": cpu_total, "dynamo": data["dynamo"],
            "pyplot": data["pyplot"], "maxrss_mb": data["maxrss_mb"], "loop": training_loop(out_dir, argv[0], launch)}


def training_loop(out_dir: str, command: str, since: float) -> float | None:
    """The run's own training-loop seconds (summary.json's train_time_s, train-mnist's), for the run just made."""
    from pathlib import Path

    made = [p for p in (Path(out_dir) / command).glob("*/summary.json") if p.stat().st_mtime >= since]
    if not made:
        return None
    value = json.loads(max(made, key=lambda p: p.stat().st_mtime).read_text()).get("train_time_s")
    return value if isinstance(value, (int, float)) else None


def median_of(results: list[dict]) -> dict:
    """Per phase the median over repeats (wall and CPU separately); totals likewise."""
    import statistics

    names = {n for r in results for n in r["rows"]}
    rows = {n: [statistics.median(r["rows"].get(n, [0.0, 0.0])[i] for r in results) for i in (0, 1)] for n in names}
    modules = {m for r in results for m in r["imports"]}
    imports = {m: [statistics.median(r["imports"].get(m, (0.0, 0.0))[i] for r in results) for i in (0, 1)]
               for m in modules}
    loops = [r["loop"] for r in results if r.get("loop") is not None]
    return {"rows": rows, "imports": imports, "wall": statistics.median(r["wall"] for r in results),
            "loop": statistics.median(loops) if loops else None,
            "beyond_loop": statistics.median(r["wall"] - r["loop"] for r in results) if loops else None,
            "cpu": statistics.median(r["cpu"] for r in results), "dynamo": any(r["dynamo"] for r in results),
            "pyplot": any(r["pyplot"] for r in results), "repeats": len(results)}


def print_table(title: str, trees: list[str], results: dict[str, dict]) -> None:
    """One row per phase; per tree: wall s, share of the wall, CPU s."""
    head = f"{'phase':<22}" + "".join(f"{'wall s':>9}{'share':>7}{'cpu s':>8}" for _ in trees)
    print(f"\n{title}" + "".join(f"   [{t}]" for t in trees))
    print(head)
    names = [n for n in ORDER if any(n in results[t]["rows"] for t in trees)]
    for name in names:
        line = f"{name:<22}"
        for t in trees:
            w, c = results[t]["rows"].get(name, (0.0, 0.0))
            line += f"{w:>9.2f}{w / results[t]['wall']:>7.0%}{c:>8.2f}"
        print(line)
        if name == "imports":
            mods = sorted({m for t in trees for m in results[t]["imports"]},
                          key=lambda m: -max(results[t]["imports"].get(m, (0, 0))[0] for t in trees))
            for m in mods:
                line = f"{'  ' + m:<22}"
                for t in trees:
                    w, c = results[t]["imports"].get(m, (0.0, 0.0))
                    line += f"{w:>9.2f}{'':>7}{c:>8.2f}" if m in results[t]["imports"] else f"{'-':>9}{'':>7}{'-':>8}"
                print(line)
    line = f"{'total':<22}"
    for t in trees:
        line += f"{results[t]['wall']:>9.2f}{'':>7}{results[t]['cpu']:>8.2f}"
    print(line)
    if any(results[t].get("loop") is not None for t in trees):  # train-mnist: its summary's train_time_s
        for key, label in (("loop", "training loop"), ("beyond_loop", "wall - training loop")):
            print(f"{label:<22}" + "".join(f"{results[t][key]:>9.2f}{'':>15}" if results[t].get(key) is not None
                                           else f"{'-':>9}{'':>15}" for t in trees))
    print(f"{'torch._dynamo loaded':<22}" + "".join(f"{str(results[t]['dynamo']):>24}" for t in trees))
    print(f"{'pyplot loaded':<22}" + "".join(f"{str(results[t]['pyplot']):>24}" for t in trees))


def main() -> None:
    import argparse
    import tempfile

    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(sys.argv[4:], sys.argv[2])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(COMMANDS), help=f"comma-separated of: {', '.join(COMMANDS)}")
    parser.add_argument("--repeats", type=int, default=1, help="runs per command and tree (median reported)")
    parser.add_argument("--tree", action="append", help="checkout to import nnlab from (repeat to compare; "
                        "default: this one)")
    parser.add_argument("--json", help="also write the medians here")
    args = parser.parse_args()
    trees = [os.path.abspath(t) for t in (args.tree or [os.path.dirname(os.path.dirname(os.path.abspath(__file__)))])]
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    load = os.getloadavg()
    print(f"{os.cpu_count()} cores; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} at start. Wall time "
          "includes waiting for a core on a shared machine: compare CPU time where the load differs.")
    print(f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}; {args.repeats} repeat(s), median shown")
    report = {}
    for name in names:
        runs: dict[str, list[dict]] = {t: [] for t in trees}
        with tempfile.TemporaryDirectory() as out:
            for _ in range(args.repeats):
                for t in trees:  # interleaved: both checkouts see the same load, on average
                    runs[t].append(measure(t, COMMANDS[name], out))
        results = {t: median_of(r) for t, r in runs.items()}
        print_table(f"nnlab {name}", trees, results)
        sys.stdout.flush()
        report[name] = results
    load = os.getloadavg()
    print(f"\nload average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} at end")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
