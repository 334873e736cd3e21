"""structlog over stdlib logging: JSON lines to a rotating file for the daemon, human on a TTY."""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

import structlog

SHARED_PROCESSORS: list[structlog.typing.Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    structlog.stdlib.ExtraAdder(),
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.processors.StackInfoRenderer(),
]
QUIET_LOGGERS = ("apscheduler", "httpx", "httpcore", "watchdog")


def configure_logging(
    level: str = "info", log_file: Path | None = None, *, owner: bool = True, console: bool = True
) -> None:
    """Route structlog and stdlib loggers through one pipeline (idempotent).

    The daemon ``owner``s the log file and rotates it; a CLI command only appends to it
    (reopening it when the daemon rotated it), so two processes never rotate one file.
    """
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
            to_file = logging.handlers.RotatingFileHandler(
                log_file, maxBytes=5_000_000, backupCount=3, encoding="utf-8"
            )
        else:
            to_file = logging.handlers.WatchedFileHandler(log_file, encoding="utf-8")
        to_file.setFormatter(json_formatter)
        handlers.append(to_file)
    for handler in handlers:
        handler._agenttail = True  # type: ignore[attr-defined]
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
