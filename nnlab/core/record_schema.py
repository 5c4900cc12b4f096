"""The schema of a run directory, checked by the one reader (core.record.RunRecord) as it reads each file.

A run directory is data anyone may have edited. Every tool builds its output from what the reader returns,
so the reader refuses what no nnlab ever writes, once, with one line naming the file and the field:

    meta.json      an object; command, status, started (ISO time) strings; ended a string or null;
                   elapsed_s a finite number or null; error, headline, device strings (or null)
    summary.json   an object; status a string, error a string or null; claims and checks (a run's) lists
                   of {id: str, holds: bool, claim/expected/source/kind: str}
    metrics.jsonl  per line: step and epoch finite numbers in [0, 1e12]; every number finite
    plots/*.png    PNG bytes (the signature and an IHDR chunk)
    every file     at most MAX_DEPTH levels of nesting, no NaN or infinity (nnlab writes them as null)

Deep nesting is refused because every later step (json.dumps, repr, a report's table) recurses through it.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

from nnlab.core.errors import UserError

MAX_DEPTH = 32  # levels of nesting in a run's JSON or YAML (nnlab writes at most 5)
STEP_MAX = 1e12  # a step or epoch beyond this is no run's (1e30 overflowed the event writer)
TOOL_DIRS = ("sweep", "compare")  # their summaries carry claims as {id: counts}, not a run's verdict list
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# field -> the types it may have (None: JSON null allowed); fields not named here are free
META_FIELDS: dict[str, tuple[Any, ...]] = {
    "command": (str,), "status": (str,), "started": (str,), "ended": (str, None), "elapsed_s": (float, int, None),
    "error": (str, None), "headline": (str, None), "device": (str, None), "argv": (list,), "versions": (dict,),
}
SUMMARY_FIELDS: dict[str, tuple[Any, ...]] = {"status": (str,), "error": (str, None)}
VERDICT_FIELDS: dict[str, tuple[Any, ...]] = {"claim": (str,), "expected": (str,), "source": (str,), "kind": (str,)}


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _is(value: Any, types: tuple[Any, ...]) -> bool:
    if value is None:
        return None in types
    if isinstance(value, bool):  # a bool is an int to Python, never to the schema
        return bool in types
    return isinstance(value, tuple(t for t in types if t is not None))


def check_fields(data: dict[str, Any], fields: dict[str, tuple[Any, ...]], where: Any, prefix: str = "") -> None:
    for name, types in fields.items():
        if name in data and not _is(data[name], types):
            wanted = " or ".join("null" if t is None else t.__name__ for t in types)
            raise UserError(f"{where}: `{prefix}{name}` must be {wanted}, got {_type_name(data[name])}")


def check_tree(data: Any, where: Any) -> None:
    """No more than MAX_DEPTH levels of nesting and no NaN or infinity anywhere (walked without recursion)."""
    stack: list[tuple[Any, int, str]] = [(data, 0, "")]
    while stack:
        value, depth, path = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            raise UserError(f"{where}: `{path or 'the value'}` is {value} (nnlab writes non-finite numbers as null)")
        if isinstance(value, (dict, list)):
            if depth >= MAX_DEPTH:
                raise UserError(f"{where}: nested more than {MAX_DEPTH} deep at `{path}` (deep nesting is damage)")
            items = value.items() if isinstance(value, dict) else enumerate(value)
            stack.extend((v, depth + 1, (f"{path}.{k}" if path else str(k)) if isinstance(value, dict)
                          else f"{path}[{k}]") for k, v in items)


def check_meta(meta: dict[str, Any], where: Path) -> None:
    check_fields(meta, META_FIELDS, where)
    if "started" in meta:
        try:
            dt.datetime.fromisoformat(meta["started"])
        except ValueError:
            raise UserError(f"{where}: `started` must be an ISO time, got {meta['started'][:40]!r}") from None


def check_summary(summary: dict[str, Any], where: Path, command: str) -> None:
    check_fields(summary, SUMMARY_FIELDS, where)
    for kind in ("claims", "checks"):
        if kind not in summary or command in TOOL_DIRS:
            continue
        records = summary[kind]
        if not isinstance(records, list):
            raise UserError(f"{where}: `{kind}` must be a list, got {_type_name(records)}")
        for i, record in enumerate(records):
            field = f"{kind}[{i}]"
            if not isinstance(record, dict):
                raise UserError(f"{where}: `{field}` must be an object, got {_type_name(record)}")
            if not isinstance(record.get("id"), str):
                raise UserError(f"{where}: `{field}.id` must be a string, got {_type_name(record.get('id'))}")
            if not isinstance(record.get("holds"), bool):
                got = "nothing" if "holds" not in record else _type_name(record["holds"])
                raise UserError(f"{where}: `{field}.holds` must be true or false, got {got}")
            check_fields(record, VERDICT_FIELDS, where, prefix=f"{field}.")


def check_metrics_line(record: dict[str, Any], where: str) -> None:
    """One metrics.jsonl record: its axes finite and bounded, its numbers finite, shallow."""
    for axis in ("step", "epoch"):
        if axis not in record:
            continue
        value = record[axis]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= STEP_MAX:
            raise UserError(f"{where}: `{axis}` must be a number in [0, {STEP_MAX:g}], got {str(value)[:40]}")
    check_tree(record, where)


def check_png(data: bytes, where: Path) -> None:
    """PNG bytes: the signature, then the IHDR chunk (what every decoder reads first)."""
    if not (data.startswith(PNG_SIGNATURE) and data[12:16] == b"IHDR"):
        raise UserError(f"{where}: not a PNG image (a figure of a run must be one)")
