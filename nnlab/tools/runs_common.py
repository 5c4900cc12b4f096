"""What the tools that read finished runs share: metric series from metrics.jsonl, the tag in a directory's
name, a small directory for a tool's own output (compare) that `nnlab runs` lists like a run's, and how a
tool ends on a signal (exits_on_signal)."""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from nnlab.core.headline import is_number
from nnlab.core.live_board import AXES, group_of

STAMP = len("20260101-120000")


def tag_of(run_dir: Path) -> str:
    """The tag of `<time>[-tag][-n]` (with its clash number, if any); '' without one."""
    return run_dir.name[STAMP + 1:]


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


class ToolInterrupted(Exception):
    """SIGTERM (or SIGINT) during a tool: unwinds its `finally` blocks (temporary files go), then exits."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def exits_on_signal(tool: str) -> Iterator[None]:
    """Ctrl-C or SIGTERM during `tool` ends it by the signals' convention: 128 + the signal (130, 143), with
    one line on stderr, after the tool's own cleanup ran (an exception, not the default handler's sudden
    end, so no temporary file is left). Outside the main thread no handler can be set: only Ctrl-C's
    KeyboardInterrupt is seen."""

    def raise_it(signum: int, frame: Any) -> None:
        raise ToolInterrupted(signum)

    previous = {}
    with contextlib.suppress(ValueError):  # not the main thread
        for s in (signal.SIGINT, signal.SIGTERM):
            previous[s] = signal.signal(s, raise_it)
    try:
        yield
    except (ToolInterrupted, KeyboardInterrupt) as exc:
        signum = exc.signum if isinstance(exc, ToolInterrupted) else signal.SIGINT
        for s, handler in previous.items():
            signal.signal(s, handler)
        previous = {}
        click.echo(f"{tool}: interrupted by {signal.Signals(signum).name}; nothing half-written is left", err=True)
        sys.exit(128 + signum)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
