"""Answer files: a YAML mapping of exercise id -> prediction, read and checked whole before anything runs.

    init.saturation-005: 0.3
    activations.per-layer-order: [sigmoid, relu, tanh]     # or "sigmoid, relu, tanh"
    optimize.first-to-1e-10: heavy_ball
    approx.curse-gap: null                                 # left unanswered (graded wrong)

A bad file (not YAML, not a mapping, an unknown id, a prediction of the wrong kind or outside its range) is one
UserError naming the file and the id.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nnlab.core.errors import UserError, did_you_mean
from nnlab.exercise.model import Exercise

MAX_BYTES = 1 << 20  # an answer file is a few hundred bytes; anything past a megabyte is not one


def read_yaml(path: Path) -> Any:
    import yaml

    try:
        if not path.is_file():
            raise UserError(f"{path}: no such answer file")
        if path.stat().st_size > MAX_BYTES:
            raise UserError(f"{path}: larger than {MAX_BYTES // 1024} KiB; not an answer file")
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise UserError(f"{path}: not valid YAML{where}") from None


def read_answers(path: str | Path, known: dict[str, Exercise]) -> dict[str, Any]:
    """The predictions of one file, parsed (id -> value, None where left unanswered)."""
    path = Path(path)
    data = read_yaml(path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a mapping of exercise id to prediction, got a {type(data).__name__}")
    predictions: dict[str, Any] = {}
    for key, raw in data.items():
        name = str(key)
        if name not in known:
            raise UserError(f"{path}: unknown exercise {name!r}{did_you_mean(name, list(known))}")
        try:
            predictions[name] = None if raw is None else known[name].parse(raw)
        except UserError as exc:
            raise UserError(f"{path}: {exc}") from None
    return predictions


def answer_files(paths: tuple[str, ...] | list[str]) -> list[Path]:
    """Answer files in `paths`: a file is itself, a directory gives its *.yaml and *.yml files (sorted)."""
    found: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            inside = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
            if not inside:
                raise UserError(f"{given}: a directory with no .yaml answer file")
            found += inside
        elif path.is_file():
            found.append(path)
        else:
            raise UserError(f"{given}: no such answer file or directory")
    return list(dict.fromkeys(found))


__all__ = ["answer_files", "read_answers", "read_yaml"]
