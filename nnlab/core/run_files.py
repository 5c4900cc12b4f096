"""Reading a file of a run directory: only regular files inside it, never more than a cap.

A run directory is data that anyone may have edited (or been handed). A report, an export or the API
embeds what it reads, so a `plots/x.png` that is a symlink to /etc/shadow, or a `summary.json` that is
a FIFO or /dev/zero, must never be followed: every path component below the run directory is checked
with lstat (no symlinks), the file is opened with O_NOFOLLOW | O_NONBLOCK (a FIFO cannot block the
open) and fstat-ed (regular files only, checked on the open descriptor, so a swap after the check is
caught), and at most `cap` bytes are read.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from nnlab.core.errors import UserError

JSON_CAP = 64 * 2**20  # bytes: meta.json, summary.json (the largest seen are under 1 MB)
LOG_CAP = 256 * 2**20  # bytes: metrics.jsonl
PNG_CAP = 32 * 2**20  # bytes: one figure (ours are 30-300 kB)


class Refused(UserError):
    """A file of a run that is not read: outside the run, not a regular file, or too large."""


def check_inside(run_dir: Path, path: Path) -> None:
    """Refuse `path` unless it lies below `run_dir` with no symlink on the way (the run dir itself may be one)."""
    try:
        relative = path.relative_to(run_dir)
    except ValueError:
        raise Refused(f"{path}: not inside the run directory {run_dir}") from None
    if ".." in relative.parts or not relative.parts:
        raise Refused(f"{path}: not inside the run directory {run_dir}")
    current = run_dir
    for part in relative.parts:
        current = current / part
        try:
            mode = os.lstat(current).st_mode
        except OSError as exc:
            raise Refused(f"{current}: cannot read ({exc.strerror})") from None
        if stat.S_ISLNK(mode):
            raise Refused(f"{current}: a symbolic link; a run's files are read only when they are its own")


def is_regular_inside(run_dir: Path, path: Path) -> bool:
    """Whether `path` is a regular file below `run_dir`, reached without a symlink."""
    try:
        check_inside(run_dir, path)
    except Refused:
        return False
    return stat.S_ISREG(os.lstat(path).st_mode)


def read_bytes(run_dir: str | Path, path: str | Path, cap: int) -> bytes:
    """The bytes of `path`, a regular file inside `run_dir` of at most `cap` bytes; else Refused."""
    run_dir, path = Path(run_dir), Path(path)
    if not path.is_absolute() and run_dir not in path.parents:  # a name inside the run, not a path through it
        path = run_dir / path
    check_inside(run_dir, path)
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise Refused(f"{path}: cannot read ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise Refused(f"{path}: not a regular file")
        if info.st_size > cap:
            raise Refused(f"{path}: {info.st_size} bytes, more than the {cap} a run's file may have")
        data = f.read(cap + 1)  # the size may grow after fstat: never read past the cap
    if len(data) > cap:
        raise Refused(f"{path}: more than the {cap} bytes a run's file may have")
    return data


def read_text(run_dir: str | Path, path: str | Path, cap: int) -> str:
    data = read_bytes(run_dir, path, cap)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Refused(f"{path}: not UTF-8 text ({exc.reason})") from None


def figures(run_dir: str | Path) -> tuple[list[Path], list[Path]]:
    """(the run's own PNG figures in plots/, sorted; the *.png entries there that are refused: links, FIFOs,
    directories). A plots/ that is itself a link is refused whole."""
    run_dir = Path(run_dir)
    plots = run_dir / "plots"
    try:
        check_inside(run_dir, plots)
    except Refused:
        return [], ([plots] if os.path.lexists(plots) else [])
    if not plots.is_dir():
        return [], []
    own, refused = [], []
    for path in sorted(plots.glob("*.png")):
        (own if is_regular_inside(run_dir, path) else refused).append(path)
    return own, refused


def lock_state(run_dir: str | Path, name: str) -> tuple[bool | None, str]:
    """(whether a process holds the run's lock file `name`, the text in it: the holder's pid).

    core.run keeps an exclusive flock on it while the run lives, and the kernel releases a dead process's
    flock, so a shared non-blocking flock that succeeds (and is released at once) means no process owns the
    run. None: no lock file (a sweep's directory), one that is not the run's own regular file, or no flock
    (Windows): nothing tells, and the caller keeps what meta.json says."""
    try:
        import fcntl
    except ImportError:
        return None, ""
    run_dir = Path(run_dir)
    path = run_dir / name
    try:
        check_inside(run_dir, path)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except (Refused, OSError):
        return None, ""
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            return None, ""
        holder = f.read(32).decode("ascii", "replace").strip()
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return True, holder
        fcntl.flock(f.fileno(), fcntl.LOCK_UN)
        return False, holder
