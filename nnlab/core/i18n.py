"""The language a student reads: English (en) or the lecture's Chinese (zh).

Every sentence a student reads is written in both languages beside the code that makes it: a claim's text and
reason (`claim(..., zh=, why_zh=)`, both kept in the record, so a run made in one language reports in the other),
a figure's captions (`CAPTIONS` and `CAPTIONS_ZH` in the plots module), a figure's labels
(`core.plotting.label(en, zh)`, which knows whether a CJK font is there to draw them), a
table's headers and the report's own words (`tr(en, zh)`), the exercises (their `*_zh` fields). One table per
command, in its own folder, rather than gettext catalogs: the texts are built from the run's numbers in f-strings,
a translator reads both languages side by side with the code that fills them in, there is no extraction or
compile step to forget, and tests/test_i18n.py fails when a sentence lacks its Chinese.

The language is chosen by `--lang zh|en`, else NNLAB_LANG, else the locale (LC_ALL, LC_MESSAGES, LANG starting
with "zh"), else English. The chosen one is kept in NNLAB_LANG for the process and every process it starts
(figure workers, sweep workers), so there is one place to read it. Error messages and --help stay English.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import re
from collections.abc import Iterator, Mapping
from typing import Any

LANGS = ("en", "zh")
ENV = "NNLAB_LANG"
HELP = ("The language of what a student reads: results, claims, figures, the report, exercises (en or zh, the "
        "lecture's Chinese).  [default: NNLAB_LANG, else the locale, else en]")
# Chinese characters (CJK Unified Ideographs and Extension A) and CJK punctuation/full-width forms: what makes a
# text Chinese for the tests, and what the report's embedded font must hold.
_OWN: contextvars.ContextVar[str | None] = contextvars.ContextVar("nnlab_lang", default=None)
CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")


def resolve(value: str | None = None) -> str:
    """The language: `value` (from --lang) if given, else NNLAB_LANG, else the locale, else "en". A value that
    is not one of LANGS raises ValueError (the CLI's choice type refuses it before)."""
    if value:
        if value not in LANGS:
            raise ValueError(f"language must be one of {', '.join(LANGS)}, got {value!r}")
        return value
    env = os.environ.get(ENV, "").strip().lower()
    if env in LANGS:
        return env
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG"):
        locale = os.environ.get(variable, "")
        if locale:  # the first one set decides, as in POSIX
            return "zh" if locale.lower().startswith("zh") else "en"
    return "en"


def current() -> str:
    """The language now: this thread's or task's own (`using(..., children=False)`: one web request), else the
    process's."""
    return _OWN.get() or resolve()


def choose(value: str | None) -> str:
    """Fix the language for this process and the processes it starts (the CLI's --lang); returns it."""
    lang = resolve(value)
    os.environ[ENV] = lang
    return lang


@contextlib.contextmanager
def using(lang: str, *, children: bool = True) -> Iterator[str]:
    """`lang` within the block, the previous setting after it. With `children` (the API, tests) for the process
    and what it starts (figure workers); without, for this thread or async task alone (a web request, while
    other requests speak their own language)."""
    token = _OWN.set(resolve(lang))
    before = os.environ.get(ENV)
    if children:
        os.environ[ENV] = resolve(lang)
    try:
        yield lang
    finally:
        _OWN.reset(token)
        if children:
            if before is None:
                os.environ.pop(ENV, None)
            else:
                os.environ[ENV] = before


def tr(en: str, zh: str) -> str:
    """The text in the current language (both written at the call: a table header, a word of the report)."""
    return zh if current() == "zh" else en


def field(record: Mapping[str, Any], name: str) -> Any:
    """A record's text in the current language: `name + "_zh"` in Chinese when the record has it, else `name`."""
    if current() == "zh" and record.get(f"{name}_zh"):
        return record[f"{name}_zh"]
    return record.get(name)


def share_cjk(text: str) -> float:
    """Chinese characters as a share of the letters (Chinese or Latin) of `text`: 0 for English, near 1 for
    Chinese with a few technical names."""
    cjk = len(CJK.findall(text))
    latin = len(re.findall(r"[A-Za-z]", text))
    return cjk / (cjk + latin) if cjk + latin else 0.0


# Names a Chinese text keeps in Latin letters, as the lecture itself does (ReLU, Adam, Xavier, MNIST, U-Net):
# methods, people, data sets, modules and the symbols of formulas. tests/test_i18n.py allows these, and a plots
# module's own TERMS, in a figure drawn in Chinese; any other Latin word there is an untranslated label.
_TERMS_TEXT = """
    ReLU GELU Leaky SoftPlus Sigmoid tanh Adam AdaGrad RMSProp Nesterov Momentum SGD GD Xavier He Kaiming
    Cybenko Barron Hornik Fourier Lipschitz MNIST LayerNorm BatchNorm LN U-Net UNet Transformer ViT softmax
    MultiheadAttention Dropout ODE MLP CNN CPU GPU MSE PSNR dB log exp sin cos sqrt max min
    sup inf Euler QK QKV FFN CLS argmax
"""
TERMS = frozenset(_TERMS_TEXT.lower().split())
