"""Every number README.md quotes, measured from runs and written into README's table, so it cannot go stale.

    python benchmarks/readme_numbers.py            # runs the lecture (quick and defaults), rewrites the table
    python benchmarks/readme_numbers.py --check    # reruns and compares with the last table, by its spreads

It runs `nnlab lecture --quick --strict` and `nnlab lecture` into a temporary folder (several minutes on two
cores), reads each run's numbers (core.record.RunRecord) and writes

- benchmarks/readme_numbers.json: each row's text and the numbers in it, each with the spread it states
  (a standard deviation over seeds; 0 for a number the same seed reproduces exactly on the CPU; None for
  a wall time, which depends on the machine and its load);
- the table between README's `<!-- readme-numbers -->` markers, rendered from that file.

tests/test_readme_numbers.py fails when README's table is not the one rendered from the JSON file (a number
edited by hand). `--check` measures again and fails when a number moved by more than three times its
stated spread (exact numbers: by more than 1e-6 relative), which is how a change to a command shows here.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
TABLE = ROOT / "benchmarks" / "readme_numbers.json"
BEGIN, END = "<!-- readme-numbers -->", "<!-- /readme-numbers -->"


def lecture(out: Path, *args: str) -> tuple[float, Path]:
    """Run `nnlab lecture ARGS --out OUT` in a fresh process: (wall seconds, the lecture's directory)."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "nnlab", "lecture", *args, "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    wall = time.perf_counter() - start
    if done.returncode not in (0, 1):  # 1: a claim did not hold (with --strict) or a command failed: still read
        sys.exit(f"nnlab lecture {' '.join(args)} exited {done.returncode}:\n{done.stderr[-2000:]}")
    (parent,) = [p for p in (out / "lecture").iterdir() if not p.is_symlink()]
    return wall, parent


def records(parent: Path) -> dict:
    from nnlab.core.record import RunRecord

    runs = {}
    for command_dir in sorted(p for p in parent.iterdir() if p.is_dir()):
        found = sorted(p for p in command_dir.iterdir() if (p / "meta.json").is_file() and not p.is_symlink())
        for path in found:  # `<date>-<time>[-tag]`: optimize's second run is `<date>-<time>-mlp`, whenever it ran
            tag = path.name.split("-", 2)[2] if path.name.count("-") >= 2 else None
            runs[command_dir.name if tag is None else f"{command_dir.name}/{tag}"] = (
                RunRecord(path).read_all(figures=False))
    return runs


def held(runs: dict) -> str:
    counts = {"lecture": [0, 0], "nnlab": [0, 0], "checks": [0, 0]}
    for run in runs.values():
        for c in run.claims:
            counts[c["source"]][0] += bool(c["holds"])
            counts[c["source"]][1] += 1
        for c in run.checks:
            counts["checks"][0] += bool(c["holds"])
            counts["checks"][1] += 1
    return (f"lecture claims {counts['lecture'][0]}/{counts['lecture'][1]}, nnlab claims "
            f"{counts['nnlab'][0]}/{counts['nnlab'][1]}, checks {counts['checks'][0]}/{counts['checks'][1]} held")


def by_id(run, cid: str) -> dict:
    return next(c for c in [*run.claims, *run.checks] if c["id"] == cid)


def row(what: str, text: str, numbers: list) -> dict:
    """`numbers`: (value, spread) in the order they appear in `text`."""
    return {"what": what, "text": text, "numbers": [[v, s] for v, s in numbers]}


def measure() -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        quick_s, quick = lecture(Path(tmp) / "quick", "--quick", "--strict")
        full_s, full = lecture(Path(tmp) / "full")
        q, r = records(quick), records(full)
        n = {name: run.numbers for name, run in r.items()}
        rows = [
            row("`nnlab lecture --quick --strict`", f"{quick_s:.0f} s wall; {held(q)}", [(quick_s, None)]),
            row("`nnlab lecture` (defaults)", f"{full_s:.0f} s wall; {held(r)}", [(full_s, None)]),
        ]
        acc, secs = n["train-mnist"]["test.acc"], n["train-mnist"]["train_time_s"]
        rows.append(row("`nnlab train-mnist` (seed 0)", f"test accuracy {100 * acc:.2f}% after {secs:.1f} s of "
                        "training", [(100 * acc, 0), (secs, None)]))
        pre = [n["init"][f"{s}.pre_std_first"] for s in ("0.05", "0.01", "xavier")]
        rows.append(row("`nnlab init`: pre-activation std at layer 1 (0.05 / 0.01 / Xavier)",
                        " / ".join(f"{v:.2f}" for v in pre), [(v, 0) for v in pre]))
        slopes = [n["approx"][f"bump.d{d}.sigmoid.slope"] for d in (1, 2, 4, 8)]
        rows.append(row("`nnlab approx`: the bump's log-log error slope against D at d = 1, 2, 4, 8 (sigmoid)",
                        ", ".join(f"{v:.2f}" for v in slopes) + " (Barron: at least -1)", [(v, 0) for v in slopes]))
        speed = by_id(r["optimize"], "optimize.momentum-speedup")["measured"]
        rows.append(row("`nnlab optimize` (κ = 50): f < 1e-10 f₀ sooner than GD",
                        f"heavy ball {speed['speedup_heavy_ball']:.1f}x, Nesterov {speed['speedup_nesterov']:.1f}x "
                        "(√κ = 7.1)", [(speed["speedup_heavy_ball"], 0), (speed["speedup_nesterov"], 0)]))
        m = n["modules"]
        rows.append(row("`nnlab modules`: the U-Net denoiser (3 seeds)",
                        f"{m['unet.psnr_noisy_db']:.1f} dB to {m['unet.psnr_skips_db']:.1f} ± "
                        f"{m['unet.psnr_skips_std_db']:.1f} dB; skips add {m['unet.skips_gain_db']:.1f} dB",
                        [(m["unet.psnr_noisy_db"], 0), (m["unet.psnr_skips_db"], m["unet.psnr_skips_std_db"]),
                         (m["unet.psnr_skips_std_db"], 0), (m["unet.skips_gain_db"], m["unet.psnr_skips_std_db"])]))
        a = n["attention"]
        rows.append(row("`nnlab attention`: key-value lookup, held-out accuracy (3 seeds)",
                        f"{a['retrieval.accuracy']:.3f} ± {a['retrieval.accuracy_std']:.3f} against "
                        f"{a['mean_pooling.accuracy']:.3f} ± {a['mean_pooling.accuracy_std']:.3f} with mean pooling",
                        [(a["retrieval.accuracy"], a["retrieval.accuracy_std"]), (a["retrieval.accuracy_std"], 0),
                         (a["mean_pooling.accuracy"], a["mean_pooling.accuracy_std"]),
                         (a["mean_pooling.accuracy_std"], 0)]))
        errors = {k: n["regularize"].get(f"mnist.{k}.test_error") for k in ("none", "l2", "l1", "elastic")}
        if all(v is not None for v in errors.values()):
            rows.append(row("`nnlab regularize`: MNIST test error, none / L2 / L1 / elastic net (3 seeds)",
                            " / ".join(f"{100 * v:.2f}%" for v in errors.values()),
                            [(100 * v, 0) for v in errors.values()]))
    return rows


def render(table: dict) -> str:
    lines = [BEGIN, f"Measured {table['measured']} by `python benchmarks/readme_numbers.py` ({table['machine']}):",
             "", "| what | measured |", "| --- | --- |"]
    lines += [f"| {r['what']} | {r['text']} |" for r in table["rows"]]
    return "\n".join([*lines, END])


def write_readme(table: dict) -> None:
    text = README.read_text(encoding="utf-8")
    start, end = text.index(BEGIN), text.index(END) + len(END)
    README.write_text(text[:start] + render(table) + text[end:], encoding="utf-8")


def check(old: dict, rows: list[dict]) -> list[str]:
    """What moved by more than its stated spread allows (three spreads; exact numbers 1e-6 relative)."""
    moved = []
    for before, now in zip(old["rows"], rows, strict=True):
        for (v0, spread), (v1, _) in zip(before["numbers"], now["numbers"], strict=True):
            if spread is None:
                continue
            allowed = 3 * spread if spread else 1e-6 * max(abs(v0), 1e-12)
            if abs(v1 - v0) > allowed:
                moved.append(f"{before['what']}: {v0:.6g} -> {v1:.6g} (allowed {allowed:.2g})")
    return moved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="measure again and compare; write nothing")
    args = parser.parse_args()
    rows = measure()
    if args.check:
        moved = check(json.loads(TABLE.read_text()), rows)
        print("\n".join(moved) or "every number within its spread")
        sys.exit(1 if moved else 0)
    import platform

    import torch

    table = {"measured": dt.date.today().isoformat(),
             "machine": f"{os.cpu_count()} CPU cores, torch {torch.__version__}, {platform.python_version()}",
             "rows": rows}
    TABLE.write_text(json.dumps(table, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    write_readme(table)
    print(render(table))


if __name__ == "__main__":
    main()
