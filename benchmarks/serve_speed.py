"""How fast `nnlab serve` answers: its first page after starting, and a page of the runs list with N runs
under --out, against reading the same runs the way `nnlab runs` does.

    python benchmarks/serve_speed.py              # 1,000 runs
    python benchmarks/serve_speed.py --runs 200 --json speed.json

It makes one real run (`init --quick --no-plots`) and copies it N - 1 times into a temporary --out, starts
`python -m nnlab serve --port 0` there, and times (wall clock, on this machine):
  - start: from the process's start to the first 200 of GET / (and whether torch is loaded by then);
  - list, first: GET /api/runs?limit=100 the first time (it waits for the server's first read of every run);
  - list, again: the same, median and slowest of 20 (rows cached by file times, refreshed in a thread);
  - nnlab runs: tools.runs.find over the same directory in this process (median of 3), and the command's wall
    time as a subprocess; the ratio is `nnlab runs`'s in-process reading over a page served again.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path


def get(url: str) -> tuple[int, bytes, float]:
    start = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as response:
        body = response.read()
        return response.status, body, time.perf_counter() - start


def make_runs(out: Path, n: int) -> None:
    import nnlab

    first = nnlab.run("init", quick=True, plots=False, out=out).path
    for k in range(1, n):
        copy = first.parent / f"20250101-{k // 3600:02d}{k // 60 % 60:02d}{k % 60:02d}-copy{k}"
        shutil.copytree(first, copy, ignore=shutil.ignore_patterns(".lock", ".reserve"))


def start_server(out: Path) -> tuple[subprocess.Popen, str, float, bool]:
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "nnlab", "serve", "--port", "0", "--out", str(out)],
                            stderr=subprocess.PIPE, text=True)
    line = proc.stderr.readline()
    found = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
    if not found:
        proc.kill()
        raise SystemExit(f"the server did not start: {line}{proc.stderr.read()}")
    base = f"http://127.0.0.1:{found.group(1)}"
    while True:
        try:
            status, _, _ = get(base + "/")
            if status == 200:
                break
        except OSError:
            time.sleep(0.01)
    first_page = time.perf_counter() - started
    maps = Path(f"/proc/{proc.pid}/maps")
    torch_loaded = "libtorch" in maps.read_text() if maps.exists() else False
    return proc, base, first_page, torch_loaded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000, help="runs under --out (default 1000)")
    parser.add_argument("--json", metavar="FILE", help="also write the numbers as JSON")
    args = parser.parse_args()
    from nnlab.registry import COMMANDS
    from nnlab.tools.runs import find

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "outputs"
        made = time.perf_counter()
        make_runs(out, args.runs)
        made = time.perf_counter() - made
        proc, base, first_page, torch_loaded = start_server(out)
        try:
            status, body, list_first = get(base + "/api/runs?limit=100")
            listed = json.loads(body)
            assert status == 200 and listed["total"] == args.runs, (status, listed["total"])
            times = [get(base + "/api/runs?limit=100")[2] for _ in range(20)]
            again, worst = statistics.median(times), max(times)
            shell = statistics.median(get(base + "/runs")[2] for _ in range(5))
        finally:
            proc.terminate()
            proc.wait(30)
        reads = []
        for _ in range(3):
            t = time.perf_counter()
            rows = find(out, [*COMMANDS, "sweep", "compare"])
            reads.append(time.perf_counter() - t)
        assert len(rows) == args.runs
        read = statistics.median(reads)
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "nnlab", "runs", "--out", str(out), "--limit", "100"], check=True,
                       capture_output=True)
        command_wall = time.perf_counter() - t
    numbers = {"runs": args.runs, "make_runs_s": made, "first_page_s": first_page, "torch_loaded": torch_loaded,
               "list_first_s": list_first, "list_again_s": again, "list_again_max_s": worst, "runs_page_shell_s": shell,
               "nnlab_runs_read_s": read, "nnlab_runs_command_s": command_wall, "ratio": read / again}
    print(f"{args.runs} runs under --out (made in {made:.1f} s)")
    print(f"  first page after start    {first_page * 1000:8.0f} ms   torch loaded: {torch_loaded}")
    print(f"  /api/runs?limit=100 first {list_first * 1000:8.1f} ms   (every run read)")
    print(f"  /api/runs?limit=100 again {again * 1000:8.1f} ms   (median of 20, slowest {worst * 1000:.1f} ms; rows "
          "cached by file times)")
    print(f"  /runs page                {shell * 1000:8.1f} ms")
    print(f"  nnlab runs: reading       {read * 1000:8.1f} ms   (tools.runs.find, in-process, median of 3)")
    print(f"  nnlab runs: the command   {command_wall * 1000:8.0f} ms   (a subprocess, --limit 100)")
    print(f"  ratio reading / page again: {read / again:.0f}x")
    if args.json:
        Path(args.json).write_text(json.dumps(numbers, indent=2) + "\n")


if __name__ == "__main__":
    main()
