"""Benchmark: `nnlab sweep` on a local pool of --workers 2 against the same six runs one after another.

    python benchmarks/sweep_parallel.py [--workers 2] [--quick] [--repeats 1]

The sweep is the issue's: optimize on the quadratic, lr 0.01 and 0.1, seeds 0, 1, 2 (sgd, so the seed matters).
"one after another" is `--workers 1`: the same runs through the same run_point, in one process (torch imported
once); the pool pays a spawned interpreter per worker (torch imported in each) and splits the cores between
them. Both are timed end to end as a user sees them (`python -m nnlab sweep ...` in a subprocess), and
both write the same numbers (checked). Prints both wall times and the ratio.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SWEEP = ["optimize", "--grid", "lr=0.01,0.1", "--seeds", "0,1,2", "--problem", "quadratic", "--method", "sgd"]


def run(workers: int, quick: bool, out: Path) -> tuple[float, list[dict[str, str]]]:
    argv = [sys.executable, "-m", "nnlab", "sweep", *SWEEP, *(["--quick"] if quick else []),
            "--workers", str(workers), "--out", str(out)]
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}  # the sweep splits threads itself
    started = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, env=env)
    elapsed = time.perf_counter() - started
    (sweep_dir,) = (out / "sweep").iterdir()
    with (sweep_dir / "sweep.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return elapsed, rows


def numbers(rows: list[dict[str, str]]) -> list[tuple]:
    return sorted(tuple((k, v) for k, v in r.items() if k not in ("elapsed_s", "run_dir", "host")) for r in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="--quick runs (startup dominates)")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    times: dict[int, list[float]] = {1: [], args.workers: []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            results = {}
            for workers in (1, args.workers):
                elapsed, rows = run(workers, args.quick, Path(tmp) / f"{r}-{workers}")
                times[workers].append(elapsed)
                results[workers] = rows
            assert numbers(results[1]) == numbers(results[args.workers]), "the pool changed the numbers"
            print(f"repeat {r}: one after another {times[1][-1]:.1f} s, {args.workers} workers "
                  f"{times[args.workers][-1]:.1f} s")
    serial, pool = min(times[1]), min(times[args.workers])
    print(f"6 runs{' (--quick)' if args.quick else ''}: one after another {serial:.1f} s, pool of {args.workers} "
          f"{pool:.1f} s, speedup x{serial / pool:.2f} (best of {args.repeats}; {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
