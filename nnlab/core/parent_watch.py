"""Helper processes that die with the process that started them (sweep pool workers, figure workers).

A helper whose parent is SIGKILLed (or killed for memory) would otherwise live on: a sweep worker finishing
a run nobody will read, a figure worker drawing a queue of jobs nobody waits for. `die_with_parent(pid)`,
called first thing in the helper:

- on Linux asks the kernel for `signum` when the parent dies (prctl PR_SET_PDEATHSIG), then compares
  os.getppid() with `parent_pid`: a parent that died before the prctl call would never send it;
- everywhere starts a watchdog thread that polls os.getppid() every POLL_S seconds: it sends `signum`
  where the kernel could not, and SIGKILLs the helper GRACE_S seconds after the parent went (a helper that
  does not stop at SIGTERM: a run that checks for a stop rarely).

PR_SET_PDEATHSIG fires when the *thread* that started the helper ends, not only the process: helpers are
started from the main thread (the sweep's submit loop, FigurePool's start), which lives as long as the process.

SIGTERM, not SIGKILL, is the first signal: a run closes itself as `interrupted` and an atomic write removes its
temporary file, as at any SIGTERM.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
POLL_S = 0.5
GRACE_S = 10.0


def die_with_parent(parent_pid: int, signum: int = signal.SIGTERM) -> None:
    """Make this process get `signum` when `parent_pid` (the process that started it) ends; SIGKILL after
    GRACE_S more seconds."""
    kernel = _set_pdeathsig(signum)
    if os.getppid() != parent_pid:  # the parent died before the prctl call (or never was ours to watch)
        os.kill(os.getpid(), signum)
    threading.Thread(target=_watch, args=(parent_pid, signum, not kernel), name="parent-watch", daemon=True).start()


def _set_pdeathsig(signum: int) -> bool:
    """True when the kernel will send `signum` at the parent's death (Linux), else False."""
    if not sys.platform.startswith("linux"):
        return False
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0) == 0
    return False


def _watch(parent_pid: int, signum: int, send: bool) -> None:
    while os.getppid() == parent_pid:
        time.sleep(POLL_S)
    if send:
        with contextlib.suppress(OSError):
            os.kill(os.getpid(), signum)
    time.sleep(GRACE_S)
    os.kill(os.getpid(), signal.SIGKILL)


def process_alive(pid: int) -> bool:
    """Whether process `pid` exists (another user's counts: signal 0 is refused, not unanswered)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True
