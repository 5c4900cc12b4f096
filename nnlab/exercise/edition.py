"""The exercises of a lecture's report (`nnlab lecture --edition ...`): measured into the lecture's directory,
then turned into the plain dicts nnlab/report/exercises.py renders."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from nnlab.exercise import catalog, measure, show
from nnlab.exercise.grade import text


def views(outcomes: dict[str, measure.Outcome], base: Path) -> dict[str, list[dict[str, Any]]]:
    """command -> its exercises as the report shows them; run paths relative to `base` (the report's folder)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for o in outcomes.values():
        e, m = o.exercise, o.measured
        out.setdefault(e.section, []).append({
            "id": e.id, "question": e.question, "question_zh": e.question_zh, "hint": e.hint, "hint_zh": e.hint_zh,
            "explanation": e.explanation, "explanation_zh": e.explanation_zh, "asked": show.asked(e),
            "measured": "" if m is None else text(m.value), "tolerance": e.tolerance_text(m),
            "tolerance_note": e.tolerance_note, "settings": list(o.run_settings),
            "run": None if o.run is None else Path(os.path.relpath(o.run, base)).as_posix(), "error": o.error})
    return out


def measure_sections(sections: Iterable[str], directory: Path, user_sets: Iterable[str] = (),
                     on_run: Any = None) -> dict[str, list[dict[str, Any]]]:
    """Measure the exercises of `sections` into directory/exercises/ and return their views."""
    chosen = [e for s in sections for e in catalog.section_exercises(s)]
    if not chosen:
        return {}
    outcomes = measure.measure(chosen, directory / "exercises", user_sets, on_run=on_run)
    return views(outcomes, directory)


__all__ = ["measure_sections", "views"]
