"""Benchmark: `nnlab lecture` as a user waits for it, this checkout against a baseline revision, in one script
(issue 28 asks the defaults in <= 60 s and --quick in <= 10 s on 2 idle cores, >= 2x against 44f2871).

    python benchmarks/lecture_speed.py                 # the defaults and --quick, base 44f2871, one run each
    python benchmarks/lecture_speed.py --only quick --repeats 3
    python benchmarks/lecture_speed.py --base HEAD~5   # any revision

Each lecture runs end to end in a subprocess (`python -m nnlab lecture [--quick] --out TMP`, the console script's
start, imports and exit included), the baseline from a temporary git worktree of --base (PYTHONPATH pointing at
it), this checkout twice: as it runs by default (--jobs auto: the experiments side by side, one per core) and one
experiment at a time (--jobs 1), interleaved so that a change in the machine's load hits all three alike. Printed
per lecture: the wall seconds of each (median over --repeats), the ratios against the baseline and against
--jobs 1, and whether the claims and checks that held with --jobs 1 are exactly those that held by default (the
same ids; the baseline's ids differ: issue 24 renamed and added claims since 44f2871). The machine's load
average is printed before and after: the numbers mean little on a machine that other work keeps busy.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LECTURES = {"defaults": [], "quick": ["--quick"]}


def held(out: Path) -> set[str]:
    """The ids of the claims and checks that held in the lecture written under `out`."""
    ids = set()
    for summary in (out / "lecture").glob("*/*/*/summary.json"):
        if summary.parent.is_symlink() or summary.parent.name == "latest":
            continue
        data = json.loads(summary.read_text())
        ids |= {r["id"] for r in (data.get("claims") or []) + (data.get("checks") or []) if r.get("holds")}
    return ids


def elapsed(out: Path) -> dict[str, float]:
    """Each run's own seconds (meta.json's elapsed_s) in the lecture written under `out`, by command[-tag]: the
    ranking behind the order the workers take them in (nnlab/tools/lecture_pool.py, START_ORDER)."""
    seconds = {}
    for meta in (out / "lecture").glob("*/*/*/meta.json"):
        if meta.parent.is_symlink() or meta.parent.name == "latest":
            continue
        tag = meta.parent.name.split("-", 2)[2] if meta.parent.name.count("-") >= 2 else ""
        seconds[meta.parent.parent.name + (f"-{tag}" if tag else "")] = json.loads(meta.read_text())["elapsed_s"]
    return dict(sorted(seconds.items(), key=lambda kv: -kv[1]))


def lecture(tree: Path, args: list[str], out: Path) -> float:
    """Wall seconds of one `nnlab lecture` from checkout `tree`."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    env.pop("OMP_NUM_THREADS", None)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "nnlab", "lecture", *args, "--out", str(out)], cwd=tree, env=env,
                          capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):  # 1: a claim did not hold, or a run failed: still a lecture to time
        raise SystemExit(f"lecture {' '.join(args)} in {tree} exited {done.returncode}: {done.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", default="44f2871", help="the baseline revision (default: 44f2871)")
    parser.add_argument("--only", choices=sorted(LECTURES), help="one lecture (default: both)")
    parser.add_argument("--repeats", type=int, default=1, help="runs of each, interleaved (default: 1)")
    opts = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}  cores: {len(os.sched_getaffinity(0))}")
    with tempfile.TemporaryDirectory(prefix="nnlab-lecture-speed-") as tmp:
        base = Path(tmp) / "base"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(base), opts.base], cwd=ROOT, check=True)
        try:
            for name, args in LECTURES.items():
                if opts.only and name != opts.only:
                    continue
                times: dict[str, list[float]] = {"base": [], "auto": [], "one": []}
                ids: dict[str, set[str]] = {}
                for k in range(opts.repeats):
                    for who, tree, extra in (("base", base, []), ("auto", ROOT, []), ("one", ROOT, ["--jobs", "1"])):
                        out = Path(tmp) / f"{name}-{who}-{k}"
                        times[who].append(lecture(tree, [*args, *extra], out))
                        ids[who] = held(out)
                med = {who: statistics.median(t) for who, t in times.items()}
                same = "yes" if ids["auto"] == ids["one"] else f"no: {sorted(ids['auto'] ^ ids['one'])}"
                print(f"lecture {name}: base {opts.base} {med['base']:.1f} s · this checkout, --jobs auto "
                      f"{med['auto']:.1f} s (x{med['base'] / med['auto']:.2f} of the base), --jobs 1 "
                      f"{med['one']:.1f} s (auto x{med['one'] / med['auto']:.2f}) · the same claims held: {same} "
                      f"({len(ids['auto'])} held)", flush=True)
                runs = elapsed(Path(tmp) / f"{name}-auto-{opts.repeats - 1}")
                print("  each run, longest first (--jobs auto, the last repeat): " + ", ".join(
                    f"{run} {s:.1f} s" for run, s in runs.items()), flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT, check=False)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
