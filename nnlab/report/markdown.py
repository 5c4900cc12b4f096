"""report.md: the same content as report.html in GitHub-flavoured Markdown, for a code host.

Images are relative links. A run inside the report's directory (a lecture) is linked where it is; the
figures of a run elsewhere are copied into `figures/` first, so the report directory stands alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nnlab.core import atomic, run_files
from nnlab.core.console import failure, fmt
from nnlab.core.i18n import current, field, tr
from nnlab.report import exercises
from nnlab.report.model import SUBTITLE, SUBTITLE_ZH, Entry, Report, format_seconds, relative_link
from nnlab.report.sections import caption
from nnlab.report.words import CLAIM_COLUMNS, SECTIONS_COLUMNS, columns, heading, run_of, source, status_word, word


def cell(value: Any) -> str:
    text = value if isinstance(value, str) else fmt(value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def table(columns: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(cell(c) for c in columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def held(counts: tuple[int, int]) -> str:
    n, total = counts
    return "—" if not total else f"{n}/{total}"


def claims_table(records: list[dict[str, Any]], with_source: bool) -> str:
    heads = ["id", *columns(CLAIM_COLUMNS, without=() if with_source else ("source",))]
    rows = [[f"`{r.get('id', '')}`", str(field(r, "claim") or "") + (f" — *{why}*" if (why := failure(r)) else ""),
             *([source(r.get("source"))] if with_source else []),
             fmt(r.get("measured")), str(r.get("expected", "")), "✓" if r.get("holds") else "✗"] for r in records]
    return table(heads, rows)


def inside(path: Path, base: Path) -> bool:
    return path.resolve().is_relative_to(base.resolve())


def figure_link(report: Report, entry: Entry, path: Path) -> str:
    if not inside(path, report.out_dir):
        copy = report.out_dir / "figures" / f"{entry.command}-{entry.path.name}" / path.name
        copy.parent.mkdir(parents=True, exist_ok=True)
        data = run_files.read_bytes(entry.path, path, run_files.PNG_CAP)  # the run's own file, never a link
        with atomic.atomic_path(copy) as tmp:
            tmp.write_bytes(data)
        path = copy
    return relative_link(path, report.out_dir)


def overview(report: Report) -> list[str]:
    c = report.counts()
    rows = []
    for sec, entries in report.sections():
        k = report.counts(entries)
        rows.append([heading(sec), f"`{sec.command}`", ", ".join(dict.fromkeys(status_word(e.status) for e in entries)),
                     held(k["lecture"]), held(k["nnlab"]), held(k["checks"]),
                     format_seconds(sum(e.elapsed_s or 0.0 for e in entries))])
    verdict = tr(f"**{held(c['lecture'])} of the lecture's claims held** · {held(c['nnlab'])} of nnlab's own claims · "
                 f"{held(c['checks'])} sanity checks · {report.finished()}",
                 f"**讲义的说法成立 {held(c['lecture'])}** · nnlab 的补充说法 {held(c['nnlab'])} · "
                 f"合理性检验 {held(c['checks'])} · {report.finished()}")
    return [
        f"## {word('overview')}", "", verdict, "",
        table(columns(SECTIONS_COLUMNS), rows), "",
        *[f"**{n}**\n" for n in report.notes],
        table([word("about"), ""], [[k, v] for k, v in report.environment()]), "",
    ]



def run_block(report: Report, entry: Entry) -> list[str]:
    where = (f"[`{entry.path.name}`]({relative_link(entry.path, report.out_dir)}/)" if entry.path
             else word("no run directory"))
    lines = [f"{word('status')} **{status_word(entry.status)}** · {format_seconds(entry.elapsed_s)} · "
             f"{word('run directory')} {where}", ""]
    if entry.error:
        lines += ["```text", entry.error, "```", ""]
    for path in entry.figures:
        text = caption(entry.command, path.name)
        lines += [f"![{text}]({figure_link(report, entry, path)})", "", f"*{text}* ({path.name})", ""]
    headline = entry.headline()
    lines += [f"#### {word('headline')}", "", f"*{headline}*" if isinstance(headline, str) else table(*headline), ""]
    lines += [f"#### {word('claims')}", "",
              claims_table(entry.claims, True) if entry.claims else f"*{word('no claims')}*", ""]
    if entry.checks:
        lines += [f"#### {word('checks')} {word('identities')}", "", claims_table(entry.checks, False), ""]
    return lines


def render(report: Report) -> str:
    zh = current() == "zh"
    lines = [f"# {report.title}", "", tr(SUBTITLE, SUBTITLE_ZH), ""]
    lines += overview(report)
    for n, (sec, entries) in enumerate(report.sections(), 1):
        title_zh = f" ({sec.title_zh})" if sec.title_zh and not zh else ""
        lines += [f'<a id="{sec.command}"></a>', "", f"## {n}. {heading(sec)}{title_zh} · `nnlab {sec.command}`", ""]
        label = word("quoted" if sec.how == "quoted" else "paraphrased")
        if zh and sec.zh:
            lines += [f"> {sec.zh} *（{label}）*", ""]
        else:
            lines += [f"> {sec.says} *({label})*", ">", f"> {sec.zh}" if sec.zh else ">", ""]
        lines += [line for f in sec.formulas for line in (f"$${f}$$", "")]  # the lecture's LaTeX, rendered by hosts
        if report.edition == "student":
            lines += exercises.md_block(report, sec.command)
        for i, entry in enumerate(entries):
            if len(entries) > 1:
                lines += [f"### {run_of(i + 1, len(entries))}", ""]
            lines += run_block(report, entry)
        if report.edition == "instructor":
            lines += exercises.md_block(report, sec.command)
    if report.edition == "instructor":
        lines += exercises.md_key(report)
    return "\n".join(lines).rstrip() + "\n"
