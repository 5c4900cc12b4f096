"""The Chinese glyphs of a report page, embedded: a Chinese report stays self-contained and readable on a machine
without a CJK font (a phone, a Windows lab, a fresh container) and weighs little more.

The installed CJK font (core.plotting.cjk_font: Noto Sans CJK SC, Debian's fonts-noto-cjk) is cut down by
fontTools to the glyphs of the characters the page uses and written as WOFF2 (Brotli-compressed), in a data URI
of an @font-face rule. Latin letters and digits keep the page's own fonts; the browser takes from this face only
the glyphs they lack. A page of about a thousand distinct Chinese characters needs a few hundred kB.
"""

from __future__ import annotations

import base64
import io
from functools import lru_cache

from nnlab.core.i18n import CJK, current

FAMILY = "nnlab-zh"  # the embedded face's name in the page's CSS


def font_face(text: str) -> str:
    """CSS for a page in Chinese, to follow the page's own: an @font-face with the glyphs of the CJK characters of
    `text`, and the body's font list naming it (after the page's `font` shorthand, which would reset it). "" in
    English (its few quotes of the lecture keep the reader's fonts, as before), for a text without CJK
    characters, or where no CJK font is installed (core.plotting has said so once)."""
    if current() != "zh":
        return ""
    chars = "".join(sorted(set(CJK.findall(text))))
    if not chars:
        return ""
    from nnlab.core import plotting

    entry = plotting.cjk_font()
    if entry is None:
        return ""
    data = subset_woff2(str(entry.fname), getattr(entry, "index", 0), chars)  # `index`: a TTC's face (mpl >= 3.11)
    uri = "data:font/woff2;base64," + base64.b64encode(data).decode("ascii")
    return (f'@font-face {{ font-family: "{FAMILY}"; src: url({uri}) format("woff2"); font-display: block; }}\n'
            f'body {{ font-family: system-ui, -apple-system, "Segoe UI", "Noto Sans", "{FAMILY}", sans-serif; }}\n')


@lru_cache(maxsize=4)
def subset_woff2(path: str, index: int, chars: str) -> bytes:
    """The face `index` of the font file `path` (a TTC holds several) cut down to `chars`, as WOFF2 bytes."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(path, fontNumber=index, lazy=True)
    options = subset.Options()
    options.flavor = "woff2"  # needs the brotli package (a dependency of nnlab)
    options.layout_features = ["*"]  # keep the font's vertical forms and punctuation widths
    options.name_IDs = ["*"]  # the names, the copyright and the licence (OFL) travel with the glyphs
    options.hinting = False  # screens scale it; hinting is most of a CJK font's bytes
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=chars)
    subsetter.subset(font)
    out = io.BytesIO()
    font.flavor = "woff2"
    font.save(out)
    return out.getvalue()
