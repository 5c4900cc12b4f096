"""Reports over runs: report.html (self-contained) and report.md (relative image links) from one Report.

    from nnlab.report import Report, read_entry, write
    write(Report("My runs", [read_entry(p) for p in paths], out_dir))
"""

from __future__ import annotations

import os
from pathlib import Path

from nnlab.core.errors import UserError
from nnlab.report.model import Entry, Report, find_runs, read_entries, read_entry

CLAIM = ".nnlab-report"  # marks an existing empty --out directory as taken, until the report is in it


def write(report: Report) -> tuple[Path, Path]:
    """Write report.html and report.md into report.out_dir (atomically); return their paths. Both are rendered
    before either is written, so a renderer that fails leaves no half of a report."""
    from nnlab.core import atomic
    from nnlab.report import html, markdown

    report.out_dir.mkdir(parents=True, exist_ok=True)
    html_text, md_text = html.render(report), markdown.render(report)
    html_path, md_path = report.out_dir / "report.html", report.out_dir / "report.md"
    atomic.write_text(md_path, md_text)
    atomic.write_text(html_path, html_text)
    (report.out_dir / CLAIM).unlink(missing_ok=True)
    return html_path, md_path


def claim_out_dir(out_dir: Path) -> Path:
    """Take `out_dir` for one report, exclusively, as a run directory is taken: created with mkdir, or, when
    it exists and is empty, claimed with an O_EXCL marker file (of two reports, only one creates it). Any
    other existing directory, or one already claimed, is refused: four concurrent reports never share one."""
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        out_dir.mkdir()
        (out_dir / CLAIM).touch()  # so a second report finds it taken, not empty
        return out_dir
    except FileExistsError:
        pass
    except OSError as exc:
        raise UserError(f"--out: cannot create {out_dir}: {exc.strerror or exc}") from None
    if not out_dir.is_dir() or out_dir.is_symlink():
        raise UserError(f"--out: {out_dir} already exists and is not a directory of its own; give a new one")
    if any(out_dir.iterdir()):
        raise UserError(f"--out: {out_dir} already holds files; give a new or empty directory")
    try:
        os.close(os.open(out_dir / CLAIM, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    except FileExistsError:
        raise UserError(f"--out: {out_dir} is already taken by another report; give a new directory") from None
    except OSError as exc:
        raise UserError(f"--out: cannot write into {out_dir}: {exc.strerror or exc}") from None
    if sorted(p.name for p in out_dir.iterdir()) != [CLAIM]:  # something came in between the look and the claim
        (out_dir / CLAIM).unlink(missing_ok=True)
        raise UserError(f"--out: {out_dir} already holds files; give a new or empty directory")
    return out_dir


__all__ = ["Entry", "Report", "claim_out_dir", "find_runs", "read_entries", "read_entry", "write"]
