"""matplotlib, headless and atomic: every figure goes through here, so no experiment touches its state."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: laptops, CI and GPU boxes alike; must precede pyplot
import matplotlib.pyplot as plt  # noqa: E402

from nnlab.core import atomic  # noqa: E402

plt.rcParams.update({
    "figure.dpi": 110,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "font.size": 9,
})


def subplots(nrows: int = 1, ncols: int = 1, **kwargs):
    """plt.subplots that always returns a 2-D array of axes."""
    kwargs.setdefault("squeeze", False)
    return plt.subplots(nrows, ncols, **kwargs)


def save(fig, path: str | Path) -> Path:
    """Write `fig` to `path` (PNG) atomically and free it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    with atomic.atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return path
