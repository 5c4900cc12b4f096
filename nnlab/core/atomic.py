"""Write files so that a crash never leaves half of one: write a temporary sibling, then rename it."""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it is renamed onto `path`, else removed.

    The temporary name keeps the suffix, so writers that infer a format from it (savefig) still work.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; a run's files should read like any other
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)  # atomic on POSIX within one filesystem
    except BaseException as exc:
        # A writer that hides ENOSPC in its own error (torch.save: RuntimeError "unexpected pos"): looked at
        # before the temporary is removed, while what it wrote still fills the disk.
        hidden = isinstance(exc, Exception) and not isinstance(exc, OSError) and _no_space_left(path.parent)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if hidden:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path)) from exc
        raise


def _no_space_left(directory: Path) -> bool:
    """Whether the filesystem of `directory` has not one block left (for this user: root may use the reserve)."""
    try:
        vfs = os.statvfs(directory)
    except (OSError, AttributeError):  # no statvfs (Windows): the error stays as it was
        return False
    return (vfs.f_bfree if os.geteuid() == 0 else vfs.f_bavail) == 0


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        fd = os.open(tmp, os.O_WRONLY | os.O_TRUNC)
        try:
            write_all(fd, text.encode("utf-8"))
        finally:
            os.close(fd)


def write_all(fd: int, data: bytes) -> None:
    """os.write until every byte is written (a write on a nearly full disk may write part and return); every
    file a run writes goes through here, so one patch of os.write reaches all of them (tests/test_hostile_disk)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno == errno.ENOSPC


def error_text(exc: BaseException) -> str:
    """How a run's meta.json and summary.json say what ended it; a full disk is named as such."""
    if disk_full(exc):
        return f"the disk is full (ENOSPC, no space left on device){f' writing {exc.filename}' if exc.filename else ''}"
    return f"{type(exc).__name__}: {exc}"


class AppendLog:
    """An append-only log of lines (a run's metrics.jsonl): one write a line, never buffered, and a line the disk
    had no room for is cut off again, so the log ends with whole lines."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)

    def append(self, line: str) -> None:
        assert self._fd is not None, "the log is closed"
        size = os.fstat(self._fd).st_size
        try:
            write_all(self._fd, line.encode("utf-8"))
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, size)  # no torn line left behind
            raise

    def close(self) -> None:
        """Close the log; never raises (it holds no buffered data to lose)."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None


def reserve(path: str | Path, size: int) -> None:
    """Keep `size` bytes of the disk in a file at `path` (zeros, written, so the space is really taken)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        write_all(fd, bytes(size))
    finally:
        os.close(fd)


def release(path: str | Path) -> None:
    """Free a reserve() (if it is there)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def overwrite_in_place(path: str | Path, text: str) -> None:
    """The last resort when not even a temporary file fits on the disk: rewrite `path` in its own blocks.
    Not atomic (a crash now could leave it torn), so used only where the alternative is a file that lies."""
    fd = os.open(path, os.O_WRONLY)
    try:
        write_all(fd, text.encode("utf-8"))
        os.ftruncate(fd, len(text.encode("utf-8")))
    finally:
        os.close(fd)


def write_json(path: str | Path, data: Any) -> None:
    """Strict JSON (NaN and inf become null: other tools' parsers reject bare NaN), written atomically."""
    write_text(path, dumps(data, indent=2) + "\n")


def dumps(data: Any, indent: int | None = None) -> str:
    """JSON text of `data` with numpy values converted and every non-finite float written as null."""
    try:
        return json.dumps(data, indent=indent, allow_nan=False, default=_jsonable)
    except ValueError:  # a NaN or inf somewhere: replace them (rare, so the fast path above stays fast)
        return json.dumps(finite(json.loads(json.dumps(data, default=_jsonable))), indent=indent, allow_nan=False)


def finite(value: Any) -> Any:
    """`value` with every NaN/inf float replaced by None, through dicts and lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite(v) for v in value]
    return value


def nonfinite_paths(value: Any, where: str = "") -> list[str]:
    """Where `value` holds a NaN or inf ("results[3].loss"), so a run can say which number was not finite."""
    if isinstance(value, float):
        return [] if math.isfinite(value) else [where or "."]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in nonfinite_paths(v, f"{where}.{k}" if where else str(k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in nonfinite_paths(v, f"{where}[{i}]")]
    return []


def _jsonable(value: Any) -> Any:
    """numpy scalars and arrays, Paths: whatever an experiment may put in a summary."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")
