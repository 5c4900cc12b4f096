"""Figures, one module per subcommand, drawn only from what a run logged (summary and metrics)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path


def drawn(parts: Iterable[Callable[[], Path | None]]) -> list[Path]:
    """Draw each part (one figure each: a module's parts(), which figure workers may share out) in order; the
    paths written."""
    return [path for path in (part() for part in parts) if path is not None]
