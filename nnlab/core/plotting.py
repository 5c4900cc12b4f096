"""matplotlib, headless and atomic: every figure goes through here, so no experiment touches its state.

Figures are matplotlib's object API (Figure + the Agg canvas), not pyplot: pyplot's import (its GUI
backend machinery, ~0.4 s of CPU) buys nothing for figures that are only written to PNG files, and a
figure nobody registered with pyplot is freed like any other object.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: laptops, CI and GPU boxes alike, for any code that still imports pyplot
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from nnlab.core import atomic  # noqa: E402

matplotlib.rcParams.update({
    "figure.dpi": 110,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "font.size": 9,
})

FIGURE_KEYS = ("figsize", "dpi", "facecolor", "edgecolor", "linewidth", "frameon", "layout")


def figure(**kwargs) -> Figure:
    """Like plt.figure: an empty figure (add axes with fig.add_subplot / fig.add_gridspec), on the Agg canvas."""
    fig = Figure(**kwargs)
    FigureCanvasAgg(fig)
    return fig


def subplots(nrows: int = 1, ncols: int = 1, **kwargs):
    """Like plt.subplots (figure keywords and subplot keywords alike), always a 2-D array of axes."""
    kwargs.setdefault("squeeze", False)
    fig = figure(**{k: kwargs.pop(k) for k in FIGURE_KEYS if k in kwargs})
    return fig, fig.subplots(nrows, ncols, **kwargs)


def save(fig, path: str | Path, tight: bool = True) -> Path:
    """Write `fig` to `path` (PNG) atomically. tight=False keeps the margins the caller set (fig.subplots_adjust):
    for a figure whose labels never change size, it saves tight_layout's measuring pass (30-40% of the time)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if tight:
        fig.tight_layout()
        # tight_layout leaves a placeholder layout engine behind, for which savefig draws the whole figure once
        # more before drawing it for real (~a third of the saving time); the layout is done, so drop it
        fig.set_layout_engine(None)
    with atomic.atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    close(fig)
    return path


def close(fig) -> None:
    """Release `fig`: nothing to do for a figure made here; one made through pyplot is closed there."""
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close(fig)


def __getattr__(name: str):
    if name == "plt":  # callers that still reach for pyplot through this module get it, imported then
        import matplotlib.pyplot as plt

        return plt
    raise AttributeError(name)


def drawn(parts) -> list[Path]:
    """Draw each part (one figure each: a plots module's parts(), which figure workers may share out) in
    order; the paths written."""
    return [path for path in (part() for part in parts) if path is not None]
