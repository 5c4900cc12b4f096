"""report.html: one self-contained page (figures as data URIs, CSS inline, no script, no font or
anything else fetched), readable from a USB stick and printable (figures never split across pages)."""

from __future__ import annotations

import base64
from html import escape
from typing import Any

from nnlab.core import run_files
from nnlab.core.console import failure, fmt
from nnlab.report import exercises
from nnlab.report.model import SUBTITLE, Entry, Report, format_seconds, relative_link
from nnlab.report.sections import Section, caption

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


def table(columns: list[str], rows: list[list[Any]], *, raw: tuple[int, ...] = ()) -> str:
    """Rows of values (formatted with console.fmt); columns in `raw` hold ready HTML."""
    head = "".join(f"<th>{escape(str(c))}</th>" for c in columns)
    body = []
    for row in rows:
        cells = []
        for i, value in enumerate(row):
            if i in raw:
                cells.append(f"<td>{value}</td>")
            else:
                num = isinstance(value, (int, float)) and not isinstance(value, bool)
                cells.append(f'<td{" class=num" if num else ""}>{escape(fmt(value))}</td>')
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
        rows.append([f'<a href="#{anchor(sec)}">{escape(sec.title)}</a>', escape(sec.command),
                     f'<span class="status-{escape(status)}">{escape(status)}</span>',
                     held(k["lecture"]), held(k["nnlab"]), held(k["checks"]), escape(format_seconds(time))])
    parts = [
        '<section id="overview"><h2>Overview</h2>',
        f'<p class="verdict">{held(c["lecture"])} of the lecture\'s claims held'
        f' · {held(c["nnlab"])} of nnlab\'s own claims · {held(c["checks"])} sanity checks'
        f" · {report.finished()}</p>",
        table(["section", "command", "status", "lecture claims", "nnlab claims", "checks", "time"], rows,
              raw=(0, 1, 2, 3, 4, 5, 6)),
        *(f'<p class="bad">{escape(n)}</p>' for n in report.notes),
        table(["about this report", ""], [[k, v] for k, v in report.environment()]),
        "</section>",
    ]
    return "\n".join(parts)


def anchor(sec: Section) -> str:
    return f"section-{sec.command}"


def says(sec: Section) -> str:
    label = "the lecture, quoted" if sec.how == "quoted" else "the lecture, paraphrased"
    zh = f'<span class="zh" lang="zh">{escape(sec.zh)}</span>' if sec.zh else ""
    quote = f'<blockquote class="says">{escape(sec.says)} <span class="muted">({label})</span>{zh}</blockquote>'
    if not sec.formulas:
        return quote
    from nnlab.core.formulas import mathml

    return quote + '<div class="formulas">' + "".join(mathml(f) for f in sec.formulas) + "</div>"


def claims_table(records: list[dict[str, Any]], with_source: bool) -> str:
    columns = ["id", "claim", *(["source"] if with_source else []), "measured", "expected", "holds"]
    rows = [[escape(r.get("id", "")), escape(str(r.get("claim", ""))) + why_html(r),
             *([escape(str(r.get("source", "")))] if with_source else []),
             escape(fmt(r.get("measured"))), escape(str(r.get("expected", ""))), mark(bool(r.get("holds")))]
            for r in records]
    return table(columns, rows, raw=tuple(range(len(columns))))


def why_html(record: dict[str, Any]) -> str:
    """A failed claim's reason and the setting to try, under its text."""
    why = failure(record)
    return f'<br><span class="why">{escape(why)}</span>' if why else ""


def figure(entry: Entry, path) -> str:
    try:
        data = base64.b64encode(run_files.read_bytes(entry.path, path, run_files.PNG_CAP)).decode("ascii")
    except run_files.Refused as exc:
        return f'<p class="error">figure not embedded: {escape(str(exc))}</p>'
    text = caption(entry.command, path.name)
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{escape(text)}">'
            f"<figcaption>{escape(text)} <span class=\"muted\">({escape(path.name)})</span></figcaption></figure>")


def run_block(report: Report, entry: Entry) -> str:
    where = (f'<a href="{escape(relative_link(entry.path, report.out_dir))}/">{escape(str(entry.path))}</a>'
             if entry.path else "no run directory (it failed before one was made)")
    parts = [f'<div class="run" data-command="{escape(entry.command)}" data-status="{escape(entry.status)}">',
             f'<p>status <span class="status-{escape(entry.status)}">{escape(entry.status)}</span>'
             f" · {escape(format_seconds(entry.elapsed_s))} · run directory <code>{where}</code></p>"]
    if entry.error:
        parts.append(f'<p class="error">{escape(entry.error)}</p>')
    parts += [figure(entry, p) for p in entry.figures]
    headline = entry.headline()
    parts.append("<h3>Headline</h3>")
    parts.append(f'<p class="muted">{escape(headline)}</p>' if isinstance(headline, str) else table(*headline))
    parts.append("<h3>Claims</h3>")
    parts.append(claims_table(entry.claims, True) if entry.claims else '<p class="muted">no claims recorded</p>')
    if entry.checks:
        parts += ["<h3>Sanity checks <small class=\"muted\">(identities, not claims)</small></h3>",
                  claims_table(entry.checks, False)]
    parts.append("</div>")
    return "\n".join(parts)


def render(report: Report) -> str:
    body = [f"<header><h1>{escape(report.title)}</h1>",
            f'<p class="muted">{escape(SUBTITLE)}</p></header>',
            overview(report)]
    for n, (sec, entries) in enumerate(report.sections(), 1):
        title_zh = f" <small lang=\"zh\">{escape(sec.title_zh)}</small>" if sec.title_zh else ""
        body.append(f'<section class="lecture-section" id="{anchor(sec)}" data-command="{escape(sec.command)}">')
        body.append(f"<h2>{n}. {escape(sec.title)}{title_zh} <small>· nnlab {escape(sec.command)}</small></h2>")
        body.append(says(sec))
        if report.edition == "student":  # predict before looking at the results
            body.append(exercises.html_block(report, sec.command))
        for i, entry in enumerate(entries):
            if len(entries) > 1:
                body.append(f"<h3>Run {i + 1} of {len(entries)}</h3>")
            body.append(run_block(report, entry))
        if report.edition == "instructor":
            body.append(exercises.html_block(report, sec.command))
        body.append("</section>")
    if report.edition == "instructor":
        body.append(exercises.html_key(report))
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(report.title)}</title><style>{CSS}{exercises.CSS if report.edition else ''}</style>"
            "</head>\n<body>\n"
            + "\n".join(body) + "\n</body></html>\n")
