"""A full disk pauses every worker at once, instead of failing every stream over and over.

The first worker that meets ENOSPC or a full SQLite write trips the pause: it is logged once, the
stream goes back to the queue (nothing is recorded against it: the disk, not the stream, is at
fault, and a failure record could not be written anyway), and workers wait on their stop event
until the retry time. After it, the next task is the probe: a commit that succeeds clears the
pause and asks for a sweep, so everything that changed meanwhile is stored within one retry
interval of space coming back, once (a batch and its watermark commit together).
"""

from __future__ import annotations

import errno
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any

from agenttail.lazy_log import LazyLogger
from agenttail.store import is_full

log = LazyLogger(__name__)

RETRY_S = 15.0
_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


def is_disk_full(exc: BaseException) -> bool:
    """ENOSPC/EDQUOT from the OS, or SQLite's "database or disk is full" (``is_full``)."""
    if isinstance(exc, OSError) and exc.errno in _NO_SPACE:
        return True
    return isinstance(exc, sqlite3.Error) and is_full(exc)


class DiskFullPause:
    """Shared by the workers of one pipeline; thread-safe."""

    def __init__(self, retry_s: float = RETRY_S, on_clear: Callable[[], object] | None = None):
        self.retry_s = retry_s
        self.on_clear = on_clear
        self.version = 0  # bumped when the condition starts or ends (the daemon publishes it)
        self._lock = threading.Lock()
        self._since: float | None = None
        self._error = ""
        self._retry_at = 0.0

    def trip(self, error: str) -> None:
        with self._lock:
            first = self._since is None
            if first:
                self._since = time.time()
                self._error = error
                self.version += 1
            self._retry_at = time.monotonic() + self.retry_s
        if first:
            log.error(
                "disk_full",
                error=error,
                retry_seconds=self.retry_s,
                hint="free some space: agenttail catches up by itself, nothing is lost",
            )

    def clear(self) -> None:
        with self._lock:
            if self._since is None:
                return
            paused = time.time() - self._since
            self._since = None
            self.version += 1
        log.info("disk_space_back", paused_seconds=round(paused, 1))
        if self.on_clear is not None:
            self.on_clear()

    @property
    def active(self) -> bool:
        with self._lock:
            return self._since is not None

    def wait(self, stop: threading.Event) -> None:
        """Block until the retry time (or ``stop``); returns at once when not paused."""
        with self._lock:
            remaining = self._retry_at - time.monotonic() if self._since is not None else 0.0
        if remaining > 0:
            stop.wait(remaining)

    def hold(self, error: str, stop: threading.Event) -> bool:
        """Trip and wait for the retry time: whether to try again (not when ``stop`` is set).
        For work that cannot go back to a queue (the end of a first load, opening the store)."""
        self.trip(error)
        self.wait(stop)
        return not stop.is_set()

    def describe(self) -> dict[str, Any] | None:
        """The condition for ``status`` (via the daemon's runtime state), or None."""
        with self._lock:
            if self._since is None:
                return None
            return {
                "condition": "disk_full",
                "since": self._since,
                "error": self._error,
                "retry_seconds": self.retry_s,
            }
