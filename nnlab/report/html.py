"""report.html: one self-contained page (figures as data URIs, CSS inline, no script, no font or
anything else fetched), readable from a USB stick and printable (figures never split across pages)."""

from __future__ import annotations

import base64
from html import escape
from typing import Any

from nnlab.core import run_files
from nnlab.core.console import failure, fmt
from nnlab.core.i18n import current, field, tr
from nnlab.report import exercises
from nnlab.report.model import SUBTITLE, SUBTITLE_ZH, Entry, Report, format_seconds, relative_link
from nnlab.report.sections import Section, caption
from nnlab.report.words import (
    CLAIM_COLUMNS,
    SECTIONS_COLUMNS,
    columns,
    heading,
    run_of,
    source,
    status_word,
    verdict,
    word,
)

CSS = """
:root { --ok: #1a7f37; --bad: #c62828; --muted: #5f6368; --line: #d0d7de; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", "Noto Sans", "Noto Sans CJK SC", sans-serif;
       max-width: 1100px; margin: 2rem auto; padding: 0 1rem; color: #1f2328; }
h1 { margin-bottom: 0.2rem; } h2 { border-bottom: 2px solid var(--line); padding-bottom: 0.2rem; margin-top: 2.5rem; }
h2 small, .muted { color: var(--muted); font-weight: normal; }
table { border-collapse: collapse; margin: 0.6rem 0 1rem; font-size: 0.9rem; width: 100%; }
th, td { border: 1px solid var(--line); padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.ok { color: var(--ok); font-weight: bold; } .bad { color: var(--bad); font-weight: bold; }
.status-failed, .status-interrupted, .status-running, .status-abandoned { color: var(--bad); font-weight: bold; }
.status-diverged { color: #b26a00; font-weight: bold; }
blockquote { margin: 0.8rem 0; padding: 0.4rem 0.9rem; border-left: 4px solid #8c959f; background: #f6f8fa; }
blockquote .zh { display: block; color: var(--muted); font-size: 0.9rem; }
.error { background: #fdecea; border: 1px solid var(--bad); padding: 0.5rem; white-space: pre-wrap; }
.why { color: var(--bad); font-size: 0.9em; }
.formulas { margin: 0.4rem 0 0.8rem; font-size: 1.1rem; overflow-x: auto; }
figure { margin: 1rem 0; text-align: center; break-inside: avoid; page-break-inside: avoid; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { color: var(--muted); font-size: 0.9rem; }
.verdict { font-size: 1.2rem; }
code { font-size: 0.85rem; word-break: break-all; }
@media print {
  body { margin: 0; max-width: none; font-size: 11pt; }
  @page { margin: 1.5cm; }  /* A4 and Letter alike: the page's own size, the same margins */
  h2 { break-before: page; break-after: avoid; page-break-after: avoid; } #overview h2 { break-before: avoid; }
  h3, h4, h5 { break-after: avoid; page-break-after: avoid; } tr, blockquote { break-inside: avoid; }
  thead { display: table-header-group; } p, li { orphans: 3; widows: 3; }
  table { break-before: avoid; } figure { break-inside: avoid; page-break-inside: avoid; }
  figure img { max-height: 22cm; } a { color: inherit; text-decoration: none; }
  th { background: none; } blockquote { background: none; }
}
"""


def mark(holds: bool) -> str:
    return '<span class="ok">✓</span>' if holds else '<span class="bad">✗</span>'


def table(columns: list[str], rows: list[list[Any]], *, raw: tuple[int, ...] = (), data: Any = ()) -> str:
    """Rows of values (formatted with console.fmt); columns in `raw` hold ready HTML; cells of columns in `data`
    hold identifiers and measured values, the same in every language (translate="no", the HTML attribute for
    text a translation leaves as it is)."""
    head = "".join(f"<th>{escape(str(c))}</th>" for c in columns)
    body = []
    for row in rows:
        cells = []
        for i, value in enumerate(row):
            keep = ' translate="no"' if i in data else ""
            if i in raw:
                cells.append(f"<td{keep}>{value}</td>")
            else:
                num = isinstance(value, (int, float)) and not isinstance(value, bool)
                cells.append(f'<td{" class=num" if num else ""}{keep}>{escape(fmt(value))}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def held(counts: tuple[int, int]) -> str:
    """"n/total", red when some did not hold."""
    n, total = counts
    return "—" if not total else f'<span class="{"ok" if n == total else "bad"}">{n}/{total}</span>'


def overview(report: Report) -> str:
    c = report.counts()
    rows = []
    for sec, entries in report.sections():
        k = report.counts(entries)
        status = ", ".join(dict.fromkeys(e.status for e in entries))
        time = sum(e.elapsed_s or 0.0 for e in entries)
        rows.append([f'<a href="#{anchor(sec)}">{escape(heading(sec))}</a>', escape(sec.command),
                     f'<span class="status-{escape(status)}">{escape(status_word(status))}</span>',
                     held(k["lecture"]), held(k["nnlab"]), held(k["checks"]), escape(format_seconds(time))])
    line = verdict(held(c["lecture"]), held(c["nnlab"]), held(c["checks"]), report.finished())
    parts = [
        f'<section id="overview"><h2>{word("overview")}</h2>',
        f'<p class="verdict">{line}</p>',
        table(columns(SECTIONS_COLUMNS), rows, raw=(0, 1, 2, 3, 4, 5, 6)),
        *(f'<p class="bad">{escape(n)}</p>' for n in report.notes),
        table([word("about"), ""], [[k, v] for k, v in report.environment()], data=(1,)),
        "</section>",
    ]
    return "\n".join(parts)


def anchor(sec: Section) -> str:
    return f"section-{sec.command}"


def says(sec: Section) -> str:
    """What the lecture says here: in Chinese its own words; in English their translation, then its words."""
    label = word("quoted" if sec.how == "quoted" else "paraphrased")
    if current() == "zh" and sec.zh:
        quote = (f'<blockquote class="says" lang="zh">{escape(sec.zh)} '
                 f'<span class="muted">（{label}）</span></blockquote>')
    else:
        zh = f'<span class="zh" lang="zh">{escape(sec.zh)}</span>' if sec.zh else ""
        quote = f'<blockquote class="says">{escape(sec.says)} <span class="muted">({label})</span>{zh}</blockquote>'
    if not sec.formulas:
        return quote
    from nnlab.core.formulas import mathml

    return quote + '<div class="formulas">' + "".join(mathml(f) for f in sec.formulas) + "</div>"


def claims_table(records: list[dict[str, Any]], with_source: bool) -> str:
    heads = ["id", *columns(CLAIM_COLUMNS, without=() if with_source else ("source",))]
    rows = [[escape(r.get("id", "")), escape(str(field(r, "claim") or "")) + why_html(r),
             *([escape(source(r.get("source")))] if with_source else []),
             escape(fmt(r.get("measured"))), escape(str(r.get("expected", ""))), mark(bool(r.get("holds")))]
            for r in records]
    return table(heads, rows, raw=tuple(range(len(heads))), data=(0, len(heads) - 3))  # the id, the measured


def why_html(record: dict[str, Any]) -> str:
    """A failed claim's reason and the setting to try, under its text."""
    why = failure(record)
    return f'<br><span class="why">{escape(why)}</span>' if why else ""


def figure(entry: Entry, path) -> str:
    try:
        data = base64.b64encode(run_files.read_bytes(entry.path, path, run_files.PNG_CAP)).decode("ascii")
    except run_files.Refused as exc:
        return f'<p class="error">{tr("figure not embedded", "图未嵌入")}: {escape(str(exc))}</p>'
    text = caption(entry.command, path.name)
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{escape(text)}">'
            f"<figcaption>{escape(text)} <span class=\"muted\">({escape(path.name)})</span></figcaption></figure>")


def run_block(report: Report, entry: Entry) -> str:
    where = (f'<a href="{escape(relative_link(entry.path, report.out_dir))}/">{escape(str(entry.path))}</a>'
             if entry.path else word("no run directory"))
    parts = [f'<div class="run" data-command="{escape(entry.command)}" data-status="{escape(entry.status)}">',
             f'<p>{word("status")} <span class="status-{escape(entry.status)}">'
             f"{escape(status_word(entry.status))}</span>"
             f" · {escape(format_seconds(entry.elapsed_s))} · {word('run directory')} "
             f"<code>{where}</code></p>"]
    if entry.error:
        parts.append(f'<p class="error">{escape(entry.error)}</p>')
    parts += [figure(entry, p) for p in entry.figures]
    headline = entry.headline()
    parts.append(f"<h3>{word('headline')}</h3>")
    parts.append(f'<p class="muted">{escape(headline)}</p>' if isinstance(headline, str) else
                 table(*headline, data=range(len(headline[0]))))  # translated headers over measured values
    parts.append(f"<h3>{word('claims')}</h3>")
    parts.append(claims_table(entry.claims, True) if entry.claims else f'<p class="muted">{word("no claims")}</p>')
    if entry.checks:
        parts += [f'<h3>{word("checks")} <small class="muted">{word("identities")}</small></h3>',
                  claims_table(entry.checks, False)]
    parts.append("</div>")
    return "\n".join(parts)


def render(report: Report) -> str:
    body = [f"<header><h1>{escape(report.title)}</h1>",
            f'<p class="muted">{escape(tr(SUBTITLE, SUBTITLE_ZH))}</p></header>',
            overview(report)]
    for n, (sec, entries) in enumerate(report.sections(), 1):
        title_zh = f" <small lang=\"zh\">{escape(sec.title_zh)}</small>" if sec.title_zh and current() != "zh" else ""
        body.append(f'<section class="lecture-section" id="{anchor(sec)}" data-command="{escape(sec.command)}">')
        body.append(f"<h2>{n}. {escape(heading(sec))}{title_zh} <small>· nnlab {escape(sec.command)}</small></h2>")
        body.append(says(sec))
        if report.edition == "student":  # predict before looking at the results
            body.append(exercises.html_block(report, sec.command))
        for i, entry in enumerate(entries):
            if len(entries) > 1:
                body.append(f"<h3>{run_of(i + 1, len(entries))}</h3>")
            body.append(run_block(report, entry))
        if report.edition == "instructor":
            body.append(exercises.html_block(report, sec.command))
        body.append("</section>")
    if report.edition == "instructor":
        body.append(exercises.html_key(report))
    page = "\n".join(body)
    title = escape(report.title)
    from nnlab.report.fonts import font_face  # the glyphs of a Chinese page, embedded (none for English)

    style = f"{CSS}{exercises.CSS if report.edition else ''}{font_face(page + title)}"  # the face's font list last
    return (f"<!doctype html>\n<html lang=\"{'zh-CN' if current() == 'zh' else 'en'}\"><head><meta charset=\"utf-8\">"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{title}</title><style>{style}</style></head>\n<body>\n{page}\n</body></html>\n")
