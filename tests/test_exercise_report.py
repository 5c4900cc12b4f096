"""The exercises in the lecture's report: student edition (exercises before the results, answers behind a
<details> reveal), instructor edition (answers inline after the results, a grading key), and the default report
unchanged by either."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from nnlab.cli import cli
from nnlab.exercise import catalog
from nnlab.exercise.edition import measure_sections
from nnlab.report import html, markdown
from nnlab.report.model import Report, read_entry


@pytest.fixture(scope="module")
def backprop_report(tmp_path_factory):
    """A report of one quick backprop run (no figures) and the views of backprop's exercises, measured."""
    import nnlab

    out = tmp_path_factory.mktemp("report")
    run = nnlab.run("backprop", quick=True, plots=False, out=out, set=["cost=false"])
    views = measure_sections(["backprop"], out)

    def make(edition=None, with_views=True):
        return Report("nnlab lecture --quick", [read_entry(run.path)], out, edition=edition,
                      exercises=views if with_views else {}, created="2026-01-01T00:00:00+00:00")

    return make


def test_without_an_edition_the_report_is_byte_for_byte_the_plain_one(backprop_report):
    plain, carrying = backprop_report(with_views=False), backprop_report(edition=None)
    assert html.render(carrying) == html.render(plain)
    assert markdown.render(carrying) == markdown.render(plain)
    assert "exercise" not in html.render(plain) and "<details>" not in html.render(plain)


def test_the_student_edition_asks_before_the_results_and_hides_the_answers(backprop_report):
    page = html.render(backprop_report("student"))
    section = page[page.index('id="section-backprop"'):]
    assert section.index('class="exercises"') < section.index('class="run"')  # predict, then look
    ids = [e.id for e in catalog.section_exercises("backprop")]
    for eid in ids:
        item = section[section.index(f'id="exercise-{eid}"'):]
        item = item[:item.index("</li>")]
        answer = item[item.index("<summary>Answer"):]
        assert "</details>" in answer and "<b>Answer</b>" in answer  # the answer only inside the reveal
        assert "<b>Answer</b>" not in item[:item.index("<summary>Answer")]
    assert "192" in page and "exercises/backprop/" in page  # the student's own measured value, and its run
    assert "<script" not in page and "grading-key" not in page
    md = markdown.render(backprop_report("student"))
    assert md.index("Exercises: predict, then look") < md.index("#### Headline")


def test_the_instructor_edition_shows_answers_tolerances_and_a_grading_key(backprop_report):
    page = html.render(backprop_report("instructor"))
    section = page[page.index('id="section-backprop"'):page.index('id="grading-key"')]
    assert section.index('class="run"') < section.index('class="exercises"')  # the default report, plus
    assert "<summary>Answer" not in section and "tolerance: exact arithmetic" in section
    key = page[page.index('id="grading-key"'):]
    rows = re.findall(r'<tr><td><a href="#exercise-([^"]+)"', key)
    assert rows == [e.id for e in catalog.section_exercises("backprop")]
    assert "192 (tolerance: ± 1e-06 + ± 1e-06 x |answer|)" in key
    assert "## Grading key" in markdown.render(backprop_report("instructor"))


@pytest.mark.slow
def test_nnlab_lecture_edition_student_writes_the_exercises_into_the_report(tmp_path):
    result = CliRunner().invoke(cli, ["lecture", "--quick", "--only", "backprop", "--edition", "student",
                                      "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    [directory] = [d for d in (tmp_path / "lecture").iterdir() if not d.is_symlink()]
    page = (directory / "report.html").read_text()
    assert page.count('<li id="exercise-backprop.') == len(catalog.section_exercises("backprop"))
    assert (directory / "exercises" / "backprop").is_dir()
    refused = CliRunner().invoke(cli, ["lecture", "--edition", "teacher", "--out", str(tmp_path)])
    assert refused.exit_code == 2 and "teacher" in refused.stderr
