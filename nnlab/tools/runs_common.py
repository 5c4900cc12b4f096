"""What the tools that read finished runs share: metric series from metrics.jsonl, the tag in a directory's
name, and a small directory for a tool's own output (compare) that `nnlab runs` lists like a run's."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

from nnlab.core.headline import is_number

AXES = ("step", "epoch")  # x axes, not metrics
STAMP = len("20260101-120000")


def tag_of(run_dir: Path) -> str:
    """The tag of `<time>[-tag][-n]` (with its clash number, if any); '' without one."""
    return run_dir.name[STAMP + 1:]


def group_of(record: dict[str, Any], sep: str = ", ", eq: str = "=") -> str:
    """The text fields of a metrics line name the series it belongs to (method=gd, scale=0.05)."""
    return sep.join(f"{k}{eq}{v}" for k, v in record.items() if isinstance(v, str))


def metric_names(metrics: list[dict[str, Any]]) -> list[str]:
    """Numeric fields of metrics.jsonl, in first-seen order (step and epoch are axes)."""
    names: dict[str, None] = {}
    for record in metrics:
        names.update((k, None) for k, v in record.items() if is_number(v) and k not in AXES)
    return list(names)


def series(metrics: list[dict[str, Any]], metric: str) -> dict[str, tuple[list[float], list[float]]]:
    """{group: (steps, values)} of one metric; the line number stands in for a missing step."""
    out: dict[str, tuple[list[float], list[float]]] = {}
    for i, record in enumerate(metrics):
        value = record.get(metric)
        if not is_number(value):
            continue
        step = record.get("step", i)
        xs, ys = out.setdefault(group_of(record), ([], []))
        xs.append(float(step) if is_number(step) else float(i))
        ys.append(float(value))
    return out


def wants_log(values: list[float]) -> bool:
    finite = [v for v in values if math.isfinite(v)]
    return bool(finite) and min(finite) > 0 and max(finite) / min(finite) > 1e3


def tool_meta(command: str, argv: list[str], started: dt.datetime, headline: str) -> dict[str, Any]:
    """The meta.json of a tool's own directory (compare), closed as completed, with the headline `nnlab runs`
    shows for it (core.record writes it)."""
    from nnlab.core.record import end_meta, new_meta

    meta = new_meta(command, argv, started, seed=None)
    return end_meta(meta, "completed", dt.datetime.now().astimezone(), headline=headline)
