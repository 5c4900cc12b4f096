"""Claims and checks: what the lecture (or nnlab) says, what this run measured, and whether it held.

Two lists go into every summary.json, with one record shape:

- `claims`: statements that the user's settings can make fail. `source` says whose statement it is:
  "lecture" (quoted from the lecture) or "nnlab" (our own addition, e.g. a control or a bound the
  lecture does not state).
- `checks`: identities and closed forms that hold unless the code is wrong (sanity checks, shown
  apart and never counted as the lecture's claims).

Each record says its `kind` ("claim" or "check"); one that fails carries `reason`, a sentence in terms of what
was measured, and may carry `tip`, a setting to try. The text and the reason are written in both languages
(`claim_zh`, `reason_zh`: nnlab.core.i18n), so a run reports in either. Ids are short slugs, `<command>.<what>`
(`init.regime.xavier`), unique within a run; tests, the lecture report and sweeps refer to a
claim by id, never by its prose.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

SOURCES = ("lecture", "nnlab")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*(\.[a-z0-9][a-z0-9_.:=+-]*)+$")


def _record(kind: str, id: str, text: str, measured: Any, expected: str, holds: bool, source: str,
            why: str | None = None, tip: str | None = None, zh: str | None = None,
            why_zh: str | None = None) -> dict[str, Any]:
    if not _ID.match(id):
        raise ValueError(f"claim id {id!r} must be a slug like 'init.regime.xavier'")
    if source not in SOURCES:
        raise ValueError(f"claim {id}: source must be one of {SOURCES}, got {source!r}")
    if not zh:
        raise ValueError(f"claim {id}: its Chinese text (zh=) is missing")
    if why and not why_zh:
        raise ValueError(f"claim {id}: its reason has no Chinese (why_zh=)")
    record = {"id": id, "kind": kind, "claim": text, "claim_zh": zh, "source": source, "measured": measured,
              "expected": expected, "holds": bool(holds)}
    if not finite(measured):  # a NaN compares False both ways: `not (nan > x)` would pass; a verdict on it cannot
        record["holds"] = False
        why = "a measured value is NaN or infinite, so the run cannot support the statement"
        why_zh = "测得的值为 NaN 或无穷大，这次运行无法支持该陈述"
    if not record["holds"]:
        record["reason"] = why or f"measured {_plain(measured)}, and the statement needs {expected}"
        record["reason_zh"] = why_zh or f"测得 {_plain(measured)}，而该陈述要求 {expected}"
    if tip:
        record["tip"] = tip
    return record


def claim(id: str, text: str, measured: Any, expected: str, holds: bool, *, source: str = "lecture",
          why: str | None = None, tip: str | None = None, zh: str | None = None,
          why_zh: str | None = None) -> dict[str, Any]:
    """A claim the run tested. `expected` is a short criterion ("< 0.2", "within 5%"), `holds` its outcome.

    `why` is the sentence a student reads when it fails, in terms of what was measured ("the mean-pooling model
    is as accurate as the attention model"); without it the record says "measured X, and the statement needs Y".
    `tip` is one setting to try (`--steps 2000`). A non-finite number anywhere in `measured` fails the claim.
    `zh` and `why_zh` are the text and the reason in Chinese (required: a student reads either language)."""
    return _record("claim", id, text, measured, expected, holds, source, why, tip, zh, why_zh)


def check(id: str, text: str, measured: Any, expected: str, holds: bool, *, why: str | None = None,
          zh: str | None = None, why_zh: str | None = None) -> dict[str, Any]:
    """A sanity check: an identity or closed form the run reproduced (not a lecture claim)."""
    return _record("check", id, text, measured, expected, holds, "nnlab", why, None, zh, why_zh)


def finite(measured: Any) -> bool:
    """No NaN or infinity in a number, or in the numbers of a list or mapping (strings and None are not numbers)."""
    if isinstance(measured, bool) or measured is None or isinstance(measured, str):
        return True
    if isinstance(measured, (int, float)):
        return math.isfinite(measured)
    if isinstance(measured, Mapping):
        return all(finite(v) for v in measured.values())
    if isinstance(measured, (list, tuple)):
        return all(finite(v) for v in measured)
    try:
        return math.isfinite(float(measured))  # a numpy scalar
    except (TypeError, ValueError):
        return True


def _plain(measured: Any) -> str:
    """`measured` as words: '0.31', 'ratio 0.31, steps 200'."""
    if isinstance(measured, float):
        return f"{measured:.3g}"
    if isinstance(measured, Mapping):
        return ", ".join(f"{k.replace('_', ' ')} {_plain(v)}" for k, v in measured.items())
    if isinstance(measured, (list, tuple)):
        return "[" + ", ".join(_plain(v) for v in measured) + "]"
    return str(measured)


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
