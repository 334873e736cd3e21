"""structlog over stdlib logging: JSON lines to a rotating file for the daemon, human on a TTY."""

from __future__ import annotations

import logging
import logging.handlers
import sys
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import structlog

from agenttail.lazy_log import forget_pending

SHARED_PROCESSORS: list[structlog.typing.Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    structlog.stdlib.ExtraAdder(),
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.processors.StackInfoRenderer(),
]
QUIET_LOGGERS = ("apscheduler", "httpx", "httpcore", "watchdog")
REPEAT_WINDOW_S = 60.0
REPEAT_KEYS = 1024
REPEATS_FIELD = "suppressed_repeats"


class RepeatLimiter(logging.Filter):
    """Identical warnings and errors: the first passes, repeats within ``REPEAT_WINDOW_S`` are
    only counted, and the next one let through carries the count (``suppressed_repeats``).

    One per handler, so it holds for every logger (watchdog's and httpx's too) and every
    output. A retry loop on a full disk once printed 87,000 lines in 12 s.
    """

    def __init__(self, window_s: float = REPEAT_WINDOW_S) -> None:
        super().__init__()
        self.window_s = window_s
        self._seen: OrderedDict[tuple[Any, ...], list[float]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _key(record: logging.LogRecord) -> tuple[Any, ...]:
        if isinstance(record.msg, dict):
            fields = tuple(
                sorted(
                    (k, repr(v))
                    for k, v in record.msg.items()
                    if k not in ("timestamp", REPEATS_FIELD)
                )
            )
            return (record.name, record.levelno, fields)
        return (record.name, record.levelno, record.getMessage())

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        key = self._key(record)
        now = time.monotonic()
        with self._lock:
            seen = self._seen.get(key)
            if seen is not None and now - seen[0] < self.window_s:
                seen[1] += 1
                return False
            repeats = int(seen[1]) if seen is not None else 0
            self._seen[key] = [now, 0]
            self._seen.move_to_end(key)
            while len(self._seen) > REPEAT_KEYS:
                self._seen.popitem(last=False)
        if repeats:
            if isinstance(record.msg, dict):
                record.msg = {**record.msg, REPEATS_FIELD: repeats}
            else:
                record.msg = f"{record.getMessage()} ({REPEATS_FIELD}={repeats})"
                record.args = ()
        return True


class _SaysOnceWhenUnwritable(logging.Handler):
    """A file handler that, when its file cannot be written (a full disk), says so once on
    stderr instead of printing a traceback for every record."""

    _failing = False
    _failed_now = False

    def handleError(self, record: logging.LogRecord) -> None:
        self._failed_now = True
        if not self._failing:
            self._failing = True
            error = sys.exc_info()[1]
            sys.stderr.write(
                f"agenttail: cannot write the log file {getattr(self, 'baseFilename', '?')}: "
                f"{error}; log lines are dropped until it can be written again\n"
            )

    def emit(self, record: logging.LogRecord) -> None:
        self._failed_now = False
        super().emit(record)
        if not self._failed_now:
            self._failing = False


class RotatingLogFile(_SaysOnceWhenUnwritable, logging.handlers.RotatingFileHandler):
    """The daemon's own log file, rotated at 5 MB."""


class AppendedLogFile(_SaysOnceWhenUnwritable, logging.handlers.WatchedFileHandler):
    """A CLI command's appends to the daemon's log file (reopened after a rotation)."""


def configure_logging(
    level: str = "info", log_file: Path | None = None, *, owner: bool = True, console: bool = True
) -> None:
    """Route structlog and stdlib loggers through one pipeline (idempotent).

    The daemon ``owner``s the log file and rotates it; a CLI command only appends to it
    (reopening it when the daemon rotated it), so two processes never rotate one file.
    """
    forget_pending()
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *SHARED_PROCESSORS,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    json_formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=SHARED_PROCESSORS,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.dict_tracebacks,
            structlog.processors.JSONRenderer(),
        ],
    )
    renderer: structlog.typing.Processor
    if sys.stderr.isatty():
        # Plain tracebacks: rich ones print local variables, which can hold transcript text.
        renderer = structlog.dev.ConsoleRenderer(
            colors=True, exception_formatter=structlog.dev.plain_traceback
        )
    else:
        renderer = structlog.processors.JSONRenderer()
    console_formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=SHARED_PROCESSORS,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_agenttail", False):
            root.removeHandler(handler)
            handler.close()
    stderr = logging.StreamHandler(sys.stderr)
    stderr.setFormatter(console_formatter)
    handlers: list[logging.Handler] = [stderr] if console else []
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        to_file: logging.Handler
        if owner:
            to_file = RotatingLogFile(log_file, maxBytes=5_000_000, backupCount=3, encoding="utf-8")
        else:
            to_file = AppendedLogFile(log_file, encoding="utf-8")
        to_file.setFormatter(json_formatter)
        handlers.append(to_file)
    for handler in handlers:
        handler._agenttail = True  # type: ignore[attr-defined]
        handler.addFilter(RepeatLimiter())
        root.addHandler(handler)
    root.setLevel(level.upper())
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def log_internal_error(log_file: Path, command: str) -> bool:
    """Append the exception being handled, with its traceback, to the log file.

    False when the log file cannot be written either (the caller then says so).
    """
    try:
        configure_logging("error", log_file, owner=False, console=False)
    except OSError:
        return False
    structlog.stdlib.get_logger("agenttail.cli").exception("internal_error", command=command)
    for handler in logging.getLogger().handlers:
        handler.flush()
    return True
