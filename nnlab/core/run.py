"""A run directory: where one invocation of an experiment writes its config, log, summary and plots.

    <out>/<command>/<YYYYmmdd-HHMMSS>[-<tag>][-<n>]/
      config.yaml    the resolved config, a valid recipe
      meta.json      argv, versions, git revision, device, seed, times, status
      metrics.jsonl  one JSON object per logged step
      summary.json   headline numbers, the lecture's claims as measured, status
      plots/*.png    drawn from metrics.jsonl and summary.json

The directory is claimed with an exclusive mkdir (two runs in the same second get `-2`, `-3`, ...),
every file but the append-only metrics log is written atomically, and meta.json says `running` until
the run ends as completed, failed, interrupted or diverged.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import signal
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from nnlab.core import atomic
from nnlab.core.config import to_recipe_yaml
from nnlab.core.errors import UserError
from nnlab.core.record import RunRecord, new_meta, write_meta

T = TypeVar("T")

STATUSES = ("running", "completed", "failed", "interrupted", "diverged")
_TAG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # used with fullmatch: no trailing newline slips in
LOCK = ".lock"  # holds the pid of the process that owns the run directory, locked while it does


class Interrupted(Exception):
    """Raised at a safe point after Ctrl-C or SIGTERM; the run ends with status `interrupted`."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class Signals:
    """Ctrl-C and SIGTERM for one run. The first asks the run to stop at its next safe point; a second
    stops it at once, except inside a critical section (creating or closing the run directory), which
    always completes, so every directory that exists says what it is and none is left half-closed."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._critical = 0

    def _on_signal(self, signum: int, frame: Any) -> None:
        if self.signum is not None and not self._critical:
            raise Interrupted(signum)
        self.signum = self.signum or signum

    @contextlib.contextmanager
    def installed(self) -> Iterator[Signals]:
        previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            for s in previous:
                signal.signal(s, self._on_signal)
        except ValueError:  # not the main thread (e.g. a worker thread): no handlers
            previous = {}
        try:
            yield self
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)

    @contextlib.contextmanager
    def critical(self) -> Iterator[None]:
        self._critical += 1
        try:
            yield
        finally:
            self._critical -= 1

    def check(self) -> None:
        """A safe point: raise Interrupted if a stop was requested."""
        if self.signum is not None:
            raise Interrupted(self.signum)


def check_tag(tag: str | None) -> None:
    if tag is not None and not _TAG.fullmatch(tag):
        raise UserError(f"--tag: {tag!r} must be 1-64 letters, digits, '.', '_' or '-', starting alphanumeric")


def claim_directory(out: str | Path, command: str, tag: str | None, now: dt.datetime) -> Path:
    """Create and return a fresh run directory, never reusing one (exclusive mkdir, numbered on clash)."""
    check_tag(tag)
    parent = Path(out) / command
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create {parent}: {exc.strerror or exc}") from None
    base = now.strftime("%Y%m%d-%H%M%S") + (f"-{tag}" if tag else "")
    for n in range(1, 10_000):
        path = parent / (base if n == 1 else f"{base}-{n}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
        except OSError as exc:
            raise UserError(f"cannot create a run directory in {parent}: {exc.strerror or exc}") from None
    raise UserError(f"too many runs named {base} in {parent}")


def _now() -> dt.datetime:
    return dt.datetime.now().astimezone()


class Run:
    """An open run directory. Experiments log through it (the `rec` they are given); only the runner
    (core.runner) opens and closes it."""

    def __init__(self, path: Path, command: str, config: Any, device: str, argv: list[str],
                 reopened: dict[str, Any] | None = None, signals: Signals | None = None):
        self.path = path
        self.command = command
        self.config = config
        self.device = device
        self.plots_dir = path / "plots"
        self.started = _now()
        self.status = "running"
        self.resumed = reopened is not None  # the experiment continues from its checkpoint
        self.signals = signals or Signals()
        self._lock = _lock(path)  # before anything is written: a second process is refused here
        self.meta: dict[str, Any] = reopened or new_meta(command, argv, self.started, device=device,
                                                         seed=getattr(config, "seed", None))
        if reopened is not None:  # continuing: keep the first start time, record this one
            self.meta.update(status="running", ended=None, device=device)
            self.meta.setdefault("resumed", []).append({"argv": argv, "at": self.started.isoformat(timespec="seconds")})
            self.started = dt.datetime.fromisoformat(self.meta["started"])
        write_meta(path, self.meta)  # first: the directory says what it is
        atomic.write_text(path / "config.yaml", to_recipe_yaml(config, command))
        self.plots_dir.mkdir(exist_ok=True)
        self._metrics = open(path / "metrics.jsonl", "a", encoding="utf-8")  # noqa: SIM115 - closed in finish

    @classmethod
    def create(cls, out: str | Path, command: str, config: Any, device: str, tag: str | None,
               argv: list[str], signals: Signals | None = None) -> Run:
        started = _now()
        path = claim_directory(out, command, tag, started)
        return cls(path, command, config, device, argv, signals=signals)

    @classmethod
    def reopen(cls, path: str | Path, command: str, config: Any, device: str, argv: list[str],
               may_change: Iterable[str] = (), signals: Signals | None = None) -> Run:
        """Continue the run in `path` (`--resume`): same directory, metrics appended, status running again.

        `config` must equal the one in config.yaml except for the keys in `may_change` (e.g. epochs).
        """
        import dataclasses

        from nnlab.core.config import resolve, saved_layer

        path = Path(path)
        meta = check_resumable(path, command)
        if meta.get("status") == "completed" and not may_change:
            raise UserError(f"--resume: {path} already completed")
        saved = resolve(type(config), [saved_layer(path / "config.yaml", command, type(config))])
        old, new = dataclasses.asdict(saved), dataclasses.asdict(config)
        differ = [f"{k}: {old[k]!r} -> {new[k]!r}" for k in new if k not in may_change and old[k] != new[k]]
        if differ:
            allowed = f"only {', '.join(may_change)} may change" if may_change else "nothing may change"
            raise UserError(f"--resume: the config differs from {path / 'config.yaml'} ({'; '.join(differ)}); "
                            f"{allowed}")
        run = cls(path, command, config, device, argv, reopened=meta, signals=signals)
        # config.yaml now holds the new values; meta.json keeps what they were, so the history stays readable.
        changed = {k: [old[k], new[k]] for k in may_change if old[k] != new[k]}
        if changed:
            run.meta["resumed"][-1]["changed"] = changed
            write_meta(path, run.meta)
        return run

    # -- logging -------------------------------------------------------------------------------------
    def log(self, record: dict[str, Any]) -> None:
        """Append one JSON object to metrics.jsonl (flushed, so a crash loses at most this line)."""
        self._metrics.write(atomic.dumps(record) + "\n")
        self._metrics.flush()

    def track(self, items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
        """Iterate with a progress bar, stopping at the next item once Ctrl-C or SIGTERM arrived."""
        from nnlab.core.console import progress_bar

        with progress_bar(description, total if total is not None else _len(items)) as advance:
            for item in items:
                self.check_stop()
                yield item
                advance()

    # -- signals -------------------------------------------------------------------------------------
    def check_stop(self) -> None:
        """A safe point: raise Interrupted if a stop was requested."""
        self.signals.check()

    # -- the end -------------------------------------------------------------------------------------
    def finish(self, status: str, summary: dict[str, Any] | None = None, error: str | None = None,
               ended: float | None = None) -> None:
        """Write summary.json and the final meta.json; mark the run as the command's `latest`. `ended`: when
        its last file was written (time.time(), e.g. a figure worker's), if not now."""
        assert status in STATUSES, status
        self.status = status
        self._metrics.close()
        ended = _now() if ended is None else dt.datetime.fromtimestamp(ended).astimezone()
        self.meta.update(
            status=status,
            ended=ended.isoformat(timespec="seconds"),
            elapsed_s=round((ended - self.started).total_seconds(), 3),
        )
        if error:
            self.meta["error"] = error
        summary = dict(summary or {})
        summary["status"] = status
        if error:
            summary["error"] = error
        with self.signals.critical():  # a signal now cannot leave a temp file or a run without its link
            atomic.write_json(self.path / "summary.json", summary)
            write_meta(self.path, self.meta)
            _point_latest(self.path)
            self._lock.close()  # releases the lock


def _lock(path: Path) -> Any:
    """Take the run directory's advisory lock (held until the returned file is closed), or refuse."""
    handle = open(path / LOCK, "a+", encoding="utf-8")  # noqa: SIM115 - closed in Run.finish
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; concurrent resumes are not guarded there
        return handle
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise UserError(f"{path} is in use by process {holder} (a run or a resume of it is going on)") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def check_resumable(path: Path, command: str) -> dict[str, Any]:
    """The one check that `path` is a run directory of `command` that `--resume` may continue; its meta."""
    if not str(path) or not (path / "meta.json").is_file() or not (path / "config.yaml").is_file():
        shown = str(path) or "''"
        raise UserError(f"--resume: {shown} is not a run directory (no meta.json or config.yaml)")
    try:
        meta = RunRecord(path).meta  # core.run_files: a regular file inside the run, capped
    except UserError as exc:
        raise UserError(f"--resume: {path / 'meta.json'} is unreadable ({exc})") from None
    if meta.get("command") != command:
        raise UserError(f"--resume: {path} is a run of 'nnlab {meta.get('command')}', not 'nnlab {command}'")
    return meta


def _len(items: Iterable[Any]) -> int | None:
    try:
        return len(items)  # type: ignore[arg-type]
    except TypeError:
        return None


def _point_latest(path: Path) -> None:
    """`<out>/<command>/latest` -> this run (best effort: a filesystem without symlinks just skips it)."""
    link = path.parent / "latest"
    tmp = path.parent / f".latest.{os.getpid()}"
    with contextlib.suppress(OSError):
        if tmp.is_symlink():
            tmp.unlink()
        tmp.symlink_to(path.name)
        os.replace(tmp, link)


def read_run(path: str | Path) -> dict[str, Any]:
    """A run's {meta, summary, metrics} (core.record.RunRecord; a torn last line of the log is skipped); a
    damaged or foreign file is a UserError naming it."""
    return RunRecord(path).as_dict()
