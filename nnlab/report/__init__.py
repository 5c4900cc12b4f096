"""Reports over runs: report.html (self-contained) and report.md (relative image links) from one Report.

    from nnlab.report import Report, read_entry, write
    write(Report("My runs", [read_entry(p) for p in paths], out_dir))
"""

from __future__ import annotations

from pathlib import Path

from nnlab.report.model import Entry, Report, find_runs, read_entry


def write(report: Report) -> tuple[Path, Path]:
    """Write report.html and report.md into report.out_dir (atomically); return their paths."""
    from nnlab.core import atomic
    from nnlab.report import html, markdown

    report.out_dir.mkdir(parents=True, exist_ok=True)
    html_path, md_path = report.out_dir / "report.html", report.out_dir / "report.md"
    atomic.write_text(md_path, markdown.render(report))
    atomic.write_text(html_path, html.render(report))
    return html_path, md_path


__all__ = ["Entry", "Report", "find_runs", "read_entry", "write"]
