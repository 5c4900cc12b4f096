"""Every sentence a student reads, in both languages (issue 27, item 4): each command's quick run made in Chinese
gives every claim and check a Chinese text (and reason), Chinese captions for every figure, Chinese table headers,
and figures whose every text is Chinese but for the technical names the lecture itself writes in Latin letters
(nnlab.core.i18n.TERMS, and a plots module's own TERMS), with no glyph missing from the fonts; the English
default is unchanged. A Chinese font must be installed (CI installs Debian's fonts-noto-cjk)."""

from __future__ import annotations

import json
import logging
import re
import warnings
from pathlib import Path
from typing import Any

import pytest

from nnlab.core import i18n
from nnlab.registry import COMMANDS

MATH = re.compile(r"\$[^$]*\$")  # mathtext: symbols, not words
WORD = re.compile(r"[A-Za-z][A-Za-z-]*[A-Za-z]")  # a Latin word of two letters or more


def english_words(text: str, allowed: frozenset[str]) -> list[str]:
    """The Latin words of `text` (outside $math$) that are not technical names kept in Latin letters."""
    words = WORD.findall(MATH.sub(" ", text))
    return [w for w in words if w.lower() not in allowed]


def allowed_terms(command: str) -> frozenset[str]:
    from nnlab.core.command import load

    extra = getattr(load(command).plots_module(), "TERMS", ())
    return i18n.TERMS | {t.lower() for t in extra}


def cjk_font_or_skip():
    """In CI a missing font fails (CI must install it); elsewhere the test skips."""
    import os

    from nnlab.core import plotting

    if plotting.cjk_font() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("no CJK font found: CI must install it (.ci/run: apt-get install fonts-noto-cjk)")
        pytest.skip("no CJK font installed (apt install fonts-noto-cjk; CI installs it)")


class MissingGlyphs(logging.Handler):
    """matplotlib's mathtext logs a glyph it cannot find (and draws a box); its text engine warns."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "glyph" in message.lower():
            self.messages.append(message)


@pytest.fixture(scope="module")
def chinese_runs(tmp_path_factory):
    """run(command): the command's quick run made in Chinese (once per module), figures drawn in this process and
    every text of every figure seen before it was saved: (summary, {png name: [texts]}, missing-glyph messages)."""
    cjk_font_or_skip()
    made: dict[str, Any] = {}

    def run(command: str):
        if command not in made:
            made[command] = chinese_run(command, tmp_path_factory.mktemp(command))
        return made[command]

    return run


def chinese_run(command: str, out: Path):
    from matplotlib.figure import Figure
    from matplotlib.text import Text

    from nnlab.core import figure_pool, plotting
    from nnlab.core.runner import Request, execute

    seen: dict[str, list[str]] = {}
    original = Figure.savefig  # every figure is written through it, however its module imported the helpers

    def savefig(fig, fname, *args, **kwargs):
        seen[Path(str(fname)).name] = [t.get_text() for t in fig.findobj(Text) if t.get_visible() and t.get_text()]
        return original(fig, fname, *args, **kwargs)

    # As in a fresh process (a figure worker): the CJK font not yet set up, so a figure made before it is, whose
    # title and axis labels would keep the default font and draw boxes, shows here as missing glyphs.
    import matplotlib

    plotting._cjk.clear()
    matplotlib.rcParams["font.family"] = ["sans-serif"]
    glyphs = MissingGlyphs()
    logging.getLogger("matplotlib").addHandler(glyphs)
    try:
        with pytest.MonkeyPatch.context() as mp, i18n.using("zh"), warnings.catch_warnings(record=True) as caught:
            mp.setattr(Figure, "savefig", savefig)
            mp.setattr(figure_pool, "active", lambda: None)  # drawn here, where save() is watched
            warnings.simplefilter("always")
            outcome = execute(Request(command, {"seed": 0}, quick=True, out=out), report=False)
    finally:
        logging.getLogger("matplotlib").removeHandler(glyphs)
    missing = glyphs.messages + [str(w.message) for w in caught if "Glyph" in str(w.message)]
    return outcome.summary, seen, missing


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_claim_and_check_of_a_run_reads_in_chinese(command, chinese_runs):
    summary, _, _ = chinese_runs(command)
    records = (summary.get("claims") or []) + (summary.get("checks") or [])
    assert records, f"{command}: no claims"
    for record in records:
        assert i18n.share_cjk(record["claim_zh"]) > 0.3, (record["id"], record["claim_zh"])
        if not record["holds"]:
            assert i18n.share_cjk(record["reason_zh"]) > 0.2, (record["id"], record["reason_zh"])


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_figure_has_a_chinese_caption_and_no_english_word_or_missing_glyph(command, chinese_runs):
    from nnlab.core.command import load

    _, figures, missing = chinese_runs(command)
    module = load(command).plots_module()
    assert set(module.CAPTIONS_ZH) == set(module.CAPTIONS)
    for name, text in module.CAPTIONS_ZH.items():
        assert i18n.share_cjk(text) > 0.5, (name, text)
    assert figures, f"{command}: no figure drawn"
    assert missing == [], missing
    allowed = allowed_terms(command)
    untranslated = {name: words for name, texts in figures.items()
                    if (words := sorted({w for t in texts for w in english_words(t, allowed)}))}
    assert untranslated == {}, untranslated


@pytest.mark.parametrize("command", list(COMMANDS))
def test_the_result_table_has_chinese_headers_and_english_ones_by_default(command, chinese_runs):
    from nnlab.core.command import load

    summary, _, _ = chinese_runs(command)
    spec = load(command)
    with i18n.using("zh"):
        columns, _ = spec.headline(summary)
    allowed = allowed_terms(command)
    assert [c for c in columns if english_words(str(c), allowed)] == [], columns
    with i18n.using("en"):
        columns, _ = spec.headline(summary)
    assert not any(i18n.CJK.search(str(c)) for c in columns), columns


def test_the_language_comes_from_the_option_then_the_environment_then_the_locale(monkeypatch):
    for variable in ("NNLAB_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(variable, raising=False)
    assert i18n.resolve() == "en"
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert i18n.resolve() == "zh"
    monkeypatch.setenv("LC_ALL", "C.UTF-8")  # LC_ALL wins over LANG
    assert i18n.resolve() == "en"
    monkeypatch.setenv("NNLAB_LANG", "zh")
    assert i18n.resolve() == "zh"
    assert i18n.resolve("en") == "en"
    with pytest.raises(ValueError, match="language"):
        i18n.resolve("fr")
    with i18n.using("en"):
        assert i18n.tr("claims", "说法") == "claims"
    assert i18n.tr("claims", "说法") == "说法"


def test_a_command_run_with_lang_zh_prints_its_table_and_claims_in_chinese_and_english_otherwise(invoke,
                                                                                                 monkeypatch):
    result = invoke("activations", "--quick", "--lang", "zh")
    assert result.exit_code == 0, result.stderr
    summary = result.summary("activations")
    assert "说法" in result.output and "合理性检验" in result.output and "状态" in result.output
    words = "".join(i18n.CJK.findall(result.output))
    for record in summary["claims"] + summary["checks"]:  # each one's Chinese, folded into the table's lines
        assert "".join(i18n.CJK.findall(record["claim_zh"]))[:4] in words, record["claim_zh"]
    meta = json.loads((result.runs("activations")[0] / "meta.json").read_text())
    assert meta["lang"] == "zh"  # the language its figures were drawn in
    monkeypatch.setenv("NNLAB_LANG", "en")  # --lang zh set it for this process, as for a real command's
    english = invoke("activations", "--quick")
    assert english.exit_code == 0, english.stderr
    assert "Claims" in english.output and "说法" not in english.output
    assert json.loads((english.runs("activations")[-1] / "meta.json").read_text())["lang"] == "en"


def test_without_a_cjk_font_figures_keep_english_labels_and_one_warning_says_so(monkeypatch, capsys):
    from matplotlib import font_manager

    from nnlab.core import plotting

    monkeypatch.setattr(plotting, "_cjk", {})
    monkeypatch.setattr(plotting, "_find_cjk", lambda fm: None)
    monkeypatch.setattr(font_manager, "findSystemFonts", lambda *a, **k: [])
    monkeypatch.delenv(plotting.NO_CJK_ENV, raising=False)
    with i18n.using("zh"):
        assert plotting.label("depth", "深度") == "depth"
        assert plotting.label("layer", "层") == "layer"
        assert i18n.tr("depth", "深度") == "深度"  # text is not drawn: it stays Chinese
    warned = capsys.readouterr().err
    assert warned.count("no Chinese (CJK) font") == 1 and "fonts-noto-cjk" in warned
    monkeypatch.setattr(plotting, "_cjk", {})  # a figure worker started by that process: warned already
    with i18n.using("zh"):
        assert plotting.label("depth", "深度") == "depth"
    assert "CJK" not in capsys.readouterr().err


def test_the_exercise_list_reads_in_chinese(invoke, monkeypatch):
    from nnlab.exercise import catalog

    first = catalog.section_exercises("init")[0]
    result = invoke("exercise", "init", "--list", "--lang", "zh")
    assert result.exit_code == 0, result.stderr
    assert "道练习" in result.output and "问题" in result.output
    assert "".join(i18n.CJK.findall(first.question_zh))[:6] in "".join(i18n.CJK.findall(result.output))
    monkeypatch.setenv("NNLAB_LANG", "en")
    english = invoke("exercise", "init", "--list")
    assert "exercises" in english.output and "道练习" not in english.output
