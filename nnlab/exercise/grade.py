"""A class's answer files graded against one set of measurements: grades.csv (one row per file and exercise) and
summary.json (per exercise: how many answered, the share right, the spread of the predictions)."""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nnlab.exercise.model import Exercise, Measured

COLUMNS = ["file", "student", "exercise", "prediction", "measured", "tolerance", "right"]


def measured_from_results(data: Mapping[str, Any], known: Mapping[str, Exercise]) -> dict[str, Measured]:
    """The measured answers of an earlier exercise directory's results.json (`--against`)."""
    out: dict[str, Measured] = {}
    for eid, r in data["exercises"].items():
        m = r.get("measured") if isinstance(r, Mapping) else None
        if eid not in known or m is None:
            continue
        m = Measured(m.get("value"), m.get("low"), m.get("high")) if isinstance(m, Mapping) else Measured(m)
        out[eid] = Measured(tuple(m.value), m.low, m.high) if known[eid].kind == "order" else m
    return out


def text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return " < ".join(map(str, value))
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def student(path: Path) -> str:
    """Who answered: the file's name, or for an exercise directory's answers.yaml the directory's."""
    return path.parent.name if path.name == "answers.yaml" else path.stem


def grade(files: Mapping[Path, Mapping[str, Any]], exercises: list[Exercise],
          measured: Mapping[str, Measured]) -> list[dict[str, Any]]:
    """One row per (file, exercise asked): an exercise a file left out is graded as unanswered."""
    rows = []
    for path, predictions in files.items():
        for e in exercises:
            m = measured.get(e.id)
            p = predictions.get(e.id)
            rows.append({"file": str(path), "student": student(path), "exercise": e.id, "prediction": p,
                         "measured": None if m is None else m.value, "tolerance": e.tolerance_text(m),
                         "right": m is not None and e.right(p, m)})
    return rows


def to_csv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, COLUMNS, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({**r, "prediction": text(r["prediction"]), "measured": text(r["measured"]),
                         "right": "1" if r["right"] else "0"})
    return buffer.getvalue()


def spread(e: Exercise, predictions: list[Any]) -> dict[str, Any]:
    """Numbers: median, min, max, std; the rest: how often each answer was given."""
    if not predictions:
        return {}
    if e.kind == "number":
        return {"median": statistics.median(predictions), "min": min(predictions), "max": max(predictions),
                "std": statistics.pstdev(predictions)}
    counts = Counter(text(p) for p in predictions)
    return {"counts": dict(counts.most_common())}


def summary(rows: list[dict[str, Any]], exercises: list[Exercise], n_files: int) -> dict[str, Any]:
    per: dict[str, Any] = {}
    for e in exercises:
        mine = [r for r in rows if r["exercise"] == e.id]
        given = [r["prediction"] for r in mine if r["prediction"] is not None]
        right = sum(r["right"] for r in mine)
        per[e.id] = {"answered": len(given), "right": right, "share_right": right / len(mine) if mine else None,
                     "measured": text(mine[0]["measured"]) if mine else None, "predictions": spread(e, given)}
    scores = Counter()
    for r in rows:
        scores[r["student"]] += r["right"]
    return {"files": n_files, "exercises": per, "scores": dict(scores)}


__all__ = ["COLUMNS", "grade", "measured_from_results", "summary", "to_csv"]
