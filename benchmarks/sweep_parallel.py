"""Benchmark: `nnlab sweep` on a local pool of --workers 2 against the same six runs one after another, for quick
runs (start-up dominates) and for runs of about ten seconds (issue 28 asks >= 1.8x on 2 workers).

    python benchmarks/sweep_parallel.py [--workers 2] [--repeats 1] [--sweeps quick,10s] [--quick]

The sweeps (6 runs each: lr 0.01 and 0.1, seeds 0, 1, 2; sgd, so the seed matters):

    quick   optimize --problem quadratic --quick        about 0.5 s a run
    10s     optimize --problem mlp --steps 400          about 10 s a run (a 784-32-10 network on 2048 MNIST images;
                                                        its default 300 steps take about 8 s)

"one after another" is `--workers 1`: the same runs through the same run_point, in one process (torch imported
once, every core's threads for each run). The pool is a warm one: each of its workers imports torch and the
command's code once, then runs task after task, one thread each. Both are timed end to end as a user sees them
(`python -m nnlab sweep ...` in a subprocess), and both must write the same numbers (checked). Prints, per sweep,
both wall times, the ratio, the CPU seconds of each (every process, the pool's workers too: what start-up costs
in all), the mean run time inside each (sweep.csv's elapsed_s: a pool's runs slow down when the two workers
contend for cores that other processes hold), and the machine's load average before and after: the ratio means
little on a machine that other work keeps busy (Linux shares the cores per thread, and a run one after another
has every core's threads).
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GRID = ["--grid", "lr=0.01,0.1", "--seeds", "0,1,2", "--method", "sgd"]
SWEEPS = {
    "quick": ["optimize", *GRID, "--problem", "quadratic", "--quick"],
    "10s": ["optimize", *GRID, "--problem", "mlp", "--steps", "400"],
}
WHERE = ("elapsed_s", "run_dir", "host", "node")  # sweep.csv columns that say where and how long, not what


def cpu_of_children() -> float:
    """User + system seconds of the ended child processes so far (the pool's workers count: the sweep waits for
    them, so theirs is in the sweep's, and the sweep's in ours)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(sweep: list[str], workers: int, out: Path) -> tuple[float, float, list[dict[str, str]]]:
    """Wall seconds, CPU seconds and sweep.csv's rows of one `nnlab sweep`."""
    argv = [sys.executable, "-m", "nnlab", "sweep", *sweep, "--workers", str(workers), "--out", str(out)]
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}  # the sweep splits threads itself
    cpu = cpu_of_children()
    started = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, env=env)
    elapsed = time.perf_counter() - started
    cpu = cpu_of_children() - cpu
    (sweep_dir,) = (out / "sweep").iterdir()
    with (sweep_dir / "sweep.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return elapsed, cpu, rows


def numbers(rows: list[dict[str, str]]) -> list[tuple]:
    return sorted(tuple((k, v) for k, v in r.items() if k not in WHERE) for r in rows)


def mean_run(rows: list[dict[str, str]]) -> float:
    return statistics.fmean(float(r["elapsed_s"]) for r in rows)


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def measure(name: str, workers: int, repeats: int, tmp: Path) -> dict[str, float | str]:
    """Best of `repeats` wall times of each way, alternating them (a load that comes and goes hits both)."""
    before = load()
    walls: dict[int, list[float]] = {1: [], workers: []}
    cpus: dict[int, list[float]] = {1: [], workers: []}
    runs: dict[int, list[float]] = {1: [], workers: []}
    for r in range(repeats):
        results = {}
        for n in (1, workers):
            elapsed, cpu, rows = run(SWEEPS[name], n, tmp / f"{name}-{r}-{n}")
            walls[n].append(elapsed)
            cpus[n].append(cpu)
            runs[n].append(mean_run(rows))
            results[n] = rows
        assert numbers(results[1]) == numbers(results[workers]), "the pool changed the numbers"
        print(f"{name} repeat {r}: one after another {walls[1][-1]:.1f} s ({cpus[1][-1]:.1f} s CPU), {workers} "
              f"workers {walls[workers][-1]:.1f} s ({cpus[workers][-1]:.1f} s CPU), load {load()}", flush=True)
    serial, pool = min(walls[1]), min(walls[workers])
    return {"sweep": name, "serial": serial, "pool": pool, "ratio": serial / pool,
            "cpu_serial": min(cpus[1]), "cpu_pool": min(cpus[workers]),
            "run_serial": min(runs[1]), "run_pool": min(runs[workers]), "load": f"{before} -> {load()}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--sweeps", default="quick,10s", help="which sweeps, of: " + ", ".join(SWEEPS))
    parser.add_argument("--quick", action="store_true", help="the quick sweep only (--sweeps quick)")
    args = parser.parse_args()
    names = ["quick"] if args.quick else [n.strip() for n in args.sweeps.split(",")]
    unknown = [n for n in names if n not in SWEEPS]
    if unknown:
        parser.error(f"--sweeps: no sweep {unknown[0]!r} (choose from {', '.join(SWEEPS)})")
    with tempfile.TemporaryDirectory() as tmp:
        results = [measure(name, args.workers, args.repeats, Path(tmp)) for name in names]
    print(f"\n6 runs, pool of {args.workers} workers against one after another (best of {args.repeats}; "
          f"{os.cpu_count()} cores; load average 1/5/15 min before -> after)\n")
    print("| sweep | one after another | pool | ratio | CPU, serial | CPU, pool | mean run, serial | mean run, pool "
          "| load |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        print(f"| {r['sweep']} | {r['serial']:.1f} s | {r['pool']:.1f} s | x{r['ratio']:.2f} | "
              f"{r['cpu_serial']:.1f} s | {r['cpu_pool']:.1f} s | "
              f"{r['run_serial']:.2f} s | {r['run_pool']:.2f} s | {r['load']} |")


if __name__ == "__main__":
    main()
