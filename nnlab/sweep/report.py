"""What a sweep writes from its records: sweep.csv (one row per run), summary.json (mean, spread and range over
seeds per grid point, the fraction of seeds for which each claim held), plots (each headline number against
each swept key, error bars one standard deviation over seeds) and the table printed at the end.

Only runs that ended `completed` or `diverged` count in the numbers (a diverged run is a result); failed and
interrupted runs are in sweep.csv with their status and error line. std is the sample standard deviation
(n - 1) over the seeds whose number is finite; null when fewer than two are.
"""

from __future__ import annotations

import csv
import json
import statistics
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from nnlab.core.headline import finite, is_number, slug, split_name
from nnlab.sweep.executors import DONE


def value_text(value: Any) -> str:
    """A grid value as one CSV cell / legend label / axis tick (a one-element list as its element: 0.05)."""
    if isinstance(value, list) and len(value) == 1 and not isinstance(value[0], (list, dict)):
        return value_text(value[0])
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def latest(records: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """The last record of each task index (a resumed sweep reruns what did not finish)."""
    out: dict[int, dict[str, Any]] = {}
    for record in records:
        out[record["index"]] = record
    return out


def stable_names(plan: dict[str, Any], records: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """The records with numbers named the same at every grid point: a command that names a number by a swept
    value (init's `0.05.std_last` when scale is swept) gets the key instead (`scale.std_last`), so sweeping
    scale gives one row per number, not a diagonal of one name per point); claim ids ending in the value
    likewise (`init.regime.0.05` -> `init.regime.scale`)."""
    n_seeds = len(plan["seeds"])
    out = {}
    for index, record in records.items():
        values = plan["points"][index // n_seeds]
        prefixes = [(f"{value_text(v)}.", f"{k}.") for k, v in values.items() if not isinstance(v, bool)]
        renamed = {}
        for name, number in (record.get("headline") or {}).items():
            new = next((key + name[len(text):] for text, key in prefixes if name.startswith(text)), name)
            renamed[new] = number
        suffixes = [("." + text[:-1], "." + key[:-1]) for text, key in prefixes]  # init.regime.0.05 -> .scale
        claims = {next((cid[:-len(s)] + k for s, k in suffixes if cid.endswith(s)), cid): held
                  for cid, held in (record.get("claims") or {}).items()}
        out[index] = {**record, "headline": renamed, "claims": claims}
    return out


def _union(records: list[dict[str, Any]], field: str) -> list[str]:
    names: dict[str, None] = {}
    for record in records:
        names.update(dict.fromkeys(record.get(field) or {}))
    return list(names)


def write_csv(path: Path, plan: dict[str, Any], records: dict[int, dict[str, Any]]) -> None:
    """One row per planned run (in plan order); a run that never started says `not run`."""
    keys = list(plan["grid"])
    ordered = list(records.values())
    names, claim_ids = _union(ordered, "headline"), _union(ordered, "claims")
    columns = ["point", "seed", *keys, "status", "error", "elapsed_s", "host", "node", "run_dir", *names, *claim_ids]
    n_seeds = len(plan["seeds"])
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        for p, values in enumerate(plan["points"]):
            for s, seed in enumerate(plan["seeds"]):
                r = records.get(p * n_seeds + s, {"status": "not run"})
                cells = [p, seed, *(value_text(values[k]) for k in keys), r["status"], r.get("error") or "",
                         r.get("elapsed_s", ""), r.get("host") or "", r.get("node") or "", r.get("path") or ""]
                cells += [_cell(r.get("headline", {}).get(n)) for n in names]
                cells += [_cell(r.get("claims", {}).get(c)) for c in claim_ids]
                writer.writerow(cells)


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    return repr(value) if isinstance(value, float) else value  # repr: every digit, so the CSV round-trips


def stats(values: list[Any]) -> dict[str, Any]:
    """mean, sample std, min, max over the finite numbers; n counts them."""
    xs = [float(v) for v in values if finite(v)]
    if not xs:
        return {"mean": None, "std": None, "min": None, "max": None, "n": 0}
    # statistics: exact sums, so equal values give std 0.0, not float noise
    std = statistics.stdev(xs) if len(xs) > 1 else None
    return {"mean": statistics.fmean(xs), "std": std, "min": min(xs), "max": max(xs), "n": len(xs)}


def summarize(plan: dict[str, Any], records: dict[int, dict[str, Any]], **extra: Any) -> dict[str, Any]:
    n_seeds = len(plan["seeds"])
    statuses = Counter(r["status"] for r in records.values())
    statuses["not run"] = len(plan["points"]) * n_seeds - len(records)
    points = []
    for p, values in enumerate(plan["points"]):
        runs = [records[i] for i in range(p * n_seeds, (p + 1) * n_seeds) if i in records]
        done = [r for r in runs if r["status"] in DONE]
        claims = {}
        for cid in _union(done, "claims"):
            verdicts = [r["claims"][cid] for r in done if cid in r.get("claims", {})]
            claims[cid] = {"held": sum(verdicts), "runs": len(verdicts), "fraction": sum(verdicts) / len(verdicts)}
        points.append({
            "point": p, "values": values, "runs": n_seeds, "done": len(done),
            "statuses": dict(Counter(r["status"] for r in runs)),
            "headline": {n: stats([r["headline"].get(n) for r in done]) for n in _union(done, "headline")},
            "claims": claims,
        })
    return {"command": plan["command"], "grid": plan["grid"], "seeds": plan["seeds"],
            "runs": len(plan["points"]) * n_seeds, "statuses": {k: v for k, v in statuses.items() if v},
            "points": points, **extra}


# ----------------------------------------------------------------------------------------------------
# Plots


def import_meanwhile() -> None:
    """Import what draw() needs (matplotlib, about 0.5 s of one core) in a background thread, while the runs go
    on: a driver whose runs are in worker processes would otherwise pay it after the last run. Nothing to do
    where the runs themselves imported it (one after another, in this process)."""
    import importlib
    import threading

    if "nnlab.core.plotting" not in sys.modules:
        threading.Thread(target=lambda: [importlib.import_module(m) for m in _PLOT_MODULES],
                         name="import-plotting", daemon=True).start()


_PLOT_MODULES = ("nnlab.core.plotting", "nnlab.tools.runs_common")  # what draw() imports


def draw(summary: dict[str, Any], plots_dir: Path) -> list[Path]:
    """One figure per (swept key, headline column): a line per row label (and per value of the other swept
    keys), mean over seeds with one-std error bars, against the key's values."""
    from nnlab.core import plotting
    from nnlab.tools.runs_common import wants_log

    points = summary["points"]
    names = list(dict.fromkeys(n for p in points for n in p["headline"]))
    columns = list(dict.fromkeys(split_name(n)[1] for n in names))
    paths = []
    for key in summary["grid"]:
        xs_all = [p["values"][key] for p in points]
        numeric = all(is_number(x) for x in xs_all)
        ticks = list(dict.fromkeys(value_text(x) for x in xs_all))
        others = [k for k in summary["grid"] if k != key]
        for column in (c for c in columns if c != slug(key)):  # not lr against lr
            fig, axes = plotting.subplots(figsize=(6.4, 4.2))
            ax, drawn, ys = axes[0][0], 0, []
            labelled = False  # a legend of no labels: matplotlib warns on stderr
            for name in (n for n in names if split_name(n)[1] == column):
                groups: dict[str, list[dict[str, Any]]] = {}
                for p in points:
                    label = ", ".join(f"{k}={value_text(p['values'][k])}" for k in others)
                    groups.setdefault(label, []).append(p)
                for label, group in groups.items():
                    series = [(p["values"][key], p["headline"].get(name, {})) for p in group]
                    series = [(x, s) for x, s in series if s.get("mean") is not None]
                    if not series:
                        continue
                    x = [sx if numeric else ticks.index(value_text(sx)) for sx, _ in series]
                    y = [s["mean"] for _, s in series]
                    ys += [s["min"] for _, s in series]
                    err = [s["std"] or 0.0 for _, s in series]
                    row = split_name(name)[0]
                    text = ", ".join(t for t in (row, label) if t)
                    ax.errorbar(x, y, yerr=err, marker="o", capsize=3, label=text)
                    drawn += 1
                    labelled = labelled or bool(text)
            if not drawn:
                plotting.plt.close(fig)
                continue
            if numeric:
                positive = [x for x in xs_all if x > 0]
                if len(positive) == len(xs_all) and max(positive) / min(positive) >= 20:
                    ax.set_xscale("log")
            else:
                ax.set_xticks(range(len(ticks)), ticks)
            if wants_log(ys):  # losses that span orders of magnitude (one point diverged)
                ax.set_yscale("log")
            ax.set_xlabel(key)
            ax.set_ylabel(column.replace("_", " "))
            seeds = len(summary["seeds"])
            ax.set_title(f"nnlab {summary['command']}: {column.replace('_', ' ')} vs {key} "
                         f"(mean ± std over {seeds} seed{'s' * (seeds > 1)})")
            if drawn <= 12 and labelled:
                ax.legend(fontsize=7)
            paths.append(plotting.save(fig, plots_dir / f"{slug(column)}_vs_{slug(key)}.png"))
    return paths


# ----------------------------------------------------------------------------------------------------
# The table printed at the end


MAX_ROWS = 40


def table(summary: dict[str, Any]):
    """Rows: headline numbers (mean ± std) and claims (held/runs); columns: grid points."""
    from nnlab.core import console

    points = summary["points"]
    heads = [", ".join(f"{k}={value_text(v)}" for k, v in p["values"].items()) or "-" for p in points]
    names = list(dict.fromkeys(n for p in points for n in p["headline"]))
    claim_ids = list(dict.fromkeys(c for p in points for c in p["claims"]))
    rows: list[list[Any]] = [["runs done", *(f"{p['done']}/{p['runs']}" for p in points)]]
    for name in names:
        rows.append([name, *(_mean_std(p["headline"].get(name)) for p in points)])
    for cid in claim_ids:
        rows.append([cid, *(_held(p["claims"].get(cid)) for p in points)])
    more = len(rows) - MAX_ROWS
    rows = rows[:MAX_ROWS] + ([[f"... {more} more rows in summary.json", *([""] * len(points))]] if more > 0 else [])
    return console.table(f"nnlab sweep {summary['command']} (mean ± std over seeds)", ["", *heads], rows)


def _mean_std(s: dict[str, Any] | None) -> str:
    from nnlab.core.console import fmt

    if not s or s["mean"] is None:
        return "—"
    return fmt(s["mean"]) + (f" ± {fmt(s['std'])}" if s["std"] is not None else "")


def _held(c: dict[str, Any] | None) -> str:
    return "—" if not c else f"{c['held']}/{c['runs']}"
