"""Write files so that a crash never leaves half of one: write a temporary sibling, then rename it."""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it is renamed onto `path`, else removed.

    The temporary name keeps the suffix, so writers that infer a format from it (savefig) still work.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; a run's files should read like any other
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)  # atomic on POSIX within one filesystem
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | Path, data: Any) -> None:
    """Strict JSON (NaN and inf become null: other tools' parsers reject bare NaN), written atomically."""
    write_text(path, dumps(data, indent=2) + "\n")


def dumps(data: Any, indent: int | None = None) -> str:
    """JSON text of `data` with numpy values converted and every non-finite float written as null."""
    try:
        return json.dumps(data, indent=indent, allow_nan=False, default=_jsonable)
    except ValueError:  # a NaN or inf somewhere: replace them (rare, so the fast path above stays fast)
        return json.dumps(finite(json.loads(json.dumps(data, default=_jsonable))), indent=indent, allow_nan=False)


def finite(value: Any) -> Any:
    """`value` with every NaN/inf float replaced by None, through dicts and lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite(v) for v in value]
    return value


def nonfinite_paths(value: Any, where: str = "") -> list[str]:
    """Where `value` holds a NaN or inf ("results[3].loss"), so a run can say which number was not finite."""
    if isinstance(value, float):
        return [] if math.isfinite(value) else [where or "."]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in nonfinite_paths(v, f"{where}.{k}" if where else str(k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in nonfinite_paths(v, f"{where}[{i}]")]
    return []


def _jsonable(value: Any) -> Any:
    """numpy scalars and arrays, Paths: whatever an experiment may put in a summary."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")
