"""A full disk at any byte: every run directory that is left says what it is (a readable meta.json, never
`running` once the command has gone, meta and summary agreeing), a directory whose meta could not be written
is removed, and the command exits 1 with one line naming the full disk (ENOSPC).

Two ways to fill the disk: a real small tmpfs (root on Linux; skipped with the reason elsewhere) with N bytes
left free, and, everywhere, ENOSPC injected at each successive write of a run of the fake command."""

from __future__ import annotations

import errno
import json
import os
import subprocess
from pathlib import Path

import pytest


def assert_the_runs_say_what_they_are(result, out: Path) -> None:
    """The invariants of issue 29, for whatever a run on a full disk left under `out`."""
    assert result.exit_code in (0, 1), f"{result.exit_code}: {result.stderr!r} {result.exception!r}"
    if result.exit_code == 1:
        last = result.stderr.strip().splitlines()[-1]
        assert "ENOSPC" in last and "Traceback" not in result.stderr, result.stderr
    parent = out / "fake"
    runs = [p for p in parent.iterdir() if p.is_dir() and not p.is_symlink()] if parent.is_dir() else []
    for run in runs:
        meta = json.loads((run / "meta.json").read_text())  # present and whole
        assert meta["command"] == "fake" and meta["status"] != "running", meta
        if (run / "summary.json").exists():
            assert json.loads((run / "summary.json").read_text())["status"] == meta["status"]
        assert not [p.name for p in run.iterdir() if p.name.startswith(".") and p.name != ".lock"]  # no temp
        if result.exit_code == 1:
            assert meta["status"] == "failed" and "ENOSPC" in meta.get("error", "") + str(meta.get("errno"))
        else:
            assert meta["status"] == "completed"
    if parent.is_dir():
        assert not [p for p in parent.iterdir() if p.name.startswith(".")]  # no temporary `latest` link


# -- a real small filesystem -------------------------------------------------------------------------------------

@pytest.fixture
def small_disk(tmp_path):
    """A 1 MiB tmpfs at tmp_path/disk; yields a function that fills it to leave `free` bytes."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0 or not hasattr(os, "statvfs"):
        pytest.skip("mounting a small tmpfs needs root on Linux (the injected-ENOSPC test below covers the rest)")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode(errors='replace').strip()[:100]}")

    def fill(free: int) -> Path:
        vfs = os.statvfs(disk)
        (disk / "filler").write_bytes(b"\0" * max(0, vfs.f_bavail * vfs.f_frsize - free))
        return disk / "outputs"

    try:
        yield fill
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


@pytest.mark.parametrize("free_kb", [1, 4, 8, 12, 20, 32, 48, 64, 100, 200])
def test_a_run_on_a_full_disk_leaves_nothing_half_said(fake_command, invoke, small_disk, free_kb):
    out = small_disk(free_kb * 1024)
    result = invoke("fake", "--steps", "1000", "--scale", "123456.789", out=out)  # about 45 kB of metrics
    assert_the_runs_say_what_they_are(result, out)


# -- ENOSPC injected at each write -------------------------------------------------------------------------------

class FullFrom:
    """os.write that fails with ENOSPC from its n-th call on a file under `root` (a disk that filled up then),
    until the run frees its reserve (core.run: the space a run keeps to close itself)."""

    def __init__(self, root: Path, n: int, real=os.write):
        self.root, self.n, self.real, self.calls, self.seen_reserve = root, n, real, 0, False

    def ours(self, fd: int) -> bool:
        try:
            return os.readlink(f"/proc/self/fd/{fd}").startswith(str(self.root))
        except OSError:
            return False

    def full(self) -> bool:
        reserves = list(self.root.glob("*/*/.reserve"))
        self.seen_reserve |= bool(reserves)
        return not (self.seen_reserve and not reserves)

    def __call__(self, fd: int, data) -> int:
        if not self.ours(fd):
            return self.real(fd, data)
        self.calls += 1
        if self.full() and self.calls >= self.n:  # full() on every call: it watches for the reserve
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return self.real(fd, data)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc/self/fd to tell the run's files apart")
def test_enospc_at_each_write_of_a_run(fake_command, invoke, tmp_path, monkeypatch):
    clean = FullFrom(tmp_path / "clean", 10**9)
    monkeypatch.setattr(os, "write", clean)
    assert invoke("fake", "--quick", out=tmp_path / "clean").exit_code == 0
    assert clean.calls >= 8  # the lock's pid, meta, the reserve, config, 3 metrics lines, summary, meta
    codes = []
    for n in range(1, clean.calls + 1):
        out = tmp_path / f"full-at-{n}"
        monkeypatch.setattr(os, "write", FullFrom(out, n))
        result = invoke("fake", "--quick", out=out)
        assert_the_runs_say_what_they_are(result, out)
        codes.append(result.exit_code)
    assert codes[0] == 1 and codes.count(1) >= clean.calls - 3, codes  # only the writes after the reserve is
    # freed (the closing summary and meta) can succeed on this disk


def test_a_writer_that_hides_enospc_is_named_a_full_disk(small_disk):
    """torch.save on a full disk raises RuntimeError ("unexpected pos ..."), not ENOSPC: atomic_path, which
    sees the disk full, says so (train-mnist's checkpoint on a full disk then names the full disk)."""
    from nnlab.core import atomic

    out = small_disk(8 * 1024)
    out.mkdir()

    def torch_like_save(path: Path) -> None:
        try:
            path.write_bytes(b"\1" * 64 * 1024)
        except OSError as exc:
            raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos") from exc

    with pytest.raises(OSError) as caught, atomic.atomic_path(out / "last.pt") as tmp:
        torch_like_save(tmp)
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(out / "last.pt")
    assert list(out.iterdir()) == []
    with pytest.raises(ValueError), atomic.atomic_path(out / "x.json"):
        raise ValueError("not a disk problem")  # other errors pass through as they are
