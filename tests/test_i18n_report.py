"""The lecture in Chinese, for real (issue 27's must-show): `nnlab lecture --quick --lang zh --edition student`
writes a report that renders in headless Chromium with every figure decoded, nothing fetched, the embedded
Chinese glyphs loaded, and text that is mostly Chinese; the terminal speaks Chinese too; the English default of
the same runs is unchanged. Needs a CJK font (CI installs fonts-noto-cjk) and Chromium (CI installs it)."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from test_lecture import lecture_dir, open_in_browser

from nnlab.core import i18n

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def chinese_lecture(tmp_path_factory):
    from test_i18n import cjk_font_or_skip

    from nnlab.cli import cli

    cjk_font_or_skip()
    out = tmp_path_factory.mktemp("zh")
    with pytest.MonkeyPatch.context() as mp:  # undone after: --lang sets NNLAB_LANG for this whole process
        mp.setenv("NNLAB_LANG", "en")  # --lang decides, not the environment
        result = CliRunner().invoke(cli, ["lecture", "--quick", "--lang", "zh", "--edition", "student",
                                          "--out", str(out)])
    assert result.exit_code == 0, (result.stderr, result.exception)
    return result, lecture_dir(out)


def test_the_chinese_student_report_renders_mostly_chinese_with_its_font_embedded(chinese_lecture, tmp_path):
    from nnlab.registry import COMMANDS

    result, parent = chinese_lecture
    page = (parent / "report.html").read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in page and 'src: url(data:font/woff2;base64,' in page
    for outside in ("http:", "https:", "<link", "@import", 'src="/', 'src="file'):
        assert outside not in page, outside  # the font is in the page: nothing to fetch
    seen = open_in_browser(parent / "report.html", tmp_path)
    assert seen["images"] and all(w > 0 for w in seen["images"]), seen["images"]
    assert seen["problems"] == [] and seen["requests"] == [], (seen["problems"], seen["requests"])
    assert seen["sections"] == list(COMMANDS)
    assert "nnlab-zh" in seen["bodyFont"], seen["bodyFont"]  # the page's text is set in the embedded face
    # The prose a student reads: the page less what reads the same in any language (translate="no": claim ids,
    # measured values, the tables' numbers; code: paths, settings; math: the lecture's formulas).
    share = i18n.share_cjk(seen["prose"])
    assert share > 0.5, f"only {share:.0%} of the letters of the page's prose are Chinese"
    assert i18n.share_cjk(seen["text"]) > 0.3  # and of all its text
    assert "<details><summary>答案：在你的机器上测得</summary>" in page  # the student edition's reveals
    assert "成立的说法：讲义" in result.output  # the terminal's closing line


def test_the_embedded_font_holds_the_pages_glyphs_and_weighs_little(chinese_lecture):
    import base64
    import io

    from fontTools.ttLib import TTFont

    _, parent = chinese_lecture
    page = (parent / "report.html").read_text(encoding="utf-8")
    data = base64.b64decode(re.search(r"data:font/woff2;base64,([A-Za-z0-9+/=]+)", page).group(1))
    font = TTFont(io.BytesIO(data))
    cmap = font.getBestCmap()
    used = set(i18n.CJK.findall(re.sub(r"data:[^)\"']+", "", page)))
    assert {c for c in used if ord(c) not in cmap} == set()  # every Chinese character of the page has its glyph
    assert len(data) < 1.5 * 2**20  # the whole Noto Sans CJK face is about 16 MB


def test_the_same_runs_report_in_english_by_default(chinese_lecture, invoke, tmp_path):
    _, parent = chinese_lecture
    result = invoke("report", str(parent), "--out", str(tmp_path / "en"))
    assert result.exit_code == 0, result.stderr
    page = (tmp_path / "en" / "report.html").read_text(encoding="utf-8")
    assert '<html lang="en">' in page and "font/woff2" not in page
    assert "of the lecture's claims held" in page
    assert i18n.share_cjk(re.sub(r"<[^>]+>", " ", page)) < 0.2  # the lecture's quotes, not the page
