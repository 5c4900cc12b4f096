"""Fetch a file from a list of mirrors, verified before it is kept.

The bytes stream into `<dest>.partial` under a rich progress bar; `verify(partial)` (which raises
ValueError with the reason) decides whether it is the right file, and only then is it renamed onto
`dest`. A failed mirror is reported and the next one tried; when every mirror fails the error lists
each one's reason, so "no internet" reads as one clear line.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

from nnlab.core.errors import UserError

CHUNK = 1 << 16


class DownloadError(UserError):
    """Every mirror failed for one file."""


def fetch(url: str, partial: Path, timeout: float, label: str, max_bytes: int | None = None) -> None:
    """Stream `url` into `partial`; raise ValueError if the body is shorter than its Content-Length, or longer
    than `max_bytes` (an endless or wrong body stops there instead of filling the disk)."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    from nnlab.core.console import err

    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - http(s) mirrors only
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        progress = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                            console=err, transient=True, disable=not err.is_terminal)
        received = 0
        with progress, open(partial, "wb") as f:
            task = progress.add_task(f"downloading {label}", total=total)
            while chunk := response.read(CHUNK):
                received += len(chunk)
                if max_bytes is not None and received > max_bytes:
                    raise ValueError(f"more than {max_bytes} bytes, larger than the file can be")
                f.write(chunk)
                progress.advance(task, len(chunk))
    if total is not None and received != total:
        raise ValueError(f"truncated: got {received} of {total} bytes")


def download(name: str, dest: Path, mirrors: Sequence[str], verify: Callable[[Path], None],
             timeout: float = 30.0, max_bytes: int | None = None) -> Path:
    """Download `name` from the first mirror that serves a file passing `verify`; keep it at `dest`. A body
    longer than `max_bytes` is cut off and that mirror counted as failed."""
    if not mirrors:
        raise DownloadError(f"{name} is missing from {dest.parent} and no download mirror is configured")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"cannot create {dest.parent} for {name}: {exc.strerror or exc}") from None
    partial = dest.with_name(dest.name + ".partial")
    problems = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + name
        if not url.startswith(("http://", "https://")):
            problems.append(f"{url}: not an http(s) URL")
            continue
        try:
            fetch(url, partial, timeout, name, max_bytes)
            verify(partial)
        except (OSError, http.client.HTTPException, ValueError, EOFError) as exc:
            reason = getattr(exc, "reason", None) or exc
            problems.append(f"{url}: {reason}")
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()
            continue
        os.replace(partial, dest)
        return dest
    raise DownloadError(
        f"could not download {name} into {dest.parent} (offline?): " + "; ".join(problems)
        + ". Copy the MNIST files there by hand, or point --data-dir / NNLAB_DATA_DIR at a folder that has them"
    )
