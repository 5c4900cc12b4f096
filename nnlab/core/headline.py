"""A run's headline numbers and claim verdicts as flat name -> value maps, for the tools that work over runs
(sweep, compare, runs, export).

An experiment's `headline(summary)` returns a table (columns, rows); here every numeric cell becomes one
named number, `<row label>/<column>`: `gd/final_loss` for optimize, `0.05/std_last` for init. The row label
is the first cell (`width=512` when that cell is a number). Cells that are not numbers (text) are left out;
an empty cell (None) stays None: missing, not zero.
"""

from __future__ import annotations

import math
import re
from typing import Any

_SLUG = re.compile(r"[^A-Za-z0-9_.=:+-]+")


def slug(text: Any) -> str:
    """A column or label as a name: spaces and odd characters become `_`."""
    return _SLUG.sub("_", str(text).strip()).strip("_") or "_"


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def flatten(columns: list[str], rows: list[list[Any]]) -> dict[str, float | None]:
    """A headline table as {"<row label>/<column>": number or None}, in table order, names unique."""
    out: dict[str, float | None] = {}
    for row in rows:
        if not row:
            continue
        first = row[0]
        label = f"{slug(columns[0])}={first:g}" if is_number(first) else slug(first)
        for column, value in zip(columns[1:], row[1:], strict=False):
            if value is not None and not is_number(value):
                continue
            name = base = f"{label}/{slug(column)}"
            n = 2
            while name in out:  # two rows with one label: keep both
                name, n = f"{base}#{n}", n + 1
            out[name] = None if value is None else float(value)
    return out


def numbers(command: str, summary: dict[str, Any]) -> dict[str, float | None]:
    """The headline numbers of a finished run of `command` ({} when its summary has no headline: a failed run)."""
    from nnlab.core.experiment import load

    if not summary or "claims" not in summary:
        return {}
    try:
        columns, rows = load(command).module.headline(summary)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError):  # a partial summary
        return {}
    return flatten(list(columns), [list(r) for r in rows])


def claims_held(summary: dict[str, Any]) -> dict[str, bool]:
    """{claim id: holds} for the claims (not the checks) of a run."""
    return {c["id"]: bool(c["holds"]) for c in summary.get("claims", []) if "id" in c}


def finite(value: Any) -> bool:
    return is_number(value) and math.isfinite(value)
