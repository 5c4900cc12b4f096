"""matplotlib, headless and atomic: every figure goes through here, so no experiment touches its state.

Figures are matplotlib's object API (Figure + the Agg canvas), not pyplot: pyplot's import (its GUI
backend machinery, ~0.4 s of CPU) buys nothing for figures that are only written to PNG files, and a
figure nobody registered with pyplot is freed like any other object.
"""

from __future__ import annotations

import contextlib
import os
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

# Fonts with the lecture's simplified Chinese glyphs, the first one installed wins (Debian: fonts-noto-cjk).
CJK_FAMILIES = ("Noto Sans CJK SC", "Source Han Sans SC", "Noto Sans SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei",
                "Microsoft YaHei", "PingFang SC", "SimHei", "Noto Sans CJK JP", "Noto Sans CJK TC")
CJK_FILE_MARKS = ("CJK", "SourceHanSans", "wqy", "msyh", "PingFang", "simhei")  # in those fonts' file names
NO_CJK_ENV = "NNLAB_NO_CJK_FONT"  # "1" once this process (or the one that started it) has warned: warn once
_cjk: dict[str, object] = {}


def cjk_font():
    """The installed CJK font (matplotlib's FontEntry: family `name`, file `fname`, face `index`), made the fallback
    of matplotlib's default font so Latin letters and digits keep DejaVu Sans and Chinese glyphs come from it;
    None, with one warning on stderr for the whole run, when no such font is installed (figures then keep their
    English labels: label())."""
    if "entry" not in _cjk:
        from matplotlib import font_manager

        entry = _find_cjk(font_manager)
        if entry is None:  # matplotlib's font cache may predate the font's install: add the system's CJK files
            for path in font_manager.findSystemFonts():
                if any(mark in Path(path).name for mark in CJK_FILE_MARKS):
                    with contextlib.suppress(Exception):  # a file matplotlib cannot read is not a font for us
                        font_manager.fontManager.addfont(path)
            entry = _find_cjk(font_manager)
        _cjk["entry"] = entry
        if entry is not None:
            matplotlib.rcParams["font.family"] = ["DejaVu Sans", entry.name]  # a list: glyph by glyph fallback
        elif os.environ.get(NO_CJK_ENV) != "1":
            os.environ[NO_CJK_ENV] = "1"
            print("nnlab: no Chinese (CJK) font is installed, so the figures keep their English labels (Debian and "
                  "Ubuntu: apt install fonts-noto-cjk)", file=sys.stderr)
    return _cjk["entry"]


def label(en: str, zh: str) -> str:
    """A figure's text (axis label, title, legend entry) in the current language (nnlab.core.i18n); English where
    no CJK font is installed (one warning says so), so a figure never shows boxes for missing glyphs."""
    from nnlab.core.i18n import current

    if current() != "zh":
        return en
    return zh if cjk_font() else en


def _find_cjk(font_manager):
    installed = {f.name: f for f in font_manager.fontManager.ttflist if f.weight in (400, "normal", "regular")}
    return next((installed[name] for name in CJK_FAMILIES if name in installed), None)


def figure(**kwargs) -> Figure:
    """Like plt.figure: an empty figure (add axes with fig.add_subplot / fig.add_gridspec), on the Agg canvas.
    In Chinese the CJK font is set up first: an axes takes its title's and labels' font when it is made."""
    from nnlab.core.i18n import current

    if current() == "zh":
        cjk_font()
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
