"""How long `nnlab --help` takes, next to `python -c "import torch"` on the same machine, same run.

    python benchmarks/cli_startup.py [--repeats 7]

Prints the best and median wall time of each command and the ratio. `nnlab --help` imports no
torch, numpy or matplotlib, so it should cost a small fraction of the torch import.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "nnlab --help": [sys.executable, "-m", "nnlab", "--help"],
    "nnlab init --help": [sys.executable, "-m", "nnlab", "init", "--help"],
    'python -c "import torch"': [sys.executable, "-c", "import torch"],
}


def wall_times(argv: list[str], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    wall_times(COMMANDS["nnlab --help"], 1)  # warm the file cache and bytecode
    results = {name: wall_times(argv, args.repeats) for name, argv in COMMANDS.items()}
    torch_best = min(results['python -c "import torch"'])
    print(f"{'command':<28}{'best s':>9}{'median s':>10}{'best / import torch':>22}")
    for name, times in results.items():
        best = min(times)
        print(f"{name:<28}{best:>9.3f}{statistics.median(times):>10.3f}{best / torch_best:>22.2f}")


if __name__ == "__main__":
    main()
