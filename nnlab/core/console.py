"""One rich console for the whole tool: progress on stderr, results on stdout."""

from __future__ import annotations

import contextlib
import contextvars
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

out = Console(highlight=False)              # results: tables, the run directory
err = Console(stderr=True, highlight=False)  # progress bars and notes, so stdout stays parseable


# Which experiment the lines and bars belong to ("init", "optimize p1-s0" in a sweep): set by the runner around
# a run, so every progress line says whose it is when several runs print to one terminal or log.
LABEL: contextvars.ContextVar[str] = contextvars.ContextVar("nnlab_label", default="")
PLAIN_EVERY_S = 10.0  # stderr is not a terminal (a log, CI): a plain progress line at most this often


@contextlib.contextmanager
def labelled(label: str) -> Iterator[None]:
    token = LABEL.set(label)
    try:
        yield
    finally:
        LABEL.reset(token)


def note(text: str) -> None:
    """A line on stderr that names its experiment: `[init] epoch 1: ...`."""
    label = LABEL.get()
    err.print(f"[{label}] {text}" if label else text, markup=False, soft_wrap=True)


@contextlib.contextmanager
def progress_bar(description: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A transient progress bar with its experiment's name, count, elapsed time and ETA; yields `advance(n=1)`.
    When stderr is not a terminal, a plain line instead, at most every PLAIN_EVERY_S seconds (and one at the
    end if any was printed), so a log shows where a long run is."""
    label = LABEL.get()
    description = f"[{label}] {description}" if label else description
    if not err.is_terminal:
        yield _plain_progress(description, total)
        return
    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("eta"), TimeRemainingColumn(), console=err, transient=True,
    )
    with progress:
        task = progress.add_task(description, total=total)
        yield lambda n=1: progress.advance(task, n)


def _plain_progress(description: str, total: int | None) -> Callable[[int], None]:
    start = last = time.monotonic()
    done = 0

    def advance(n: int = 1) -> None:
        nonlocal done, last
        done += n
        now = time.monotonic()
        if now - last >= PLAIN_EVERY_S or (total is not None and done == total and last > start):
            last = now
            of = f"/{total}" if total is not None else ""
            eta = ""
            if total and done < total:
                eta = f", about {(now - start) / done * (total - done):.0f} s left"
            err.print(f"{description}: {done}{of} after {now - start:.0f} s{eta}", markup=False, soft_wrap=True)

    return advance


def fmt(value: Any) -> str:
    """Numbers as people read them: 4 significant digits, no float noise."""
    if isinstance(value, bool) or value is None:
        return str(value).lower() if isinstance(value, bool) else "—"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(fmt(v) for v in value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {fmt(v)}" for k, v in value.items())
    return str(value)


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    t = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    for i, col in enumerate(columns):
        t.add_column(col, justify="left" if i == 0 else "right")
    for row in rows:
        t.add_row(*(escape(fmt(v)) for v in row))
    return t


def claims_table(claims: Sequence[Mapping[str, Any]], checks: bool = False) -> Table:
    """One row per claim (or, with `checks`, per sanity check): ✓/✗, id, text in the current language (marked
    "[nnlab]" where the claim is our addition), numbers."""
    from nnlab.core.i18n import field, tr

    title = (tr("Sanity checks (identities, not claims)", "合理性检验（恒等式，不是说法）") if checks
             else tr("Claims", "说法"))
    t = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    for col in ("", "id", tr("claim", "说法"), tr("measured", "测得"), tr("expected", "要求")):
        t.add_column(col, overflow="fold")  # folded, not cut: an id must stay whole to be looked up
    for c in claims:
        mark = "[green]✓[/]" if c["holds"] else "[red]✗[/]"
        text = escape(str(field(c, "claim")) + (" [nnlab]" if c.get("source") == "nnlab" and not checks else ""))
        if why := failure(c):
            text += f"\n[red]{escape(why)}[/]"
        t.add_row(mark, escape(str(c.get("id", ""))), text, escape(fmt(c["measured"])), escape(str(c["expected"])))
    return t


def failure(record: Mapping[str, Any]) -> str | None:
    """Why a claim or check failed and what to try, as one sentence a student reads in the current language
    (None when it held)."""
    from nnlab.core.i18n import current, field

    if record.get("holds"):
        return None
    why = field(record, "reason") or f"measured {fmt(record.get('measured'))}, expected {record.get('expected')}"
    tip = record.get("tip")
    if current() == "zh":
        return f"为何不成立：{why}。" + (f"试试：{tip}。" if tip else "")
    return f"Why it fails: {why}." + (f" Try: {tip}." if tip else "")
