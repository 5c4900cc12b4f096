"""Ctrl-C and SIGTERM for one run: the first asks it to stop at its next safe point (Interrupted there), a
second stops it at once except while its directory is being made or closed (core.run)."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from typing import Any


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
