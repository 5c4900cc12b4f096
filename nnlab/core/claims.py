"""Claims and checks: what the lecture (or nnlab) says, what this run measured, and whether it held.

Two lists go into every summary.json, with one record shape:

- `claims`: statements that the user's settings can make fail. `source` says whose statement it is:
  "lecture" (quoted from the lecture) or "nnlab" (our own addition, e.g. a control or a bound the
  lecture does not state).
- `checks`: identities and closed forms that hold unless the code is wrong (sanity checks, shown
  apart and never counted as the lecture's claims).

Each record says its `kind` ("claim" or "check"). Ids are short slugs, `<command>.<what>`
(`init.regime.xavier`), unique within a run; tests, the lecture report and sweeps refer to a
claim by id, never by its prose.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

SOURCES = ("lecture", "nnlab")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*(\.[a-z0-9][a-z0-9_.:=+-]*)+$")


def _record(kind: str, id: str, text: str, measured: Any, expected: str, holds: bool, source: str) -> dict[str, Any]:
    if not _ID.match(id):
        raise ValueError(f"claim id {id!r} must be a slug like 'init.regime.xavier'")
    if source not in SOURCES:
        raise ValueError(f"claim {id}: source must be one of {SOURCES}, got {source!r}")
    return {"id": id, "kind": kind, "claim": text, "source": source, "measured": measured, "expected": expected,
            "holds": bool(holds)}


def claim(id: str, text: str, measured: Any, expected: str, holds: bool, *, source: str = "lecture") -> dict[str, Any]:
    """A claim the run tested. `expected` is a short criterion ("< 0.2", "within 5%"), `holds` its outcome."""
    return _record("claim", id, text, measured, expected, holds, source)


def check(id: str, text: str, measured: Any, expected: str, holds: bool) -> dict[str, Any]:
    """A sanity check: an identity or closed form the run reproduced (not a lecture claim)."""
    return _record("check", id, text, measured, expected, holds, "nnlab")


def partition(records: Iterable[Mapping[str, Any]]) -> tuple[list[Any], list[Any]]:
    """(claims, checks): an experiment may gather both in one list; summary.json keeps them apart."""
    records = list(records)
    return [r for r in records if r.get("kind") != "check"], [r for r in records if r.get("kind") == "check"]


def check_ids(command: str, records: Iterable[Mapping[str, Any]]) -> None:
    """Every id starts with `<command>.` and appears once (claims and checks together)."""
    seen: set[str] = set()
    for record in records:
        cid = record.get("id")
        if not isinstance(cid, str) or not cid.startswith(command + "."):
            raise ValueError(f"nnlab {command}: claim id {cid!r} must start with '{command}.'")
        if cid in seen:
            raise ValueError(f"nnlab {command}: claim id {cid!r} appears twice")
        seen.add(cid)


def by_id(records: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    return {r["id"]: r for r in records}
