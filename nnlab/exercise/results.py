"""An exercise directory, claimed like a run directory: <out>/exercise/<time>[-tag][-n]/

    answers.yaml   the predictions as given (from the file or the prompts)
    runs/          the measuring runs, normal run directories (runs/<command>/<time>/)
    results.json   per exercise id: question, kind, unit, prediction, measured, tolerance, right, run; the score

results.json is written last and atomically: a directory without it holds runs that never finished grading.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nnlab.exercise.measure import Outcome
from nnlab.exercise.model import Exercise

RESULTS = "results.json"
FORMAT = 1


def claim(out: str | Path, tag: str | None = None) -> Path:
    """A new exercise directory (never reused: exclusive mkdir, numbered on a clash)."""
    from nnlab.core.run import claim_directory

    return claim_directory(out, "exercise", tag, dt.datetime.now().astimezone())


def write_answers(directory: Path, predictions: Mapping[str, Any]) -> None:
    import yaml

    from nnlab.core import atomic

    plain = {k: list(v) if isinstance(v, tuple) else v for k, v in predictions.items()}
    atomic.write_text(directory / "answers.yaml", yaml.safe_dump(plain, allow_unicode=True, sort_keys=False))


def row(e: Exercise, predicted: Any, outcome: Outcome, base: Path) -> dict[str, Any]:
    """One exercise's record in results.json."""
    measured = outcome.measured
    run = os.path.relpath(outcome.run, base) if outcome.run is not None else None
    return {"question": e.question, "section": e.section, "kind": e.kind, "unit": e.unit,
            "prediction": list(predicted) if isinstance(predicted, tuple) else predicted,
            "measured": None if measured is None else measured.as_json(),
            "tolerance": e.tolerance_text(measured), "tolerance_values": e.tolerance.as_json(),
            "right": measured is not None and e.right(predicted, measured),
            "run": run, "settings": list(outcome.run_settings), "error": outcome.error}


def results(exercises: list[Exercise], predictions: Mapping[str, Any], outcomes: Mapping[str, Outcome],
            base: Path, context: Mapping[str, Any]) -> dict[str, Any]:
    rows = {e.id: row(e, predictions.get(e.id), outcomes[e.id], base) for e in exercises}
    right = sum(r["right"] for r in rows.values())
    return {"format": FORMAT, **context, "score": {"right": right, "total": len(rows)}, "exercises": rows}


def write_results(directory: Path, data: Mapping[str, Any]) -> Path:
    from nnlab.core import atomic

    path = directory / RESULTS
    atomic.write_text(path, json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
    return path


def read_results(path: str | Path) -> dict[str, Any]:
    """A results.json (or the exercise directory holding one), checked enough to grade against."""
    from nnlab.core.errors import UserError

    path = Path(path)
    if path.is_dir():
        path = path / RESULTS
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: no such results file (an exercise directory holds results.json)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{path}: not a readable results.json ({type(exc).__name__})") from None
    if not isinstance(data, dict) or not isinstance(data.get("exercises"), dict):
        raise UserError(f"{path}: not an exercise results.json (no 'exercises' mapping)")
    return data


__all__ = ["RESULTS", "claim", "read_results", "results", "write_answers", "write_results"]
