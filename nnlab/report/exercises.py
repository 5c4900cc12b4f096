"""The exercises in the lecture's report: `nnlab lecture --edition student|instructor`.

The student edition puts each section's exercises before its results, each answer (the value measured on the
student's own machine, the tolerance, the explanation) behind a <details> reveal, which needs no script. The
instructor edition is the default report with the exercises, answers, tolerances and explanations inline after
each section's results, and a grading key at the end. Without an edition the report holds none of this.

Report.exercises maps a command to plain dicts (nnlab.exercise.edition.views builds them): id, question,
question_zh, hint, hint_zh, explanation, explanation_zh, asked (what form the answer takes), measured (text),
tolerance, tolerance_note, settings, run (a path relative to the report), error.
"""

from __future__ import annotations

from html import escape
from typing import Any

from nnlab.core.i18n import current, tr
from nnlab.report.model import Report

EDITIONS = ("student", "instructor")

CSS = """
.exercises { border: 1px solid var(--line); border-radius: 6px; padding: 0.4rem 1rem; margin: 1rem 0; }
.exercises li { margin: 0.6rem 0; } .exercises .zh { color: var(--muted); }
details { margin: 0.3rem 0; } summary { cursor: pointer; color: #0969da; }
.answer { background: #f6f8fa; padding: 0.3rem 0.6rem; }
"""


def answer_text(x: dict[str, Any]) -> str:
    if x.get("error"):
        return tr("not measured", "未测量") + f": {x['error']}"
    return tr(f"{x['measured']} (tolerance: {x['tolerance']})", f"{x['measured']}（容差：{x['tolerance']}）")


def run_link(x: dict[str, Any]) -> str:
    if not x.get("run"):
        return ""
    settings = escape(" ".join(x["settings"]) or tr("defaults", "默认设置"))
    return f' · {tr("measured by", "测量自")} <a href="{escape(x["run"])}/"><code>{settings}</code></a>'


def html_item(x: dict[str, Any], reveal: bool) -> str:
    """One exercise: in English with its Chinese beside it, in Chinese alone."""
    zh = current() == "zh"

    def both(key: str) -> str:
        if zh:
            return f'<p lang="zh">{escape(x[key + "_zh"])}</p>'
        return f'<p>{escape(x[key])}</p><p class="zh" lang="zh">{escape(x[key + "_zh"])}</p>'

    answer = (f'<p class="answer"><b>{tr("Answer", "答案")}</b>: {escape(answer_text(x))}{run_link(x)}</p>'
              + both("explanation"))
    if reveal:
        answer = (f"<details><summary>{tr('Answer, measured on your machine', '答案：在你的机器上测得')}</summary>"
                  f"{answer}</details>")
    else:
        answer += f'<p class="muted">{tr("tolerance", "容差")}: {escape(x["tolerance_note"] or x["tolerance"])}</p>'
    question = (f'<p lang="zh"><b>{escape(x["question_zh"])}</b> ' if zh else f'<p><b>{escape(x["question"])}</b> ')
    return (f'<li id="exercise-{escape(x["id"])}">{question}'
            f'<span class="muted" translate="no">({escape(x["id"])})</span></p>'
            + ("" if zh else f'<p class="zh" lang="zh">{escape(x["question_zh"])}</p>')
            + f'<p class="muted">{tr("answer with", "回答：")} {escape(x["asked"])}</p>'
            f'<details><summary>{tr("Hint", "提示")}</summary>{both("hint")}</details>{answer}</li>')


def html_block(report: Report, command: str) -> str:
    """One section's exercises ('' when it has none)."""
    items = report.exercises.get(command) or []
    if not items:
        return ""
    student = report.edition == "student"
    title = (tr("Exercises: predict, then look", "练习：先预测，再看结果") if student else
             tr("Exercises, with their answers", "练习及答案"))
    body = "".join(html_item(x, reveal=student) for x in items)
    return f'<div class="exercises"><h3>{title}</h3><ol>{body}</ol></div>'


def html_key(report: Report) -> str:
    """The instructor's grading key: every exercise's measured answer and tolerance, in one table."""
    rows = [x for items in report.exercises.values() for x in items]
    if not rows:
        return ""
    body = "".join(f'<tr><td><a href="#exercise-{escape(x["id"])}">{escape(x["id"])}</a></td>'
                   f'<td>{escape(answer_text(x))}</td><td>{escape(" ".join(x["settings"]))}</td></tr>'
                   for x in rows)
    return ('<section id="grading-key"><h2>Grading key</h2><p class="muted">Grade a class\'s answer files against '
            "these measurements: <code>nnlab exercise --grade ANSWERS... --against EXERCISE_DIR</code></p>"
            f"<table><thead><tr><th>exercise</th><th>answer</th><th>run settings</th></tr></thead>"
            f"<tbody>{body}</tbody></table></section>")


def md_block(report: Report, command: str) -> list[str]:
    items = report.exercises.get(command) or []
    if not items:
        return []
    student = report.edition == "student"
    zh = current() == "zh"
    lines = ["#### " + (tr("Exercises: predict, then look", "练习：先预测，再看结果") if student else
                        tr("Exercises, with their answers", "练习及答案")), ""]
    for n, x in enumerate(items, 1):
        if zh:
            lines += [f"{n}. **{x['question_zh']}** (`{x['id']}`)", "", f"   *回答：{x['asked']}*", "",
                      f"   <details><summary>提示</summary>{escape(x['hint_zh'])}</details>", ""]
            answer = f"**答案**：{answer_text(x)}。{x['explanation_zh']}"
        else:
            lines += [f"{n}. **{x['question']}** (`{x['id']}`)", "", f"   {x['question_zh']}", "",
                      f"   *answer with {x['asked']}*", "",
                      f"   <details><summary>Hint</summary>{escape(x['hint'])} {escape(x['hint_zh'])}</details>", ""]
            answer = f"**Answer**: {answer_text(x)}. {x['explanation']} {x['explanation_zh']}"
        if student:
            reveal = tr("Answer, measured on your machine", "答案：在你的机器上测得")
            lines += [f"   <details><summary>{reveal}</summary>{escape(answer)}</details>", ""]
        else:
            tolerance = x["tolerance_note"] or x["tolerance"]
            lines += [f"   {answer}", "", f"   *{tr('tolerance', '容差')}: {tolerance}*", ""]
    return lines


def md_key(report: Report) -> list[str]:
    rows = [x for items in report.exercises.values() for x in items]
    if not rows:
        return []
    lines = ["## Grading key", "", "| exercise | answer | run settings |", "|---|---|---|"]
    lines += [f"| `{x['id']}` | {answer_text(x).replace('|', '/')} | {' '.join(x['settings'])} |" for x in rows]
    return ["", *lines]


__all__ = ["CSS", "EDITIONS", "html_block", "html_key", "md_block", "md_key"]
