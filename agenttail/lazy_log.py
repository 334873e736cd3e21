"""structlog loggers that import structlog at the first record actually written.

Importing structlog loads its dev console (rich, pygments, asyncio: ~0.1 s), which `status`,
`report` and a no-op `scan` never need unless something goes wrong. Modules on their paths log
through ``LazyLogger``; a command that logs only warnings calls ``configure_when_used`` instead
of ``logs.configure_logging``, and records below its level are dropped before any import.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

LEVELS = {"debug": 10, "info": 20, "warning": 30, "warn": 30, "error": 40, "exception": 40}

_lock = threading.RLock()  # configure_logging calls forget_pending under it
_pending: dict[str, Any] | None = None  # configure_logging's arguments, not applied yet
_pending_level = 0


def logger(name: str) -> Any:
    """The named structlog logger; structlog is imported (and a pending setup applied) now."""
    global _pending
    if _pending is not None:
        with _lock:
            if _pending is not None:
                from agenttail.logs import configure_logging

                configure_logging(**_pending)
                _pending = None
    import structlog

    return structlog.stdlib.get_logger(name)


def configure_when_used(
    level: str, log_file: Path | None = None, *, owner: bool = True, console: bool = True
) -> None:
    """``logs.configure_logging`` at the first record at or above ``level``; lower ones are
    dropped without importing structlog."""
    global _pending, _pending_level
    with _lock:
        _pending = {"level": level, "log_file": log_file, "owner": owner, "console": console}
        _pending_level = LEVELS[level.lower()]


def forget_pending() -> None:
    """Logging was configured directly: a remembered setup must not replace it later."""
    global _pending
    with _lock:
        _pending = None


class LazyLogger:
    """``log.info(...)``, ``log.warning(...)``... of the named structlog logger, imported on the
    first record that is written."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __getattr__(self, method: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            if _pending is not None and LEVELS.get(method, 50) < _pending_level:
                return None  # below the level a pending setup will apply: dropped
            return getattr(logger(self.name), method)(*args, **kwargs)

        return call
