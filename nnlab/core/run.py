"""A run directory: where one invocation of an experiment writes its config, log, summary and plots.

    <out>/<command>/<YYYYmmdd-HHMMSS>[-<tag>][-<n>]/
      config.yaml    the resolved config, a valid recipe
      meta.json      argv, versions, git revision, device, seed, times, status, config_sha256
      metrics.jsonl  one JSON object per logged step
      summary.json   headline numbers, the lecture's claims as measured, status
      plots/*.png    drawn from metrics.jsonl and summary.json

The directory is claimed with an exclusive mkdir (two runs in the same second get `-2`, `-3`, ...),
every file but the append-only metrics log is written atomically, and meta.json says `running` until
the run ends as completed, failed, interrupted or diverged.

A full disk at any byte: meta.json is written first (small, atomically), and a new directory whose setup
could not be written is removed again; an open run keeps a reserve (`.reserve`, RESERVE_BYTES) that it frees
to write its closing summary.json and meta.json, so no run says `running` after its process has gone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from nnlab.core import atomic
from nnlab.core.config import to_recipe_yaml
from nnlab.core.errors import UserError
from nnlab.core.record import RunRecord, new_meta, write_meta
from nnlab.core.signals import Interrupted, Signals  # noqa: F401 - Run's users import them from here too

T = TypeVar("T")

STATUSES = ("running", "completed", "failed", "interrupted", "diverged")
_TAG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # used with fullmatch: no trailing newline slips in
LOCK = ".lock"  # holds the pid of the process that owns the run directory, locked while it does
RESERVE = ".reserve"  # disk space an open run keeps, freed to close it when the disk is full
# A closing meta.json is 1-3 kB and a failed run's summary.json under 1 kB; while one is replaced, the old file
# and its temporary both take space, each at least a page (4 kB on tmpfs and ext4, 64 kB pages exist): 32 kB.
RESERVE_BYTES = 32 * 1024
SETUP_FILES = ("meta.json", "config.yaml", "metrics.jsonl", RESERVE, LOCK)  # what a new run's setup writes


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
        if atomic.disk_full(exc):
            raise  # not bad input: the command fails (exit 1) naming the full disk
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
            if atomic.disk_full(exc):
                raise
            raise UserError(f"cannot create a run directory in {parent}: {exc.strerror or exc}") from None
    raise UserError(f"too many runs named {base} in {parent}")


def _now() -> dt.datetime:
    return dt.datetime.now().astimezone()


class Run:
    """An open run directory. Experiments log through it (the `rec` they are given); only the runner
    (core.runner) opens and closes it."""

    def __init__(self, path: Path, command: str, config: Any, device: str, argv: list[str],
                 reopened: dict[str, Any] | None = None, signals: Signals | None = None, lock: Any = None,
                 changed: dict[str, Any] | None = None, checkpoint_step: int | None = None):
        """Open `path`: a new run's directory (just claimed), or with `reopened` (its meta) a run to continue,
        whose `lock` reopen() holds already, `changed` the keys a resume changed ([old, new]) and
        `checkpoint_step` the step its checkpoint holds (metrics logged after it are dropped: they come again)."""
        self.board: Any = None  # core.live_board.LiveBoard while --tensorboard writes event files live
        self.path = path
        self.command = command
        self.config = config
        self.device = device
        self.plots_dir = path / "plots"
        self.started = _now()
        self.status = "running"
        self.resumed = reopened is not None  # the experiment continues from its checkpoint
        self.signals = signals or Signals()
        self._lock = lock or _lock(path)  # before anything is written: a second process is refused here
        previous = json.loads(json.dumps(reopened)) if reopened is not None else None  # to put back on failure
        self.meta: dict[str, Any] = reopened or new_meta(command, argv, self.started, device=device,
                                                         seed=getattr(config, "seed", None))
        if reopened is not None:  # continuing: keep the first start time, record this one
            entry = {"argv": argv, "at": self.started.isoformat(timespec="seconds"), "was": reopened.get("status")}
            if changed:  # config.yaml gets the new values; meta.json keeps what they were, so the history reads
                entry["changed"] = changed
            self.meta.update(status="running", ended=None, device=device)
            self.meta.setdefault("resumed", []).append(entry)
            self.started = dt.datetime.fromisoformat(self.meta["started"])
        self.meta["config_sha256"] = config_sha256(config)  # what a later --resume checks config.yaml against
        try:
            write_meta(path, self.meta)  # first: the directory says what it is
            atomic.reserve(path / RESERVE, RESERVE_BYTES)
            atomic.write_text(path / "config.yaml", to_recipe_yaml(config, command))
            self.plots_dir.mkdir(exist_ok=True)
            if reopened is not None:
                _reopen_metrics(path, checkpoint_step)
            self._metrics = atomic.AppendLog(path / "metrics.jsonl")  # closed in finish
        except BaseException:
            _undo_setup(path, self._lock, previous)
            raise

    @classmethod
    def create(cls, out: str | Path, command: str, config: Any, device: str, tag: str | None,
               argv: list[str], signals: Signals | None = None) -> Run:
        started = _now()
        path = claim_directory(out, command, tag, started)
        try:
            lock = _lock(path)
        except BaseException:
            _undo_setup(path, None, None)
            raise
        return cls(path, command, config, device, argv, signals=signals, lock=lock)

    @classmethod
    def reopen(cls, path: str | Path, command: str, config: Any, device: str, argv: list[str],
               may_change: Iterable[str] = (), signals: Signals | None = None,
               checkpoint_step: int | None = None) -> Run:
        """Continue the run in `path` (`--resume`): same directory, metrics appended, status running again.

        `config` must equal the one in config.yaml except for the keys in `may_change` (e.g. epochs). The lock
        is taken before meta.json is read for good: a run whose holder died (SIGKILL, an OOM kill: meta still
        says `running`, the flock went with the process) is taken over, one that is alive is refused.
        """
        import dataclasses

        from nnlab.core.config import resolve, saved_layer

        path = Path(path)
        check_resumable(path, command)  # a run directory at all, before a lock file is made in it
        lock = _lock(path)
        try:
            meta = check_resumable(path, command)  # what the last holder left, read under the lock
            if meta.get("status") == "completed" and not may_change:
                raise UserError(f"--resume: {path} already completed")
            saved = resolve(type(config), [saved_layer(path / "config.yaml", command, type(config))])
            check_config_hash(path, saved, meta)
            old, new = dataclasses.asdict(saved), dataclasses.asdict(config)
            differ = [f"{k}: {old[k]!r} -> {new[k]!r}" for k in new if k not in may_change and old[k] != new[k]]
            if differ:
                allowed = f"only {', '.join(may_change)} may change" if may_change else "nothing may change"
                raise UserError(f"--resume: the config differs from {path / 'config.yaml'} ({'; '.join(differ)}); "
                                f"{allowed}")
            changed = {k: [old[k], new[k]] for k in may_change if old[k] != new[k]}
        except BaseException:
            lock.close()
            raise
        return cls(path, command, config, device, argv, reopened=meta, signals=signals, lock=lock,
                   changed=changed, checkpoint_step=checkpoint_step)

    # -- logging -------------------------------------------------------------------------------------
    def log(self, record: dict[str, Any]) -> None:
        """Append one JSON object to metrics.jsonl (one write, unbuffered: a crash loses at most this line), and
        its numbers to the live TensorBoard event file when there is one (--tensorboard: core.live_board)."""
        self._metrics.append(atomic.dumps(record) + "\n")
        if self.board is not None:
            self.board.log(record)

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
        self._metrics.close()
        if self.board is not None:
            self.board.close()
        ended = _now() if ended is None else dt.datetime.fromtimestamp(ended).astimezone()
        summary = dict(summary or {})
        with self.signals.critical():  # a signal now cannot leave a temp file or a run without its link
            atomic.release(self.path / RESERVE)  # the room to write what follows on a full disk
            full = None  # the OSError that kept summary.json from being written: the run then failed of it
            try:
                atomic.write_json(self.path / "summary.json", {**summary, "status": status,
                                                               **({"error": error} if error else {})})
            except OSError as exc:
                full, status, error = exc, "failed", atomic.error_text(exc)
                with contextlib.suppress(OSError):  # a small one, or none: never one that says something else
                    _remove(self.path / "summary.json")
                    atomic.write_json(self.path / "summary.json", {"status": status, "error": error})
            self.status = status
            self.meta.update(status=status, ended=ended.isoformat(timespec="seconds"),
                             elapsed_s=round((ended - self.started).total_seconds(), 3))
            if error:
                self.meta["error"] = error
            try:
                write_meta(self.path, self.meta)
            except OSError:  # not even the reserve was room enough (someone filled it): rewrite it where it is
                with contextlib.suppress(OSError):
                    atomic.overwrite_in_place(self.path / "meta.json", atomic.dumps(self.meta, indent=2) + "\n")
            _point_latest(self.path)
            self._lock.close()  # releases the lock
        if full is not None:
            raise full


def config_sha256(config: Any) -> str:
    """The SHA-256 of a resolved config as canonical JSON (sorted keys, no spaces): what a run started with."""
    from nnlab.core.config import to_dict

    text = json.dumps(to_dict(config), sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def check_config_hash(path: Path, saved: Any, meta: dict[str, Any]) -> None:
    """Refuse a resume whose config.yaml (resolved: `saved`) is not the config the run started with, as fixed by
    meta.json's config_sha256. A run from before the hash has none and is trusted as before."""
    if "config_sha256" in meta and meta["config_sha256"] != config_sha256(saved):
        raise UserError(f"--resume: {path / 'config.yaml'} was changed after the run started (it no longer matches "
                        "config_sha256 in meta.json); a resumed run continues with the config it started with")


def _reopen_metrics(path: Path, checkpoint_step: int | None) -> None:
    """A resumed run's metrics.jsonl, cleaned before it is appended to: a torn last line (a kill mid-write) is
    dropped, so the next record is not glued to it, and so are records past the checkpoint's step (logged before
    a kill that came before their checkpoint was saved: the resumed run logs them again)."""
    from nnlab.core import run_files

    log = path / "metrics.jsonl"
    if not os.path.lexists(log):
        return
    text = run_files.read_text(path, log, run_files.LOG_CAP)
    kept = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        step = record.get("step") if isinstance(record, dict) else None
        past = checkpoint_step is not None and isinstance(step, (int, float)) and step > checkpoint_step
        if isinstance(record, dict) and not past:
            kept.append(line + "\n")
    if "".join(kept) != text:
        atomic.write_text(log, "".join(kept))


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _undo_setup(path: Path, lock: Any, previous: dict[str, Any] | None) -> None:
    """Setup failed (a full disk, most likely): a new run's directory is removed (nothing in it was the user's),
    a resumed one gets its meta.json back as it was. Best effort: whatever fails here, the first error is raised."""
    atomic.release(path / RESERVE)
    with contextlib.suppress(OSError):
        if previous is not None:
            write_meta(path, previous)
        else:
            for name in SETUP_FILES:
                _remove(path / name)
            with contextlib.suppress(FileNotFoundError):
                (path / "plots").rmdir()
            path.rmdir()
    if lock is not None:
        lock.close()


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
    try:
        handle.truncate(0)
        atomic.write_all(handle.fileno(), f"{os.getpid()}\n".encode("ascii"))
    except OSError:
        handle.close()
        raise
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
    """`<out>/<command>/latest` -> this run (best effort: a filesystem without symlinks just skips it).

    `latest` is ours only while it is a symlink: a directory or file of that name is someone's, never replaced
    (os.replace would delete a file), and skipped with a one-line warning."""
    link = path.parent / "latest"
    if os.path.lexists(link) and not link.is_symlink():
        from nnlab.core.console import err

        err.print(f"warning: {link} is not a symlink (someone's own file or directory): not pointed at this run",
                  soft_wrap=True, markup=False)
        return
    tmp = path.parent / f".latest.{os.getpid()}"
    with contextlib.suppress(OSError):
        if tmp.is_symlink():
            tmp.unlink()
        tmp.symlink_to(path.name)
        try:
            os.replace(tmp, link)
        except OSError:  # e.g. `latest` became a directory since the check above: leave it, and no stray link
            tmp.unlink()


def read_run(path: str | Path) -> dict[str, Any]:
    """A run's {meta, summary, metrics} (core.record.RunRecord; a torn last line of the log is skipped); a
    damaged or foreign file is a UserError naming it."""
    return RunRecord(path).as_dict()
